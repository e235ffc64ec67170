"""Reference solutions stay with the grader (issue "Honest judging", part A).

The student release holds no reference solution, yet every exercise still imports and gives
feedback there; ``smtpkit release --check`` and the release itself catch an answer that would
leak, be it a file in the wrong place or a kit function that answers an exercise under its name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit.authoring import AuthoringError, student_release
from kit.exercises import Case, all_exercises

# The grader-only names are imported inside the tests, so that the release test runs (and fails
# on its assertions) on a kit from before they existed.

ROOT = Path(__file__).resolve().parent.parent

#: Runs inside a student release (PYTHONPATH = the release), prints one JSON report.
IN_THE_RELEASE = r'''
import base64, importlib, json, pkgutil, re, smtplib
import kit, kit.exercises, kit.protocol
from kit.exercises import REGISTRY, Case, all_exercises, check

report = {"kit": kit.__file__, "failures": REGISTRY.failures()}
try:
    import kit.exercises.answers
    report["answers"] = True
except ImportError:
    report["answers"] = False
leaked = []
for info in pkgutil.iter_modules(kit.exercises.__path__):
    module = importlib.import_module("kit.exercises." + info.name)
    leaked += [f"{module.__name__}.{n}" for n in dir(module) if n.startswith("reference_")]
leaked += ["kit.protocol.dot_stuff"] if hasattr(kit.protocol, "dot_stuff") else []
report["leaked"] = leaked

CLASSES = {2: "positive completion", 3: "positive intermediate", 4: "transient negative", 5: "permanent negative"}

def parse_reply(lines):
    r = kit.protocol.parse_reply(lines)
    return {"code": r.code, "enhanced": r.enhanced, "text": list(r.lines)}

def retry_policy(code, attempt):
    if code // 100 == 2:
        return "delivered"
    if code // 100 == 4 and attempt < 34:
        return min(1800 * 2 ** (attempt - 1), 14400)
    return "bounce"

answers = {
    "replies.parse_reply": (parse_reply, lambda lines: {"code": int(lines[0][:3]), "enhanced": None, "text": lines}),
    "replies.classify": (lambda c: CLASSES.get(c // 100, "invalid") if 100 <= c < 600 else "invalid",
                         lambda c: "permanent negative"),
    "replies.should_retry": (lambda reply: reply[0] == "4", lambda reply: "try again" in reply.lower()),
    "dialogue.dot_stuff": (lambda t: re.sub(r"(?m)^\.", "..", t), smtplib.quotedata),
    "journey.mx_order": (lambda d, rs: [] if any(h == "." for _, h in rs) else
                         [h for _, h in sorted(rs, key=lambda r: r[0])] or [d],
                         lambda d, rs: [h for _, h in rs]),
    "esmtp.auth_plain": (lambda u, p, authzid="": base64.b64encode(f"{authzid}\0{u}\0{p}".encode()).decode(),
                         lambda u, p, authzid="": base64.b64encode(f"{u}:{p}".encode()).decode()),
    "trust.retry_policy": (retry_policy, lambda code, attempt: 1800),
}
report["verdicts"] = {i: [check(i, right, display=False).status, check(i, wrong, display=False).status]
                      for i, (right, wrong) in answers.items()}
report["expected"] = {e.id: [[t.name, t.expected] for t in e.tests if isinstance(t, Case)] for e in all_exercises()}
print(json.dumps(report))
'''


def _in_release(dest: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(dest)}
    return subprocess.run([sys.executable, "-c", code], cwd=dest, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_grader_only_is_the_answers_package() -> None:
    from kit.exercises import GRADER_ONLY, trust
    from kit.exercises.answers import ANSWERS
    from kit.exercises.answers import trust as trust_answers

    assert GRADER_ONLY == ("exercises/answers",)
    assert all(f.__module__.startswith("kit.exercises.answers.") for f in ANSWERS.values())
    # the answers repeat the schedule the notebook states rather than import a topic module
    assert (trust_answers._FIRST_WAIT, trust_answers._MAX_WAIT, trust_answers._MAX_ATTEMPTS, trust_answers._SKEW) == (
        trust.FIRST_WAIT, trust.MAX_WAIT, trust.MAX_ATTEMPTS, trust.SKEW_SECONDS)


def test_the_student_release_has_no_reference_solution_and_still_gives_feedback(tmp_path: Path) -> None:
    dest = student_release(ROOT, tmp_path / "student")
    kit_files = sorted(p.relative_to(dest / "kit").as_posix() for p in (dest / "kit").rglob("*") if p.is_file())
    defining = [f for f in kit_files if f.endswith(".py")
                and re.search(r"^\s*def reference_", (dest / "kit" / f).read_text(encoding="utf-8"), re.M)]
    assert defining == []
    assert not [f for f in kit_files if f.startswith("exercises/answers")]
    assert "exercises/expected.json" in kit_files
    assert not list(dest.rglob("__pycache__"))  # the audit of the release leaves no caches behind

    run = _in_release(dest, IN_THE_RELEASE)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(report["kit"]).resolve() == (dest / "kit" / "__init__.py").resolve()
    assert report["answers"] is False and report["failures"] == {}
    assert report["leaked"] == []
    for exercise_id, (right, wrong) in report["verdicts"].items():
        assert right == "passed" and wrong in ("partial", "failed"), (exercise_id, right, wrong)
    # the release judges against exactly the values the grader computes from the answers
    assert report["expected"] == {e.id: [[t.name, t.expected] for t in e.tests if isinstance(t, Case)]
                                  for e in all_exercises()}

    # a stale value is never used: the topic fails to import and says what to do
    data = json.loads((dest / "kit/exercises/expected.json").read_text(encoding="utf-8"))
    del data["replies.classify"]["250: OK"]
    (dest / "kit/exercises/expected.json").write_text(json.dumps(data), encoding="utf-8")
    run = _in_release(dest, "from kit.exercises import get\ntry:\n    get('replies.classify')\n"
                            "except KeyError as e:\n    print(e)")
    assert "failed to import: ExpectedOutOfDate" in run.stdout and "run `smtpkit release`" in run.stdout


def test_expected_values_match_the_answers(tmp_path: Path) -> None:
    from kit.authoring.leaks import expected_problems
    from kit.exercises.answers import ANSWERS

    assert expected_problems(ROOT) == []
    assert set(ANSWERS) <= {e.id for e in all_exercises()}
    stale = tmp_path / "expected.json"
    data = json.loads((ROOT / "kit/exercises/expected.json").read_text(encoding="utf-8"))
    data["replies.classify"]["250: OK"]["expected"] = "permanent negative"
    stale.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert expected_problems(ROOT, stale) == [(str(stale), "out of date")]


def test_a_kit_function_that_answers_an_exercise_is_caught(tmp_path: Path) -> None:
    """kit.protocol.dot_stuff answered dialogue.dot_stuff in full; a kit that exports it again is
    reported by the audit and refused by the student release."""
    from kit.authoring.leaks import audit, ignore_grader_only

    assert audit(ROOT) == []
    project = tmp_path / "project"
    shutil.copytree(ROOT / "kit", project / "kit", ignore=lambda d, names: shutil.ignore_patterns(
        "__pycache__", "*.pyc")(d, names) | ignore_grader_only(ROOT / "kit")(d, names))
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    shutil.copytree(ROOT / "solutions", project / "solutions")  # release --student renders from them
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    assert not (project / "kit/exercises/answers").exists()
    with (project / "kit/protocol/__init__.py").open("a", encoding="utf-8") as f:
        f.write("\n\ndef dot_stuff(text):\n    import re\n    return re.sub(r'(?m)^\\.', '..', text)\n")
    leaks = audit(project)
    assert [(leak["name"], leak["exercise"], leak["points"] == leak["max_points"]) for leak in leaks] == [
        ("kit.protocol.dot_stuff", "dialogue.dot_stuff", True)]
    dest = tmp_path / "student"
    with pytest.raises(AuthoringError, match=r"give answers away(.|\n)*kit.protocol.dot_stuff answers dialogue"):
        student_release(project, dest)
    assert not dest.exists()
