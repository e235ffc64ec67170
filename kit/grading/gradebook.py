"""What ``smtpkit grade`` writes: the gradebook, the full results, and upload-ready exports.

- ``gradebook.csv``: one row per student: ``student``, one column per exercise id (points),
  ``total``, ``max``.
- ``results.json``: everything: the settings, the assignment (exercises, tests, points), and per
  student every notebook's status (ok, timeout, crashed, error, missing) with its reason and
  every test of every exercise (passed, points, message, seconds, status; inputs, expected and
  actual values, hidden tests included: this file is for the instructor only).
- ``lms.csv``: one row per student for a learning management system's grade import:
  ``student,score,max_score,percent,status,feedback``.
- ``gradescope/<student>.json``: Gradescope's autograder ``results.json`` schema (``score``,
  ``output``, ``tests`` with ``name``, ``score``, ``max_score``, ``status``, ``output``,
  ``visibility``); what a student may see: hidden tests are redacted.

See ``docs/GRADING.md`` for the formats. Field order and row order are fixed (students by name,
exercises in notebook order), so the same class graded twice gives the same files apart from
times.

Everything a submission controls is bounded and neutralised on the way out, in one place each:

- ``clip``: any one text from a submission (a message, a reason, a file name) is cut to
  ``MAX_MESSAGE_CHARS`` characters (a traceback to ``MAX_TRACEBACK_CHARS``), and a value
  (input, expected, got) whose JSON is longer than ``MAX_MESSAGE_CHARS`` becomes its first
  characters as text, each with a note such as ``... (truncated, 20,000,000 characters in
  all)``. ``bounded`` applies it to an exercise's result; results.json, the Gradescope JSON and
  the feedback pages (``feedback.py``) all write bounded results and clipped reasons, and list
  at most ``MAX_PROBLEMS_LISTED`` problems per notebook.
- ``csv_text``: a CSV text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return, also after leading spaces, gets a ``'`` in front, so a spreadsheet shows it instead
  of running it as a formula (OWASP's rule). Numbers we write (points, percent) stay numbers.
- Texts that are not valid Unicode (file names in another encoding) are written with
  backslash escapes rather than stopping the run.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..exercises import CheckResult, TestResult
from .grade import ClassReport, NotebookReport, StudentReport
from .problems import clip

__all__ = ["points", "write_gradebook", "results_dict", "write_results", "write_lms",
           "gradescope_dict", "write_gradescope", "RESULTS_VERSION", "clip", "bounded",
           "csv_text", "notebook_dict", "MAX_MESSAGE_CHARS", "MAX_TRACEBACK_CHARS",
           "MAX_PROBLEMS_LISTED"]

#: Bumped when results.json changes incompatibly.
RESULTS_VERSION = 1

#: Longest message, reason, file name or shown value from a submission in any output.
MAX_MESSAGE_CHARS = 4_000
#: Longest traceback in any output.
MAX_TRACEBACK_CHARS = 8_000
#: Problems listed per notebook in any output (the rest are counted).
MAX_PROBLEMS_LISTED = 30

#: What a spreadsheet would take for the start of a formula (OWASP CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def points(value: float) -> str:
    """``4``, ``2.5``: points as a CSV cell."""
    return f"{value:g}"


def _clip_value(value: Any, limit: int = MAX_MESSAGE_CHARS) -> Any:
    """``value`` itself when its JSON is short; else its first ``limit`` characters as text.

    The JSON is produced lazily and abandoned past ``limit``, so a huge value costs little."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, int):
        return value if value.bit_length() <= 3 * limit else \
            f"<an integer of {value.bit_length():,} bits> (truncated)"
    size, parts = 0, []
    try:
        for chunk in json.JSONEncoder(ensure_ascii=False, default=repr).iterencode(value):
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                return f"{''.join(parts)[:limit]}... (truncated, more than {limit:,} characters)"
    except (RecursionError, ValueError, TypeError) as exc:
        return f"<a value that cannot be shown: {type(exc).__name__}>"
    return value


def _bounded_test(test: TestResult) -> TestResult:
    return dataclasses.replace(
        test, message=clip(test.message), traceback=clip(test.traceback, MAX_TRACEBACK_CHARS),
        input=_clip_value(test.input), expected=_clip_value(test.expected),
        got=_clip_value(test.got), hint=None if test.hint is None else clip(test.hint))


def bounded(result: CheckResult) -> CheckResult:
    """A copy of ``result`` safe to write: every message, traceback and value clipped."""
    return dataclasses.replace(result, message=clip(result.message),
                               tests=[_bounded_test(t) for t in result.tests])


def _problems(problems: list[str]) -> list[str]:
    shown = [clip(p) for p in problems[:MAX_PROBLEMS_LISTED]]
    if len(problems) > MAX_PROBLEMS_LISTED:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS_LISTED:,} more problems")
    return shown


def notebook_dict(notebook: NotebookReport) -> dict[str, Any]:
    """``notebook.to_dict()`` with its reason, file name and problems clipped."""
    data = notebook.to_dict()
    data["reason"] = clip(data["reason"])
    data["file"] = None if data["file"] is None else clip(data["file"])
    data["problems"] = _problems(data["problems"])
    return data


def csv_text(value: object) -> str:
    """A text CSV cell that no spreadsheet runs as a formula: ``'`` put in front of one that
    starts with ``= + - @``, a tab or a carriage return, also after leading spaces."""
    text = str(value)
    if text.startswith(_FORMULA) or text.lstrip().startswith(_FORMULA):
        return "'" + text
    return text


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """Text cells through ``csv_text``; numbers (ours) written as numbers."""
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f)
        for row in [header, *rows]:
            writer.writerow([points(c) if isinstance(c, (int, float)) and not isinstance(c, bool)
                             else csv_text(c) for c in row])
    return path


