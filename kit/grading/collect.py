"""Find the submissions and match each student's files to the released notebooks.

Layouts (both may be mixed in one folder)::

    SUBMISSIONS/alice.ipynb                 one notebook per student: the student is the stem
    SUBMISSIONS/bob/02_the_smtp_dialogue.ipynb
    SUBMISSIONS/bob/03_reply_codes (1).ipynb   one folder per student, any depth

Hidden files and folders and ``.ipynb_checkpoints`` are skipped. Nothing is graded through a
symbolic link: a linked notebook (``alice.ipynb -> /elsewhere``), a linked folder
(``bob -> ../other``) or a link deeper inside a student's folder is not followed and is listed
in that student's ``ignored`` files as "a symbolic link: not graded"; so is anything that is not
a regular file (a FIFO named ``x.ipynb``) and anything whose real path lies outside the
submissions folder. A student's first ``MAX_FILES`` notebooks (in path order) are graded; the
others are listed as ignored too.

Files are matched to released notebooks by name first (exact, then the same name once copies'
suffixes such as `` (1)`` or ``-Copy1`` and the student's name are removed, then the same number
prefix ``02``), then by content (exercise ids in cell metadata, then the names of the exercise
functions defined). Each released notebook takes at most one file: the best match; the others
are reported as ignored, with the reason.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .assignment import Assignment
from .errors import GradingError
from .notebook import StudentNotebook, read_submission

__all__ = ["Submission", "collect", "match", "safe_name", "MAX_FILES"]

#: Notebooks graded per student at most (the course has 9); the rest are listed as ignored.
MAX_FILES = 50
#: Ignored files listed per student at most; one more line counts the rest.
MAX_IGNORED_LISTED = 100

LINK = "a symbolic link: not graded"
NOT_A_FILE = "not a regular file: not graded"
OUTSIDE = "outside the submissions folder: not graded"

_COPY = re.compile(r"(\s*\(\d+\)|[-_ ]?copy\d*|^copy of |[-_ ]?v\d+|[-_ ]final)", re.IGNORECASE)
_WORDS = re.compile(r"[a-z]+|\d+")


@dataclass
class Submission:
    """One student's files (paths relative to the submissions folder, for reports), and the
    entries that were not graded, as (file, reason)."""

    student: str
    files: list[Path] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _inside(path: Path, real_root: str) -> bool:
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _walk(folder: Path, root: Path, real_root: str
          ) -> tuple[list[Path], list[tuple[str, str]]]:
    """The notebooks below ``folder`` (sorted), and what was refused; links are not followed."""
    files: list[Path] = []
    refused: list[tuple[str, str]] = []

    def onerror(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        refused.append((relative_name(where, root), f"cannot be read ({exc.strerror}): "
                                                     "not graded"))

    for top, dirs, names in os.walk(folder, followlinks=False, onerror=onerror):
        here = Path(top)
        dirs.sort()
        for name in list(dirs):
            if _hidden(name):
                dirs.remove(name)
            elif os.path.islink(here / name):  # os.walk would not enter it; say so
                dirs.remove(name)
                refused.append((relative_name(here / name, root), LINK))
        for name in sorted(names):
            if _hidden(name) or not name.endswith(".ipynb"):
                continue
            path = here / name
            problem = _refusal(path, real_root)
            if problem:
                refused.append((relative_name(path, root), problem))
            else:
                files.append(path)
    return sorted(files), refused


def _refusal(path: Path, real_root: str) -> str | None:
    """Why ``path`` is not graded, or None: a link, not a regular file, outside the folder."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror}): not graded"
    if stat.S_ISLNK(info.st_mode):
        return LINK
    if not stat.S_ISREG(info.st_mode):
        return NOT_A_FILE
    if not _inside(path, real_root):
        return OUTSIDE
    return None


