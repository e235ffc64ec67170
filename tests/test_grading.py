"""Grading a class end to end, with real kernels: tests/data/class graded right (perfect,
untouched, partly right, hanging, crashing, forging, malformed and single-file submissions),
serial (API) and parallel (the command line) give the same gradebook, hidden tests count but
never reach feedback, and the kernels' limits hold: network, memory, CPU, cell and notebook
time.

Kernels cost about a second each, so the class is graded twice in all (once per mode) and the
limits once, in module-scoped fixtures.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_files import notebook

from kit.exercises import Case, Exercise, Registry, get, local_call, run_exercise
from kit.grading.api import write_outputs
from kit.grading.assignment import load_assignment
from kit.grading.grade import grade_class
from kit.grading.isolation import Sandbox, probe
from kit.grading.notebook import defines, read_submission
from kit.grading.settings import Limits

CLASS = Path(__file__).parent / "data" / "class"
SUBMISSIONS = CLASS / "submissions"
PROBLEM = probe()
ISOLATED = PROBLEM is None
#: Where the sandbox is missing (never on CI: see test_the_sandbox_works_here), the class is
#: graded without it, so that the rest of the suite still says something.
SANDBOX = None if ISOLATED else Sandbox(isolate=False)
LIMITS = Limits(cell_timeout=2, call_timeout=1, notebook_timeout=60)
CLI_LIMITS = ["--timeout", "2", "--call-timeout", "1", "--notebook-timeout", "60",
              *([] if ISOLATED else ["--unsafe-no-sandbox"])]
IDS = ["demo.add", "dialogue.dot_stuff", "dialogue.send_mail_raw"]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def assignment():
    return load_assignment(CLASS / "notebooks", CLASS / "hidden.py")


@pytest.fixture(scope="module")
def serial(assignment, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    report = grade_class(SUBMISSIONS, assignment, LIMITS, workers=1, sandbox=SANDBOX)
    write_outputs(report, out)
    return report, out


@pytest.fixture(scope="module")
def parallel(tmp_path_factory):
    out = tmp_path_factory.mktemp("parallel") / "out"
    run = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(SUBMISSIONS), "--out", str(out), "--notebooks",
         str(CLASS / "notebooks"), "--hidden", str(CLASS / "hidden.py"), "--workers", "2",
         *CLI_LIMITS], capture_output=True, text=True, timeout=200)
    return run, out


def gradebook(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return {row.pop("student"): row for row in csv.DictReader(f)}


def answer(path: Path, name: str):
    """The student's function ``name`` from the cell that defines it (run here, in the test)."""
    cell = next(c for c in read_submission(path).cells if name in defines(c.source))
    namespace: dict = {}
    exec(compile(cell.source, str(path), "exec"), namespace)
    return namespace[name]


def judged_here(assignment, exercise_id: str, function) -> float:
    """What ``check`` in a notebook would give, hidden tests included."""
    exercise = assignment.exercises[exercise_id]
    return run_exercise(exercise, local_call(function, exercise.function, 5)).points


def expected_points(assignment) -> dict[str, dict[str, float]]:
    full = {e: assignment.exercises[e].points for e in IDS}
    zero = dict.fromkeys(IDS, 0)
    dot = assignment.exercises["dialogue.dot_stuff"]
    before_crash = 0  # the crashing dot_stuff ends the kernel on the first line with a dot
    for test in dot.tests:
        if "\n." in "\n" + test.args[0]:
            break
        before_crash += test.points
    partly = SUBMISSIONS / "partly"
    return {
        "perfect": full,
        "untouched": zero,
        "partly": {
            "demo.add": judged_here(assignment, "demo.add", answer(partly / "01_add.ipynb", "add")),
            "dialogue.dot_stuff": judged_here(assignment, "dialogue.dot_stuff",
                                              answer(partly / "02_wire (1).ipynb", "dot_stuff")),
            "dialogue.send_mail_raw": judged_here(
                assignment, "dialogue.send_mail_raw", answer(partly / "02_wire (1).ipynb", "send_mail_raw")),
        },
        "hanging": {**full, "dialogue.dot_stuff": 0},
        "crashing": {**full, "dialogue.dot_stuff": before_crash},
        # without isolation the copycat reads a classmate's notebook (see the test below)
        "forging": zero if ISOLATED else {**zero, "dialogue.dot_stuff": full["dialogue.dot_stuff"]},
        "malformed": zero,
        "solo": {**zero, "demo.add": full["demo.add"]},
    }


