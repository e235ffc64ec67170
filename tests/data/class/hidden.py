"""Hidden tests for the grading tests' class (never released to students)."""

from kit.exercises import Case

HIDDEN = {
    "demo.add": [
        Case("big numbers", (10**18, 1), 10**18 + 1, points=2),
    ],
    "dialogue.dot_stuff": [
        Case("a dot after an empty line", ("\r\n.end\r\n",), "\r\n..end\r\n"),
    ],
}