def collect(root: Path) -> list[Submission]:
    """Every student in ``root``, sorted by name; GradingError when ``root`` is not a folder.

    A student is a top-level ``*.ipynb`` entry or a top-level folder holding at least one
    (a symbolic link counts, and is listed as ignored)."""
    root = Path(root)
    if not root.is_dir():
        raise GradingError(f"submissions folder not found: {root}")
    real_root = os.path.realpath(root)
    students: dict[str, Submission] = {}

    def student(name: str) -> Submission:
        return students.setdefault(name, Submission(name))

    with os.scandir(root) as scan:
        entries = sorted((e for e in scan if not _hidden(e.name)), key=lambda e: e.name)
    folders = []
    for entry in entries:  # the one-notebook layout first, then folders, as files are listed
        path = root / entry.name
        if entry.is_symlink():
            if entry.name.endswith(".ipynb"):
                student(entry.name[: -len(".ipynb")]).ignored.append((entry.name, LINK))
            elif os.path.isdir(path):  # a linked folder: a student, never entered
                student(entry.name).ignored.append((entry.name, LINK))
        elif entry.is_dir(follow_symlinks=False):
            folders.append(entry.name)
        elif entry.name.endswith(".ipynb"):
            problem = _refusal(path, real_root)
            submission = student(entry.name[: -len(".ipynb")])
            if problem:
                submission.ignored.append((entry.name, problem))
            else:
                submission.files.append(path)
    for name in folders:
        files, refused = _walk(root / name, root, real_root)
        if files or refused:
            submission = student(name)
            submission.files.extend(files)
            submission.ignored.extend(refused)
    for submission in students.values():
        _cap(submission, root)
    return [students[name] for name in sorted(students)]


def _cap(submission: Submission, root: Path) -> None:
    """At most MAX_FILES notebooks graded and MAX_IGNORED_LISTED entries listed."""
    extra = submission.files[MAX_FILES:]
    del submission.files[MAX_FILES:]
    submission.ignored.extend(
        (relative_name(p, root), f"more than {MAX_FILES} notebooks were handed in: not graded")
        for p in extra)
    if len(submission.ignored) > MAX_IGNORED_LISTED:
        rest = len(submission.ignored) - MAX_IGNORED_LISTED + 1
        del submission.ignored[MAX_IGNORED_LISTED - 1:]
        submission.ignored.append((f"{rest} more files", "not graded (not listed one by one)"))


_SLUG = re.compile(r"[^A-Za-z0-9._@-]+")
_PLAIN = re.compile(r"[a-z0-9@][a-z0-9._@-]{0,63}")
_HASHED = re.compile(r"-[0-9a-f]{8,}$")
_RESERVED = {"con", "prn", "aux", "nul",
             *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))}


def _plain(student: str) -> bool:
    """Used as its own file name: short, lower-case ASCII letters, digits and ``._@-``, not a
    name this rule makes for others (``...-<hex>``) nor a device name of Windows."""
    return (_PLAIN.fullmatch(student) is not None and not _HASHED.search(student)
            and student.split(".")[0] not in _RESERVED and not student.endswith("."))


def _digest(student: str, digits: int) -> str:
    return hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:digits]


def safe_name(student: str, taken: set[str]) -> str:
    """A file name (without extension) for the student's feedback; unique in ``taken``.

    The rule, which depends on the name alone (never on the other students nor the order):

    - a *plain* name is its own file name: 1 to 64 characters, all lower-case ASCII letters,
      digits and ``._@-``, starting with a letter, digit or ``@``, not ending in ``.`` nor in
      ``-`` and eight or more hex digits (the form below), not a Windows device name (``con``,
      ``nul``, ``com1``...);
    - any other name (capitals, spaces, accents, other scripts, look-alike letters, zero-width
      or direction marks, ``/``, ``..``, NUL, empty, too long) becomes a readable ASCII slug
      plus ``-`` and the first 8 hex digits of the SHA-256 of the exact name (its UTF-8 bytes).
      The slug: the name folded by NFKC (fullwidth ``ａ`` -> ``a``) then NFKD, everything
      outside ASCII dropped (``é`` -> ``e``; Cyrillic ``а``, zero-width and direction marks
      vanish), every run of characters outside ``A-Za-z0-9._@-`` turned into ``_``, ``._-``
      stripped from both ends, at most 40 characters; ``student`` when nothing is left.
      ``Alice`` -> ``Alice-<hash>``, ``аlice`` (Cyrillic а) -> ``lice-<hash>``,
      ``../../etc/passwd`` -> ``etc_passwd-<hash>``.

    So ``alice``, ``Alice``, ``ALICE``, ``аlice`` and ``ali\\u200bce`` get different names, even
    on a file system that ignores case. Should two names still meet in ``taken`` (compared
    case-insensitively; only a hash collision can do that), the later one gets 16 hex digits,
    then the whole hash, then a counter. No result contains ``/``, NUL or starts with ``.``."""
    if _plain(student) and student not in taken:
        taken.add(student)
        return student
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", student))
    ascii_only = "".join(c for c in folded if c.isascii())
    base = _SLUG.sub("_", ascii_only).strip("._-")[:40].strip("._-") or "student"
    for digits in (8, 16, 64):
        name = f"{base}-{_digest(student, digits)}"
        if name.lower() not in taken:
            break
    n = 1
    while name.lower() in taken:
        n += 1
        name = f"{base}-{_digest(student, 64)}-{n}"
    taken.add(name.lower())
    return name


