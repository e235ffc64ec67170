"""Demo topic: ``demo.add``, the warm-up exercise of the start-here notebook.

It shows the shape of every exercise: a function to write, public cases with points, and a hint
for the mistakes beginners make (printing instead of returning, returning a str).
"""

from __future__ import annotations

from ._exercise import Exercise
from ._registry import register
from ._tests import Case

ADD = register(
    Exercise(
        id="demo.add",
        title="Add two numbers",
        function="add",
        hint="add(a, b) must return a + b (return it, don't print it).",
        tests=(
            Case("small numbers", (2, 3), 5),
            Case("a negative number", (-4, 1), -3),
            Case("zeros", (0, 0), 0),
            Case("floats", (0.5, 0.25), 0.75),
        ),
    )
)
