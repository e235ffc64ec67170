"""The kernel launcher: an unprivileged user, bubblewrap, and a private network; then the kernel.

Run as a script (``python -I -S sandbox.py PLAN_JSON -- KERNEL COMMAND...``), never imported by
the grader for its work: standard library only, so it starts in a few milliseconds. The plan is
built by ``kit.grading.isolation`` (the grader's side). In order:

1. **As the grader's user** (root on a course server): open what the kernel must reach but
   never name: the reply log (``O_EXCL | O_NOFOLLOW`` in the grader's private folder, handed
   to the kernel as fd 3), the Unix sockets the grader will connect to (its relay endpoints and
   the control socket), the grader's connection file (read here, rewritten for the kernel).
2. **Root only**: join the kernel's cgroups (memory and process limits that include children
   and tmpfs), make the allow-listed read-only trees reachable for the sandbox user in a
   private mount namespace (a Python under ``/root`` is not), then **drop to the unprivileged
   sandbox user** (``setresuid``; supplementary groups cleared). Nothing after this runs as
   root, and the user namespaces below are created by that user, so no uid in them maps to
   host root: host-global files such as ``/proc/sys/kernel/core_pattern`` stay out of reach.
3. Resource limits (memory, CPU, file size, processes, no core files).
4. A new **user and network namespace** with only a loopback interface: student code reaches
   nothing but its own 127.0.0.1.
5. **bubblewrap** (``bwrap``) runs the kernel: new user, PID, IPC and UTS namespaces, an
   allow-listed file system (Python, the kit, minimal ``/etc``; everything else absent),
   size-limited private ``/tmp`` (the working folder and home) and ``/dev/shm``, a minimal
   ``/dev``, its own ``/proc``, a clean environment, no capabilities, no nested user
   namespaces, a new session. It dies with this launcher.
6. This launcher stays as the kernel's parent and serves the grader: it relays the grader's
   Jupyter connection (Unix sockets in the grader's private folder) to the kernel's TCP ports
   on the private loopback, and hands out listening sockets on that loopback for the judge's
   lab servers (``SCM_RIGHTS``). The kernel cannot see this process (PID namespace) or these
   sockets (not in its file system).

Any failure to set up what the plan asks for is fatal (exit 3, the reason on stderr): running
a student's code with less isolation than the grader promised would break that promise.
"""

from __future__ import annotations

# Everything is imported up front: after dropping root, a Python under /root is unreadable.
import array
import ctypes
import encodings.idna  # noqa: F401 (looked up lazily by the socket module)
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
#: Where the kernel finds its connection file, inside the sandbox.
KERNEL_CONNECTION = "/run/smtpkit/connection.json"
#: The kernel's TCP ports on its private loopback: this plus the grader's ipc "port" number;
#: below the ephemeral range (32768-60999 in a new network namespace), where the relay's own
#: outgoing connections could otherwise take a port before the kernel binds it.
TCP_BASE = 10000
#: The file descriptor on which the kernel writes its replies log.
REPLIES_FD = 3
#: Only these addresses are handed out as listening sockets.
_LOOPBACK = {"127.0.0.1": socket.AF_INET, "::1": socket.AF_INET6, "localhost": socket.AF_INET}
_CONNECTION_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_ulong, ctypes.c_void_p]
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_c().mount(source.encode() if source else None, target.encode(),
                      fstype.encode() if fstype else None, flags,
                      data.encode() if data else None), f"mount {target}")


