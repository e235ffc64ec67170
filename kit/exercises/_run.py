"""Run an exercise's tests with a given ``call`` and collect the verdicts.

``run_exercise`` is shared by the notebook (``check``, with ``local_call``) and the grader (with
a ``call`` that runs the student's function in the student's kernel). The runner turns every
``CallError`` into a verdict and any other exception into "the checker itself failed", never a
raise. After a timeout the remaining tests are skipped: one endless loop costs one time limit.
"""

from __future__ import annotations

import time
from typing import Any

from ..i18n import _
from ._errors import BadResult, CallError, NotAttempted, StudentError, TimeLimitExceeded
from ._exercise import Exercise
from ._results import CheckResult, TestResult
from ._tests import Call, Outcome, TestLike
from ._timelimit import call_with_time_limit
from ._values import NotPlainValue, normalise

__all__ = ["run_exercise", "local_call"]


def local_call(obj: Any, name: str, time_limit: float) -> Call:
    """A ``call`` that runs ``obj`` in this process under ``time_limit`` seconds.

    Arguments are normalised afresh for every call (the student cannot mutate a test's data);
    the result must be plain (``_values.normalise``) or the call raises BadResult.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = normalise(list(args)), normalise(kwargs)
        try:
            result = call_with_time_limit(time_limit, obj, *args, **kwargs)
        except TimeLimitExceeded:
            raise
        except NotImplementedError as exc:
            raise NotAttempted(str(exc)) from None
        except (Exception, SystemExit) as exc:
            raise StudentError.from_exception(exc) from None
        try:
            return normalise(result)
        except NotPlainValue as exc:
            raise BadResult(str(exc)) from None

    call.__name__ = name
    return call


def _safe(value: Any) -> Any:
    """A plain value for the result record, or its repr if the test handed back something else."""
    try:
        return normalise(value)
    except NotPlainValue:
        return repr(value)


def _run_one(test: TestLike, call: Call) -> tuple[TestResult, bool]:
    """Run one test; the flag says the student's code timed out (skip the rest)."""
    started = time.perf_counter()
    common = {"name": test.name, "max_points": test.points, "hint": test.hint,
              "hidden": test.hidden}
    try:
        outcome = test.run(call)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"test returned {type(outcome).__name__}, not an Outcome")
    except CallError as exc:
        message, traceback_text = str(exc), ""
        if isinstance(exc, StudentError):
            message, traceback_text = _("your code raised {error}").format(error=exc), exc.traceback_text
        elif isinstance(exc, NotAttempted):
            message = _("not attempted yet ({reason})").format(reason=exc) if str(exc) else _("not attempted yet")
        return TestResult(
            passed=False, points=0, status=exc.status, message=message, input=exc.input,
            traceback=traceback_text, seconds=time.perf_counter() - started, **common,
        ), isinstance(exc, TimeLimitExceeded)
    except Exception as exc:  # a bug in the checker, not in the student's code
        return TestResult(
            passed=False, points=0, status="error", seconds=time.perf_counter() - started,
            message=_("the checker itself failed ({error}); this is not your fault, please tell your "
                      "instructor").format(error=f"{type(exc).__name__}: {exc}"),
            **common,
        ), False
    return TestResult(
        passed=outcome.passed, points=test.points if outcome.passed else 0,
        message=outcome.message, input=_safe(outcome.input), expected=_safe(outcome.expected),
        got=_safe(outcome.got), seconds=time.perf_counter() - started, **common,
    ), False


def run_exercise(exercise: Exercise, call: Call) -> CheckResult:
    """Run every test of ``exercise`` against ``call``; never raises for the student's code."""
    results: list[TestResult] = []
    timed_out = False
    for test in exercise.tests:
        if timed_out:
            results.append(TestResult(
                test.name, False, 0, test.points, _("not run: an earlier test timed out"),
                hidden=test.hidden, status="skipped",
            ))
            continue
        result, timed_out = _run_one(test, call)
        results.append(result)
    return CheckResult.from_tests(exercise.id, exercise.title, results, exercise.hint)
