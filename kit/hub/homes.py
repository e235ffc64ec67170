"""Writing into a student's home as root, without being led elsewhere and without overwriting.

A student owns their home and may have put a symbolic link where the hub is about to write
(``~/smtp-course -> /etc``). Every folder on the way is opened with ``O_NOFOLLOW`` relative to
the one before (``dir_fd``), and every file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``, so a
link or an existing file is never written through; what was there stays. What the hub writes is
given to the student (``fchown``), mode 0600 for files and 0700 for folders.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["COURSE_FOLDER", "FEEDBACK_FOLDER", "open_folder", "give_file", "release_into_home",
           "return_feedback"]

#: The course's folder in each home; the lab opens there.
COURSE_FOLDER = "smtp-course"
#: Where returned feedback pages go, inside the course folder.
FEEDBACK_FOLDER = "feedback"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@contextmanager
def open_folder(home: Path, parts: tuple[str, ...], owner: tuple[int, int] | None,
                create: bool = True) -> Iterator[int]:
    """A descriptor of ``home/parts...``, each step opened without following a link; missing
    folders are made (0700, given to ``owner``) when ``create``. OSError otherwise."""
    fd = os.open(home, _DIR_FLAGS)
    try:
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise OSError(f"not a plain folder name: {part!r}")
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o700, dir_fd=fd)
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                if owner is not None:
                    os.fchown(nxt, *owner)
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def give_file(folder_fd: int, name: str, data: bytes, owner: tuple[int, int] | None) -> bool:
    """Create ``name`` in the folder with ``data`` unless something (a file, a link) has that
    name already; True when written."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=folder_fd)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        if owner is not None:
            os.fchown(f.fileno(), *owner)
        f.write(data)
    return True


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if stat.S_ISREG(p.lstat().st_mode) and p.suffix == ".ipynb")


def release_into_home(notebooks: Path, home: Path, owner: tuple[int, int] | None) -> list[str]:
    """Copy the released notebooks into ``home/smtp-course``; those already there are kept
    (students' work). Returns the names written."""
    written = []
    with open_folder(home, (COURSE_FOLDER,), owner) as fd:
        for path in _files(notebooks):
            if give_file(fd, path.name, path.read_bytes(), owner):
                written.append(path.name)
    return written


def return_feedback(page: bytes, name: str, home: Path, owner: tuple[int, int] | None) -> str:
    """Put a feedback page into ``home/smtp-course/feedback/`` as ``name`` (``name-2.html`` ...
    when taken); return the name used."""
    stem, dot, suffix = name.rpartition(".")
    with open_folder(home, (COURSE_FOLDER, FEEDBACK_FOLDER), owner) as fd:
        for n in range(1, 1000):
            candidate = name if n == 1 else f"{stem}-{n}{dot}{suffix}"
            if give_file(fd, candidate, page, owner):
                return candidate
    raise OSError(f"too many feedback pages named {name} in {home}")