# -- the class, graded right -------------------------------------------------------------------
def test_the_class_is_graded_right(assignment, serial):
    report, out = serial
    expected = expected_points(assignment)
    got = {s.student: {e: s.results[e].points for e in IDS} for s in report.students}
    assert got == expected
    # sanity of the expectations themselves: partly right is neither 0 nor full
    partly = sum(expected["partly"].values())
    assert 0 < partly < assignment.max_points
    rows = gradebook(out / "gradebook.csv")
    assert list(rows) == sorted(expected)
    for student, points in expected.items():
        assert float(rows[student]["total"]) == sum(points.values())
        assert float(rows[student]["max"]) == assignment.max_points


def test_each_notebook_gets_a_status_and_a_reason(serial):
    report, _ = serial
    status = {(s.student, n.notebook): n for s in report.students for n in s.notebooks}
    assert {k for k, n in status.items() if n.status != "ok"} == {
        ("crashing", "01_add.ipynb"), ("crashing", "02_wire.ipynb"), ("hanging", "01_add.ipynb"),
        ("malformed", "01_add.ipynb"), ("malformed", "02_wire.ipynb"), ("solo", "02_wire.ipynb")}
    crash = status[("crashing", "01_add.ipynb")]
    assert crash.status == "crashed" and "exited with status 3" in crash.reason and crash.kernels == 2
    assert status[("crashing", "02_wire.ipynb")].status == "crashed"
    assert "dot_stuff() ended the kernel" in status[("crashing", "02_wire.ipynb")].reason
    hang = status[("hanging", "01_add.ipynb")]
    assert hang.status == "timeout" and "did not stop when interrupted" in hang.reason
    assert hang.seconds < 15
    assert "not valid JSON" in status[("malformed", "01_add.ipynb")].reason
    assert "nbformat 5" in status[("malformed", "02_wire.ipynb")].reason
    assert status[("malformed", "01_add.ipynb")].status == "error"
    assert status[("solo", "02_wire.ipynb")].status == "missing"
    assert status[("solo", "01_add.ipynb")].file == "solo.ipynb"
    assert status[("partly", "02_wire.ipynb")].file == "partly/02_wire (1).ipynb"
    results = {s.student: s.results for s in report.students}
    dot = results["hanging"]["dialogue.dot_stuff"]
    assert dot.status == "timeout" and dot.tests[1].status == "skipped"
    assert {t.status for t in results["untouched"]["demo.add"].tests} == {"not attempted"}


def test_forging_gains_nothing(serial):
    report, out = serial
    forging = next(s for s in report.students if s.student == "forging")
    # without isolation a kernel can read a classmate's notebook (documented, and shown by the
    # copycat test below): only that copied answer may count there, every forgery earns nothing
    copied = 0 if ISOLATED else forging.results["dialogue.dot_stuff"].points
    assert forging.total == copied
    add = forging.results["demo.add"]
    assert all("AlwaysEqual object" in (t.message or add.message) for t in add.tests)
    if ISOLATED:  # the classmate's notebook was hidden: the fallback, a str subclass, is refused
        dot = forging.results["dialogue.dot_stuff"]
        assert all("a subclass of str" in (t.message or dot.message) for t in dot.tests)
    send = forging.results["dialogue.send_mail_raw"]
    assert "never connected" in (send.tests[0].message or send.message)
    assert not (SUBMISSIONS / "forging" / "results.json").exists()  # it wrote in a temp folder
    data = json.loads((out / "results.json").read_text())
    assert next(s for s in data["students"] if s["student"] == "forging")["total"] == copied
    if ISOLATED:
        problems = [p for n in forging.notebooks for p in n.problems]
        assert any("Network is unreachable" in p for p in problems)


def test_without_isolation_a_copycat_reads_a_classmates_notebook(tmp_path, assignment):
    """Why the submissions are hidden from kernels: the forging student's dot_stuff copies the
    perfect student's answer from disk when it can."""
    shutil.copytree(SUBMISSIONS / "forging", tmp_path / "forging")
    (tmp_path / "forging" / "01_add.ipynb").unlink()
    report = grade_class(tmp_path, assignment, LIMITS, workers=1, sandbox=Sandbox(isolate=False))
    dot = report.students[0].results["dialogue.dot_stuff"]
    assert dot.passed and dot.points == assignment.exercises["dialogue.dot_stuff"].points


def test_serial_and_parallel_give_the_same_results(serial, parallel):
    report, serial_out = serial
    run, out = parallel
    assert run.returncode == 0, run.stderr
    assert (out / "gradebook.csv").read_bytes() == (serial_out / "gradebook.csv").read_bytes()

    def verdicts(path: Path) -> dict:
        data = json.loads((path / "results.json").read_text())
        return {s["student"]: (
            [(n["notebook"], n["status"], n["file"]) for n in s["notebooks"]],
            {e: [(t["name"], t["status"], t["points"]) for t in r["tests"]]
             for e, r in s["exercises"].items()}) for s in data["students"]}

    assert verdicts(out) == verdicts(serial_out)
    assert (out / "lms.csv").read_bytes() == (serial_out / "lms.csv").read_bytes()


