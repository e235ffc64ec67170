"""Hostile submissions against the grader's own process, without kernels: formulas in the CSV
exports, symbolic links and odd files in the submissions folder, look-alike student names,
files and cells built to exhaust the reader, and huge texts in the outputs.

Every test works on real files in ``tmp_path``; nothing the grader does is mocked."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import random
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from notebook_files import notebook

from kit.exercises import CheckResult, TestResult
from kit.grading.assignment import load_assignment
from kit.grading.collect import MAX_FILES, collect, match, safe_name
from kit.grading.feedback import write_feedback
from kit.grading.grade import ClassReport, NotebookReport, StudentReport
from kit.grading.gradebook import write_gradebook, write_gradescope, write_lms, write_results
from kit.grading.notebook import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_CODE_CHARS,
    MAX_NOTEBOOK_BYTES,
    exercise_cells,
    read_submission,
)
from kit.grading.settings import Limits

CLASS = Path(__file__).parent / "data" / "class"
ADD = "def add(a, b):\n    return a + b"
LINK = "a symbolic link: not graded"


def _assignment():
    return load_assignment(CLASS / "notebooks")


def _class_report(students: list[StudentReport], assignment=None) -> ClassReport:
    """A ClassReport as grade_class makes one (its last field is the run's network mode or,
    in newer versions, its Sandbox)."""
    assignment = assignment or _assignment()
    names = [f.name for f in dataclasses.fields(ClassReport)]
    if "sandbox" in names:
        from kit.grading.isolation import Sandbox

        last = Sandbox(isolate=False)
    else:
        last = "shared"
    return ClassReport(assignment, students, Limits(), 1, 1.0, last)


def _student(assignment, name: str, slug: str, *, reason: str = "",
             problems: list[str] | None = None, ignored: list[tuple[str, str]] | None = None
             ) -> StudentReport:
    """A student who passed the first test of each exercise and failed the others."""
    results = {}
    for exercise_id in assignment.order:
        exercise = assignment.exercises[exercise_id]
        tests = [TestResult(t.name, i == 0, t.points if i == 0 else 0, t.points,
                            "" if i == 0 else "wrong", got=None if i == 0 else 4,
                            expected=None if i == 0 else 5) for i, t in enumerate(exercise.tests)]
        results[exercise_id] = CheckResult.from_tests(exercise_id, exercise.title, tests)
    notebooks = [NotebookReport(nb.name, f"{name}/{nb.name}", "crashed" if reason else "ok", reason,
                                1.0, list(problems or []), 1) for nb in assignment.notebooks]
    return StudentReport(name, slug, notebooks, results, {e: 0.1 for e in assignment.order},
                         list(ignored or []))


# -- 1. CSV injection --------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://x","y")', "=cmd|' -C calc'!A0", "+1+2", "-2+3", "@SUM(A1)",
            "\t=1", "\r=1", "  =1+1", " @x"]


def test_csv_cells_a_spreadsheet_would_run_are_quoted_and_points_stay_numbers(tmp_path):
    assignment = _assignment()
    taken: set[str] = set()
    names = sorted(["alice", *FORMULAS])
    report = _class_report([_student(assignment, n, safe_name(n, taken)) for n in names],
                           assignment)
    for path in (write_gradebook(report, tmp_path / "gradebook.csv"),
                 write_lms(report, tmp_path / "lms.csv")):
        rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
        students = {row[0] for row in rows[1:]}
        assert students == {"alice", *("'" + n for n in FORMULAS)}
        for row in rows:
            for cell in row:  # nothing anywhere a spreadsheet would evaluate
                assert not cell.lstrip().startswith(("=", "+", "-", "@")), (path.name, cell)
                assert not cell.startswith(("\t", "\r")), (path.name, cell)
        for row in rows[1:]:  # our numbers: plain numbers, never quoted
            numbers = row[1:] if path.name == "gradebook.csv" else row[1:4]
            assert all(float(x) >= 0 for x in numbers), row


# -- 2. symbolic links and odd files ----------------------------------------------------------
def test_links_in_the_submissions_folder_are_listed_not_followed(tmp_path):
    secret = notebook(tmp_path / "elsewhere" / "01_add.ipynb", [("demo.add", ADD)])
    notebook(tmp_path / "other" / "01_add.ipynb", [("demo.add", ADD)])
    root = tmp_path / "subs"
    notebook(root / "carol" / "01_add.ipynb", ["x = 1"])
    (root / "alice.ipynb").symlink_to(secret)  # a linked notebook
    (root / "bob").symlink_to(tmp_path / "other", target_is_directory=True)  # a linked folder
    (root / "carol" / "02_wire.ipynb").symlink_to(secret)  # a link inside a student's folder
    (root / "carol" / "deep").symlink_to(tmp_path / "other", target_is_directory=True)
    (root / "dan").mkdir()
    (root / "dan" / "01_add.ipynb").symlink_to("/nonexistent/x.ipynb")  # dangling
    students = {s.student: s for s in collect(root)}
    assert sorted(students) == ["alice", "bob", "carol", "dan"]
    assert students["alice"].files == [] and students["alice"].ignored == [("alice.ipynb", LINK)]
    assert students["bob"].files == [] and students["bob"].ignored == [("bob", LINK)]
    assert students["carol"].files == [root / "carol" / "01_add.ipynb"]
    assert sorted(students["carol"].ignored) == [("carol/02_wire.ipynb", LINK),
                                                 ("carol/deep", LINK)]
    assert students["dan"].ignored == [("dan/01_add.ipynb", LINK)]
    assignment = _assignment()
    chosen, ignored = match(students["carol"], assignment, root)
    assert {k: v.path for k, v in chosen.items()} == {"01_add.ipynb": root / "carol" / "01_add.ipynb"}
    assert ("carol/02_wire.ipynb", LINK) in ignored and ("carol/deep", LINK) in ignored
    chosen, ignored = match(students["alice"], assignment, root)
    assert chosen == {} and ignored == [("alice.ipynb", LINK)]


def test_reading_refuses_links_and_fifos_at_once(tmp_path):
    real = notebook(tmp_path / "real.ipynb", [("demo.add", ADD)])
    link = tmp_path / "link.ipynb"
    link.symlink_to(real)
    nb = read_submission(link)
    assert nb.cells == [] and "symbolic link" in nb.error
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    box: list = []
    reader = threading.Thread(target=lambda: box.append(read_submission(fifo)), daemon=True)
    reader.start()
    reader.join(5)
    try:
        assert not reader.is_alive(), "reading a FIFO blocked the grader"
        assert box[0].cells == [] and "not a regular file" in box[0].error
    finally:
        if reader.is_alive():  # release the old reader: a writer that closes at once
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    students = collect(tmp_path)  # in the folder: listed, not graded
    assert ("fifo.ipynb", "not a regular file: not graded") in students[0].ignored


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.ipynb"
    with open(path, "wb") as f:  # sparse: costs no disk
        f.truncate(MAX_NOTEBOOK_BYTES + 1)
    assert MAX_NOTEBOOK_BYTES <= 32 * 2**20
    tracemalloc.start()
    try:
        nb = read_submission(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert nb.cells == [] and "too large" in nb.error
    assert peak < 1 * 2**20, f"{peak / 2**20:.1f} MB allocated to refuse it"


# -- 3. look-alike names -----------------------------------------------------------------------
LOOK_ALIKES = ["alice", "Alice", "ALICE", "\u0430lice", "\uff41\uff4c\uff49\uff43\uff45",
               "ali\u200bce", "\u202eecila", "alice\u200f", "_lice", "a lice", "a_lice",
               "alic\u00e9", "alice\u0301", "..", ".", "", " ", "/", "a/b", "a\\b", "a\x00b", "con",
               "student", "alice-3f9a2c1d", "x" * 300, "Jos\udce9", "\u5f20\u4f1f", "\u5f20\u4f1e"]


def test_look_alike_students_get_distinct_safe_feedback_files_in_any_order(tmp_path):
    slugs: dict[str, str] | None = None
    for seed in range(6):
        names = list(LOOK_ALIKES)
        random.Random(seed).shuffle(names)
        taken: set[str] = set()
        these = {name: safe_name(name, taken) for name in names}
        if slugs is None:
            slugs = these
        assert these == slugs, "the file names depend on the order students are processed in"
    assert slugs["alice"] == "alice"  # a plain name stays readable
    assert len({s.lower() for s in slugs.values()}) == len(LOOK_ALIKES)  # even ignoring case
    folder = tmp_path / "feedback"
    folder.mkdir()
    for name, slug in slugs.items():
        assert slug and not slug.startswith(".") and len(slug) <= 100, (name, slug)
        assert not set(slug) & {"/", "\\", "\x00"} and slug.isascii(), (name, slug)
        path = folder / f"{slug}.html"
        assert path.resolve().parent == folder.resolve()
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))  # a file of its own
    assert len(list(folder.iterdir())) == len(LOOK_ALIKES)


def test_feedback_files_of_look_alikes_hold_their_own_student(tmp_path):
    assignment = _assignment()
    names = ["alice", "Alice", "\u0430lice", "ali\u200bce", "x" * 255]  # 255: a folder name's most
    taken: set[str] = set()
    report = _class_report([_student(assignment, n, safe_name(n, taken)) for n in sorted(names)],
                           assignment)
    write_feedback(report, tmp_path / "feedback")
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (tmp_path / "feedback").iterdir()}
    assert len(pages) == len(names)
    for student in report.students:
        assert f"Feedback for {student.student}<" in pages[student.slug]


def test_names_that_are_not_unicode_do_not_stop_the_outputs(tmp_path):
    assignment = _assignment()
    name = "Jos\udce9"  # a folder name in Latin-1, as os.listdir gives it
    report = _class_report([_student(assignment, name, safe_name(name, set()),
                                     ignored=[(f"{name}/x.ipynb", "matches no notebook")])],
                           assignment)
    write_gradebook(report, tmp_path / "gradebook.csv")
    write_lms(report, tmp_path / "lms.csv")
    write_results(report, tmp_path / "results.json")
    write_gradescope(report, tmp_path / "gradescope")
    write_feedback(report, tmp_path / "feedback")
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["students"][0]["student"].startswith("Jos")


# -- 4. input caps -----------------------------------------------------------------------------
def _timed(fn):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        value = fn()
        return value, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _read_and_match(root: Path):
    assignment = _assignment()
    submission = collect(root)[0]
    return match(submission, assignment, root)


def test_a_4_mb_cell_is_not_run_and_costs_little(tmp_path):
    huge = "".join(f"v{i} = [{i}, {i + 1}, 'x']\n" for i in range(200_000))
    assert len(huge) > 4_000_000
    root = tmp_path / "subs"
    notebook(root / "mallory" / "homework.ipynb", [("demo.add", huge + ADD), ("demo.add", ADD),
                                                   "x = 1"])
    (chosen, ignored), seconds, peak = _timed(lambda: _read_and_match(root))
    print(f"4 MB cell: read and matched in {seconds:.2f} s, {peak / 2**20:.0f} MB at most")
    assert seconds < 5 and peak < 150 * 2**20
    nb = chosen["01_add.ipynb"]
    assert nb.error is None and [c.number for c in nb.cells] == [1, 2, 3]
    assert len(nb.cells[0].source) < 200 and "RuntimeError" in nb.cells[0].source
    assert "was not run" in nb.cells[0].source and not nb.cells[0].skip
    assert nb.cells[1].source == ADD and nb.notes and "cell 1" in nb.notes[0]
    assert exercise_cells(nb.cells, {"demo.add": "add"}) == {"demo.add": (1, "add")}
    namespace: dict = {}
    with pytest.raises(RuntimeError, match=f"larger than {MAX_CELL_CHARS // 1000} KB"):
        exec(nb.cells[0].source, namespace)


def test_20000_cells_are_read_and_matched_quickly_and_capped(tmp_path):
    root = tmp_path / "subs"
    cells = [{"cell_type": "code", "metadata": {"kit": {"exercise": "demo.add"}}, "source": ADD,
              "outputs": [], "execution_count": None}]
    cells += [{"cell_type": "code", "metadata": {}, "source": f"x{i} = {i}", "outputs": [],
               "execution_count": None} for i in range(20_000)]
    (root / "mallory").mkdir(parents=True)
    (root / "mallory" / "homework.ipynb").write_text(json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    (chosen, ignored), seconds, peak = _timed(lambda: _read_and_match(root))
    print(f"20,000 cells: read and matched in {seconds:.2f} s, {peak / 2**20:.0f} MB at most")
    assert seconds < 5 and peak < 150 * 2**20
    nb = chosen["01_add.ipynb"]
    assert len(nb.cells) == MAX_CELLS + 1
    last = nb.cells[-1]
    assert last.number == MAX_CELLS + 1 and "were not run" in last.source and not last.skip
    assert any(f"more than {MAX_CELLS:,} code cells" in n for n in nb.notes)


def test_an_old_format_notebook_of_100000_cells_is_read_quickly(tmp_path):
    cells = [{"cell_type": "code", "input": [f"x{i} = {i}\n", "y = 2"], "language": "python",
              "outputs": [], "metadata": {}} for i in range(100_000)]
    cells[0] = {"cell_type": "code", "input": ["def add(a, b):\n", "    return a + b"],
                "metadata": {"kit": {"exercise": "demo.add"}}, "outputs": []}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                "worksheets": [{"cells": [{"cell_type": "heading", "source": "T",
                                                           "level": 1}] + cells}]}))
    started = time.perf_counter()
    nb = read_submission(path)
    seconds = time.perf_counter() - started
    print(f"v3, 100,000 cells ({path.stat().st_size / 1e6:.0f} MB): read in {seconds:.2f} s")
    assert seconds < 5
    assert nb.error is None and len(nb.cells) == MAX_CELLS + 1
    assert (nb.cells[0].source, nb.cells[0].number, nb.cells[0].exercise) == (ADD, 2, "demo.add")
    assert nb.cells[1].source == "x1 = 1\ny = 2"


def test_v2_lines_are_joined_as_nbformat_joins_them(tmp_path):
    path = tmp_path / "v2.ipynb"
    path.write_text(json.dumps({"nbformat": 2, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "markdown", "source": "# hi"},
        {"cell_type": "code", "input": ["def add(a, b):", "    return a + b"], "outputs": [],
         "language": "python"}]}]}))
    nb = read_submission(path)
    assert nb.error is None and [(c.source, c.number) for c in nb.cells] == [(ADD, 2)]


def test_code_beyond_the_notebook_cap_is_not_run(tmp_path):
    block = "y = 1\n" * (MAX_CELL_CHARS // 6 - 1)
    cells = [("demo.add", ADD)] + [block] * (MAX_CODE_CHARS // len(block) + 3)
    nb = read_submission(notebook(tmp_path / "a.ipynb", cells))
    assert sum(len(c.source) for c in nb.cells) <= MAX_CODE_CHARS + 1000
    assert nb.cells[0].source == ADD and "were not run" in nb.cells[-1].source
    assert any("of code" in n for n in nb.notes)


@pytest.mark.parametrize("source", ["-" * 20_000 + "1", "1+" * 60_000 + "1", "lambda:" * 20_000 + "1"])
def test_code_too_deep_for_the_parser_does_not_stop_the_grader(tmp_path, source):
    nb = read_submission(notebook(tmp_path / "a.ipynb", [("demo.add", source), ("demo.add", ADD)]))
    assert nb.error is None and [c.source for c in nb.cells] == [source, ADD]
    assert not nb.cells[0].skip  # the kernel will say what is wrong with it
    assert exercise_cells(nb.cells, {"demo.add": "add"}) == {"demo.add": (1, "add")}


def test_only_the_first_notebooks_of_a_student_are_read(tmp_path):
    root = tmp_path / "subs"
    for i in range(MAX_FILES + 7):
        notebook(root / "mallory" / f"n{i:03}.ipynb", ["x = 1"])
    submission = collect(root)[0]
    assert len(submission.files) == MAX_FILES
    assert submission.files[-1].name == f"n{MAX_FILES - 1:03}.ipynb"
    reasons = [r for f, r in submission.ignored]
    assert len(reasons) == 7 and all(f"more than {MAX_FILES} notebooks" in r for r in reasons)
    _, ignored = match(submission, _assignment(), root)
    assert ("mallory/n056.ipynb", reasons[0]) in ignored


# -- 5. output caps ----------------------------------------------------------------------------
def test_a_20_mb_message_makes_small_outputs(tmp_path):
    assignment = _assignment()
    big = "A" * 20_000_000
    student = _student(assignment, "mallory", "mallory", reason=big,
                       problems=[big] + [f"cell {i}: raised ValueError" for i in range(500)],
                       ignored=[(big, big)])
    tests = student.results["demo.add"].tests
    tests[1] = dataclasses.replace(tests[1], message=big, traceback=big, got=big)
    tests[2] = dataclasses.replace(tests[2], got=list(range(2_000_000)))
    report = _class_report([student], assignment)
    outputs = [write_results(report, tmp_path / "results.json"),
               write_gradebook(report, tmp_path / "gradebook.csv"),
               write_lms(report, tmp_path / "lms.csv")]
    outputs += list(write_gradescope(report, tmp_path / "gradescope").iterdir())
    outputs += list(write_feedback(report, tmp_path / "feedback").iterdir())
    for path in outputs:
        size = path.stat().st_size
        print(f"{path.name}: {size:,} bytes")
        assert size < 1_000_000, (path.name, size)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    mallory = data["students"][0]
    test = mallory["exercises"]["demo.add"]["tests"][1]
    assert test["message"] == "A" * 4000 + "... (truncated, 20,000,000 characters in all)"
    assert test["traceback"].startswith("A" * 8000) and test["got"].startswith("AAAA")
    assert "(truncated, more than" in mallory["exercises"]["demo.add"]["tests"][2]["got"]
    problems = mallory["notebooks"][0]["problems"]
    assert len(problems) == 31 and problems[-1] == "... and 471 more problems"
    page = (tmp_path / "feedback" / "mallory.html").read_text(encoding="utf-8")
    assert "truncated, 20,000,000 characters in all" in page
    exported = json.loads((tmp_path / "gradescope" / "mallory.json").read_text(encoding="utf-8"))
    assert "truncated, 20,000,000 characters in all" in exported["tests"][1]["output"]
