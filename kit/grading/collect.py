"""Find the submissions and match each student's files to the released notebooks.

Layouts (both may be mixed in one folder)::

    SUBMISSIONS/alice.ipynb                 one notebook per student: the student is the stem
    SUBMISSIONS/bob/02_the_smtp_dialogue.ipynb
    SUBMISSIONS/bob/03_reply_codes (1).ipynb   one folder per student, any depth

Hidden files and folders and ``.ipynb_checkpoints`` are skipped. Files are matched to released
notebooks by name first (exact, then the same name once copies' suffixes such as `` (1)`` or
``-Copy1`` and the student's name are removed, then the same number prefix ``02``), then by
content (exercise ids in cell metadata, then the names of the exercise functions defined).
Each released notebook takes at most one file: the best match; the others are reported as
ignored, with the reason.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .assignment import Assignment
from .errors import GradingError
from .notebook import StudentNotebook, read_submission

__all__ = ["Submission", "collect", "match", "safe_name"]

_COPY = re.compile(r"(\s*\(\d+\)|[-_ ]?copy\d*|^copy of |[-_ ]?v\d+|[-_ ]final)", re.IGNORECASE)
_WORDS = re.compile(r"[a-z]+|\d+")


@dataclass
class Submission:
    """One student's files (paths relative to the submissions folder, for reports)."""

    student: str
    files: list[Path] = field(default_factory=list)


def _visible(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(p.startswith(".") or p == "__MACOSX" for p in parts)


def collect(root: Path) -> list[Submission]:
    """Every student in ``root``, sorted by name; GradingError when ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise GradingError(f"submissions folder not found: {root}")
    students: dict[str, Submission] = {}
    for path in sorted(root.glob("*.ipynb")):
        if _visible(path, root) and path.is_file():
            students.setdefault(path.stem, Submission(path.stem)).files.append(path)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _visible(p, root)):
        files = sorted(p for p in folder.rglob("*.ipynb") if p.is_file() and _visible(p, root))
        if files:
            students.setdefault(folder.name, Submission(folder.name)).files.extend(files)
    return [students[name] for name in sorted(students)]


def safe_name(student: str, taken: set[str]) -> str:
    """A file name for the student's feedback: letters, digits, ``._@-``; unique in ``taken``."""
    base = re.sub(r"[^A-Za-z0-9._@-]+", "_", student).strip("._") or "student"
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base}_{n}"
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
    """Released notebook name -> the student's file for it; and (file, reason) for the rest."""
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
    return chosen, ignored


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def relative_name(path: Path, root: Path) -> str:
    """``path`` as shown in reports: relative to ``root`` where it lies below it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
