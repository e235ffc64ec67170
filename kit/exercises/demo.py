"""Demo topic: ``demo.add``, the warm-up exercise of the start-here notebook.

It shows the shape of every exercise: a function to write, public cases with points, and a hint
for the mistakes beginners make (printing instead of returning, returning a str).
"""

from __future__ import annotations

from ..i18n import N_
from ._exercise import Exercise
from ._registry import register
from ._tests import Case

ADD = register(
    Exercise(
        id="demo.add",
        title=N_("Add two numbers"),
        function="add",
        hint=N_("add(a, b) must return a + b (return it, don't print it)."),
        tests=(
            Case(N_("small numbers"), (2, 3), 5),
            Case(N_("a negative number"), (-4, 1), -3),
            Case(N_("zeros"), (0, 0), 0),
            Case(N_("floats"), (0.5, 0.25), 0.75),
        ),
    )
)
