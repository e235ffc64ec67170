"""Assignments of a few notebooks, and submissions straight from an LMS zip (Moodle, Canvas),
unpacked safely."""

from __future__ import annotations

import csv
import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kit.grading.archive import student_and_file, unpack
from kit.grading.assignment import chosen, load_assignment
from kit.grading.errors import GradingError
from kit.grading.isolation import probe

CLASS = Path(__file__).parent / "data" / "class"
COURSE = ["00_start_here.ipynb", "01_history_and_architecture.ipynb", "02_the_smtp_dialogue.ipynb",
          "03_reply_codes.ipynb", "10_extra.ipynb"]


@pytest.mark.parametrize("member, expected", [
    ("Ada Lovelace_123456_assignsubmission_file_/02_the_smtp_dialogue.ipynb",
     ("Ada Lovelace", "02_the_smtp_dialogue.ipynb")),
    ("Ada Lovelace_123456_assignsubmission_file_/work/03.ipynb", ("Ada Lovelace", "03.ipynb")),
    ("lovelaceada_123456_7890123_02_the_smtp_dialogue.ipynb", ("lovelaceada", "02_the_smtp_dialogue.ipynb")),
    ("lovelaceada_late_123456_7890123_03_reply_codes-1.ipynb", ("lovelaceada", "03_reply_codes.ipynb")),
    ("ada/02.ipynb", ("ada", "02.ipynb")),
    ("ada/deeper/02.ipynb", ("ada", "02.ipynb")),
    ("ada.ipynb", ("ada", "ada.ipynb")),
    ("__MACOSX/ada/._02.ipynb", None),
    ("ada/.ipynb_checkpoints/02-checkpoint.ipynb", None),
    ("ada/notes.txt", None),
])
def test_students_and_files_from_lms_layouts(member, expected):
    assert student_and_file(member) == expected


def test_a_wrapping_folder_is_the_assignment_not_a_student():
    assert student_and_file("Assignment 2/ada/02.ipynb", "Assignment 2") == ("ada", "02.ipynb")


def _zip(path: Path, members: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_unpacking_keeps_notebooks_inside_and_skips_what_is_not_safe(tmp_path):
    big = b" " * (21 * 1024 * 1024)
    archive = _zip(tmp_path / "class.zip", {
        "ada/02.ipynb": b"{}", "../../escape.ipynb": b"{}", "/abs/olute.ipynb": b"{}",
        "bob/02.ipynb": big, "bob/readme.txt": b"x"}, links=("eve/02.ipynb",))
    dest = tmp_path / "out"
    dest.mkdir()
    skipped = dict(unpack(archive, dest))
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == ["ada/02.ipynb"]
    assert skipped["../../escape.ipynb"] == "a path outside the archive"
    assert skipped["/abs/olute.ipynb"] == "a path outside the archive"
    assert skipped["eve/02.ipynb"] == "a symbolic link"
    assert "larger than" in skipped["bob/02.ipynb"]
    assert not (tmp_path / "escape.ipynb").exists()
    with pytest.raises(GradingError, match="not a zip"):
        unpack(tmp_path / "out" / "ada" / "02.ipynb", dest)


def test_an_assignment_picks_notebooks_by_number_or_name():
    assert chosen(COURSE, ("02", "3")) == ["02_the_smtp_dialogue.ipynb", "03_reply_codes.ipynb"]
    assert chosen(COURSE, ("01_history_and_architecture",)) == ["01_history_and_architecture.ipynb"]
    assert chosen(COURSE, ("10",)) == ["10_extra.ipynb"]
    with pytest.raises(GradingError, match="'9'"):
        chosen(COURSE, ("02", "9"))
    assignment = load_assignment(CLASS / "notebooks", only=("2",))
    assert [n.name for n in assignment.notebooks] == ["02_wire.ipynb"]


@pytest.mark.skipif(probe() is not None, reason="no sandbox here")
def test_grading_a_moodle_zip_for_an_assignment_of_one_notebook(tmp_path):
    subs = CLASS / "submissions"
    archive = _zip(tmp_path / "moodle.zip", {
        "Perfect Student_101_assignsubmission_file_/02_wire.ipynb": (subs / "perfect" / "02_wire.ipynb").read_bytes(),
        "Perfect Student_101_assignsubmission_file_/01_add.ipynb": (subs / "perfect" / "01_add.ipynb").read_bytes(),
        "Partly Right_102_assignsubmission_file_/02_wire (1).ipynb":
            (subs / "partly" / "02_wire (1).ipynb").read_bytes()})
    out = tmp_path / "graded"
    run = subprocess.run([sys.executable, "-m", "kit", "grade", str(archive), "--out", str(out),
                          "--notebooks", str(CLASS / "notebooks"), "--assignment", "02", "--quiet"],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"Partly Right", "Perfect Student"}
    assert set(rows["Perfect Student"]) == {"student", "dialogue.dot_stuff", "dialogue.send_mail_raw",
                                            "total", "max"}  # 01's demo.add is not in this assignment
    assert rows["Perfect Student"]["total"] == rows["Perfect Student"]["max"]
    data = json.loads((out / "results.json").read_text())
    assert [n["name"] for n in data["assignment"]["notebooks"]] == ["02_wire.ipynb"]
    perfect = next(s for s in data["students"] if s["student"] == "Perfect Student")
    assert [n["status"] for n in perfect["notebooks"]] == ["ok"]


def test_a_bad_assignment_or_archive_exits_2(tmp_path):
    (tmp_path / "not.zip").write_text("nope")
    for args in (["--assignment", "9"], []):
        target = str(CLASS / "submissions") if args else str(tmp_path / "not.zip")
        run = subprocess.run([sys.executable, "-m", "kit", "grade", target, "--out",
                              str(tmp_path / "o"), "--notebooks", str(CLASS / "notebooks"), *args],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert "smtpkit grade: error:" in run.stderr


def test_a_name_too_long_for_the_file_system_is_shortened_not_fatal(tmp_path):
    archive = _zip(tmp_path / "long.zip", {("x" * 300) + "/" + ("y" * 400) + ".ipynb": b"{}"})
    dest = tmp_path / "out"
    dest.mkdir()
    assert unpack(archive, dest) == []
    [notebook] = [p for p in dest.rglob("*") if p.is_file()]
    assert notebook.suffix == ".ipynb" and len(notebook.name) <= 100 and len(notebook.parent.name) <= 100
