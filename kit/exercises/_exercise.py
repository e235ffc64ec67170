"""An exercise: an id, a title, a hint and its tests (public, and hidden ones added later)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._tests import TestLike

__all__ = ["Exercise"]

_ID = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")


@dataclass(frozen=True)
class Exercise:
    """One exercise. ``function`` is the name students give their function (default: the last
    part of the id, ``demo.add`` -> ``add``); ``time_limit`` bounds each call, in seconds."""

    id: str
    title: str
    tests: tuple[TestLike, ...]
    hint: str | None = None
    function: str = ""
    time_limit: float = 5.0
    points: float = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ValueError(f"exercise id must look like 'topic.name', got {self.id!r}")
        tests = tuple(self.tests)
        if not tests:
            raise ValueError(f"exercise {self.id!r} has no tests")
        for test in tests:
            if not isinstance(test, TestLike):
                raise TypeError(f"exercise {self.id!r}: {test!r} is not a test (Case or Test)")
        names = [t.name for t in tests]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"exercise {self.id!r}: duplicate test names {duplicates}")
        if not self.time_limit > 0:
            raise ValueError(f"exercise {self.id!r}: time_limit must be > 0")
        object.__setattr__(self, "tests", tests)
        object.__setattr__(self, "function", self.function or self.id.rsplit(".", 1)[-1])
        object.__setattr__(self, "points", sum(t.points for t in tests))

    def with_tests(self, extra: Iterable[TestLike]) -> Exercise:
        """A copy with ``extra`` tests appended (e.g. the hidden ones); names must stay unique."""
        return Exercise(
            self.id, self.title, self.tests + tuple(extra), self.hint, self.function,
            self.time_limit,
        )
