"""``check("id", answer)``: run an exercise's tests in the notebook and show the feedback.

Display-once design: ``check`` displays the result itself (so a call in the middle of a cell
shows up) and returns it (so code can use ``.passed``, ``.points``). The result remembers the
cell that showed it; IPython then calls its ``_ipython_display_`` again for a last-expression
``check(...)``, which is a no-op in that same cell. Either way: exactly one rendering per call.
In a later cell, evaluating the result shows it again. Outside IPython nothing is displayed
(``print(result)`` gives the text form). ``check`` never raises into the notebook.
"""

from __future__ import annotations

from typing import Any

from ..i18n import N_, _
from ._registry import REGISTRY, Registry
from ._results import CheckResult
from ._run import local_call, run_exercise
from ._shell import current_shell
from ._values import short_repr

__all__ = ["check"]


def _problem(exercise_id: str, title: str, message: str) -> CheckResult:
    return CheckResult(str(exercise_id), title, 0, 0, [], "error", message=message)


def _evaluate(
    exercise_id: str, answer: Any, time_limit: float | None, registry: Registry
) -> CheckResult:
    try:
        exercise = registry.get(exercise_id)
    except KeyError as exc:
        return _problem(exercise_id, N_("unknown exercise"), exc.args[0])
    if not callable(answer):
        return _problem(
            exercise.id, exercise.title,
            _("check needs your function itself, e.g. check({id!r}, {function}), not its result (got {got})").format(
                id=exercise.id, function=exercise.function, got=short_repr(answer)),
        )
    call = local_call(answer, exercise.function, time_limit or exercise.time_limit)
    return run_exercise(exercise, call)


def check(
    exercise_id: str,
    answer: Any,
    *,
    time_limit: float | None = None,
    display: bool = True,
    registry: Registry | None = None,
) -> CheckResult:
    """Run the public tests of ``exercise_id`` on ``answer`` (your function) and show feedback.

    ``time_limit`` overrides the exercise's limit per call, in seconds; ``display=False`` only
    returns the result.
    """
    try:
        result = _evaluate(exercise_id, answer, time_limit, registry or REGISTRY)
    except Exception as exc:  # a bug of ours must not stop the student's "Run All"
        result = _problem(
            exercise_id, N_("check failed"),
            _("the checker itself failed ({error}); please tell your instructor").format(
                error=f"{type(exc).__name__}: {exc}"),
        )
    shell = current_shell() if display else None
    if shell is not None:
        result._ipython_display_()
        result._shown_in = shell.execution_count
    return result
