"""The grader's pieces without kernels: reading submissions, matching files, the call protocol,
hidden tests, the exports and the feedback (hidden tests redacted, everything escaped), the
sandbox launcher, the progress bar and the command line's argument errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_files import notebook

from kit.exercises import (
    BadResult,
    Case,
    CheckResult,
    Exercise,
    NotAttempted,
    StudentError,
    TestResult,
    TimeLimitExceeded,
)
from kit.grading import remote
from kit.grading.assignment import load_assignment
from kit.grading.collect import collect, match, safe_name
from kit.grading.errors import GradingError
from kit.grading.feedback import feedback_html
from kit.grading.grade import ClassReport, NotebookReport, StudentReport
from kit.grading.gradebook import gradescope_dict, results_dict, write_gradebook, write_lms
from kit.grading.isolation import Sandbox
from kit.grading.notebook import exercise_cells, is_check_only, is_stub, read_submission
from kit.grading.progress import ProgressBar, format_duration
from kit.grading.settings import Limits

CLASS = Path(__file__).parent / "data" / "class"




# -- reading a submission ----------------------------------------------------------------------
def test_read_keeps_code_and_exercise_ids_only(tmp_path):
    path = notebook(tmp_path / "a.ipynb", ["import os", ("demo.add", "def add(a, b):\n    return a + b"),
                                           'check("demo.add", add)', "   "])
    nb = read_submission(path)
    assert nb.error is None
    assert [c.source for c in nb.cells] == ["import os", "def add(a, b):\n    return a + b",
                                            'check("demo.add", add)']
    assert [c.exercise for c in nb.cells] == [None, "demo.add", None]
    assert [c.number for c in nb.cells] == [1, 2, 3]
    assert [c.skip for c in nb.cells] == [False, False, True]


@pytest.mark.parametrize("content, words", [
    (b"this is not json {", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[1, 2, 3]", "not a notebook"),
    (json.dumps({"nbformat": 5, "cells": []}).encode(), "nbformat 5"),
    (json.dumps({"nbformat": 4, "cells": "nope"}).encode(), "no list of cells"),
])
def test_unreadable_notebooks_come_back_with_a_reason(tmp_path, content, words):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    nb = read_submission(path)
    assert nb.cells == [] and words in nb.error


def test_odd_but_valid_cells_are_tolerated(tmp_path):
    data = {"nbformat": 4, "nbformat_minor": 1, "metadata": {}, "cells": [
        {"cell_type": "code", "source": ["def add(a, b):\n", "    return a + b\n"],
         "metadata": {"kit": {"exercise": "demo.add"}}},
        {"cell_type": "code", "source": 42, "metadata": "broken"},
        {"cell_type": "markdown", "source": "# title"},
        "not even a cell",
        {"cell_type": "code", "source": "x = 1", "metadata": {"kit": "no dict"}},
    ]}
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(data))
    nb = read_submission(path)
    assert nb.error is None
    assert [(c.exercise, c.number) for c in nb.cells] == [("demo.add", 1), (None, 5)]


def test_a_v3_notebook_is_converted(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "def add(a, b):\n    return a + b", "language": "python",
         "outputs": [], "metadata": {}}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    nb = read_submission(path)
    assert nb.error is None and "return a + b" in nb.cells[0].source


def test_check_only_and_stub_detection():
    assert is_check_only('check("demo.add", add)\ncheck("demo.add", add2)')
    assert not is_check_only('result = check("demo.add", add)')
    assert not is_check_only("def add(a, b):\n    pass\ncheck('demo.add', add)")
    assert not is_check_only("%time check('x', f)")  # a magic: not Python, run it
    assert is_stub('def add(a, b):\n    raise NotImplementedError("TODO")', "add")
    assert is_stub('def add(a, b):\n    """Doc."""\n    raise NotImplementedError', "add")
    assert not is_stub("def add(a, b):\n    return a + b", "add")
    assert not is_stub('def other():\n    raise NotImplementedError', "add")


def test_the_exercise_cell_with_a_real_answer_defines_the_function(tmp_path):
    stub = 'def add(a, b):\n    raise NotImplementedError("TODO")'
    answer = "def add(a, b):\n    return a + b"
    nb = read_submission(notebook(tmp_path / "a.ipynb", [
        ("demo.add", answer), ("demo.add", stub), "def add(a, b):\n    return 0"]))
    # the duplicated stub and the later experiment do not count: the answer cell does
    assert exercise_cells(nb.cells, {"demo.add": "add"}) == {"demo.add": (0, "add")}
    nb = read_submission(notebook(tmp_path / "b.ipynb", [("demo.add", stub), answer]))
    # stub left alone, answer in a new cell: the name after the whole run decides
    assert exercise_cells(nb.cells, {"demo.add": "add"}) == {}


# -- collecting and matching -------------------------------------------------------------------
def test_collect_both_layouts_and_skip_hidden_files(tmp_path):
    notebook(tmp_path / "alice.ipynb", ["x = 1"])
    notebook(tmp_path / "bob" / "01_add.ipynb", ["x = 1"])
    notebook(tmp_path / "bob" / "deep" / "02_wire.ipynb", ["x = 1"])
    notebook(tmp_path / "bob" / ".ipynb_checkpoints" / "01_add-checkpoint.ipynb", ["x = 1"])
    notebook(tmp_path / ".hidden" / "x.ipynb", ["x = 1"])
    (tmp_path / "carol").mkdir()  # nothing in it: not a student
    (tmp_path / "notes.txt").write_text("hi")
    students = collect(tmp_path)
    assert [s.student for s in students] == ["alice", "bob"]
    assert [p.name for p in students[1].files] == ["01_add.ipynb", "02_wire.ipynb"]


def test_collect_needs_a_folder(tmp_path):
    with pytest.raises(GradingError, match="not found"):
        collect(tmp_path / "nope")


def test_safe_names_are_unique_file_names():
    taken: set[str] = set()
    assert safe_name("alice", taken) == "alice"
    assert re.fullmatch(r"Alice-[0-9a-f]{8}", safe_name("Alice", taken))
    assert re.fullmatch(r"etc_passwd-[0-9a-f]{8}", safe_name("../../etc/passwd", taken))
    assert re.fullmatch(r"student-[0-9a-f]{8}", safe_name("  ", taken))


def test_match_by_name_then_content(tmp_path):
    assignment = load_assignment(CLASS / "notebooks")
    root = tmp_path / "subs"
    notebook(root / "dana" / "dana_02_wire (1).ipynb", ["x = 1"])  # renamed copy
    notebook(root / "dana" / "my work.ipynb", [("demo.add", "def add(a, b):\n    return a + b")])
    notebook(root / "dana" / "scratch.ipynb", ["print('hello')"])
    submission = collect(root)[0]
    chosen, ignored = match(submission, assignment, root)
    assert {k: v.path.name for k, v in chosen.items()} == {
        "01_add.ipynb": "my work.ipynb", "02_wire.ipynb": "dana_02_wire (1).ipynb"}
    assert ignored == [("dana/scratch.ipynb", "matches no notebook of the assignment")]


def test_match_retyped_cells_by_function_names_and_one_file_per_notebook(tmp_path):
    assignment = load_assignment(CLASS / "notebooks")
    root = tmp_path / "subs"
    notebook(root / "eve" / "wire.ipynb", ["def dot_stuff(text):\n    return text"])  # no metadata
    notebook(root / "eve" / "01_add.ipynb", ["x = 1"])
    notebook(root / "eve" / "01_add-Copy1.ipynb", ["x = 2"])
    chosen, ignored = match(collect(root)[0], assignment, root)
    assert chosen["02_wire.ipynb"].path.name == "wire.ipynb"
    assert chosen["01_add.ipynb"].path.name == "01_add.ipynb"  # the exact name wins
    assert ignored == [("eve/01_add-Copy1.ipynb", "another file was taken for 01_add.ipynb")]


# -- the assignment and hidden tests -----------------------------------------------------------
def test_assignment_lists_exercises_in_notebook_order():
    assignment = load_assignment(CLASS / "notebooks", CLASS / "hidden.py")
    assert assignment.order == ["demo.add", "dialogue.dot_stuff", "dialogue.send_mail_raw"]
    add = assignment.exercises["demo.add"]
    assert [t.name for t in add.tests if t.hidden] == ["big numbers"]
    from kit.exercises import get
    assert add.points == get("demo.add").points + 2
    assert not any(t.hidden for t in get("demo.add").tests)  # the registry is left alone


def test_assignment_problems_are_the_instructors(tmp_path):
    with pytest.raises(GradingError, match="not found"):
        load_assignment(tmp_path / "nope")
    notebook(tmp_path / "nb" / "01.ipynb", ["x = 1"])
    with pytest.raises(GradingError, match="no notebook .* has an exercise cell"):
        load_assignment(tmp_path / "nb")
    notebook(tmp_path / "nb" / "02.ipynb", [("demo.add", "pass"), ("demo.nope", "pass")])
    assert any("demo.nope" in w for w in load_assignment(tmp_path / "nb").warnings)
    bad = tmp_path / "hidden.py"
    for text, words in [
        ("HIDDEN = {'demo.typo': []}", "unknown exercise"),
        ("from kit.exercises import Case\nHIDDEN = {'demo.add': [Case('zeros', (0, 0), 0)]}",
         "duplicate test names"),
        ("HIDDEN = [", "SyntaxError"),
        ("x = 1", "must define HIDDEN"),
    ]:
        bad.write_text(text)
        with pytest.raises(GradingError, match=words):
            load_assignment(tmp_path / "nb", bad)
    with pytest.raises(GradingError, match="not found"):
        load_assignment(tmp_path / "nb", tmp_path / "missing.py")


# -- the call protocol -------------------------------------------------------------------------
def test_decode_reply_turns_replies_into_values_or_call_errors():
    def decode(reply, nonce="n"):
        return remote.decode_reply({**reply, "nonce": "n"}, nonce, "add", 2.0)

    assert decode({"kind": "value", "json": "[1, 2.5, \"x\", null, {\"a\": true}]"}) == [
        1, 2.5, "x", None, {"a": True}]
    with pytest.raises(NotAttempted, match="TODO"):
        decode({"kind": "not attempted", "message": "TODO"})
    with pytest.raises(NotAttempted, match="no function called add"):
        decode({"kind": "missing"})
    with pytest.raises(BadResult, match="subclass"):
        decode({"kind": "bad result", "message": "got a Yes, a subclass of str"})
    with pytest.raises(TimeLimitExceeded):
        decode({"kind": "timeout"})
    with pytest.raises(StudentError) as info:
        decode({"kind": "error", "type": "ZeroDivisionError", "message": "division by zero",
                "traceback": "Cell In[3], line 2"})
    assert info.value.type_name == "ZeroDivisionError" and "Cell In[3]" in info.value.traceback_text
    for reply in ({"kind": "value", "json": "{nope"}, {"kind": "value", "json": 5},
                  {"kind": "weird"}):
        with pytest.raises(BadResult):
            decode(reply)
    with pytest.raises(BadResult, match="cannot read"):
        decode({"kind": "value", "json": "1"}, nonce="other")  # a stale or made-up reply


def test_a_reply_must_answer_its_own_call():
    """A reply carrying the real nonce but another call's index (forged, or replayed) is
    refused; so is one without an index, and a 20 MB message comes back cut."""
    reply = {"nonce": "n", "kind": "value", "json": "5"}
    assert remote.decode_reply({**reply, "index": 1}, "n", "add", 2.0, 1) == 5
    for forged in ({**reply, "index": 0}, {**reply, "index": "1"}, reply):
        with pytest.raises(BadResult, match="another call"):
            remote.decode_reply(forged, "n", "add", 2.0, 1)
    with pytest.raises(StudentError) as info:
        remote.decode_reply({"nonce": "n", "index": 0, "kind": "error", "type": "E" * 10**6,
                             "message": "x" * 20_000_000, "traceback": "t" * 10**7}, "n", "f", 1, 0)
    assert len(str(info.value)) < 10_000 and len(info.value.traceback_text) < 10_000


def test_the_kernel_program_compiles_and_the_reply_log_is_read(tmp_path):
    compile(remote.install_code(), "<kernel>", "exec")
    line = remote.call_code("abc", "demo.add", "add", [([1, 2], {})], 3)
    assert line.startswith("__smtpkit_call__('abc', 'demo.add', 'add'")
    log = tmp_path / "log"
    log.write_text('{"nonce": "abc", "index": 0, "kind": "value", "json": "3"}\nbroken\n'
                   '{"nonce": "zzz", "index": 1, "kind": "value", "json": "4"}\n')
    assert remote.read_log(str(log), "abc") == {
        0: {"nonce": "abc", "index": 0, "kind": "value", "json": "3"}}
    assert remote.read_log(str(tmp_path / "none"), "abc") == {}


def test_the_kernel_program_judges_values_like_the_notebook(tmp_path):
    """Run the in-kernel program here (with a fake display publisher) on awkward values."""
    published = []
    namespace: dict = {}
    exec(remote.install_code(), namespace)

    class Yes(str):
        def __eq__(self, other):
            return True

    class Always:
        def __eq__(self, other):
            return True

    def stub(x):
        raise NotImplementedError("TODO: write it")

    cases = {
        "plain": (lambda x: {"a": (1, 2.5, None)}, "value"),
        "str subclass": (lambda x: Yes("x"), "bad result"),
        "always equal": (lambda x: Always(), "bad result"),
        "bytes": (lambda x: b"x", "bad result"),
        "int keys": (lambda x: {1: 2}, "bad result"),
        "stub": (stub, "not attempted"),
        "raises": (lambda x: 1 / 0, "error"),
        "exits": (lambda x: sys.exit(3), "error"),
        "huge": (lambda x: "x" * (remote.MAX_REPLY_BYTES + 1), "bad result"),
    }
    import IPython.display

    original = IPython.display.publish_display_data
    IPython.display.publish_display_data = lambda data, **kw: published.append(data[remote.MIME])
    try:
        for name, (function, kind) in cases.items():
            namespace["f"] = function
            published.clear()
            with open(tmp_path / "log", "wb") as log:
                namespace["__smtpkit_call__"]("n", "x.f", "f", json.dumps([[[1], {}]]),
                                              remote.MAX_REPLY_BYTES, remote.MIME, log.fileno(),
                                              (remote.MAX_MESSAGE_CHARS, remote.MAX_TRACEBACK_CHARS))
            assert [r["kind"] for r in published] == [kind], name
            assert remote.read_log(str(tmp_path / "log"), "n")[0]["kind"] == kind  # logged first
        namespace.pop("f")
        published.clear()
        namespace["__smtpkit_call__"]("n", "x.f", "f", "[[[1], {}]]", 100, remote.MIME, None,
                                      (100, 100))
        assert published[0]["kind"] == "missing"
        namespace["f"] = lambda x: (_ for _ in ()).throw(ValueError("v" * 10**6))
        published.clear()
        namespace["__smtpkit_call__"]("n", "x.f", "f", "[[[1], {}]]", 100, remote.MIME, None,
                                      (100, 100))
        assert published[0]["kind"] == "error" and len(published[0]["message"]) < 200
    finally:
        IPython.display.publish_display_data = original


# -- outputs -----------------------------------------------------------------------------------
SECRET_INPUT, SECRET_ANSWER = 987654321123, 987654321124


def _report() -> ClassReport:
    exercise = Exercise("demo.add", "Add two numbers", (
        Case("small numbers", (2, 3), 5), Case("hidden big", (SECRET_INPUT, 1), SECRET_ANSWER,
                                                  points=2, hidden=True)), function="add")
    from kit.grading.assignment import AssignedNotebook, Assignment

    assignment = Assignment([AssignedNotebook("01_add.ipynb", ("demo.add",))],
                            {"demo.add": exercise})

    def result(passed_public: bool, got_hidden) -> CheckResult:
        tests = [
            TestResult("small numbers", passed_public, 1 if passed_public else 0, 1,
                       "" if passed_public else "expected 5, got -1", input="add(2, 3)",
                       expected=5, got=5 if passed_public else -1),
            TestResult("hidden big", False, 0, 2, f"expected {SECRET_ANSWER}, got {got_hidden}",
                       input=f"add({SECRET_INPUT}, 1)", expected=SECRET_ANSWER, got=got_hidden,
                       hidden=True, hint="secret hint"),
        ]
        return CheckResult.from_tests("demo.add", "Add two numbers", tests)

    students = [
        StudentReport("<b>mallory</b>", "b_mallory_b", [NotebookReport(
            "01_add.ipynb", "mallory/01_add.ipynb", "crashed",
            "cell 3: raised <script>alert(1)</script>", 1.0,
            ["cell 3: raised <script>alert(1)</script>"], 2)],
            {"demo.add": result(True, 7)}, {"demo.add": 0.1}, [("mallory/x.ipynb", "matches no notebook")]),
        StudentReport("zoe", "zoe", [NotebookReport("01_add.ipynb", "zoe.ipynb", "ok")],
                      {"demo.add": result(False, 0)}, {"demo.add": 0.1}),
    ]
    return ClassReport(assignment, students, Limits(), 2, 3.0, Sandbox())


def test_gradebook_and_lms_csv(tmp_path):
    report = _report()
    rows = list(csv.reader(open(write_gradebook(report, tmp_path / "g.csv"), encoding="utf-8")))
    assert rows == [["student", "demo.add", "total", "max"],
                    ["<b>mallory</b>", "1", "1", "3"], ["zoe", "0", "0", "3"]]
    rows = list(csv.DictReader(open(write_lms(report, tmp_path / "l.csv"), encoding="utf-8")))
    assert rows[0] == {"student": "<b>mallory</b>", "score": "1", "max_score": "3", "percent": "33.3",
                       "status": "01_add.ipynb: crashed", "feedback": "feedback/b_mallory_b.html"}


def test_results_json_has_every_test_and_notebook_status():
    data = json.loads(json.dumps(results_dict(_report())))
    assert data["assignment"]["exercises"][0]["tests"] == [
        {"name": "small numbers", "points": 1, "hidden": False},
        {"name": "hidden big", "points": 2, "hidden": True}]
    student = data["students"][0]
    assert student["notebooks"][0]["status"] == "crashed"
    tests = student["exercises"]["demo.add"]["tests"]
    assert [(t["name"], t["passed"], t["points"]) for t in tests] == [
        ("small numbers", True, 1), ("hidden big", False, 0)]
    assert {"message", "seconds", "status"} <= set(tests[0])
    assert student["ignored"] == [{"file": "mallory/x.ipynb", "reason": "matches no notebook"}]


def test_feedback_redacts_hidden_tests_and_escapes_everything():
    report = _report()
    for student in report.students:
        page = feedback_html(report, student)
        exported = json.dumps(gradescope_dict(report, student))
        for text in (page, exported):
            assert str(SECRET_INPUT) not in text and str(SECRET_ANSWER) not in text
            assert "secret hint" not in text
            assert "hidden big" in text  # name and points stay visible
        assert "<script>" not in page and "<b>mallory</b>" not in page
    page = feedback_html(report, report.students[0])
    assert "&lt;script&gt;" in page and "&lt;b&gt;mallory&lt;/b&gt;" in page
    page = feedback_html(report, report.students[1])
    assert "expected 5, got -1" in page and "0 of 3 points" in page


def test_gradescope_export_schema():
    data = gradescope_dict(_report(), _report().students[1])
    assert data["score"] == 0 and data["max_score"] == 3
    assert [t["name"] for t in data["tests"]] == ["demo.add: small numbers", "demo.add: hidden big"]
    assert [t["visibility"] for t in data["tests"]] == ["visible", "after_published"]
    assert {"score", "max_score", "status", "output", "name"} <= set(data["tests"][0])


# -- progress bar and command line -------------------------------------------------------------
def test_progress_bar_draws_only_on_a_terminal():
    quiet = io.StringIO()
    ProgressBar(quiet)(1, 2, "alice")
    assert quiet.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = ProgressBar(tty, width=10)
    bar(3, 4, "bob/02_wire.ipynb")
    bar.close()
    assert "[#######...] 3/4 notebooks" in tty.getvalue() and "bob/02_wire.ipynb" in tty.getvalue()
    assert tty.getvalue().endswith("\n") and format_duration(3725) == "1:02:05"


def _cli(*args: str) -> tuple[int, str]:
    from kit.cli import main

    err = io.StringIO()
    old = sys.stderr
    sys.stderr = err
    try:
        code = main(["grade", *args])
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stderr = old
    return code, err.getvalue()


@pytest.mark.parametrize("args, words", [
    ([str(CLASS / "submissions")], "--out"),
    ([str(CLASS / "submissions"), "--out", "x", "--workers", "0"], "at least 1"),
    ([str(CLASS / "submissions"), "--out", "x", "--timeout", "soon"], "not a number"),
    ([str(CLASS / "submissions"), "--out", "x", "--network", "wifi"], "unrecognized arguments"),
])
def test_bad_arguments_exit_2(args, words):
    code, err = _cli(*args)
    assert code == 2 and words in err


def test_unusable_inputs_exit_2_and_an_empty_class_exits_1(tmp_path):
    code, err = _cli(str(tmp_path / "none"), "--out", str(tmp_path / "out"))
    assert code == 2 and "submissions folder not found" in err
    code, err = _cli(str(CLASS / "submissions"), "--out", str(tmp_path / "out"),
                     "--notebooks", str(tmp_path / "none"))
    assert code == 2 and "released notebooks folder not found" in err
    (tmp_path / "bad.py").write_text("HIDDEN = {'demo.typo': []}")
    code, err = _cli(str(CLASS / "submissions"), "--out", str(tmp_path / "out"),
                     "--notebooks", str(CLASS / "notebooks"), "--hidden", str(tmp_path / "bad.py"))
    assert code == 2 and "unknown exercise" in err
    (tmp_path / "empty").mkdir()
    code, err = _cli(str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert code == 1 and "no notebooks found" in err
    assert not (tmp_path / "out").exists()


def test_grade_help_is_quick_to_import():
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "kit", "grade", "--help"],
                         capture_output=True, text=True, timeout=60, env={**os.environ})
    assert run.returncode == 0 and "--hidden" in run.stdout
    assert "nbclient" not in run.stderr  # the heavy imports wait until grading starts


def test_read_only_trees_below_tmp_are_bound_over_the_private_tmp():
    """A course cloned into /tmp: its venv must be bound after (on top of) the private /tmp."""
    from kit.grading.sandbox import bwrap_args

    plan = {"tmpfs_mb": 16, "env": {"PATH": "/usr/bin"}, "read_only": ["/usr", "/tmp/course/.venv"],
            "symlinks": {"/bin": "usr/bin"}, "hide": []}
    args = bwrap_args(plan, {"/usr": "/usr", "/tmp/course/.venv": "/stage/1"}, 10, 11)
    tmp = max(i for i, a in enumerate(args) if a == "/tmp" and args[i - 1] == "--tmpfs")
    venv = args.index("/tmp/course/.venv")
    assert args[venv - 2:venv + 1] == ["--ro-bind", "/stage/1", "/tmp/course/.venv"]
    assert tmp < venv
    assert args[args.index("--remount-ro") + 1] == "/" and args[-1] == "--"
