"""kit.notebook_file, the kit's one notebook reader and writer, and the places that use it: the
release, the navigation tool (also as ``smtpkit nav``) and the grader."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from kit.cli import main as smtpkit
from kit.course import nav
from kit.grading.notebook import read_submission
from kit.notebook_file import NotebookFileError, dumps, notebook_lang, parse, read

ROOT = Path(__file__).resolve().parent.parent
COURSE = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", COURSE, ids=lambda p: str(p.relative_to(ROOT)))
def test_dumps_writes_what_nbformat_writes(path: Path) -> None:
    """One writer for release and nav: nbformat's own text, so a rewrite of an unchanged notebook
    changes no byte that nbformat would not."""
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = nbformat.writes(nbformat.from_dict(data), version=4)
    assert dumps(data, validate=False) == expected + ("" if expected.endswith("\n") else "\n")
    assert dumps(read(path)) == dumps(data, validate=False)


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff\xfe{", "not UTF-8"), ("{", "not valid JSON"), ("[]", "JSON, but not a notebook"),
    ('{"cells": 3}', "no list of cells"),
])
def test_parse_says_why_a_file_is_not_a_notebook(data, message) -> None:
    with pytest.raises(NotebookFileError, match=message):
        parse(data)


def test_read_names_the_file_and_keeps_missing_ids_missing(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text("{")
    with pytest.raises(NotebookFileError, match="bad.ipynb: not a readable notebook"):
        read(tmp_path / "bad.ipynb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")])
    raw = json.loads(nbformat.writes(nb))
    del raw["cells"][0]["id"]
    (tmp_path / "old.ipynb").write_text(json.dumps(raw))
    assert "id" not in read(tmp_path / "old.ipynb").cells[0]  # the release derives a stable one


def test_dumps_refuses_an_invalid_notebook() -> None:
    with pytest.raises(NotebookFileError, match="would be invalid"):
        dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "nonsense", "id": "x"}]})


def test_notebook_lang_trusts_only_the_course_languages() -> None:
    assert notebook_lang({"kit": {"lang": "de"}}) == "de"
    assert notebook_lang({"kit": {"lang": "xx"}}) is None
    assert notebook_lang({"kit": "de"}) is None and notebook_lang(None) is None and notebook_lang({}) is None


def test_the_grader_keeps_its_messages(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_bytes(b"\xff\xfe")
    (tmp_path / "b.ipynb").write_text("[1]")
    assert read_submission(tmp_path / "a.ipynb").error == "not a notebook: the file is not UTF-8 text"
    assert read_submission(tmp_path / "b.ipynb").error == "not a notebook: the file is JSON, but not a notebook"


def test_smtpkit_nav_is_the_navigation_tool(tmp_path: Path, capsys) -> None:
    for number in ("00", "01"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# T{number}\n\n## Part")])
        nbformat.write(nb, tmp_path / f"{number}_t.ipynb")
    assert smtpkit(["nav", "--check", str(tmp_path)]) == 1
    assert f"run `smtpkit nav {tmp_path}`" in capsys.readouterr().err
    assert smtpkit(["nav", str(tmp_path)]) == 0
    assert smtpkit(["nav", "--check", str(tmp_path)]) == 0
    assert nav.main(["--check", str(tmp_path)]) == 0  # python -m kit.course.nav: the same command


def test_nav_judges_content_not_the_files_key_order(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n\n## Part")])
    nbformat.write(nb, tmp_path / "00_t.ipynb")
    nav.update(tmp_path)
    data = json.loads((tmp_path / "00_t.ipynb").read_text())
    (tmp_path / "00_t.ipynb").write_text(json.dumps(data, indent=2))  # another layout, same notebook
    assert nav.stale(tmp_path) == []
