"""The exercise framework: verdicts, feedback, time limits, tamper resistance, hidden tests."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from kit.exercises import (
    REGISTRY,
    Case,
    CheckResult,
    Exercise,
    NotPlainValue,
    Outcome,
    Registry,
    StudentError,
    Test,
    check,
    exact,
    get,
    load_hidden,
    normalise,
    render_feedback,
    run_exercise,
)


def add(a: Any, b: Any) -> Any:
    return a + b


def _statuses(result: CheckResult) -> list[str]:
    return [t.status for t in result.tests]


def _check(answer: Any, exercise_id: str = "demo.add", **kwargs: Any) -> CheckResult:
    return check(exercise_id, answer, display=False, **kwargs)


# -- verdicts -------------------------------------------------------------------------------


def test_a_right_answer_passes_with_full_points() -> None:
    result = _check(add)
    assert (result.status, result.passed, result.points, result.max_points) == (
        "passed", True, 4, 4)
    assert [t.input for t in result.tests] == [
        "add(2, 3)", "add(-4, 1)", "add(0, 0)", "add(0.5, 0.25)"]
    assert all(t.passed and t.points == 1 for t in result.tests)


def test_a_wrong_formula_fails_and_says_expected_and_got() -> None:
    result = _check(lambda a, b: a - b)
    assert (result.status, result.points) == ("partial", 1)  # 0 - 0 == 0 + 0
    first = result.tests[0]
    assert (first.passed, first.expected, first.got, first.message) == (
        False, 5, -1, "expected 5, got -1")
    assert "add(a, b) must return a + b" in str(result)


def test_printing_instead_of_returning_gets_a_pointed_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = _check(lambda a, b: print(a + b))
    assert (result.status, result.points) == ("failed", 0)
    assert result.tests[0].message == "got None; did you print the answer instead of returning it?"


def test_a_str_of_the_right_number_is_a_type_error_not_a_pass() -> None:
    result = _check(lambda a, b: str(a + b))
    assert result.points == 0
    assert result.tests[0].message == "expected an int (5), got a str ('5')"


def test_a_stub_is_not_attempted() -> None:
    def stub(a: int, b: int) -> int:
        raise NotImplementedError("TODO: add the two numbers")

    result = _check(stub)
    assert (result.status, result.points) == ("not attempted", 0)
    assert set(_statuses(result)) == {"not attempted"}
    assert result.tests[0].message == "not attempted yet (TODO: add the two numbers)"


def test_an_exception_is_feedback_with_the_students_own_frames() -> None:
    def divide(a: int, b: int) -> float:
        return a / 0

    result = _check(divide)
    assert (result.status, result.points) == ("error", 0)
    first = result.tests[0]
    assert first.message == "your code raised ZeroDivisionError: division by zero"
    assert "return a / 0" in first.traceback and "in divide" in first.traceback
    assert "kit/exercises" not in first.traceback and first.input == "add(2, 3)"


def test_unknown_ids_and_non_callables_are_reported_not_raised() -> None:
    unknown = _check(add, "demo.ad")
    assert (unknown.status, unknown.max_points) == ("error", 0)
    assert unknown.message == "no exercise called 'demo.ad'; did you mean 'demo.add'?"
    assert "not its result (got 5)" in _check(5).message


# -- time limits ----------------------------------------------------------------------------


def spin(a: int, b: int) -> int:
    while True:
        pass


def spin_swallowing(a: int, b: int) -> int:
    while True:
        try:
            time.sleep(0.01)
        except:  # noqa: E722 - the point: a bare except must not defeat the limit
            pass


@pytest.mark.parametrize("answer", [spin, spin_swallowing])
def test_an_endless_loop_times_out_and_the_process_stays_usable(answer: Any) -> None:
    marker: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: marker.append(1))
    outer = signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        started = time.monotonic()
        result = _check(answer, time_limit=0.4)
        elapsed = time.monotonic() - started
        mine = signal.getsignal(signal.SIGALRM)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
    finally:
        signal.setitimer(signal.ITIMER_REAL, *outer)
        signal.signal(signal.SIGALRM, previous)
    assert 0.4 <= elapsed < 2.0
    assert result.status == "timeout"
    assert _statuses(result) == ["timeout", "skipped", "skipped", "skipped"]
    assert "took longer than 0.4 s" in result.tests[0].message
    assert mine is not previous and mine.__name__ == "<lambda>"  # the outer handler is back
    assert 95 < remaining <= 100 and marker == []  # the outer timer runs on, unfired
    assert _check(add).passed


def test_off_the_main_thread_the_limit_still_holds() -> None:
    release = threading.Event()

    def stubborn(a: int, b: int) -> int:
        release.wait(30)
        return a + b

    box: list[CheckResult] = []
    worker = threading.Thread(target=lambda: box.append(_check(stubborn, time_limit=0.3)))
    started = time.monotonic()
    worker.start()
    worker.join(10)
    release.set()  # lets the abandoned call finish
    assert time.monotonic() - started < 3
    assert box[0].status == "timeout" and box[0].tests[0].status == "timeout"


# -- tamper resistance ----------------------------------------------------------------------


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


class SneakyStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


def test_an_always_equal_object_earns_nothing() -> None:
    result = _check(lambda a, b: AlwaysEqual())
    assert (result.status, result.points) == ("failed", 0)
    assert result.tests[0].message.startswith("got a AlwaysEqual object; return a plain value")


def test_a_str_subclass_earns_nothing() -> None:
    registry = Registry()
    registry.register(Exercise("t.greet", "Greet", (Case("hello", ["Ann"], "Hello Ann"),)))
    result = check("t.greet", lambda name: SneakyStr("nope"), display=False, registry=registry)
    assert (result.status, result.points) == ("failed", 0)
    assert "a subclass of str; return a plain str" in result.tests[0].message


def test_normalise_is_type_exact() -> None:
    assert normalise((1, (2.5, None), {"k": [True]})) == [1, [2.5, None], {"k": [True]}]
    with pytest.raises(NotPlainValue, match="dict keys must be plain str"):
        normalise({250: "OK"})
    with pytest.raises(NotPlainValue, match="got a set at \\[1\\]"):
        normalise([1, {2}])
    assert exact(1, True) == "expected an int (1), got a bool (True)"
    assert exact(1, 1.0) == "expected an int (1), got a float (1.0)"
    assert exact([1, [2, 3]], (1, (2, 3))) is None
    assert exact({"code": 250}, {"code": 251}) == "['code']: expected 250, got 251"
    assert "differs at position 6" in exact("250 OK\r\n", "250 OK\n")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_the_notebook_and_the_grader_see_the_same_values(value: Any) -> None:
    """``local_call`` normalises; the grader's call JSON-decodes: both must compare alike."""
    plain = normalise(value)
    assert json.loads(json.dumps(value)) == plain
    assert exact(value, json.loads(json.dumps(value))) is None
    assert exact(plain, value) is None


