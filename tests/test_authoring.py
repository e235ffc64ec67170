"""The authoring pipeline: solutions -> student notebooks, drift check, student release, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kit.authoring import (
    MANIFEST,
    MARKER,
    AuthoringError,
    MarkerError,
    check,
    release,
    strip_solutions,
    student_release,
)
from kit.authoring.command import configure, run

SOLVED = '''def add(a, b):
    """Return a + b."""
    # BEGIN SOLUTION
    # TODO: add the two numbers
    total = a + b
    return total
    # END SOLUTION
'''


def _solution_notebook() -> nbformat.NotebookNode:
    code = new_code_cell(SOLVED, id="add-cell", execution_count=7,
                         metadata={"kit": {"exercise": "demo.add"}, "scrolled": True})
    code.outputs = [new_output("stream", name="stdout", text="secret output\n")]
    answer = new_code_cell("print(add(2, 3))  # answer key", id="answer",
                           metadata={"tags": ["solution-only"]})
    loop = new_code_cell(
        "for i in range(3):\n    if i:\n        # BEGIN SOLUTION\n        print(i)\n"
        "        # END SOLUTION\n", id="loop")
    nb = new_notebook(cells=[new_markdown_cell("# Adding", id="intro"), code, answer, loop])
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "My venv", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7"}, "widgets": {"x": 1},
    }
    return nb


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution_notebook(), tmp_path / "solutions" / "01-add.ipynb")
    return tmp_path


def _released(project: Path) -> nbformat.NotebookNode:
    release(project / "solutions", project / "notebooks")
    return nbformat.read(project / "notebooks" / "01-add.ipynb", as_version=4)


def test_release_stubs_solution_bodies_at_the_begin_indentation(project: Path) -> None:
    nb = _released(project)
    assert nb.cells[1].source == (
        'def add(a, b):\n    """Return a + b."""\n'
        '    raise NotImplementedError("TODO: add the two numbers")\n'
    )
    assert nb.cells[2].source == (
        "for i in range(3):\n    if i:\n"
        '        raise NotImplementedError("TODO: write your solution here")\n'
    )
    assert "total" not in json.dumps(nb)


def test_the_stub_runs_and_raises_not_implemented(project: Path) -> None:
    namespace: dict = {}
    exec(_released(project).cells[1].source, namespace)
    with pytest.raises(NotImplementedError, match="TODO: add the two numbers"):
        namespace["add"](1, 2)


def test_release_clears_outputs_drops_solution_only_and_keeps_exercise_metadata(
    project: Path,
) -> None:
    nb = _released(project)
    assert [c.id for c in nb.cells] == ["intro", "add-cell", "loop"]
    code = nb.cells[1]
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata == {"kit": {"exercise": "demo.add"}}
    assert "answer key" not in json.dumps(nb)
    assert nb.metadata == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }


def test_release_is_byte_stable_and_returns_the_student_paths(project: Path) -> None:
    done = release(project / "solutions", project / "notebooks")
    paths = done.paths
    assert paths == [project / "notebooks" / "01-add.ipynb"] and done.written == ["01-add.ipynb"]
    first = paths[0].read_bytes()
    manifest = (project / "notebooks" / MANIFEST).read_bytes()
    assert first.endswith(b"}\n") and b'\n "cells": [\n  {\n' in first  # nbformat, indent 1
    again = release(project / "solutions", project / "notebooks")
    assert again.paths == paths and again.written == [] and again.backup is None
    assert paths[0].read_bytes() == first and (project / "notebooks" / MANIFEST).read_bytes() == manifest


def test_cells_saved_without_ids_get_stable_ids(project: Path) -> None:
    raw = json.loads((project / "solutions" / "01-add.ipynb").read_text())
    for cell in raw["cells"]:
        del cell["id"]  # nbformat would invent random ids when reading this
    (project / "solutions" / "01-add.ipynb").write_text(json.dumps(raw))
    first = release(project / "solutions", project / "notebooks").paths[0].read_bytes()
    (project / "notebooks" / "01-add.ipynb").unlink()
    assert release(project / "solutions", project / "notebooks").paths[0].read_bytes() == first
    assert check(project / "solutions", project / "notebooks") == []


def test_check_reports_missing_out_of_date_and_extra(project: Path) -> None:
    solutions, notebooks = project / "solutions", project / "notebooks"
    assert check(solutions, notebooks) == ["01-add.ipynb"]  # missing
    release(solutions, notebooks)
    assert check(solutions, notebooks) == []
    nb = _solution_notebook()
    nb.cells[0].source = "# Adding, revised"
    nbformat.write(nb, solutions / "01-add.ipynb")
    nbformat.write(new_notebook(), notebooks / "99-old.ipynb")
    assert check(solutions, notebooks) == ["01-add.ipynb", "99-old.ipynb"]
    release(solutions, notebooks)
    assert check(solutions, notebooks) == ["99-old.ipynb"]


@pytest.mark.parametrize(
    ("source", "line", "problem"),
    [
        ("x = 1\n# BEGIN SOLUTION\nx = 2\n", 2, "BEGIN SOLUTION without # END SOLUTION"),
        ("x = 1\n# END SOLUTION\n", 2, "END SOLUTION without # BEGIN SOLUTION"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", 2, "inside the block opened"),
    ],
)
def test_malformed_markers_name_notebook_cell_and_line(
    project: Path, source: str, line: int, problem: str
) -> None:
    nb = _solution_notebook()
    nb.cells.append(new_code_cell(source))
    nbformat.write(nb, project / "solutions" / "02-bad.ipynb")
    with pytest.raises(MarkerError, match=problem) as info:
        release(project / "solutions", project / "notebooks")
    assert str(info.value).startswith(f"02-bad.ipynb: cell 4, line {line}: ")
    assert not (project / "notebooks" / "01-add.ipynb").exists()  # nothing half-written


def test_strip_solutions_keeps_crlf_and_quotes_the_todo() -> None:
    source = 'x = 1\r\n  # BEGIN SOLUTION\r\n  # TODO: say "hi"\r\n  y\r\n  # END SOLUTION\r\nz\r\n'
    assert strip_solutions(source) == (
        'x = 1\r\n  raise NotImplementedError("TODO: say \\"hi\\"")\r\nz\r\n'
    )


def _student_project(project: Path) -> Path:
    (project / "kit" / "sub" / "__pycache__").mkdir(parents=True)
    (project / "kit" / "__init__.py").write_text("")
    (project / "kit" / "sub" / "mod.py").write_text("X = 1\n")
    (project / "kit" / "sub" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (project / "tests").mkdir()
    (project / "tests" / "hidden.py").write_text("HIDDEN = {}\n")
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "README.md").write_text("# Course\n")
    release(project / "solutions", project / "notebooks")
    return project


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_student_release_has_kit_and_notebooks_but_no_solutions_or_hidden_tests(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = _student_project(project)
    dest = tmp_path_factory.mktemp("out") / "student"
    assert student_release(root, dest) == dest.resolve()
    assert _files(dest) == {
        MARKER, "README.md", "pyproject.toml", "Makefile", "kit/__init__.py", "kit/sub/mod.py",
        "notebooks/01-add.ipynb", f"notebooks/{MANIFEST}",
    }
    assert b"total = a + b" not in (dest / "notebooks" / "01-add.ipynb").read_bytes()
    (dest / "kit" / "stale.py").write_text("")
    student_release(root, dest)  # an earlier release is replaced, stale files go
    assert "kit/stale.py" not in _files(dest)


def test_student_release_refuses_foreign_folders_and_hidden_in_kit(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = _student_project(project)
    foreign = tmp_path_factory.mktemp("foreign")
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(AuthoringError, match="not an earlier student release"):
        student_release(root, foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"
    dest = tmp_path_factory.mktemp("out") / "student"
    (root / "kit" / "grading_secrets.py").write_text("HIDDEN = {'demo.add': []}\n")
    with pytest.raises(AuthoringError, match="defines HIDDEN"):
        student_release(root, dest)
    assert not dest.exists()


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="smtpkit release")
    configure(parser)
    return run(parser.parse_args(list(argv)))


def test_command_exit_codes(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    assert _run("--check") == 1
    assert capsys.readouterr().out == "missing: 01-add.ipynb\n"
    assert _run() == 0
    assert (project / "notebooks" / "01-add.ipynb").is_file()
    assert _run("--check") == 0
    assert _run("--solutions", "nowhere") == 2
    assert "solutions folder not found: nowhere" in capsys.readouterr().err
    nb = _solution_notebook()
    nb.cells.append(new_code_cell("# END SOLUTION"))
    nbformat.write(nb, project / "solutions" / "01-add.ipynb")
    assert _run() == 2
    assert "01-add.ipynb: cell 4, line 1: # END SOLUTION without" in capsys.readouterr().err
    assert _run("--check") == 2


def test_command_builds_a_student_release(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = _student_project(project)
    monkeypatch.chdir(root)
    dest = tmp_path_factory.mktemp("out") / "student"
    assert _run("--student", str(dest)) == 0
    assert (dest / MARKER).is_file() and (dest / "notebooks" / "01-add.ipynb").is_file()
    with pytest.raises(SystemExit) as info:
        _run("--check", "--student", str(dest))
    assert info.value.code == 2
