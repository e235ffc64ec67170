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
"""

from __future__ import annotations

import csv
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..exercises import CheckResult, TestResult
from .grade import ClassReport, StudentReport

__all__ = ["points", "write_gradebook", "results_dict", "write_results", "write_lms",
           "gradescope_dict", "write_gradescope", "RESULTS_VERSION"]

#: Bumped when results.json changes incompatibly.
RESULTS_VERSION = 1


def points(value: float) -> str:
    """``4``, ``2.5``: points as a CSV cell."""
    return f"{value:g}"


def write_gradebook(report: ClassReport, path: Path) -> Path:
    order = report.assignment.order
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *order, "total", "max"])
        for student in report.students:
            writer.writerow([student.student, *(points(student.results[e].points) for e in order),
                             points(student.total), points(student.max_points)])
    return path


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
            data = student.results[exercise_id].to_dict()
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
        "notebooks": [n.to_dict() for n in student.notebooks],
        "ignored": [{"file": f, "reason": r} for f, r in student.ignored],
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
    text = json.dumps(results_dict(report), indent=1, ensure_ascii=False, default=repr)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _status_summary(student: StudentReport) -> str:
    bad = [f"{n.notebook}: {n.status}" for n in student.notebooks if n.status != "ok"]
    return "; ".join(bad) or "ok"


def write_lms(report: ClassReport, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", "percent", "status", "feedback"])
        for student in report.students:
            percent = 100 * student.total / student.max_points if student.max_points else 0.0
            writer.writerow([student.student, points(student.total), points(student.max_points),
                             f"{percent:.1f}", _status_summary(student),
                             f"feedback/{student.slug}.html"])
    return path


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
            result: CheckResult = student.results[exercise_id].redacted()
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
    summary += [f"{n.notebook}: {n.status}" + (f" ({n.reason})" if n.reason else "")
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
        data = gradescope_dict(report, student)
        (folder / f"{student.slug}.json").write_text(
            json.dumps(data, indent=1, ensure_ascii=False, default=repr) + "\n", encoding="utf-8")
    return folder

