"""Authoring: instructor notebooks in ``solutions/`` are the single source; ``release`` writes
the student copies in ``notebooks/`` (solution blocks stubbed, outputs cleared, byte-stable),
and each translation (``solutions/locale/<lang>/*.po``, `catalogs`) into ``notebooks/<lang>/`` and
``solutions/<lang>/``, all from one `ReleasePlan` (``plan``),
``check`` reports drift, and ``student_release`` builds the folder students get, without the
grader-only reference solutions (``leaks``). No release overwrites a student's work
(``workspace``).
"""

from __future__ import annotations

from .errors import AuthoringError, MarkerError
from .leaks import GRADER_ONLY, audit, expected_problems, static_leaks, write_expected
from .markers import DEFAULT_TODO, strip_solutions
from .plan import Edition, ReleasePlan
from .release import (
    SOLUTION_ONLY,
    EditedNotebooks,
    Released,
    check,
    drift,
    folder_drift,
    release,
    render,
    student_notebook,
    write_release,
)
from .student import MARKER, build_student_release, student_release
from .workspace import BACKUPS, MANIFEST

__all__ = [
    "ReleasePlan",
    "Edition",
    "write_release",
    "folder_drift",
    "release",
    "check",
    "drift",
    "student_release",
    "build_student_release",
    "EditedNotebooks",
    "Released",
    "MANIFEST",
    "BACKUPS",
    "student_notebook",
    "render",
    "strip_solutions",
    "AuthoringError",
    "MarkerError",
    "SOLUTION_ONLY",
    "DEFAULT_TODO",
    "MARKER",
    "GRADER_ONLY",
    "audit",
    "static_leaks",
    "expected_problems",
    "write_expected",
]
