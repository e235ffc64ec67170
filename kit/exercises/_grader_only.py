"""What the students never get: the paths of the kit that only the grader may read.

``GRADER_ONLY`` lists folders and files relative to the ``kit`` package folder. The student
release (`kit.authoring.student`) leaves every one of them out and refuses to ship a kit that
still holds a reference solution; the grading sandbox hides every one of them from the student's
kernel. Today that is one package, ``kit/exercises/answers``: the model answers the expected
values of the public tests are computed from, which instructors may also use in hidden tests.

Everything else in ``kit/exercises`` ships and must work without it: the public tests take
their expected values from ``expected.json`` when the answers are absent (`_expected`).
"""

from __future__ import annotations

import importlib
from pathlib import PurePosixPath
from types import ModuleType

__all__ = ["GRADER_ONLY", "ANSWERS_PACKAGE", "is_grader_only", "load_answers"]

#: Paths relative to the ``kit`` package folder (POSIX separators) that never leave the grader.
GRADER_ONLY: tuple[str, ...] = ("exercises/answers",)

#: The dotted name of the reference solutions package (``kit/exercises/answers``).
ANSWERS_PACKAGE = __name__.rpartition(".")[0] + ".answers"


def is_grader_only(relative: str) -> bool:
    """True if ``relative`` (a path inside the ``kit`` folder, e.g. ``exercises/answers/x.py``)
    is or lies under a GRADER_ONLY path."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    return any(parts[: len(PurePosixPath(p).parts)] == PurePosixPath(p).parts for p in GRADER_ONLY)


def load_answers() -> ModuleType | None:
    """The reference solutions package, or None where it is not there (a student's kit, or a
    grading kernel that hides it). Only an absent or unreadable package means None; an error
    inside a present one is raised, so a broken answer is never mistaken for a student release."""
    try:
        module = importlib.import_module(ANSWERS_PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name == ANSWERS_PACKAGE:
            return None
        raise
    except PermissionError:  # hidden by making it unreadable
        return None
    # An empty folder mounted over it imports as a namespace package without answers: hidden too.
    return module if isinstance(getattr(module, "ANSWERS", None), dict) else None
