"""The students' notebooks of an assignment -> the layout ``smtpkit grade`` reads.

``collect(state, names, into)`` copies ``~/smtp-course/<name>`` of every student the hub made
into ``INTO/<student>/<name>`` (one folder per student, as ``smtpkit grade`` expects). Only what
the student really handed in is copied: every folder on the way and the file itself are opened
without following links (``O_NOFOLLOW``); the file must be a regular file owned by the student
with a single name (a hard link to someone else's file is refused); at most ``MAX_BYTES`` are
read. Whatever is refused is reported with the reason, and the next student is collected.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .homes import COURSE_FOLDER, open_folder
from .state import HubState

__all__ = ["Collected", "collect", "MAX_BYTES"]

#: A notebook larger than this is not collected (the course's notebooks are well under 1 MB even
#: with outputs and pictures).
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Collected:
    """One student's one notebook: ``copied`` or the reason it was not."""

    student: str
    notebook: str
    copied: bool
    reason: str = ""


def _read_handed_in(folder_fd: int, name: str, uid: int) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        if info.st_uid != uid:
            raise OSError("not the student's own file")
        if info.st_nlink != 1:
            raise OSError("a file with several names (hard link)")
        if info.st_size > MAX_BYTES:
            raise OSError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise OSError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    return data


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
        return "a symbolic link: not collected"
    if exc.errno == errno.ENOTDIR:  # ENOTDIR: a link or a file where a folder should be
        return f"~/{COURSE_FOLDER} is not a folder: not collected"
    return f"{exc.strerror or exc}: not collected"


def collect(state: HubState, names: list[str], into: Path) -> list[Collected]:
    """Copy each student's notebooks ``names`` into ``into/<student>/``; one entry per pair."""
    into.mkdir(parents=True, exist_ok=True)
    report = []
    for student, account in sorted(state.accounts().items()):
        target = into / student
        for name in names:
            try:
                with open_folder(Path(account["home"]), (COURSE_FOLDER,), None, create=False) as fd:
                    data = _read_handed_in(fd, name, account["uid"])
            except OSError as exc:
                report.append(Collected(student, name, False, _why(exc)))
                continue
            target.mkdir(exist_ok=True)
            (target / name).write_bytes(data)
            report.append(Collected(student, name, True))
    return report
