"""Students -> unprivileged local accounts, created and removed by ``smtpkit hub``.

Each student gets an account of their own (``useradd``: a home of mode 0700 under ``homes``, the
group ``smtpkit-students``, no login shell: they only ever use the browser). Only root can do
this; without the rights the command says so and stops. An account that already exists and was
not made by this command is never touched: that is an error naming it (another person's account
on a course server, or a name clash). ``remove`` deletes exactly the accounts the hub's state
lists, with their homes and their processes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from .errors import HubError
from .limits import Limits
from .roster import Student
from .state import HubState

__all__ = ["GROUP", "require_root", "create_accounts", "remove_accounts"]

GROUP = "smtpkit-students"


def require_root(what: str) -> None:
    """HubError unless this process may create accounts."""
    if os.geteuid() != 0:
        raise HubError(f"{what} needs root: the hub makes a local account for each student, runs "
                       "their servers as them and reads and writes their homes; run it with sudo on "
                       "the course machine (or use Zero to JupyterHub, see docs/HUB.md)")


def _tool(name: str) -> str:
    found = shutil.which(name) or f"/usr/sbin/{name}"
    if not os.path.exists(found):
        raise HubError(f"{name} is not installed (package passwd / shadow-utils)")
    return found


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise HubError(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.returncode}")


def _ensure_group(state: HubState) -> None:
    """The students' group; made (and recorded, to be removed with the last account) if missing."""
    import grp

    try:
        grp.getgrnam(GROUP)
    except KeyError:
        _run([_tool("groupadd"), "--system", GROUP])
        (state.root / "group-created").write_text(GROUP + "\n")


def _comment(display: str) -> str:
    """The GECOS field: no ``:`` (the passwd separator), ``,`` or control characters."""
    return "".join(c if c.isprintable() and c not in ":," else " " for c in display)[:100]


def create_accounts(students: list[Student], state: HubState, homes: Path) -> list[str]:
    """Create the accounts that do not exist yet; return their names. HubError for a name taken
    by an account this hub did not create (nothing is created then)."""
    require_root("smtpkit hub")
    known = state.accounts()
    clashes = []
    for student in students:
        try:
            pwd.getpwnam(student.account)
        except KeyError:
            continue
        if student.account not in known:
            clashes.append(student.account)
    if clashes:
        raise HubError("these accounts exist already and were not created by smtpkit hub: "
                       + ", ".join(clashes) + " (choose a --prefix, or remove them yourself)")
    _ensure_group(state)
    homes.mkdir(parents=True, exist_ok=True)
    made = []
    for student in students:
        if student.account in known:
            continue
        home = homes / student.account
        _run([_tool("useradd"), "--create-home", "--home-dir", str(home), "--gid", GROUP,
              "--shell", "/usr/sbin/nologin", "--comment", _comment(f"smtpkit hub - {student.display}"),
              "--key", "UMASK=077", student.account])
        os.chmod(home, 0o700)
        entry = pwd.getpwnam(student.account)
        known[student.account] = {"uid": entry.pw_uid, "gid": entry.pw_gid, "home": str(home),
                                  "display": student.display}
        state.save_accounts(known)  # after each: a failure later still leaves a true record
        made.append(student.account)
    return made


def _remove_cgroups(account: str) -> None:
    """The student's cgroups, once their last process has gone (a hub killed before it could)."""
    import time

    from .limits import StudentCgroup, cgroups_available

    cgroup = StudentCgroup(account, Limits(), cgroups_available())
    for _ in range(50):
        cgroup.remove()
        if not any(os.path.exists(f) for f in cgroup.folders):
            return
        time.sleep(0.1)


def remove_accounts(state: HubState) -> list[str]:
    """Delete every account the state lists (their processes, homes and mail spool); return them."""
    require_root("smtpkit hub remove-accounts")
    known = state.accounts()
    removed = []
    for name in sorted(known):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            removed.append(name)
            continue
        if entry.pw_uid != known[name]["uid"]:
            raise HubError(f"the account {name} now has another uid than the one smtpkit hub made; "
                           "not removing it")
        subprocess.run([shutil.which("pkill") or "/usr/bin/pkill", "-KILL", "-U", str(entry.pw_uid)],
                       capture_output=True, check=False, timeout=30)
        _run([_tool("userdel"), "--remove", name])
        _remove_cgroups(name)
        removed.append(name)
    for name in removed:
        known.pop(name, None)
    state.save_accounts(known)
    marker = state.root / "group-created"
    if not known and marker.exists():
        subprocess.run([_tool("groupdel"), GROUP], capture_output=True, check=False, timeout=60)
        marker.unlink()
    return removed
