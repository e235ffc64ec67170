"""The grader's side of the sandbox: what a kernel may see, as whom it runs, what it may use.

``sandbox.py`` is the launcher that sets a kernel up; this module decides everything it is
told, once per grading run (``Sandbox``), and per kernel (``KernelRoom``):

- **who**: never root. A grader running as root runs kernels as the unprivileged system user
  ``smtpkit-grader`` (created when missing, else ``nobody``); an ordinary user's kernels run as
  that user, inside user namespaces that map it to itself.
- **what it sees**: an allow-list of read-only trees (the Python installation, the kit, the
  system libraries, a minimal ``/etc``); paths inside those that must stay secret (the
  grader-only answers, the submissions, the hidden tests, ``--out``) are masked. The grader's
  own files (connection, logs, reply log, its sockets) live in a per-kernel folder the kernel
  never sees.
- **what it may use**: a cgroup per kernel where the machine offers one (memory including
  children and tmpfs, a process count), otherwise per-process limits and size-limited tmpfs.
- **how the judge reaches it**: listening sockets on the kernel's private loopback, handed
  out by the launcher (``bind_in``).

``probe()`` checks that all of it works here, for ``smtpkit grade`` to refuse (exit 2) with
the missing piece named when it does not.
"""

from __future__ import annotations

import array
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SANDBOX", "Sandbox", "KernelRoom", "probe", "bind_in", "sandbox_user",
           "SANDBOX_USER", "ETC_FILES", "NotIsolated"]

#: The launcher script kernels start through.
SANDBOX = str(Path(__file__).with_name("sandbox.py"))
#: The system user kernels run as when the grader is root.
SANDBOX_USER = "smtpkit-grader"
#: The few files of ``/etc`` a Python kernel needs (the dynamic loader, name lookup of
#: localhost, time zone, CA certificates); ``/etc/passwd`` is written for the sandbox.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/hosts",
             "/etc/nsswitch.conf", "/etc/host.conf", "/etc/localtime", "/etc/ssl",
             "/etc/mime.types")
_MiB = 1024 * 1024


class NotIsolated(Exception):
    """Kernels cannot be isolated here; the message names the missing piece."""


