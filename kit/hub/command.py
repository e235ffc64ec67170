"""``smtpkit hub``: a class on one JupyterHub (start, collect, return feedback, stop, remove accounts).

::

    sudo smtpkit hub start class.csv [--listen ADDR] [--lang de] [--cert FILE --key FILE]
    sudo smtpkit hub collect 02 --into submissions      # then: smtpkit grade submissions --out graded
    sudo smtpkit hub return graded                      # feedback pages into the students' homes
    sudo smtpkit hub stop                               # (or Ctrl-C in the start terminal)
    sudo smtpkit hub remove-accounts                    # at the end of the course: accounts and homes go
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from ..cli_args import port, positive_float, positive_int
from .errors import HubError
from .state import DEFAULT_STATE, HubState

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``hub`` subcommands and their options."""
    sub = parser.add_subparsers(dest="hub_command", metavar="ACTION", required=True)

    def state_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--state", type=Path, default=DEFAULT_STATE, metavar="DIR",
                       help=f"the hub's folder (default {DEFAULT_STATE})")

    start = sub.add_parser("start", help="create the class's accounts and run the hub (foreground)")
    start.add_argument("classlist", type=Path, metavar="CLASSLIST",
                       help="one student per line (login or e-mail), or an LMS's CSV export")
    start.add_argument("--listen", default="127.0.0.1", metavar="ADDR",
                       help="address the hub serves on (default 127.0.0.1: this machine only)")
    start.add_argument("--port", type=port, default=8000, help="its port (default 8000)")
    start.add_argument("--lang", choices=("en", "de"), default="en",
                       help="the course's language: notebooks/ or notebooks/de/ of the release")
    start.add_argument("--cert", type=Path, metavar="FILE", help="TLS certificate (PEM): serve HTTPS")
    start.add_argument("--key", type=Path, metavar="FILE", help="its private key (PEM)")
    start.add_argument("--homes", type=Path, default=Path("/home"), metavar="DIR",
                       help="where the students' homes are made (default /home)")
    start.add_argument("--prefix", default="", help="put before every account name (e.g. smtp-)")
    start.add_argument("--memory", type=positive_int, default=1024, metavar="MB",
                       help="memory of one student's server and kernels together (default 1024)")
    start.add_argument("--cpus", type=positive_float, default=1.0, metavar="N",
                       help="CPU cores one student may use (where cgroups allow; default 1)")
    start.add_argument("--processes", type=positive_int, default=256, metavar="N",
                       help="processes one student may run (default 256)")
    start.add_argument("--cull-minutes", type=positive_int, default=60, metavar="M",
                       help="stop a student's server idle this long (default 60)")
    start.add_argument("--allow-readable-solutions", action="store_true",
                       help="start even though students could read the solutions (not advised)")
    start.add_argument("--new-passwords", action="store_true",
                       help="print new passwords for every student (the old ones stop working)")
    start.add_argument("--student-env", type=Path, metavar="DIR",
                       help="the students' Python environment (default STATE/env; made when missing)")
    state_option(start)

    collect = sub.add_parser("collect", help="copy the students' notebooks into the layout `smtpkit grade` reads")
    collect.add_argument("assignment", metavar="ASSIGNMENT",
                         help="notebooks by number or name, comma-separated (02,03), or 'all'")
    collect.add_argument("--into", type=Path, required=True, metavar="DIR", help="where to put them")
    state_option(collect)

    back = sub.add_parser("return", help="put each student's feedback page into their home")
    back.add_argument("graded", type=Path, metavar="FEEDBACKDIR", help="the --out folder of `smtpkit grade`")
    state_option(back)

    stop = sub.add_parser("stop", help="stop the running hub and every student's server")
    state_option(stop)
    remove = sub.add_parser("remove-accounts", help="delete the accounts (and homes!) the hub created")
    remove.add_argument("--yes", action="store_true", help="do not ask (the homes are deleted)")
    state_option(remove)