def test_the_student_cannot_mutate_a_cases_arguments() -> None:
    registry = Registry()
    case = Case("sum", [[1, 2, 3]], 6)
    registry.register(Exercise("t.total", "Total", (case,)))

    def total(xs: list[int]) -> int:
        xs.append(100)
        return sum(xs) - 100

    for _ in range(2):
        assert check("t.total", total, display=False, registry=registry).passed
    assert case.args == ([1, 2, 3],)


# -- the call contract: judge-side tests, grader-style calls --------------------------------


def test_a_judge_side_test_and_a_json_call_as_the_grader_will_use() -> None:
    seen: list[Any] = []

    def judge(call: Any) -> Outcome:
        got = call(20, 22)
        seen.append(got)
        return Outcome(got == 42, "" if got == 42 else "not 42", "add(20, 22)", 42, got)

    exercise = Exercise("t.add", "Add", (Test("judge", 3, judge), Case("c", (1, 1), 2)),
                        function="add")

    def grader_call(*args: Any) -> Any:  # what the grader does: JSON both ways
        return json.loads(json.dumps(add(*json.loads(json.dumps(args)))))

    grader_call.__name__ = "add"
    result = run_exercise(exercise, grader_call)
    assert (result.status, result.points, seen) == ("passed", 4, [42])

    def failing_call(*args: Any) -> Any:
        raise StudentError("KeyError", "'x'", '  File "Cell In[3]", line 2, in add')

    failing_call.__name__ = "add"
    result = run_exercise(exercise, failing_call)
    assert _statuses(result) == ["error", "error"]
    assert result.tests[1].message == "your code raised KeyError: 'x'"


