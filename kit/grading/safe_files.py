"""Reading files a student's kernel could have touched: no links followed, sizes capped.

The grader's per-kernel folder is out of the kernel's sight, but the kernel writes into files
the grader handed it (its log, its reply log). Whatever it wrote, the grader reads at most a
bounded number of bytes, only from a regular file, and never through a symbolic link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["open_no_follow", "read_tail", "read_head"]


def open_no_follow(path: str | Path) -> int:
    """A read-only descriptor of the regular file ``path``; OSError for a link, a FIFO, a
    device or a folder."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return fd


def read_tail(path: str | Path, limit: int) -> str:
    """The last ``limit`` bytes of ``path`` as text ('' when it cannot be read safely)."""
    try:
        fd = open_no_follow(path)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - limit))
        return f.read(limit).decode(errors="replace")


def read_head(path: str | Path, limit: int) -> bytes:
    """At most the first ``limit`` bytes of ``path`` (b'' when it cannot be read safely)."""
    try:
        fd = open_no_follow(path)
    except OSError:
        return b""
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)
