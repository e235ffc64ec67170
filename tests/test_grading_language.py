"""Grading a German assignment: the same points as the English one, the checks' messages and the
feedback page in German. The language comes from the instructor's release (``kit.lang`` of the
released notebooks), never from a student's file: a student who marks their notebook German in
an English assignment still gets English feedback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.grading.api import write_outputs
from kit.grading.assignment import load_assignment
from kit.grading.grade import grade_class
from kit.grading.isolation import Sandbox, probe
from kit.grading.settings import Limits

CLASS = Path(__file__).parent / "data" / "class"
SANDBOX = None if probe() is None else Sandbox(isolate=False)
LIMITS = Limits(cell_timeout=2, call_timeout=1, notebook_timeout=60)

pytestmark = pytest.mark.timeout(240)


def _copy(src: Path, dst: Path, lang: str | None) -> None:
    dst.mkdir(parents=True)
    for path in src.glob("*.ipynb"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if lang:
            data.setdefault("metadata", {}).setdefault("kit", {})["lang"] = lang
        (dst / path.name).write_text(json.dumps(data), encoding="utf-8")


def _grade(tmp: Path, release_lang: str | None, student_lang: str | None):
    notebooks, submissions, out = tmp / "notebooks", tmp / "submissions", tmp / "out"
    _copy(CLASS / "notebooks", notebooks, release_lang)
    _copy(CLASS / "submissions" / "partly", submissions / "partly", student_lang)
    assignment = load_assignment(notebooks)
    report = grade_class(submissions, assignment, LIMITS, workers=1, sandbox=SANDBOX)
    write_outputs(report, out)
    return assignment, report, (out / "feedback" / "partly.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return {
        "en": _grade(tmp_path_factory.mktemp("en"), None, None),
        "de": _grade(tmp_path_factory.mktemp("de"), "de", "de"),
        "claims-de": _grade(tmp_path_factory.mktemp("claims"), None, "de"),
    }


def test_the_assignment_language_comes_from_the_release(graded):
    assert graded["en"][0].lang is None
    assert graded["de"][0].lang == "de"
    assert graded["claims-de"][0].lang is None


def test_german_submission_gets_the_same_points(graded):
    english = graded["en"][1].students[0]
    german = graded["de"][1].students[0]
    assert german.results.keys() == english.results.keys()
    points = {k: r.points for k, r in english.results.items()}
    assert {k: r.points for k, r in german.results.items()} == points
    # partly right: the comparison means something only if some points were lost and some won
    assert 0 < german.total < german.max_points


def _messages(report) -> list[str]:
    """Every message the checks wrote for the one student, in a fixed order."""
    results = report.students[0].results
    return [m for k in sorted(results) for m in
            [results[k].message, *(t.message for t in results[k].tests)] if m]


def test_german_assignment_gets_german_feedback(graded):
    _, report, page = graded["de"]
    assert '<html lang="de">' in page and '<html lang="en">' in graded["en"][2]
    # the checks' own messages are made in the judge's thread: German too, not only the frame
    german, english = _messages(report), _messages(graded["en"][1])
    assert len(german) == len(english) > 0
    assert any(g != e for g, e in zip(german, english, strict=True))


def test_a_student_cannot_choose_the_feedback_language(graded):
    assert '<html lang="en">' in graded["claims-de"][2]
    assert _messages(graded["claims-de"][1]) == _messages(graded["en"][1])
