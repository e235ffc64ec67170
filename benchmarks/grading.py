#!/usr/bin/env python3
"""Seconds per notebook: ``smtpkit grade`` against the floor, measured in the same run.

A synthetic class (``--students`` (20) x 3 small notebooks, written to a temporary folder) answers
three released notebooks with the course's own exercises:

  01_add    demo.add                                    (4 pure-function cases)
  02_codes  replies.classify, replies.should_retry      (18 cases)
  03_wire   dialogue.dot_stuff, dialogue.send_mail_raw  (7 cases; 4 tests on a lab server)

Each student notebook imports the kit, defines the answers (a third right, a third partly
right, a third untouched stubs) and calls ``check`` after each exercise, as a student's would.

  floor      every notebook executed by nbclient alone (fresh kernel each, serial, in this
             process, nbclient's defaults): what running the class's notebooks costs. The check
             cells run the public tests inside the kernel.
  lean floor the same without the check cells and with nbclient's immediate kernel shutdown:
             kernel start-up plus the students' own cells, the least any grader that runs the
             notebooks can cost; grade x1 against it shows the grader's own overhead.
  grade x1   ``grade_class`` with one worker: sandboxed kernel (an unprivileged user under
             bubblewrap, private namespaces, cgroup limits), the notebook run without its check
             cells, every exercise judged from the grader (calls over the relayed kernel
             connection, lab servers on the kernel's private loopback).
  grade x2   the same with two workers.

The phases alternate over ``--reps`` repetitions (floor, x1, x2, then x2, x1, floor, ...) so
that drift on a shared machine spreads over all three; medians are reported. Targets (issue 6):
grade x1 <= 1.3 x floor, and grade x2 >= 1.5 x faster than grade x1.

    .venv/bin/python benchmarks/grading.py                 # 20 students, 60 notebooks, 1 rep
    .venv/bin/python benchmarks/grading.py --students 10 --reps 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.modules.setdefault("rfc3987_syntax", None)  # see kit/grading/command.py: 2 s of import

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from kit.grading.assignment import load_assignment  # noqa: E402
from kit.grading.grade import grade_class  # noqa: E402
from kit.grading.isolation import Sandbox, probe  # noqa: E402
from kit.grading.settings import Limits  # noqa: E402

STUBS = {
    "demo.add": "def add(a, b):\n    raise NotImplementedError('TODO')",
    "replies.classify": "def classify(code):\n    raise NotImplementedError('TODO')",
    "replies.should_retry": "def should_retry(reply):\n    raise NotImplementedError('TODO')",
    "dialogue.dot_stuff": "def dot_stuff(text):\n    raise NotImplementedError('TODO')",
    "dialogue.send_mail_raw": ("def send_mail_raw(host, port, sender, recipients, message):\n"
                               "    raise NotImplementedError('TODO')"),
}
RIGHT = {
    "demo.add": "def add(a, b):\n    return a + b",
    "replies.classify": '''NAMES = {2: "positive completion", 3: "positive intermediate", 4: "transient negative",
         5: "permanent negative"}


def classify(code):
    return NAMES.get(code // 100, "invalid") if 100 <= code <= 599 else "invalid"''',
    "replies.should_retry": "def should_retry(reply):\n    return reply.lstrip()[:1] == '4'",
    "dialogue.dot_stuff": ('def dot_stuff(text):\n    return "".join("." + line if line.startswith(".") '
                           'else line for line in text.splitlines(keepends=True))'),
    "dialogue.send_mail_raw": '''import socket


def send_mail_raw(host, port, sender, recipients, message):
    with socket.create_connection((host, port), timeout=5) as sock:
        replies = sock.makefile("rb")

        def reply():
            while True:
                line = replies.readline().decode()
                if line[3:4] != "-":
                    return line.rstrip("\\r\\n")

        def command(text):
            sock.sendall(text.encode() + b"\\r\\n")
            return reply()

        reply()
        command("HELO bench.example.test")
        command(f"MAIL FROM:<{sender}>")
        for recipient in recipients:
            command(f"RCPT TO:<{recipient}>")
        command("DATA")
        data = "".join("." + line if line.startswith(".") else line
                       for line in message.splitlines(keepends=True))
        final = command(data + ("" if data.endswith("\\r\\n") else "\\r\\n") + ".")
        command("QUIT")
        return final''',
}
PARTLY = {
    "demo.add": "def add(a, b):\n    return a + b if a >= 0 else 0",
    "replies.classify": "def classify(code):\n    return 'positive completion' if code < 400 else 'permanent negative'",
    "replies.should_retry": "def should_retry(reply):\n    return 'try again' in reply.lower()",
    "dialogue.dot_stuff": "def dot_stuff(text):\n    return text",
    "dialogue.send_mail_raw": RIGHT["dialogue.send_mail_raw"].replace('        command("QUIT")\n', ""),
}
NOTEBOOKS = {
    "01_add.ipynb": ["demo.add"],
    "02_codes.ipynb": ["replies.classify", "replies.should_retry"],
    "03_wire.ipynb": ["dialogue.dot_stuff", "dialogue.send_mail_raw"],
}


def _notebook(exercises: list[str], answers: dict[str, str]) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell("# A synthetic notebook"),
             nbformat.v4.new_code_cell("from kit import check")]
    for exercise_id in exercises:
        function = answers[exercise_id].split("def ", 1)[1].split("(", 1)[0]
        cells.append(nbformat.v4.new_markdown_cell(f"Write `{function}`."))
        cells.append(nbformat.v4.new_code_cell(answers[exercise_id],
                                               metadata={"kit": {"exercise": exercise_id}}))
        cells.append(nbformat.v4.new_code_cell(f"check({exercise_id!r}, {function})"))
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def build_class(root: Path, students: int) -> tuple[Path, Path, list[Path]]:
    released, submissions = root / "notebooks", root / "submissions"
    released.mkdir(parents=True)
    for name, exercises in NOTEBOOKS.items():
        nbformat.write(_notebook(exercises, STUBS), str(released / name))
    files = []
    for n in range(students):
        answers = (RIGHT, PARTLY, STUBS)[n % 3]
        for name, exercises in NOTEBOOKS.items():
            path = submissions / f"student{n:03d}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_notebook(exercises, answers), str(path))
            files.append(path)
    return released, submissions, files


def floor(files: list[Path], lean: bool = False) -> float:
    """Execute every notebook with nbclient alone; total seconds. ``lean``: without the
    notebooks' check cells, and killing each kernel at the end instead of asking it to quit."""
    started = time.perf_counter()
    for path in files:
        nb = nbformat.read(str(path), as_version=4)
        if lean:
            nb.cells = [c for c in nb.cells if not c.source.startswith("check(")]
        with tempfile.TemporaryDirectory() as cwd:
            NotebookClient(nb, kernel_name="python3", timeout=60, allow_errors=True,
                           shutdown_kernel="immediate" if lean else "graceful",
                           resources={"metadata": {"path": cwd}}).execute()
    return time.perf_counter() - started