def test_a_broken_checker_is_reported_as_such() -> None:
    def broken(call: Any) -> Outcome:
        return {}["missing"]

    exercise = Exercise("t.broken", "Broken", (Test("oops", 1, broken),))
    result = run_exercise(exercise, add)
    assert result.status == "error"
    assert result.tests[0].message.startswith("the checker itself failed (KeyError: 'missing')")


def test_the_registry_finds_topics_and_rejects_duplicates() -> None:
    assert get("demo.add").points == 4 and "demo.add" in [e.id for e in REGISTRY.all_exercises()]
    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(get("demo.add"))
    with pytest.raises(KeyError, match="did you mean 'demo.add'"):
        get("demo.adds")
    with pytest.raises(ValueError, match="duplicate test names"):
        Exercise("t.x", "X", (Case("a", (), 1), Case("a", (), 2)))


# -- hidden tests ---------------------------------------------------------------------------

HIDDEN_FILE = '''
from kit.exercises import Case
HIDDEN = {"demo.add": [Case("secret big sum", (123456789, 987654321), 1111111110, points=2,
                            hint="SECRET-HINT")]}
'''


def test_hidden_tests_count_but_never_show_their_inputs(tmp_path: Path) -> None:
    (tmp_path / "hidden_tests.py").write_text(HIDDEN_FILE)
    hidden = load_hidden(tmp_path / "hidden_tests.py")
    assert [(t.name, t.hidden) for t in hidden["demo.add"]] == [("secret big sum", True)]
    registry = Registry()
    registry.register(get("demo.add"))
    registry.extend("demo.add", hidden["demo.add"])

    def small_add(a: int, b: int) -> int:
        return a + b if a < 1000 else 777

    result = check("demo.add", small_add, display=False, registry=registry)
    assert (result.status, result.points, result.max_points) == ("partial", 4, 6)
    secret = result.tests[-1]
    assert (secret.hidden, secret.passed, secret.expected, secret.got) == (
        True, False, 1111111110, 777)
    for fmt in ("html", "text"):
        shown = render_feedback(result, fmt=fmt)
        assert "secret big sum" in shown and "0/2" in shown
        for leak in ("123456789", "1111111110", "777", "SECRET-HINT"):
            assert leak not in shown, (fmt, leak)
    assert "123456789" in render_feedback(result, show_hidden_details=True)
    assert get("demo.add").points == 4  # the shared registry is untouched


def test_hidden_errors_and_timeouts_are_redacted_too(tmp_path: Path) -> None:
    registry = Registry()
    registry.register(get("demo.add").with_tests(
        load_hidden(_write(tmp_path, HIDDEN_FILE))["demo.add"]))

    def picky(a: int, b: int) -> int:
        if a > 1000:
            raise ValueError(f"no big numbers like {a}")
        return a + b

    result = check("demo.add", picky, display=False, registry=registry)
    assert result.tests[-1].status == "error"
    assert "123456789" in result.tests[-1].message  # the instructor's record keeps it
    assert "123456789" not in render_feedback(result, fmt="text")


def _write(folder: Path, text: str) -> Path:
    path = folder / "hidden_tests.py"
    path.write_text(text)
    return path