def _words(name: str, student: str) -> list[str]:
    stem = _COPY.sub(" ", Path(name).stem.lower())
    student_words = set(_WORDS.findall(student.lower()))
    return [w for w in _WORDS.findall(stem) if w not in student_words]


def _number(words: list[str]) -> str | None:
    return next((w.lstrip("0") or "0" for w in words if w.isdigit()), None)


def score(file: StudentNotebook, released: str, exercises: tuple[str, ...],
          functions: set[str], student: str) -> float:
    """How well a submitted file matches a released notebook (0: not at all)."""
    if file.path.name == released:
        return 100.0
    mine, theirs = _words(file.path.name, student), _words(released, "")
    if mine and mine == theirs:
        return 90.0
    best = 0.0
    ids = set(file.exercise_ids) & set(exercises)
    if ids:
        best = max(best, 60.0 + 5 * len(ids))
    defined = file.defined_functions() & functions
    if defined:
        best = max(best, 40.0 + 5 * len(defined))
    if mine and _number(mine) is not None and _number(mine) == _number(theirs):
        best = max(best, 70.0 + 10 * difflib.SequenceMatcher(None, mine, theirs).ratio())
    elif mine:
        ratio = difflib.SequenceMatcher(None, " ".join(mine), " ".join(theirs)).ratio()
        if ratio >= 0.6:
            best = max(best, 20.0 + 10 * ratio)
    return best


def match(submission: Submission, assignment: Assignment, root: Path
          ) -> tuple[dict[str, StudentNotebook], list[tuple[str, str]]]:
    """Released notebook name -> the student's file for it; and (file, reason) for the rest,
    the submission's own ``ignored`` entries (links, files over the cap) last."""
    files = [read_submission(p) for p in submission.files]
    candidates = []
    for index, file in enumerate(files):
        for order, notebook in enumerate(assignment.notebooks):
            functions = {assignment.exercises[e].function for e in notebook.exercises}
            if file.error:  # unreadable: match by name only
                value = score(StudentNotebook(file.path, []), notebook.name, (), set(),
                              submission.student)
            else:
                value = score(file, notebook.name, notebook.exercises, functions,
                              submission.student)
            if value > 0:
                mtime = _mtime(file.path)
                candidates.append((-value, -mtime, order, index, notebook.name))
    if len(assignment.notebooks) == 1 and len(files) == 1 and not candidates:
        candidates.append((0.0, 0.0, 0, 0, assignment.notebooks[0].name))
    chosen: dict[str, StudentNotebook] = {}
    used: set[int] = set()
    for _, _, _, index, name in sorted(candidates):
        if name in chosen or index in used:
            continue
        chosen[name] = files[index]
        used.add(index)
    ignored = []
    for index, file in enumerate(files):
        if index in used:
            continue
        rel = relative_name(file.path, root)
        better = [n for *_, i, n in candidates if i == index]
        reason = (f"another file was taken for {better[0]}" if better
                  else "matches no notebook of the assignment")
        ignored.append((rel, reason))
    ignored.extend(submission.ignored)
    return chosen, ignored


def _mtime(path: Path) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def relative_name(path: Path, root: Path) -> str:
    """``path`` as shown in reports: relative to ``root`` where it lies below it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
