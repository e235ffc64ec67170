"""Tests are judge-side objects: they hold the inputs and expected answers, and reach the
student's code only through ``call``.

``test.run(call) -> Outcome``. ``call(*args, **kwargs)`` runs the student's function on plain
values and returns its result as a plain value (see ``_values``); it raises a ``CallError`` when
the student's side fails (``_errors``). ``call.__name__`` is the name of the student's function,
for messages. In the notebook ``call`` invokes the student's object under a time limit; in the
grader it sends the arguments to the student's kernel and decodes the JSON reply. So a test
never touches the student's objects and the expected answers never leave the judge's process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ._errors import CallError
from ._values import Compare, exact, normalise

__all__ = ["Call", "Outcome", "Test", "Case", "TestLike", "format_call", "as_hidden"]

#: ``call(*args, **kwargs) -> plain value``; raises CallError when the student's side fails.
Call = Callable[..., Any]


@dataclass(frozen=True)
class Outcome:
    """What one test found. ``input``/``expected``/``got`` are for display: plain values or str."""

    passed: bool
    message: str = ""
    input: Any = None
    expected: Any = None
    got: Any = None

    def __post_init__(self) -> None:
        if type(self.passed) is not bool:
            raise TypeError(f"Outcome.passed must be a bool, got {type(self.passed).__name__}")


@runtime_checkable
class TestLike(Protocol):
    """What the runner needs from a test kind (Case, Test, or another judge-side kind)."""

    name: str
    points: float
    hint: str | None
    hidden: bool

    def run(self, call: Call) -> Outcome: ...


def _check_common(name: str, points: float) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("a test needs a non-empty name")
    if type(points) not in (int, float) or points < 0:
        raise ValueError(f"test {name!r}: points must be a number >= 0, got {points!r}")


@dataclass(frozen=True)
class Test:
    """A test with judge-side logic: ``fn(call) -> Outcome`` (start a server, call, inspect)."""

    __test__ = False  # not a pytest test class

    name: str
    points: float
    fn: Callable[[Call], Outcome]
    hint: str | None = None
    hidden: bool = False

    def __post_init__(self) -> None:
        _check_common(self.name, self.points)

    def run(self, call: Call) -> Outcome:
        """Run the judge-side logic."""
        return self.fn(call)


@dataclass(frozen=True)
class Case:
    """A pure-function case: ``call(*args, **kwargs)`` must give ``expected`` under ``compare``.

    ``args``, ``kwargs`` and ``expected`` are normalised on construction (tuples become lists),
    so the student's function sees the same values in the notebook and in the grader.
    """

    name: str
    args: Sequence[Any]
    expected: Any
    points: float = 1
    hint: str | None = None
    compare: Compare = exact
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    hidden: bool = False
    #: How the input is shown in feedback when the arguments are too long to print (a message).
    label: str | None = None

    def __post_init__(self) -> None:
        _check_common(self.name, self.points)
        if not isinstance(self.args, (list, tuple)):
            raise TypeError(f"case {self.name!r}: args must be a list or tuple of arguments")
        object.__setattr__(self, "args", tuple(normalise(list(self.args))))
        object.__setattr__(self, "kwargs", normalise(dict(self.kwargs)))
        object.__setattr__(self, "expected", normalise(self.expected))

    def run(self, call: Call) -> Outcome:
        """Call the student's function and compare its result with ``expected``."""
        shown = self.label or format_call(getattr(call, "__name__", "f"), self.args, self.kwargs)
        try:
            got = call(*self.args, **self.kwargs)
        except CallError as exc:
            exc.input = shown
            raise
        problem = self.compare(self.expected, got)
        return Outcome(problem is None, problem or "", shown, self.expected, got)


def format_call(name: str, args: Sequence[Any], kwargs: Mapping[str, Any] | None = None) -> str:
    """``add(2, 3)``: how a call looks in Python, for feedback."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def as_hidden(test: TestLike) -> TestLike:
    """A copy of a dataclass test marked hidden."""
    return dataclasses.replace(test, hidden=True)
