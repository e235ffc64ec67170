"""Feedback that tells a student what to fix in one round: every difference of a structured
answer, values that wrap between tokens, a table JupyterLab can't squeeze into equal columns."""

from __future__ import annotations

import re

from kit.exercises import Case, Exercise, local_call, run_exercise
from kit.exercises._render import to_html, to_text
from kit.exercises._values import MAX_DIFFERENCES, exact

EXPECTED = {"code": 538, "enhanced": "5.7.11", "text": ["Encryption required", "for requested authentication"]}


def test_every_difference_of_a_structured_answer_is_listed():
    wrong = {"code": 538, "enhanced": "5.7.1", "text": ["1 Encryption required", "for requested authentication"],
             "extra": True}
    message = exact(EXPECTED, wrong)
    assert "unexpected key(s) 'extra'" in message
    assert "['enhanced']" in message and "['text'][0]" in message  # both, not only the first
    assert exact(EXPECTED, dict(EXPECTED)) is None
    many = exact(list(range(20)), [x + 1 for x in range(20)])
    assert many.count(";") == MAX_DIFFERENCES and many.endswith("and 14 more differences")


def test_the_feedback_table_gives_the_explanation_room_and_wraps_values_between_tokens():
    exercise = Exercise("demo.parse", "Parse", (Case("a reply", (["538 5.7.11 ..."],), EXPECTED),),
                        function="parse")
    result = run_exercise(exercise, local_call(lambda lines: {**EXPECTED, "enhanced": "5.7.1"}, "parse", 5))
    page = to_html(result)
    assert page.count("table-layout:auto") == 2  # the tests' table and expected-vs-got
    assert "overflow-wrap:break-word" in page and "word-break:normal" in page
    assert re.search(r"width:22%", page)  # the test's name does not take a quarter of the row
    # a long dict is shown one key per line: it wraps at its commas
    assert "'enhanced': '5.7.11',\n" in page.replace("&#x27;", "'")
    assert "'enhanced': '5.7.11',\n" in to_text(result)
