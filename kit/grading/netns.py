"""Network namespaces: put a thread of the grader where a student's kernel lives.

The kernel runs in its own, empty network namespace (``sandbox.py``): its 127.0.0.1 is not
the grader's. A protocol exercise needs a judge server the student's code can reach, so the
grader binds that server's socket *inside* the kernel's namespace: Linux applies ``setns`` to
the calling thread only, so a short-lived judge thread enters the namespace, creates its
servers there (their sockets stay in that namespace for life, whichever thread uses them later)
and ends. The grader's other threads, and its connections to the kernel (Unix sockets, which
belong to the file system, not to a network namespace), are untouched.

``setns`` is called through ctypes (``os.setns`` only exists from Python 3.12).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["SANDBOX", "enter", "probe", "namespace_of"]

CLONE_NEWNET = 0x40000000
#: The launcher script the kernels start through.
SANDBOX = str(Path(__file__).with_name("sandbox.py"))

_libc = None


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns(CLONE_NEWNET) failed: {os.strerror(errno)}")


def namespace_of(pid: int | str) -> str:
    """``net:[4026532177]``: which network namespace process ``pid`` (or "self") is in."""
    return os.readlink(f"/proc/{pid}/ns/net")


def enter(pid: int) -> None:
    """Move the calling thread into the network namespace of process ``pid``."""
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        _setns(fd)
    finally:
        os.close(fd)


def probe() -> str | None:
    """None when kernels can be isolated here (the sandbox starts a program in new namespaces
    without capabilities, and the grader can enter its network namespace); otherwise the
    reason, for the report."""
    if not sys.platform.startswith("linux"):
        return f"namespaces need Linux (this is {sys.platform})"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="smtpkit-probe-", dir="/tmp") as own:
        report = ("import os, sys; caps = [l.split()[1] for l in open('/proc/self/status') "
                  f"if l.startswith('CapEff')][0]; open({own!r} + '/written', 'w').close(); "
                  "print(caps, os.getpid(), flush=True); sys.stdin.read()")
        command = [sys.executable, "-I", "-S", SANDBOX, "--isolate", "--own", own,
                   "--read-only", "/", "--hide", own + "/hidden", "--",
                   sys.executable, "-I", "-S", "-c", report]
        try:
            child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            return f"cannot start the sandbox launcher: {exc}"
        try:
            line = child.stdout.readline().split() if child.stdout else []
            if line != ["0000000000000000", "1"]:
                err = child.stderr.read().strip() if child.stderr and child.poll() is not None else ""
                return err or f"the sandboxed program did not start as expected ({line})"
            if namespace_of(child.pid) == namespace_of("self"):
                return "the sandbox did not create a network namespace"
            problem: list[str] = []

            def visit() -> None:
                try:
                    enter(child.pid)
                except OSError as exc:
                    problem.append(str(exc))

            thread = threading.Thread(target=visit, name="smtpkit-netns-probe")
            thread.start()
            thread.join()
            return problem[0] if problem else None
        finally:
            child.kill()
            child.wait()
