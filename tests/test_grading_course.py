"""The course itself, graded as an instructor would: the instructor notebooks handed in as a
student's work earn every point of every exercise, the untouched student copies earn none.

This ties the single-source pipeline (solutions -> notebooks), the exercise registry and the
grader together on the real notebooks, not on the small class of tests/data.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COURSE = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.timeout(400)


def test_solutions_earn_everything_and_stubs_nothing(tmp_path):
    subs = tmp_path / "submissions"
    for student, folder in (("teacher", "solutions"), ("untouched", "notebooks")):
        (subs / student).mkdir(parents=True)
        for name in COURSE:
            shutil.copy(ROOT / folder / name, subs / student / name)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "kit", "grade", str(subs), "--out", str(out), "--quiet",
                          "--notebooks", str(ROOT / "notebooks"), "--workers", "2"],
                         capture_output=True, text=True, timeout=380, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    exercises = [c for c in rows["teacher"] if c not in ("student", "total", "max")]
    assert len(exercises) >= len(COURSE) - 1  # every notebook but the first has a graded exercise or more
    assert float(rows["teacher"]["max"]) > 0
    assert rows["teacher"]["total"] == rows["teacher"]["max"], rows["teacher"]
    assert float(rows["untouched"]["total"]) == 0, rows["untouched"]