def grade(submissions: Path, assignment, workers: int, isolate: bool) -> tuple[float, object]:
    started = time.perf_counter()
    sandbox = Sandbox.build(submissions, isolate=isolate)
    report = grade_class(submissions, assignment, Limits(), workers=workers, sandbox=sandbox)
    return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without the sandbox (to see what it costs)")
    args = parser.parse_args()
    isolate = not args.unsafe_no_sandbox
    if isolate and probe() is not None:
        print(f"no sandbox here: {probe()}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="smtpkit-bench-") as tmp:
        released, submissions, files = build_class(Path(tmp), args.students)
        assignment = load_assignment(released)
        n = len(files)
        print(f"{args.students} students x {len(NOTEBOOKS)} notebooks = {n} notebooks; "
              f"{os.cpu_count()} cores; {'sandboxed' if isolate else 'NO SANDBOX'}; "
              f"{args.reps} rep(s)", flush=True)
        floor(files[:1])  # warm-up: caches, imports in this process
        times: dict[str, list[float]] = {"floor": [], "lean floor": [], "grade x1": [],
                                         "grade x2": []}
        totals = None
        for rep in range(args.reps):
            order = list(times)
            for phase in (order if rep % 2 == 0 else order[::-1]):
                if phase.endswith("floor"):
                    seconds = floor(files, lean=phase == "lean floor")
                else:
                    seconds, report = grade(submissions, assignment, int(phase[-1]), isolate)
                    totals = sorted({s.total for s in report.students})
                times[phase].append(seconds)
                print(f"  rep {rep + 1} {phase:<10} {seconds:7.1f} s  {seconds / n:.3f} s/notebook",
                      flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        print()
        print("| phase | seconds | s/notebook | vs floor |")
        print("|---|---:|---:|---:|")
        for phase, seconds in med.items():
            print(f"| {phase} | {seconds:.1f} | {seconds / n:.3f} | {seconds / med['floor']:.2f}x |")
        x1 = med["grade x1"] / med["floor"]
        lean = med["grade x1"] / med["lean floor"]
        speedup = med["grade x1"] / med["grade x2"]
        print()
        print(f"grade x1 / floor = {x1:.2f} (target <= 1.3: {'met' if x1 <= 1.3 else 'MISSED'})")
        print(f"grade x1 / lean floor = {lean:.2f} (the grader's own overhead)")
        print(f"grade x1 / grade x2 = {speedup:.2f} (target >= 1.5: "
              f"{'met' if speedup >= 1.5 else 'MISSED'})")
        print(f"distinct totals in the class: {totals}; threads left: {threading.active_count()}, "
              f"open files: {len(os.listdir('/proc/self/fd'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
