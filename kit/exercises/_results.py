"""Results of a check: one TestResult per test, one CheckResult per exercise.

Plain data with ``to_dict()`` for the grader's results.json. ``redacted()`` is the one place that
hides what hidden tests contain; every student-facing rendering of hidden tests goes through it.
Rendering itself lives in ``_render``; the notebook display methods here delegate to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_, _
from ._shell import current_shell

__all__ = ["TestResult", "CheckResult", "STATUSES", "TEST_STATUSES"]

#: Status of a whole check.
STATUSES = ("passed", "partial", "failed", "not attempted", "error", "timeout")
#: Status of one test; "skipped" means not run because an earlier call timed out.
TEST_STATUSES = ("passed", "failed", "not attempted", "error", "timeout", "skipped")

_HIDDEN_MESSAGES = {
    "passed": N_("passed (hidden test)"),
    "failed": N_("failed (hidden test: details are not shown)"),
    "not attempted": N_("not attempted"),
    "error": N_("your code raised an exception (hidden test: details are not shown)"),
    "timeout": N_("took too long (hidden test: details are not shown)"),
    "skipped": N_("not run: an earlier test timed out"),
}


@dataclass(frozen=True)
class TestResult:
    """The verdict of one test. Values are plain (JSON-able) or display strings."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    points: float
    max_points: float
    message: str = ""
    input: Any = None
    expected: Any = None
    got: Any = None
    hint: str | None = None
    seconds: float = 0.0
    hidden: bool = False
    status: str = ""
    traceback: str = ""

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "passed" if self.passed else "failed")
        if self.status not in TEST_STATUSES:
            raise ValueError(f"unknown test status {self.status!r}")

    def redacted(self) -> TestResult:
        """Hidden tests keep only name, verdict and points; others are returned unchanged."""
        if not self.hidden:
            return self
        return dataclasses.replace(
            self, message=_(_HIDDEN_MESSAGES[self.status]), input=None, expected=None, got=None,
            hint=None, traceback="",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        return dataclasses.asdict(self)


@dataclass
class CheckResult:
    """The verdict of one exercise. ``passed`` is true only when every test passed."""

    exercise_id: str
    title: str
    points: float
    max_points: float
    tests: list[TestResult]
    status: str
    message: str = ""
    hint: str | None = None
    _shown_in: int | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    @classmethod
    def from_tests(
        cls, exercise_id: str, title: str, tests: list[TestResult], hint: str | None = None
    ) -> CheckResult:
        """Sum the points and derive the status from the test results."""
        points = sum(t.points for t in tests)
        statuses = {t.status for t in tests}
        if statuses == {"passed"}:
            status = "passed"
        elif "timeout" in statuses:
            status = "timeout"
        elif statuses == {"not attempted"}:
            status = "not attempted"
        elif points > 0:
            status = "partial"
        elif "error" in statuses:
            status = "error"
        else:
            status = "failed"
        max_points = sum(t.max_points for t in tests)
        return cls(exercise_id, title, points, max_points, list(tests), status, hint=hint)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def redacted(self) -> CheckResult:
        """A copy safe to show a student: hidden tests without inputs, answers or messages."""
        return dataclasses.replace(self, tests=[t.redacted() for t in self.tests])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``passed`` included, display bookkeeping excluded)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del data["_shown_in"]
        data["tests"] = [t.to_dict() for t in self.tests]
        data["passed"] = self.passed
        return data

    # Display. In IPython `_ipython_display_` wins over the other hooks; `check()` shows the
    # result at once and records the cell, so the same cell's last-expression display (or a
    # second `display(result)` in that cell) is a no-op: exactly one rendering per check.
    def __str__(self) -> str:
        from ._render import to_text

        return to_text(self)

    def _repr_html_(self) -> str:
        from ._render import to_html

        return to_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _ipython_display_(self) -> None:
        shell = current_shell()
        if shell is not None and self._shown_in == shell.execution_count:
            return
        from IPython.display import display

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)