def test_the_command_writes_every_output(parallel):
    run, out = parallel
    assert "graded 8 student(s), 15 notebook(s)" in run.stdout
    assert "perfect" in run.stdout and "02_wire.ipynb: missing" in run.stdout
    assert "\r" not in run.stderr  # no progress bar when stderr is not a terminal
    students = ["crashing", "forging", "hanging", "malformed", "partly", "perfect", "solo",
                "untouched"]
    assert sorted(p.stem for p in (out / "feedback").glob("*.html")) == students
    assert sorted(p.stem for p in (out / "gradescope").glob("*.json")) == students
    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["workers"] == 2 and data["settings"]["hidden"].endswith("hidden.py")
    test = data["students"][0]["exercises"]["demo.add"]["tests"][0]
    assert {"name", "passed", "points", "max_points", "message", "seconds", "status"} <= set(test)
    page = (out / "feedback" / "partly.html").read_text()
    assert "expected -3, got -5" in page and "02_wire (1).ipynb" in page
    gradescope = json.loads((out / "gradescope" / "perfect.json").read_text())
    assert gradescope["score"] == gradescope["max_score"] == data["assignment"]["max_points"]


# -- hidden tests ------------------------------------------------------------------------------
SECRETS = ["1000000000000000000", "1000000000000000001", "..end", "\\r\\n.end"]


def test_hidden_tests_never_reach_feedback(serial):
    report, out = serial
    partly = next(s for s in report.students if s.student == "partly")
    big = next(t for t in partly.results["demo.add"].tests if t.name == "big numbers")
    assert big.hidden and not big.passed  # the hidden test did run and fail
    for path in [*(out / "feedback").glob("*.html"), *(out / "gradescope").glob("*.json")]:
        text = path.read_text()
        for secret in SECRETS:
            assert secret not in text, (path.name, secret)
    page = (out / "feedback" / "partly.html").read_text()
    assert "big numbers" in page and "hidden test" in page
    assert "1000000000000000001" in (out / "results.json").read_text()  # the instructor's file


def test_hidden_tests_change_grades(tmp_path, serial):
    report, _ = serial
    for name in ("partly", "perfect"):
        shutil.copytree(SUBMISSIONS / name, tmp_path / name)
    public = load_assignment(CLASS / "notebooks")
    without = grade_class(tmp_path, public, LIMITS, workers=2, sandbox=SANDBOX)
    with_hidden = {s.student: s for s in report.students}
    for student in without.students:
        hidden = with_hidden[student.student]
        assert hidden.max_points == student.max_points + 3  # 2 + 1 hidden points
        add_public = student.results["demo.add"]
        add_hidden = hidden.results["demo.add"]
        assert [t.name for t in add_hidden.tests] == [t.name for t in add_public.tests] + ["big numbers"]
    perfect = next(s for s in without.students if s.student == "perfect")
    partly = next(s for s in without.students if s.student == "partly")
    assert perfect.total == perfect.max_points == get("demo.add").points + get(
        "dialogue.dot_stuff").points + get("dialogue.send_mail_raw").points
    # partly loses the hidden points: its share of the grade drops
    assert partly.total / partly.max_points > with_hidden["partly"].total / with_hidden["partly"].max_points


# -- limits: network, memory, CPU, cell and notebook time --------------------------------------


REACH = '''import os
import socket


def reach(port, grader_namespace):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        reached = True
    except OSError:
        reached = False
    return {"reached": reached, "same_namespace": os.readlink("/proc/self/ns/net") == grader_namespace}'''
HOG = "def hog(megabytes):\n    data = bytearray(megabytes * 1024 * 1024)\n    return len(data)"


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    listener = socket.socket()  # in the grader's own network namespace
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    registry = Registry()
    registry.register(Exercise("probe.reach", "Reach the grader's loopback", (
        Case("only its own loopback", (port, os.readlink("/proc/self/ns/net")),
             {"reached": False, "same_namespace": False}),), function="reach"))
    registry.register(Exercise("probe.hog", "Allocate memory", (
        Case("8 GB", (8192,), 8192 * 1024 * 1024),), function="hog"))
    notebook(root / "notebooks" / "01_probe.ipynb", [
        ("probe.reach", "def reach(port, ns):\n    raise NotImplementedError"),
        ("probe.hog", "def hog(megabytes):\n    raise NotImplementedError")])
    subs = root / "submissions"
    notebook(subs / "net.ipynb", [("probe.reach", REACH), ("probe.hog", HOG)])
    notebook(subs / "cpu.ipynb", [("probe.reach", REACH), "sum(range(10**12))  # a C loop: Ctrl-C waits"])
    notebook(subs / "sleepy.ipynb", [("probe.reach", REACH), "import time\ntime.sleep(100)"])
    notebook(subs / "slow.ipynb", ["import time\ntime.sleep(1.5)"] * 8 + [("probe.reach", REACH)])
    assignment = load_assignment(root / "notebooks", registry=registry)
    limits = Limits(cell_timeout=3, notebook_timeout=8, cpu_seconds=2, memory_mb=1536)
    report = grade_class(subs, assignment, limits, workers=2, sandbox=SANDBOX)
    listener.close()
    return {s.student: s for s in report.students}