# -- results and rendering ------------------------------------------------------------------


def test_to_dict_is_json_for_every_kind_of_result() -> None:
    for result in (_check(add), _check(spin, time_limit=0.2), _check(add, "nope"),
                   _check(lambda a, b: AlwaysEqual()), _check(lambda a, b: 1 / 0)):
        data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
        assert data["exercise_id"] == result.exercise_id and data["status"] == result.status
        assert data["passed"] is result.passed and len(data["tests"]) == len(result.tests)
    assert _check(add).to_dict()["tests"][0] == {
        "name": "small numbers", "passed": True, "points": 1, "max_points": 1, "message": "",
        "input": "add(2, 3)", "expected": 5, "got": 5, "hint": None,
        "seconds": pytest.approx(0, abs=1), "hidden": False, "status": "passed", "traceback": "",
    }


def test_html_is_coloured_and_escaped() -> None:
    registry = Registry()
    registry.register(Exercise("t.tag", "Tag", (Case("bold", ["x"], "<b>x</b>"),
                                                 Case("same", ["y"], "y"))))
    result = check("t.tag", lambda s: "<script>alert(1)</script>" if s == "x" else s,
                   display=False, registry=registry)
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<pre" in page
    assert "#fce8e6" in page and "#e6f4ea" in page  # red fail row, green pass row

    def stub(a: int, b: int) -> int:
        raise NotImplementedError

    assert "#f1f3f4" in _check(stub)._repr_html_()  # grey: not attempted


def test_the_package_imports_and_checks_without_jupyter() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'IPython', 'ipykernel', 'nbformat', 'nbclient'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from kit.exercises import check\n"
        "print(check('demo.add', lambda a, b: a + b))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("demo.add: Add two numbers. 4/4 points, passed\n")


# -- in a real kernel: exactly one rendering --------------------------------------------------


def _html_outputs(cell: Any) -> list[str]:
    return [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]


def test_check_shows_its_feedback_exactly_once_in_a_real_kernel(tmp_path: Path) -> None:
    nb = new_notebook(cells=[
        new_code_cell("from kit.exercises import check\ndef add(a, b):\n    return a + b"),
        new_code_cell('check("demo.add", add)'),
        new_code_cell('r = check("demo.add", add)\nprint("after", r.points)'),
        new_code_cell("r"),
        new_code_cell("def spin(a, b):\n    while True:\n        pass\n"
                      'print(check("demo.add", spin, time_limit=0.5).status)'),
        new_code_cell("print(1 + 1)"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3", iopub_timeout=60, raise_on_iopub_timeout=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    last, middle, later, loop, after = nb.cells[1:]
    for cell in (last, middle, later, loop):
        html = _html_outputs(cell)
        assert len(html) == 1, cell.outputs
        assert 'class="kit-check"' in html[0]
    assert "4/4 points, passed" in _html_outputs(last)[0]
    assert not [o for o in last.outputs if o.output_type == "execute_result"]
    assert [o.text for o in middle.outputs if o.output_type == "stream"] == ["after 4\n"]
    assert [o.text for o in loop.outputs if o.output_type == "stream"] == ["timeout\n"]
    assert after.outputs[0].text == "2\n"
    nbformat.validate(nb)


def test_explained_names_the_mistake_and_keeps_exact_types() -> None:
    from kit.exercises import Outcome, explained

    case = Case("double", (2,), 4, compare=explained(lambda got: "return a number" if type(got) is not int else None),
                label="double(<two>)")
    assert case.run(lambda x: 2 * x) == Outcome(True, "", "double(<two>)", 4, 4)
    wrong = case.run(lambda x: "4")
    assert not wrong.passed and wrong.message == "return a number" and wrong.input == "double(<two>)"
    off = case.run(lambda x: 5)  # why() returns None: exact's own description stays
    assert not off.passed and off.message
    assert not case.run(lambda x: 4.0).passed  # exact types: 4.0 is not 4