def loopback_up() -> None:
    """Bring up ``lo`` in the current network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


# -- the file system the kernel sees ---------------------------------------------------------
def bwrap_args(plan: dict, sources: dict[str, str], connection_fd: int, passwd_fd: int) -> list[str]:
    """The bubblewrap command line for ``plan`` (a pure function of its inputs).

    ``sources`` maps each read-only path to where this process can reach it (itself, or its
    staged copy when running as root)."""
    size = str(int(plan["tmpfs_mb"]) * 1024 * 1024)
    args = [plan.get("bwrap", "bwrap"),
            "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--clearenv"]
    for key, value in sorted(plan["env"].items()):
        args += ["--setenv", key, value]
    # The private /tmp first: read-only trees that live below /tmp (a course cloned there, its
    # venv) are bound on top of it, not hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", size, "--tmpfs", "/dev/shm",
             "--size", size, "--tmpfs", "/tmp", "--dir", "/tmp/work", "--dir", "/tmp/home"]
    for link, target in plan.get("symlinks", {}).items():
        args += ["--symlink", target, link]
    for path in plan["read_only"]:
        args += ["--ro-bind", sources[path], path]
    for path in plan.get("hide", []):
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
        else:
            args += ["--ro-bind", "/dev/null", path]
    args += ["--ro-bind-data", str(connection_fd), KERNEL_CONNECTION,
             "--ro-bind-data", str(passwd_fd), "/etc/passwd",
             "--remount-ro", "/",  # bubblewrap's own root tmpfs has no size: read-only
             "--chdir", "/tmp/work", "--"]
    return args


def _stage(read_only: list[str], stage: str) -> dict[str, str]:
    """Root: bind each read-only tree below ``stage`` (a fresh tmpfs, mode 0755) in a private
    mount namespace, so the sandbox user can reach a tree whose parents it may not enter."""
    _check(_c().unshare(CLONE_NEWNS), "unshare(mount namespace)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    sources = {}
    for index, path in enumerate(read_only):
        target = os.path.join(stage, str(index))
        if os.path.isdir(path):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        _mount(path, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
        sources[path] = target
    return sources


# -- identity and limits ---------------------------------------------------------------------
def _join_cgroups(cgroups: list[str]) -> None:
    for folder in cgroups:
        with open(os.path.join(folder, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))


def _drop_to(uid: int, gid: int) -> None:
    if uid == 0:
        raise OSError("refusing to run a student's kernel as root")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("could not drop root privileges")
    # Changing credentials made this process non-dumpable, which leaves /proc/self owned by
    # root; the user namespace set-up below writes there.
    _check(_c().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def set_limits(limits: dict) -> None:
    """RLIMIT_CORE 0 always; memory (address space), CPU seconds, file size and process count
    where given (0: leave that one alone)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("as"):
        resource.setrlimit(resource.RLIMIT_AS, (limits["as"], limits["as"]))
    if limits.get("cpu"):
        resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 5))
    if limits.get("fsize"):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize"], limits["fsize"]))
    if limits.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))