def test_the_sandbox_works_here():
    """On CI (and any Linux with bubblewrap and user namespaces) the sandbox must be there:
    the tests of isolation below would otherwise be skipped in silence."""
    if not os.environ.get("CI") and not ISOLATED:
        pytest.skip(f"no sandbox on this machine: {PROBLEM}")
    assert ISOLATED, PROBLEM


@pytest.mark.skipif(not ISOLATED, reason="no sandbox here")
def test_student_code_reaches_only_its_own_loopback(limited):
    result = limited["net"].results["probe.reach"]
    assert result.passed, result.tests[0].message
    assert limited["net"].notebooks[0].status == "ok"


def test_memory_limit(limited):
    hog = limited["net"].results["probe.hog"].tests[0]
    assert hog.status == "error" and "MemoryError" in hog.message


def test_cpu_limit_ends_the_kernel_and_the_notebook_runs_again_without_the_cell(limited):
    cpu = limited["cpu"]
    assert cpu.notebooks[0].status == "crashed"
    assert "more than its 2 s of CPU time" in cpu.notebooks[0].reason
    assert cpu.notebooks[0].kernels == 2
    assert cpu.results["probe.reach"].points == (1 if ISOLATED else 0)


def test_a_cell_that_runs_too_long_is_interrupted(limited):
    sleepy = limited["sleepy"].notebooks[0]
    assert sleepy.status == "timeout" and "ran longer than 3 s and was interrupted" in sleepy.reason
    assert sleepy.kernels == 1 and sleepy.seconds < 7
    assert limited["sleepy"].results["probe.reach"].points == (1 if ISOLATED else 0)


def test_the_notebook_wall_clock_kills_the_kernel(limited):
    slow = limited["slow"].notebooks[0]
    assert slow.status == "timeout" and "ran longer than 8 s" in slow.reason
    assert 8 <= slow.seconds < 12
    reach = limited["slow"].results["probe.reach"].tests[0]
    assert reach.status == "timeout" and "time budget" in reach.message


def test_kernel_processes_are_gone_afterwards(limited):
    mine = os.getpid()
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if parent == str(mine) and "ipykernel_launcher" in cmdline:
            leftovers.append(cmdline)
    assert leftovers == []


# -- feedback that tells a student what to fix ---------------------------------------------------
def test_a_broken_answer_cell_is_reported_at_its_exercise_once(tmp_path, assignment):
    subs = tmp_path / "subs"
    notebook(subs / "typo" / "01_add.ipynb", [("demo.add", "def add(a, b)\n    return a + b")])
    notebook(subs / "raises" / "01_add.ipynb", [
        ("demo.add", "def helper(x):\n    return 1 / x\n\ndef add(a, b):\n    return helper(0)")])
    notebook(subs / "corrupt" / "01_add.ipynb", [])
    (subs / "corrupt" / "01_add.ipynb").write_text("{ not json")
    report = grade_class(subs, assignment, LIMITS, workers=2, sandbox=SANDBOX)
    students = {s.student: s for s in report.students}
    typo = students["typo"].results["demo.add"]
    assert typo.status == "error"  # not "not attempted": there is an answer, it does not compile
    assert "did not run" in typo.message and "SyntaxError" in typo.message
    assert "line 1 of the cell" in typo.message and "def add(a, b)" in typo.message
    assert ".py, line" not in typo.message  # IPython's internal file name stays out
    assert all(t.message == "" for t in typo.tests)  # said once, for the exercise
    problems = students["typo"].notebooks[0].problems
    assert problems and problems[0].startswith("cell 1 (`def add(a, b)`)")
    raises = students["raises"].results["demo.add"]
    tracebacks = [t.traceback for t in raises.tests if t.traceback]
    assert tracebacks and all("helper" in tb for tb in tracebacks)
    assert not any("in one" in tb or "__smtpkit_call__" in tb for tb in tracebacks)  # no grader frames
    corrupt = students["corrupt"].results["demo.add"]
    assert "not a notebook" in corrupt.message and all(t.message == "" for t in corrupt.tests)
