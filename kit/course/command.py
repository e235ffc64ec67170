"""``smtpkit lab``: open the course in JupyterLab, at ``00_start_here.ipynb``.

JupyterLab serves the student notebooks (``notebooks/`` in the current folder, else the one next
to the installed kit) on 127.0.0.1 only, on port 8888 if it is free and else on a free port
(``--port N`` insists on N and says so when N is taken), and opens your web browser unless
``--no-browser``. Missing student notebooks are first generated from ``solutions/`` (when there
is one); existing ones are never overwritten, since they hold your work: ``--release`` brings
the others up to date, as ``smtpkit release`` does, and stops when one was changed. The kit's own
notebooks are trusted, a just-opened one is not marked as changed, and Jupyter's news question
stays away. Stop JupyterLab with Ctrl-C (twice).

``--lang de`` opens the German course instead: the notebooks in ``notebooks/de/`` (written from
``solutions/`` and its catalogs like the English ones), with JupyterLab's own interface in German
(the ``jupyterlab-language-pack-de-DE`` of the ``lab`` extra, set as a default of this lab only,
never in your own JupyterLab settings) and the kit speaking German in its kernels.

Exit codes: JupyterLab's own when it ran; 2 when it could not start: a bad argument, the port
given with ``--port`` taken, the course or JupyterLab not found.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..cli_args import port
from ..notebook_file import DEFAULT_LANG, LANGUAGES
from .lab import (
    DEFAULT_PORT,
    HOST,
    LabError,
    choose_port,
    find_course,
    first_notebook,
    jupyter_command,
    lab_environment,
    lab_url,
    preflight,
    prepare_notebooks,
    quiet_config_path,
    trust_course,
    wait_until_serving,
)

__all__ = ["configure", "run", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``lab`` options to ``parser``."""
    parser.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANG,
                        help="the course's language: en (default) or de, the German course with JupyterLab in German")
    parser.add_argument("--port", type=port, metavar="N",
                        help="listen on port N (default: 8888 if free, else a free port)")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open a web browser; open the printed address yourself")
    parser.add_argument("--notebooks", metavar="DIR", type=Path,
                        help="the student notebooks (default: ./notebooks, else the course's notebooks/)")
    parser.add_argument("--solutions", metavar="DIR", type=Path,
                        help="instructor notebooks to generate missing student notebooks from "
                             "(default: solutions/ beside the notebooks, if any)")
    parser.add_argument("--release", action="store_true",
                        help="first bring every student notebook up to date with the solutions, like "
                             "`smtpkit release` (stops if one was changed since the last release)")
    parser.add_argument("--verbose", action="store_true", help="show JupyterLab's full log")
    parser.add_argument("--print-command", action="store_true",
                        help="only print the jupyter command that would run, and exit")


def _say(text: str) -> None:
    print(f"smtpkit lab: {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Prepare the notebooks, start JupyterLab, wait until it ends; return the exit code."""
    try:
        course = find_course(args.notebooks, args.solutions, lang=getattr(args, "lang", DEFAULT_LANG))
        if args.release and course.solutions is None:
            raise LabError("--release needs the instructor notebooks (solutions/): none found")
        warnings = preflight(course.lang)
        chosen = choose_port(args.port)  # before writing anything: a taken port changes nothing
        if not args.print_command:
            prepare_notebooks(course, release_all=args.release)
    except LabError as exc:
        print(f"smtpkit lab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    first = first_notebook(course.notebooks) if course.notebooks.is_dir() else None
    cmd = jupyter_command(course.notebooks, chosen, first=first, open_browser=not args.no_browser,
                          verbose=args.verbose)
    if args.print_command:
        print(" ".join(cmd))
        return 0

    if course.written:
        _say(f"wrote {len(course.written)} student notebook(s) from {course.solutions}: "
             + ", ".join(course.written))
    if course.differ:
        _say(f"note: {len(course.differ)} notebook(s) differ from {course.solutions.name}/ "
             f"(your work, or a newer course): {', '.join(course.differ)}; they are kept as they are "
             "(`smtpkit lab --release` updates those nobody changed)")
    if course.untranslated:
        _say(f"note: the {course.lang} translation is not complete: {course.untranslated} cell(s) are shown in English")
    for warning in warnings:
        _say(f"warning: {warning}")
    if args.port is None and chosen != DEFAULT_PORT:
        _say(f"port {DEFAULT_PORT} is in use, using the free port {chosen}")

    try:
        trust_course(course)
    except Exception as exc:  # noqa: BLE001 - trust is a nicety: JupyterLab runs without it
        _say(f"warning: could not mark the course's notebooks as trusted ({exc})")
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    _say(f"starting JupyterLab on {HOST}:{chosen} for {course.notebooks} ...")

    def ready() -> None:
        _say("JupyterLab is ready. Open this address if no browser window appears:")
        print(f"\n    {lab_url(chosen, token, first)}\n", flush=True)
        _say(f"listening on {HOST} only. Stop it with Ctrl-C (twice).")

    return serve_lab(cmd, chosen, token, course.lang, ready)


def serve_lab(cmd: list[str], port: int, token: str, lang: str, ready: Callable[[], None]) -> int:
    """Run JupyterLab (``cmd``) with the kit's quiet settings in ``lang``, call ``ready`` once it
    serves on ``port``, and wait for it; its exit code. Shared by `smtpkit lab` and `present`."""
    with quiet_config_path(lang) as config_path:
        process = subprocess.Popen(cmd, env=lab_environment(
            token, config_path, lang=lang if lang != DEFAULT_LANG else None))
        forward = _forward_termination(process)
        try:
            if wait_until_serving(port, process):
                ready()
            return _wait(process)
        finally:
            forward()


def _wait(process: subprocess.Popen) -> int:
    """Wait for JupyterLab. Ctrl-C reaches it as well (same terminal): it asks for confirmation
    itself, so here an interrupt only means 'keep waiting'."""
    while True:
        try:
            code = process.wait()
        except KeyboardInterrupt:
            continue
        if code != 0:
            print(f"smtpkit lab: JupyterLab ended with exit code {code}", file=sys.stderr)
        return code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as a shell says


def _forward_termination(process: subprocess.Popen):
    """Pass a SIGTERM to us on to JupyterLab (so it stops its kernels); return an undo function."""
    if os.name == "nt":
        return lambda: None

    def stop(signum, _frame):
        if process.poll() is None:
            process.terminate()

    previous = signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smtpkit lab", description=__doc__.splitlines()[0])
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