def _say(text: str) -> None:
    print(f"smtpkit hub: {text}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_listen(args: argparse.Namespace) -> list[str]:
    try:
        ip = ipaddress.ip_address(args.listen.strip("[]"))
    except ValueError:
        raise HubError(f"--listen {args.listen!r} is not an IP address") from None
    if ip.is_unspecified:
        raise HubError(f"--listen {ip} would serve every network this machine is on; name the "
                       "address of the one the class uses")
    if bool(args.cert) != bool(args.key):
        raise HubError("--cert and --key go together")
    for path in (args.cert, args.key):
        if path is not None and not path.is_file():
            raise HubError(f"{path} not found")
    warnings = []
    if not ip.is_loopback and not args.cert:
        warnings.append(f"serving on {ip} WITHOUT HTTPS: passwords and notebooks cross the network "
                        "in clear text; give --cert and --key")
    elif not ip.is_loopback:
        warnings.append(f"serving on {ip}: other machines on that network can reach the hub")
    return warnings


def _preflight() -> None:
    from importlib.util import find_spec

    for module, package in (("jupyterhub", "jupyterhub"), ("jupyterhub_idle_culler", "jupyterhub-idle-culler")):
        if find_spec(module) is None:
            raise HubError(f"{package} is not installed: pip install -e '.[hub]'")
    if shutil.which("configurable-http-proxy") is None:
        raise HubError("configurable-http-proxy is not installed: npm install -g configurable-http-proxy")


def _project_root() -> Path:
    import kit

    root = Path(kit.__file__).resolve().parent.parent
    if not (root / "solutions").is_dir():
        raise HubError(f"smtpkit hub builds the student release from the course's solutions/, "
                       f"not found beside {root / 'kit'}: run it from the instructor's checkout")
    return root


def _open_to_others(path: Path) -> bool:
    """Whether an account that is neither the owner nor in the group can read ``path``: every
    folder on the way lets others through, and the path itself lets them read."""
    path = path.resolve()
    for folder in reversed(path.parents):
        if not os.stat(folder).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


def readable_secrets(root: Path) -> list[Path]:
    """The instructor's solutions a student account could read: the instructor notebooks and
    the grader-only reference answers of the checkout the hub is started from."""
    candidates = [root / "solutions", root / "kit" / "exercises" / "answers"]
    return [p for p in candidates if p.exists() and _open_to_others(p)]


def _refuse_readable_secrets(root: Path, allow: bool) -> str | None:
    """HubError (fail closed) when students could read the solutions; with ``allow`` only a
    warning, for a machine where the instructor knows why."""
    found = readable_secrets(root)
    if not found:
        return None
    paths = " ".join(str(p) for p in found)
    text = (f"students could read the solutions here ({paths} are readable by every account); "
            f"run `chmod -R o-rwx {paths}` first (students' servers use the student release, "
            "which has no solutions)")
    if not allow:
        raise HubError(text + ", or pass --allow-readable-solutions")
    return text


def _release(root: Path, state: HubState, lang: str) -> Path:
    from ..authoring import AuthoringError, build_student_release
    from ..authoring.plan import student_folder

    try:
        build_student_release(root, state.release, langs=[lang], force=True)
    except AuthoringError as exc:
        raise HubError(f"cannot build the student release: {exc}") from None
    notebooks = student_folder(state.release / "notebooks", lang)
    if not any(notebooks.glob("*.ipynb")):
        raise HubError(f"the release has no notebooks in the language {lang!r} (a translation that "
                       "is not complete is left out; see `smtpkit release --check`)")
    return notebooks


def _passwords(state: HubState, accounts: list[str], renew: bool) -> dict[str, str]:
    from .passwords import hash_password, new_password

    hashes = {a: h for a, h in state.password_hashes().items() if a in accounts}
    fresh = {a: new_password() for a in accounts if renew or a not in hashes}
    hashes.update({a: hash_password(p) for a, p in fresh.items()})
    state.save_password_hashes(hashes)
    return fresh


def _print_slips(fresh: dict[str, str], display: dict[str, str], url: str) -> None:
    if not fresh:
        _say("every student has a password already (--new-passwords prints new ones)")
        return
    _say(f"passwords for {url} (shown once, kept only as hashes; hand them out):")
    width = max(len(a) for a in fresh)
    for account in sorted(fresh):
        print(f"    {account:<{width}}  {fresh[account]}  {display.get(account, '')}", flush=True)


def _start(args: argparse.Namespace) -> int:
    from .accounts import create_accounts, require_root
    from .config import config_text, settings, write_lab_defaults
    from .homes import release_into_home
    from .process import hub_url, launch, wait_until_serving
    from .roster import RosterError, read_roster
    from .runtime import student_environment

    warnings = _check_listen(args)
    require_root("smtpkit hub start")
    _preflight()
    try:
        students = read_roster(args.classlist, args.prefix)
    except RosterError as exc:
        raise HubError(str(exc)) from None
    root = _project_root()
    secrets = _refuse_readable_secrets(root, args.allow_readable_solutions)
    if secrets:
        warnings.append(secrets)
    state = HubState(args.state.resolve()).create()
    _say(f"building the student release ({args.lang}) in {state.release} ...")
    notebooks = _release(root, state, args.lang)
    env = student_environment((args.student_env or state.root / "env").resolve(), state.release, _say)
    made = create_accounts(students, state, args.homes.resolve())
    if made:
        _say(f"created {len(made)} account(s): {', '.join(made)}")
    accounts = state.accounts()
    names = [s.account for s in students]
    for name in names:
        info = accounts[name]
        release_into_home(notebooks, Path(info["home"]), (info["uid"], info["gid"]))
    hub_port, api_port = _free_port(), _free_port()
    tls = bool(args.cert)
    config = settings(state.root, ip=str(ipaddress.ip_address(args.listen.strip("[]"))), port=args.port,
                      hub_port=hub_port, proxy_api_port=api_port, notebooks=notebooks, lang=args.lang,
                      accounts=names, cert=str(args.cert.resolve()) if tls else None,
                      key=str(args.key.resolve()) if tls else None, memory_mb=args.memory,
                      processes=args.processes, cpus=args.cpus, cull_minutes=args.cull_minutes)
    config["singleuser"] = str(env.parent / "jupyterhub-singleuser")
    state.save_settings(config)
    state.config_file.write_text(config_text(state.settings_file), encoding="utf-8")
    write_lab_defaults(state.root, args.lang)
    url = hub_url(config["ip"], args.port, tls)
    for warning in warnings:
        _say(f"warning: {warning}")
    fresh = _passwords(state, names, args.new_passwords)
    process = launch(state)
    stopping = []

    def forward(signum, _frame) -> None:
        stopping.append(signum)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    if not wait_until_serving(url, process):
        if process.poll() is None:
            process.terminate()
        process.wait(30)
        _say(f"error: the hub did not start; see {state.root / 'hub.log'}")
        return 1
    _print_slips(fresh, {n: accounts[n]["display"] for n in names}, url)
    _say(f"ready: {url} ({len(names)} students, {args.lang}; log {state.root / 'hub.log'}). "
         "Stop it with Ctrl-C or `smtpkit hub stop`.")
    code = process.wait()
    _say("stopped; the accounts and homes stay (`smtpkit hub remove-accounts` removes them)")
    return 0 if stopping or code == 0 else 1


def _collect(args: argparse.Namespace) -> int:
    from ..grading.assignment import chosen
    from ..grading.errors import GradingError
    from .accounts import require_root
    from .collect import collect

    require_root("smtpkit hub collect")
    state = HubState(args.state.resolve())
    notebooks = Path(state.settings().get("notebooks", state.release / "notebooks"))
    names = sorted(p.name for p in notebooks.glob("*.ipynb"))
    if not names:
        raise HubError(f"no hub in {state.root} (start one with `smtpkit hub start`)")
    try:
        picked = names if args.assignment == "all" else chosen(names, tuple(args.assignment.split(",")))
    except GradingError as exc:
        raise HubError(str(exc).replace("--assignment", "ASSIGNMENT")) from None
    report = collect(state, picked, args.into)
    copied = [r for r in report if r.copied]
    for r in report:
        if not r.copied:
            _say(f"{r.student}: {r.notebook}: {r.reason}")
    _say(f"collected {len(copied)} notebook(s) of {len({r.student for r in report})} student(s) into {args.into}; "
         f"next: smtpkit grade {args.into} --assignment {args.assignment if args.assignment != 'all' else '...'}"
         f" --out graded")
    return 0


def _return(args: argparse.Namespace) -> int:
    from .accounts import require_root
    from .feedback import return_all

    require_root("smtpkit hub return")
    for r in return_all(HubState(args.state.resolve()), args.graded):
        _say(f"{r.student}: " + (f"~/smtp-course/feedback/{r.placed}" if r.placed else r.reason))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from .accounts import require_root
    from .process import stop

    require_root("smtpkit hub stop")
    _say("stopped" if stop(HubState(args.state.resolve())) else "no hub is running")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from .accounts import remove_accounts

    state = HubState(args.state.resolve())
    names = sorted(state.accounts())
    if not names:
        _say("no accounts to remove")
        return 0
    if not args.yes:
        answer = input(f"delete {len(names)} account(s) and their homes ({', '.join(names)})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    _say(f"removed {len(remove_accounts(state))} account(s) and their homes")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run one ``hub`` action; HubError -> message and exit 2."""
    actions = {"start": _start, "collect": _collect, "return": _return, "stop": _stop,
               "remove-accounts": _remove}
    try:
        return actions[args.hub_command](args)
    except HubError as exc:
        print(f"smtpkit hub: error: {exc}", file=sys.stderr)
        return 2