def sandbox_user() -> tuple[int, int] | None:
    """(uid, gid) kernels run as: for root, ``smtpkit-grader`` (created when missing, else
    ``nobody``); None for an ordinary user (kernels keep its uid)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", SANDBOX_USER],
                       capture_output=True, check=False)
        try:
            entry = pwd.getpwnam(SANDBOX_USER)
        except KeyError:
            entry = pwd.getpwnam("nobody")
    if entry.pw_uid == 0:
        raise NotIsolated(f"the user {entry.pw_name} is root")
    return entry.pw_uid, entry.pw_gid


def _outermost(paths: set[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(paths, key=lambda p: (p.count("/"), p)):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return sorted(kept)


def runtime_paths() -> tuple[list[str], dict[str, str]]:
    """(read-only trees, top-level symlinks) a kernel of this Python needs."""
    import kit

    trees = {"/usr"}
    links: dict[str, str] = {}
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links[top] = os.readlink(top)
        elif os.path.isdir(top):
            trees.add(top)
    trees.update(p for p in ETC_FILES if os.path.exists(p))
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        trees.add(os.path.abspath(prefix))
        trees.add(os.path.realpath(prefix))
    trees.add(os.path.dirname(os.path.realpath(sys.executable)))
    trees.add(str(Path(kit.__file__).resolve().parent))
    return _outermost({t for t in trees if os.path.exists(t)}), links


def _inside(path: str, trees: list[str]) -> bool:
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in trees)


def secret_paths(submissions: Path, out: Path | None, hidden: Path | None,
                 extra: tuple[str, ...] = ()) -> list[str]:
    """What a kernel must never read, wherever it lies: the submissions, ``--out``, the hidden
    tests (with their bytecode folder), the grader-only parts of the kit, the rest of a project
    checkout the kit runs from (solutions, tests, .git, ...), and ``--hide``."""
    import kit

    from .. import exercises

    grader_only = getattr(exercises, "GRADER_ONLY", ("exercises/answers",))
    kit_dir = Path(kit.__file__).resolve().parent
    secret = {Path(submissions).resolve(), *(Path(p).resolve() for p in extra)}
    for kit_copy in {kit_dir, *_installed_kits()}:  # whichever kit a kernel would import
        secret.update(kit_copy / p for p in grader_only)
    if out is not None:
        secret.add(Path(out).resolve())
    if hidden is not None:
        hidden = Path(hidden).resolve()
        secret.update({hidden, hidden.parent / "__pycache__"})
    project = kit_dir.parent
    if (project / "pyproject.toml").is_file():
        keep = {kit_dir, Path(sys.prefix).resolve()}
        for entry in project.iterdir():
            resolved = entry.resolve()
            if not any(k == resolved or k.is_relative_to(resolved) for k in keep):
                secret.add(resolved)
    return sorted(str(p) for p in secret)


def _installed_kits() -> set[Path]:
    """Every ``kit`` package on this Python's path and in its site-packages (an installed copy
    besides the checkout the grader runs from, say)."""
    import site

    places = [*sys.path, *site.getsitepackages(), site.getusersitepackages()]
    found = set()
    for place in places:
        candidate = Path(place or ".") / "kit"
        if (candidate / "exercises").is_dir():
            found.add(candidate.resolve())
    return found


def _cgroup_mounts() -> dict[str, str]:
    """controller ('memory', 'pids', or 'unified' for cgroup v2) -> mount point."""
    mounts: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return mounts
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3:
            continue
        if extra[0] == "cgroup2":
            mounts.setdefault("unified", fields[4])
        elif extra[0] == "cgroup":
            for option in extra[2].split(","):
                if option in ("memory", "pids"):
                    mounts.setdefault(option, fields[4])
    return mounts


def _own_cgroup(controller: str) -> str:
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if (controller == "unified" and names == "") or controller in names.split(","):
                return path
    return "/"


def cgroup_parents() -> dict[str, str]:
    """Where per-kernel cgroups can be made: {'memory': dir, 'pids': dir} (cgroup v1) or
    {'unified': dir} (v2 with both controllers delegated); {} when none is writable."""
    if os.geteuid() != 0:
        return {}
    mounts = _cgroup_mounts()
    found: dict[str, str] = {}
    for controller in ("memory", "pids"):
        if controller in mounts:
            parent = os.path.join(mounts[controller], _own_cgroup(controller).lstrip("/"))
            if os.access(parent, os.W_OK):
                found[controller] = parent
    if len(found) == 2:
        return found
    if "unified" in mounts:
        parent = os.path.join(mounts["unified"], _own_cgroup("unified").lstrip("/"))
        try:
            with open(os.path.join(parent, "cgroup.subtree_control"), encoding="utf-8") as f:
                enabled = f.read().split()
            if {"memory", "pids"} <= set(enabled):
                return {"unified": parent}
        except OSError:
            pass
    return {}


def _sweep_cgroups(parents: dict[str, str]) -> None:
    """Remove the empty kernel cgroups of graders that were killed before they could."""
    for parent in parents.values():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if len(parts) < 3 or parts[0] != "smtpkit" or not parts[1].isdigit():
                continue
            if os.path.exists(f"/proc/{parts[1]}"):
                continue  # that grader still runs
            try:
                os.rmdir(os.path.join(parent, name))  # fails while a process is inside
            except OSError:
                pass


@dataclass(frozen=True)
class Sandbox:
    """How every kernel of one grading run is isolated (built once, see ``Sandbox.build``)."""

    isolate: bool = True
    user: tuple[int, int] | None = None
    read_only: tuple[str, ...] = ()
    symlinks: tuple[tuple[str, str], ...] = ()
    hide: tuple[str, ...] = ()
    cgroups: tuple[tuple[str, str], ...] = ()
    tmpfs_mb: int = 256
    nproc: int = 256
    bwrap: str = "bwrap"

    @classmethod
    def build(cls, submissions: Path, out: Path | None = None, hidden: Path | None = None,
              extra_hide: tuple[str, ...] = (), isolate: bool = True,
              tmpfs_mb: int = 256, nproc: int = 256) -> Sandbox:
        if not isolate:
            return cls(isolate=False)
        read_only, links = runtime_paths()
        hide = [p for p in secret_paths(submissions, out, hidden, extra_hide)
                if _inside(p, read_only) and os.path.exists(p)]
        parents = cgroup_parents()
        _sweep_cgroups(parents)
        return cls(True, sandbox_user(), tuple(read_only), tuple(sorted(links.items())),
                   tuple(hide), tuple(sorted(parents.items())), tmpfs_mb, nproc,
                   shutil.which("bwrap") or "bwrap")

    def describe(self) -> dict:
        """What each kernel gets, for results.json."""
        if not self.isolate:
            return {"mode": "unsafe-no-sandbox",
                    "kernel_user": pwd.getpwuid(os.geteuid()).pw_name,
                    "note": "student code ran with the grader's user, files and network"}
        cgroups = dict(self.cgroups)
        memory = ("cgroup memory limit (children and tmpfs included)" if cgroups
                  else "per-process address-space limit, tmpfs size caps")
        return {"mode": "sandbox", "launcher": "bubblewrap",
                "kernel_user": (pwd.getpwuid(self.user[0]).pw_name if self.user
                                else pwd.getpwuid(os.geteuid()).pw_name),
                "namespaces": ["user", "network (loopback only)", "pid", "ipc", "uts", "mount"],
                "visible_read_only": list(self.read_only), "masked": list(self.hide),
                "writable": [f"/tmp and /dev/shm (private tmpfs, {self.tmpfs_mb} MB each)"],
                "memory": memory,
                "processes": (f"cgroup pids.max {self.nproc}" if cgroups
                              else f"RLIMIT_NPROC {self.nproc} for the kernel's user"),
                "cgroup": cgroups or None}


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


class KernelRoom:
    """The per-kernel folder of the grader (mode 0711; the kernel never sees it) and the
    kernel's cgroups. ``plan()`` is what the launcher is told."""

    def __init__(self, sandbox: Sandbox, memory_mb: int, limits: dict) -> None:
        self.sandbox = sandbox
        self.folder = Path(tempfile.mkdtemp(prefix="smtpkit-grade-"))
        os.chmod(self.folder, 0o711)
        (self.folder / "ipc").mkdir(mode=0o700)
        (self.folder / "stage").mkdir(mode=0o755)
        self.memory_mb = memory_mb
        self.limits = dict(limits)
        self.cgroups: list[str] = []
        self.count = 0

    @property
    def control(self) -> str:
        return str(self.folder / f"control-{self.count}")

    def replies(self, number: int) -> str:
        return str(self.folder / f"replies-{number}.jsonl")

    def _make_cgroups(self) -> list[str]:
        made = []
        name = f"smtpkit-{os.getpid()}-{self.folder.name}-{self.count}"
        for controller, parent in self.sandbox.cgroups:
            folder = os.path.join(parent, name)
            os.mkdir(folder)
            made.append(folder)
            if controller in ("memory", "unified"):
                limit = str(self.memory_mb * _MiB)
                if controller == "memory":
                    _write(os.path.join(folder, "memory.limit_in_bytes"), limit)
                else:
                    _write(os.path.join(folder, "memory.max"), limit)
                    try:
                        _write(os.path.join(folder, "memory.swap.max"), "0")
                    except OSError:
                        pass
            if controller in ("pids", "unified"):
                _write(os.path.join(folder, "pids.max"), str(self.sandbox.nproc))
        return made

    def plan(self, connection: str, ipc: str, ports: list[int], env: dict[str, str]) -> dict:
        """The launcher's plan for the next kernel (a new cgroup each time)."""
        self.count += 1
        self.remove_cgroups()
        sb = self.sandbox
        limits = dict(self.limits)
        if sb.isolate and not sb.cgroups:
            limits["nproc"] = sb.nproc + (_processes_of(os.geteuid()) if sb.user is None else 0)
        plan = {"replies": self.replies(self.count), "limits": limits, "env": env}
        if not sb.isolate:
            return {**plan, "unsafe": True}
        self.cgroups = self._make_cgroups() if sb.cgroups else []
        return {**plan, "user": list(sb.user) if sb.user else None, "cgroups": self.cgroups,
                "connection": connection, "ipc": ipc, "ipc_ports": ports,
                "control": self.control, "stage": str(self.folder / "stage"),
                "read_only": list(sb.read_only), "symlinks": dict(sb.symlinks),
                "hide": list(sb.hide), "tmpfs_mb": sb.tmpfs_mb, "bwrap": sb.bwrap}

    def kill_all(self) -> None:
        """SIGKILL whatever still runs in the kernel's cgroups."""
        import signal

        for folder in self.cgroups:
            try:
                with open(os.path.join(folder, "cgroup.procs"), encoding="ascii") as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def remove_cgroups(self) -> None:
        import time

        self.kill_all()
        for folder in self.cgroups:
            for _ in range(50):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.cgroups = []

    def close(self) -> None:
        self.remove_cgroups()
        shutil.rmtree(self.folder, ignore_errors=True)


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def bind_in(control: str, host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` on a kernel's private loopback (not yet listening),
    made there by its launcher and passed back over ``control``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(control)
        conn.sendall(f"tcp {host} {port}".encode())
        fds = array.array("i")
        message, ancillary, _, _ = conn.recvmsg(256, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if message != b"ok" or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise OSError(f"the kernel's network refused a socket on {host}:{port}: "
                      f"{message.decode(errors='replace')}")
    return socket.socket(fileno=fds[0])


_PROBE = r"""
import os, socket, sys
problems = []
if os.getuid() == 0 or os.geteuid() == 0:
    problems.append("the kernel runs as uid 0")
try:
    open("/proc/sys/kernel/core_pattern", "w").close()
    problems.append("/proc/sys/kernel/core_pattern is writable")
except OSError:
    pass
names = [n for _, n in socket.if_nameindex()]
if names != ["lo"]:
    problems.append("network interfaces besides lo: %s" % names)
for secret in sys.argv[1:]:
    if os.path.exists(secret):
        problems.append("%s is visible" % secret)
if os.getpid() > 10:
    problems.append("no PID namespace")
print("OK" if not problems else "; ".join(problems), flush=True)
"""


def probe() -> str | None:
    """None when kernels can be sandboxed here; otherwise the missing piece, in words."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; "
                "Fedora: dnf install bubblewrap)")
    try:
        sandbox = Sandbox.build(Path(tempfile.gettempdir()) / "smtpkit-probe-none")
    except (NotIsolated, OSError) as exc:
        return str(exc)
    room = KernelRoom(sandbox, 512, {"as": 0, "cpu": 30, "fsize": _MiB})
    try:
        secret = room.folder / "ipc"
        connection = room.folder / "connection.json"
        connection.write_text('{"key": "", "shell_port": 1, "iopub_port": 2, "stdin_port": 3, '
                              '"control_port": 4, "hb_port": 5}')
        plan = room.plan(str(connection), str(room.folder / "ipc" / "k"), [], {"PATH": "/usr/bin:/bin"})
        import json

        command = [sys.executable, "-I", "-S", SANDBOX, json.dumps(plan), "--",
                   sys.executable, "-I", "-S", "-c", _PROBE, str(secret), "/etc/shadow", str(room.folder)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot start the sandbox launcher: {exc}"
        lines = done.stdout.strip().splitlines()
        if lines == ["OK"] and done.returncode == 0:
            return None
        if lines:
            return f"the sandbox is not tight: {lines[-1]}"
        err = done.stderr.strip().splitlines()
        reason = err[-1] if err else f"exit status {done.returncode}"
        if "user namespace" in reason or "Operation not permitted" in reason:
            reason += (" (unprivileged user namespaces may be disabled: sysctl "
                       "kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, or an "
                       "AppArmor rule for bwrap)")
        return f"the sandbox could not start a program: {reason}"
    finally:
        room.close()