def _private_network(uid: int, gid: int) -> None:
    """A user namespace of our own (our uid mapped to itself, never to root) owning a new
    network namespace with only ``lo``."""
    _check(_c().unshare(CLONE_NEWUSER | CLONE_NEWNET), "unshare(user and network namespaces)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    loopback_up()


# -- serving the grader ----------------------------------------------------------------------
def _unix_listener(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o600)
    sock.listen(16)
    return sock


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(262144)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    for sock in (source, target):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _relay_one(client: socket.socket, port: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            kernel = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            kernel.settimeout(5)
            kernel.connect(("127.0.0.1", port))
            break
        except OSError:
            kernel.close()
            if time.monotonic() > deadline:
                client.close()
                return
            time.sleep(0.02)
    kernel.settimeout(None)
    kernel.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=_pump, args=(kernel, client), daemon=True).start()
    _pump(client, kernel)


def _relay(listener: socket.socket, port: int) -> None:
    """Every connection the grader makes to ``listener`` goes on to the kernel's ``port``."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_relay_one, args=(client, port), daemon=True).start()


def _hand_out(request: bytes) -> tuple[bytes, list[int]]:
    """``tcp HOST PORT``: a bound (not yet listening) TCP socket on the private loopback."""
    words = request.decode("ascii", "replace").split()
    if len(words) != 3 or words[0] != "tcp" or words[1] not in _LOOPBACK or not words[2].isdigit():
        return b"error: ask for 'tcp 127.0.0.1|::1 PORT'", []
    host = "127.0.0.1" if words[1] == "localhost" else words[1]
    sock = socket.socket(_LOOPBACK[words[1]], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(words[2])))
    except OSError as exc:
        sock.close()
        return f"error: {exc}".encode(), []
    fd = os.dup(sock.fileno())
    sock.close()
    return b"ok", [fd]


def _control(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            try:
                request = conn.recv(256)
                answer, fds = _hand_out(request)
                ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
                conn.sendmsg([answer], ancillary)
                for fd in fds:
                    os.close(fd)
            except OSError:
                pass


def _kernel_connection(path: str) -> bytes:
    """The grader's connection file (ipc endpoints in its folder), rewritten for the kernel:
    TCP on its private loopback, ports ``TCP_BASE + n``, the same key."""
    with open(path, encoding="utf-8") as f:
        info = json.load(f)
    out = {k: info[k] for k in ("key", "signature_scheme", "kernel_name") if k in info}
    out.update(transport="tcp", ip="127.0.0.1")
    for key in _CONNECTION_KEYS:
        out[key] = TCP_BASE + int(info[key])
    return json.dumps(out).encode()


def _data_fd(data: bytes) -> int:
    """A pipe holding ``data`` (for bwrap's ``--ro-bind-data``), above the descriptors that
    are given fixed numbers."""
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    moved = fcntl.fcntl(read, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(read)
    return moved


def _as_replies_fd(fd: int) -> None:
    """Make ``fd`` the kernel's reply log, ``REPLIES_FD``, kept across exec."""
    if fd != REPLIES_FD:
        os.dup2(fd, REPLIES_FD)
    os.set_inheritable(REPLIES_FD, True)


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128)


def run(plan: dict, command: list[str]) -> None:
    _c().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the grader's thread ends: so do we
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts reach the kernel as messages
    replies = os.open(plan["replies"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                      | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    if plan.get("unsafe"):  # --unsafe-no-sandbox: limits and the reply log, nothing more
        set_limits(plan["limits"])
        _as_replies_fd(replies)
        os.execvpe(command[0], command, plan["env"])
    connection = _kernel_connection(plan["connection"])
    relays = [(_unix_listener(f"{plan['ipc']}-{n}"), TCP_BASE + n) for n in plan["ipc_ports"]]
    control = _unix_listener(plan["control"])
    user = plan.get("user")
    if os.geteuid() == 0:
        if not user:
            raise OSError("running as root, but no unprivileged user to run the kernel as")
        _join_cgroups(plan.get("cgroups", []))
        sources = _stage(plan["read_only"], plan["stage"])
        uid, gid = user
        parent = os.getppid()
        _drop_to(uid, gid)
        # A change of credentials clears the parent-death signal: set it again, and make sure
        # the grader did not die in between (we would then be an orphan nobody kills).
        _c().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            raise OSError("the grader is gone")
    else:
        sources = {p: p for p in plan["read_only"]}
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            raise OSError("refusing to run a student's kernel as root")
    set_limits(plan["limits"])
    _private_network(uid, gid)
    passwd = f"student:x:{uid}:{gid}:student:/tmp/home:/bin/false\n".encode()
    connection_fd, passwd_fd = _data_fd(connection), _data_fd(passwd)
    argv = bwrap_args(plan, sources, connection_fd, passwd_fd) + command
    child = os.fork()
    if child == 0:
        try:
            _as_replies_fd(replies)  # the kernel writes its replies here
            for fd in (connection_fd, passwd_fd):
                os.set_inheritable(fd, True)
            os.execvp(argv[0], argv)
        except BaseException as exc:  # noqa: BLE001 (reported, then the child ends)
            print(f"smtpkit sandbox: cannot start bwrap: {exc}", file=sys.stderr, flush=True)
        os._exit(3)
    for fd in {replies, connection_fd, passwd_fd}:
        os.close(fd)
    for listener, port in relays:
        threading.Thread(target=_relay, args=(listener, port), daemon=True).start()
    threading.Thread(target=_control, args=(control,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    _exit_like(status)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: sandbox.py PLAN_JSON -- COMMAND...", file=sys.stderr)
        return 2
    try:
        plan = json.loads(argv[0])
        run(plan, argv[2:])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"smtpkit sandbox: {exc}", file=sys.stderr, flush=True)
        return 3
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