def _write_json(data: Any, path: Path) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False, default=repr)
    path.write_text(text + "\n", encoding="utf-8", errors="backslashreplace")


def write_gradebook(report: ClassReport, path: Path) -> Path:
    order = report.assignment.order
    return _write_csv(path, ["student", *order, "total", "max"], [
        [student.student, *(student.results[e].points for e in order), student.total,
         student.max_points] for student in report.students])


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("smtp-course-kit", "nbclient", "ipykernel", "jupyter_client"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _exercise_dict(report: ClassReport, exercise_id: str, notebook: str) -> dict[str, Any]:
    exercise = report.assignment.exercises[exercise_id]
    return {
        "id": exercise.id, "title": exercise.title, "function": exercise.function,
        "notebook": notebook, "max_points": exercise.points, "time_limit": exercise.time_limit,
        "tests": [{"name": t.name, "points": t.points, "hidden": t.hidden} for t in exercise.tests],
    }


def _student_dict(report: ClassReport, student: StudentReport) -> dict[str, Any]:
    exercises = {}
    for notebook in report.assignment.notebooks:
        for exercise_id in notebook.exercises:
            data = bounded(student.results[exercise_id]).to_dict()
            data["notebook"] = notebook.name
            data["seconds"] = round(student.seconds.get(exercise_id, 0.0), 3)
            for test in data["tests"]:
                test["seconds"] = round(test["seconds"], 4)
            exercises[exercise_id] = data
    return {
        "student": student.student,
        "feedback": f"feedback/{student.slug}.html",
        "total": student.total,
        "max": student.max_points,
        "notebooks": [notebook_dict(n) for n in student.notebooks],
        "ignored": [{"file": clip(f), "reason": clip(r)} for f, r in student.ignored],
        "exercises": exercises,
    }


def results_dict(report: ClassReport) -> dict[str, Any]:
    """The whole grading run as plain JSON-able data."""
    limits = report.limits
    assignment = report.assignment
    return {
        "version": RESULTS_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": {"name": "smtpkit grade", "argv": sys.argv[1:], **_versions()},
        "settings": {
            "workers": report.workers, "cell_timeout": limits.cell_timeout,
            "notebook_timeout": limits.notebook_timeout, "memory_mb": limits.memory_mb,
            "cpu_seconds": limits.cpu_limit,
            "file_size_mb": limits.file_size_mb, "network": report.network,
            "isolation": report.sandbox.describe(),
            "hidden": assignment.hidden_path,
        },
        "seconds": round(report.seconds, 3),
        "assignment": {
            "max_points": assignment.max_points,
            "notebooks": [{"name": nb.name, "exercises": list(nb.exercises)}
                          for nb in assignment.notebooks],
            "exercises": [_exercise_dict(report, e, nb.name)
                          for nb in assignment.notebooks for e in nb.exercises],
        },
        "warnings": list(assignment.warnings),
        "students": [_student_dict(report, s) for s in report.students],
    }


def write_results(report: ClassReport, path: Path) -> Path:
    _write_json(results_dict(report), path)
    return path


def _status_summary(student: StudentReport) -> str:
    bad = [f"{n.notebook}: {n.status}" for n in student.notebooks if n.status != "ok"]
    return "; ".join(bad) or "ok"


def write_lms(report: ClassReport, path: Path) -> Path:
    rows: list[list[object]] = []
    for student in report.students:
        percent = 100 * student.total / student.max_points if student.max_points else 0.0
        rows.append([student.student, student.total, student.max_points, f"{percent:.1f}",
                     _status_summary(student), f"feedback/{student.slug}.html"])
    return _write_csv(path, ["student", "score", "max_score", "percent", "status", "feedback"],
                      rows)


def _test_output(test: TestResult) -> str:
    """What a student may read about one test (hidden tests arrive redacted)."""
    lines = [test.message] if test.message and not test.passed else []
    if not test.passed and test.status == "failed" and not test.hidden:
        if test.input is not None:
            lines.append(f"input:    {test.input if isinstance(test.input, str) else repr(test.input)}")
        if test.expected is not None or test.got is not None:
            lines.append(f"expected: {test.expected!r}")
            lines.append(f"got:      {test.got!r}")
    if test.traceback:
        lines.append(test.traceback)
    return "\n".join(lines)


def gradescope_dict(report: ClassReport, student: StudentReport) -> dict[str, Any]:
    """One student's results in Gradescope's autograder schema (hidden tests redacted)."""
    tests = []
    for notebook in report.assignment.notebooks:
        for exercise_id in notebook.exercises:
            result: CheckResult = bounded(student.results[exercise_id].redacted())
            for test in result.tests:
                tests.append({
                    "name": f"{exercise_id}: {test.name}",
                    "score": test.points, "max_score": test.max_points,
                    "status": "passed" if test.passed else "failed",
                    "output": _test_output(test),
                    "visibility": "after_published" if test.hidden else "visible",
                    "tags": [exercise_id, notebook.name],
                })
    summary = [f"{points(student.total)}/{points(student.max_points)} points"]
    summary += [f"{n.notebook}: {n.status}" + (f" ({clip(n.reason)})" if n.reason else "")
                for n in student.notebooks]
    return {
        "score": student.total,
        "max_score": student.max_points,
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"student": student.student, "feedback": f"feedback/{student.slug}.html"},
    }


def write_gradescope(report: ClassReport, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for student in report.students:
        _write_json(gradescope_dict(report, student), folder / f"{student.slug}.json")
    return folder

