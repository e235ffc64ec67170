"""Hidden tests: judge-only tests kept outside the student release.

A hidden-test file is a Python file (anywhere the students never get it, e.g. ``grading/
hidden.py`` outside ``kit/``) defining::

    from kit.exercises import Case, Test

    HIDDEN = {
        "demo.add": [Case("big numbers", (10**18, 1), 10**18 + 1, points=2)],
    }

``load_hidden(path)`` imports it and returns the tests, marked hidden; the grader then calls
``extend(id, tests)`` (or ``exercise.with_tests(tests)``) so the hidden tests count in the grade
while feedback rendered with ``render_feedback`` never shows their inputs or answers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from ._tests import TestLike, as_hidden

__all__ = ["load_hidden"]


def load_hidden(path: str | Path) -> dict[str, list[TestLike]]:
    """Import the file at ``path`` and return its ``HIDDEN`` tests by exercise id, marked hidden."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"hidden tests file not found: {path}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    name = f"_kit_hidden_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import hidden tests from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses defined in the file need their module registered
    # No bytecode beside the file: a __pycache__/*.pyc would hold every hidden input and answer
    # wherever the file lies, readable by whoever can read that folder.
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        sys.dont_write_bytecode = writes_bytecode
    hidden = getattr(module, "HIDDEN", None)
    if not isinstance(hidden, dict):
        raise TypeError(f"{path} must define HIDDEN = {{'exercise.id': [Case(...), ...]}}")
    result: dict[str, list[TestLike]] = {}
    for exercise_id, tests in hidden.items():
        if not isinstance(exercise_id, str) or not isinstance(tests, (list, tuple)):
            raise TypeError(f"{path}: HIDDEN maps exercise ids (str) to lists of tests")
        for test in tests:
            if not isinstance(test, TestLike):
                raise TypeError(f"{path}: {exercise_id}: {test!r} is not a test (Case or Test)")
        result[exercise_id] = [as_hidden(t) for t in tests]
    return result
