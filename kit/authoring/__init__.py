"""Authoring: instructor notebooks in ``solutions/`` are the single source; ``release`` writes
the student copies in ``notebooks/`` (solution blocks stubbed, outputs cleared, byte-stable),
``check`` reports drift, and ``student_release`` builds the folder students get.
"""

from __future__ import annotations

from .errors import AuthoringError, MarkerError
from .markers import DEFAULT_TODO, strip_solutions
from .release import SOLUTION_ONLY, check, drift, release, render, student_notebook
from .student import MARKER, student_release

__all__ = [
    "release",
    "check",
    "drift",
    "student_release",
    "student_notebook",
    "render",
    "strip_solutions",
    "AuthoringError",
    "MarkerError",
    "SOLUTION_ONLY",
    "DEFAULT_TODO",
    "MARKER",
]
