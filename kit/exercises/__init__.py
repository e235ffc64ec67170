"""Exercises: a registry of exercises, ``check()`` for feedback in the notebook, and the pieces
the grader reuses to judge from its own process.

Tests live in the judge's process and reach the student's code only through ``call`` (see
``_tests``), with plain JSON-able values compared type-strictly (``_values``). ``check`` runs the
public tests in the notebook under a time limit (``_timelimit``) and shows the result once
(``_check``); hidden tests are loaded from outside the student release (``_hidden``) and
redacted from student feedback (``_render``). Topic modules such as ``demo`` register the
exercises themselves.

The reference solutions live in one grader-only package, ``answers``; ``GRADER_ONLY`` names the
paths (relative to the ``kit`` folder) that the student release leaves out and the grading
sandbox hides. The topic modules work without them: the public tests' expected values ship in
``expected.json`` (``_expected``).
"""

from __future__ import annotations

from ._check import check
from ._errors import BadResult, CallError, NotAttempted, StudentError, TimeLimitExceeded
from ._exercise import Exercise
from ._grader_only import GRADER_ONLY
from ._hidden import load_hidden
from ._registry import REGISTRY, Registry, all_exercises, extend, get, register
from ._render import render_feedback
from ._results import STATUSES, TEST_STATUSES, CheckResult, TestResult
from ._run import local_call, run_exercise
from ._tests import Call, Case, Outcome, Test, TestLike, format_call
from ._timelimit import call_with_time_limit
from ._values import Compare, NotPlainValue, exact, explained, normalise

__all__ = [
    "GRADER_ONLY",
    "check",
    "Exercise",
    "Case",
    "Test",
    "TestLike",
    "Outcome",
    "Call",
    "Compare",
    "explained",
    "exact",
    "normalise",
    "NotPlainValue",
    "format_call",
    "CheckResult",
    "TestResult",
    "STATUSES",
    "TEST_STATUSES",
    "render_feedback",
    "Registry",
    "REGISTRY",
    "register",
    "get",
    "all_exercises",
    "extend",
    "load_hidden",
    "run_exercise",
    "local_call",
    "call_with_time_limit",
    "CallError",
    "NotAttempted",
    "TimeLimitExceeded",
    "StudentError",
    "BadResult",
]
