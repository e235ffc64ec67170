"""Submissions as an LMS hands them over: a zip, unpacked safely into the folder layout.

    Moodle  "Ada Lovelace_123456_assignsubmission_file_/02_the_smtp_dialogue.ipynb"
    Canvas  "lovelaceada_123456_7890123_02_the_smtp_dialogue.ipynb" (``_late_`` after the name
            when late; ``-1`` before ``.ipynb`` for a resubmission)
    other   "ada/02.ipynb" or "ada.ipynb", as ``collect`` reads a folder

Each notebook becomes ``DEST/<student>/<file>``. Only ``.ipynb`` members are taken; a member
with an absolute path, ``..``, a link, a size over the notebook cap or beyond the archive's
total cap is skipped and reported, and the zip's own sizes are never trusted: members are read
with a limit. Nothing else of the archive is extracted.
"""

from __future__ import annotations

import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from .errors import GradingError
from .notebook import MAX_NOTEBOOK_BYTES

__all__ = ["unpack", "student_and_file", "submissions_folder", "MAX_ARCHIVE_BYTES", "MAX_MEMBERS"]

#: All notebooks of one archive together, uncompressed.
MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024
#: Members of one archive (notebooks or not).
MAX_MEMBERS = 20_000

_MOODLE = re.compile(r"^(?P<student>.+?)_\d+_assignsubmission_[a-z]+_?$")
_CANVAS = re.compile(r"^(?P<student>[a-z0-9]+)(?:_late)?_\d+_\d+_(?P<file>.+?)(?:-\d+)?\.ipynb$")


def student_and_file(member: str, wrapper: str | None = None) -> tuple[str, str] | None:
    """(student, file name) for an archive member's path, or None when it is no notebook of a
    student. ``wrapper``: a folder around everything (the assignment's name), dropped first."""
    parts = [p for p in PurePosixPath(member).parts if p not in ("", ".")]
    if wrapper is not None and len(parts) > 1 and parts[0] == wrapper:
        parts = parts[1:]
    if (not parts or not parts[-1].lower().endswith(".ipynb") or "__MACOSX" in parts
            or any(p.startswith(".") for p in parts)):
        return None
    name = parts[-1]
    for folder in parts[:-1]:
        found = _MOODLE.match(folder)
        if found:
            return found["student"].strip(), name
    if len(parts) == 1:
        canvas = _CANVAS.match(name)
        if canvas:
            return canvas["student"], f"{canvas['file']}.ipynb"
        return name[: -len(".ipynb")], name
    return parts[0], name  # student/any/depth/file.ipynb, as collect() reads a folder


def _wrapper(names: list[str]) -> str | None:
    """The one folder every notebook of the archive lies in, when there is one and the
    notebooks lie deeper than it (it is then the assignment, not a student)."""
    paths = [PurePosixPath(n).parts for n in names if n.lower().endswith(".ipynb")]
    firsts = {p[0] for p in paths if p}
    if len(firsts) == 1 and all(len(p) >= 3 for p in paths):
        return firsts.pop()
    return None


def _safe_part(text: str, limit: int = 100) -> str:
    """One path part made from an archive's name: printable, no separators, no leading dot, and
    short enough for any file system (a name of thousands of characters must not stop the run)."""
    cleaned = "".join(ch for ch in text if ch.isprintable() and ch not in "/\\\0").strip()
    cleaned = cleaned.lstrip(".") or "unnamed"
    if len(cleaned) <= limit:
        return cleaned
    stem, dot, suffix = cleaned.rpartition(".")
    keep = f"{dot}{suffix}" if dot and len(suffix) <= 10 else ""
    return cleaned[: limit - len(keep)] + keep


def unpack(archive: Path, dest: Path) -> list[tuple[str, str]]:
    """Unpack the notebooks of ``archive`` into ``dest`` (``student/file``); returns what was
    skipped, as (member, reason). GradingError when it is not a zip at all."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise GradingError(f"{archive}: not a zip archive ({exc})") from None
    skipped: list[tuple[str, str]] = []
    total = 0
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise GradingError(f"{archive}: {len(members)} members (at most {MAX_MEMBERS})")
        used: set[str] = set()
        wrapper = _wrapper([m.filename.replace("\\", "/") for m in members])
        for info in members:
            if info.is_dir():
                continue
            name = info.filename
            path = PurePosixPath(name.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts:
                skipped.append((name, "a path outside the archive"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                skipped.append((name, "a symbolic link"))
                continue
            found = student_and_file(str(path), wrapper)
            if found is None:
                continue
            student, file = (_safe_part(x) for x in found)
            target = dest / student / file
            key = str(target).lower()
            n = 1
            while key in used:
                n += 1
                target = dest / student / f"{Path(file).stem} ({n}).ipynb"
                key = str(target).lower()
            used.add(key)
            with zf.open(info) as source:
                data = source.read(MAX_NOTEBOOK_BYTES + 1)
            if len(data) > MAX_NOTEBOOK_BYTES:
                skipped.append((name, f"larger than {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB"))
                continue
            total += len(data)
            if total > MAX_ARCHIVE_BYTES:
                skipped.append((name, "the archive's notebooks exceed "
                                      f"{MAX_ARCHIVE_BYTES // (1024 * 1024)} MB"))
                break
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as out:
                out.write(data)
    return skipped


@contextmanager
def submissions_folder(path: Path, warn: Callable[[str], None] | None = None) -> Iterator[Path]:
    """``path`` itself when it is a folder; a zip's notebooks unpacked into a temporary folder
    (removed afterwards) when it is an archive."""
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not (path.is_file() and zipfile.is_zipfile(path)):
        raise GradingError(f"submissions folder not found: {path} (or an LMS zip)")
    with tempfile.TemporaryDirectory(prefix="smtpkit-submissions-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for member, reason in unpack(path, folder):
            if warn:
                warn(f"{path.name}: {member}: skipped ({reason})")
        yield folder
