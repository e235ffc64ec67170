"""The kernel launcher: limits, private namespaces, no privileges; then the kernel.

Run as a script (``python -I -S sandbox.py [options] -- KERNEL COMMAND...``), never imported by
the grader: standard library only, so it starts in a few milliseconds. It always sets resource
limits (``RLIMIT_AS`` memory, ``RLIMIT_CPU`` seconds, after which the kernel gets SIGXCPU and
ends, ``RLIMIT_FSIZE`` for any file written, no core files). With ``--isolate`` (Linux, root)
it also gives the kernel, before running it:

- **its own network namespace** with only a loopback interface: student code reaches nothing
  but its own 127.0.0.1; the grader binds its judge servers inside it (see ``netns``);
- **its own mount namespace**: fresh, empty ``/tmp``, ``/var/tmp`` and ``/dev/shm`` (the
  kernel's own folder, ``--own``, under ``/tmp``, stays visible), ``--read-only`` paths (the
  Python installation, the kit) remounted read-only, ``--hide`` paths (the submissions, the
  hidden tests, the solutions, the output folder) replaced by an empty folder or ``/dev/null``;
- **its own PID namespace** with its own ``/proc``: the kernel is process 1 there; it cannot
  see, signal or trace the grader or other students' kernels, and when it ends every process
  it started ends with it;
- **no capabilities** (bounding set emptied, ``no_new_privs``): still uid 0 for file access, but
  it cannot mount, unmount, enter other namespaces or regain privileges, so none of the above
  can be undone from inside.

The launcher process itself stays as the kernel's parent (it is what the grader sees as the
kernel: its network namespace is the kernel's), forwards SIGTERM, ignores SIGINT (which reaches
the kernel through the process group) and exits the way the kernel did. Both die with the
grader (``PR_SET_PDEATHSIG``). Any failure to set up what was asked for is fatal (exit 3): running the kernel
with less isolation than the grader asked for would break its promise.
"""

from __future__ import annotations

import os
import resource
import signal
import sys

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")

_libc = None


def _c():
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_ulong, ctypes.c_void_p]
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_c().mount(source.encode() if source else None, target.encode(),
                      fstype.encode() if fstype else None, flags,
                      data.encode() if data else None), f"mount {target}")


def _prctl(option: int, value: int, arg3: int = 0) -> None:
    _check(_c().prctl(option, value, arg3, 0, 0), f"prctl({option})")


def loopback_up() -> None:
    """Bring up ``lo`` in the current network namespace."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def _runtime_under_private_tmp() -> list[str]:
    """The Python installation and the kit's folder, where they lie below a private tmp
    folder (outermost first, each once)."""
    kit_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, kit_root)}
    under = [p for p in candidates
             if any(p == t or p.startswith(t + "/") for t in _PRIVATE_TMP) and os.path.isdir(p)]
    under.sort(key=len)
    kept: list[str] = []
    for path in under:
        if not any(path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def private_mounts(own: str | None, read_only: list[str], hide: list[str]) -> None:
    """In a new mount namespace: read-only paths, a private /tmp (``own`` kept), hidden paths."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Opened before anything is remounted read-only: the kernel's folder stays writable.
    keep = os.open(own, os.O_PATH | os.O_DIRECTORY) if own else None
    # What the kernel runs from (the Python installation, the kit) stays readable even where
    # it lives under a private /tmp, e.g. a project cloned into /tmp.
    runtime = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in _runtime_under_private_tmp()]
    for path in read_only:
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    for tmp in _PRIVATE_TMP:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=512m")
    for path, fd in runtime:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        os.close(fd)
    if keep is not None:
        os.makedirs(own, exist_ok=True)
        _mount(f"/proc/self/fd/{keep}", own, None, MS_BIND)
        _mount(None, own, None, MS_BIND | MS_REMOUNT | MS_NOSUID)  # writable again
        os.close(keep)
    for path in hide:
        if own and (own + "/").startswith(path.rstrip("/") + "/"):
            continue  # hiding an ancestor would hide the kernel's own folder
        if os.path.isdir(path) and not os.path.islink(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "mode=0555,size=4k")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)


def drop_privileges() -> None:
    """Empty the capability bounding set, the ambient and the process's own capabilities."""
    import ctypes

    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except OSError:
        last = 40
    for cap in range(last + 1):
        _prctl(PR_CAPBSET_DROP, cap)
    _prctl(PR_CAP_AMBIENT, 4)  # PR_CAP_AMBIENT_CLEAR_ALL
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x 2: all empty
    _check(_c().capset(header, data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_limits(memory: int, cpu: int, fsize: int, init: bool = False) -> None:
    """Apply the limits (0 = leave that one alone). ``init``: for process 1 of a PID namespace,
    which ignores SIGXCPU, so the CPU limit is a hard one (SIGKILL)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu:
        # soft: SIGXCPU (ends the kernel); hard, a little later: SIGKILL.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu if init else cpu + 5))
    if fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


def _parse(argv: list[str]) -> tuple[dict, list[str]]:
    """Options up to ``--``; the rest is the command. (No argparse: it would double this
    launcher's start-up time.)"""
    options: dict = {"--memory": 0, "--cpu": 0, "--fsize": 0, "--own": None, "--hide": [],
                     "--read-only": [], "--isolate": False}
    rest = list(argv)
    while rest and rest[0] != "--":
        option = rest.pop(0)
        if option == "--isolate":
            options[option] = True
        elif option in options and rest:
            value = rest.pop(0)
            if isinstance(options[option], list):
                options[option].append(os.path.abspath(value))
            elif option == "--own":
                options[option] = os.path.abspath(value)
            else:
                options[option] = int(value)
        else:
            raise ValueError(f"unknown option {option!r}")
    return options, rest[1:]


def _exit_like(status: int) -> None:
    """End this process the way the child ended (its exit code, or its signal)."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128)


def _isolated(options: dict, command: list[str]) -> int:
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the grader's thread ends: so do we
    _check(_c().unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID), "unshare")
    private_mounts(options["--own"], options["--read-only"], options["--hide"])
    loopback_up()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    child = os.fork()
    if child == 0:  # process 1 of the new PID namespace
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            set_limits(options["--memory"], options["--cpu"], options["--fsize"], init=True)
            drop_privileges()
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.execvp(command[0], command)
        except BaseException as exc:  # noqa: BLE001 (reported, then the child ends)
            print(f"smtpkit sandbox: {exc}", file=sys.stderr, flush=True)
        os._exit(3)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # SIGINT goes to the kernel via the group
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGTERM))
    while True:
        try:
            _, status, usage = os.wait4(child, 0)
            break
        except InterruptedError:
            continue
    cpu = options["--cpu"]
    if (cpu and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            and usage.ru_utime + usage.ru_stime >= cpu - 0.5):
        status = signal.SIGXCPU  # (a wait status: "killed by SIGXCPU") the usual way to say it
    _exit_like(status)
    return 0  # not reached


def main(argv: list[str]) -> int:
    try:
        options, command = _parse(argv)
    except ValueError as exc:
        print(f"smtpkit sandbox: {exc}", file=sys.stderr)
        return 2
    if not command:
        print("smtpkit sandbox: no command to run", file=sys.stderr)
        return 2
    try:
        if options["--isolate"]:
            return _isolated(options, command)
        set_limits(options["--memory"], options["--cpu"], options["--fsize"])
    except (OSError, ValueError) as exc:
        print(f"smtpkit sandbox: {exc}", file=sys.stderr)
        return 3
    os.execvp(command[0], command)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
