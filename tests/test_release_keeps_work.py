"""Student work is never overwritten (issue 12): `smtpkit release` refuses to replace a notebook
changed since the last release (exit 2, naming it) unless ``--force``, which keeps a backup;
``release --student DIR`` never touches the project's ``notebooks/``; what JupyterLab rewrites
when it merely opens and saves a notebook is not taken for work, anything a person wrote is.

All with real files in tmp_path; the command is run as students and instructors run it
(``python -m kit release`` in the project folder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from kit.authoring import BACKUPS, MANIFEST, EditedNotebooks, drift, release
from kit.authoring.workspace import content_key, is_release_copy, plan, read_manifest
from kit.course import lab

ROOT = Path(__file__).resolve().parents[1]

SOLVED = '''def add(a, b):
    # BEGIN SOLUTION
    return a + b
    # END SOLUTION
'''


def _solution(title: str = "# 01 · Adding") -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell(title, id="intro"),
        new_code_cell(SOLVED, id="answer", metadata={"kit": {"exercise": "demo.add"}}),
        new_code_cell('check("demo.add", add)', id="check"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution(), tmp_path / "solutions" / "01-add.ipynb")
    nbformat.write(_solution("# 02 · Other"), tmp_path / "solutions" / "02-other.ipynb")
    release(tmp_path / "solutions", tmp_path / "notebooks")
    return tmp_path


def smtpkit(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``smtpkit release ARGS`` in ``cwd``, as its own process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "kit", "release", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``smtpkit release ARGS`` in ``cwd`` in this process (a project whose own ``kit/`` is a stub
    would shadow the real one for ``python -m kit``)."""
    from kit.cli import main

    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        code = main(["release", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(["smtpkit", "release", *args], code, out.out, out.err)

    return run


def _answer(path: Path, body: str = "    return a + b  # my answer\n") -> str:
    """Type an answer into the exercise cell and save, as JupyterLab does (nbformat, indent 1)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace('    raise NotImplementedError("TODO: write your solution here")\n',
                                                    body)
    nbformat.write(nb, path)
    return path.read_text()


def _course_change(project: Path) -> None:
    for name in ("01-add.ipynb", "02-other.ipynb"):
        nb = nbformat.read(project / "solutions" / name, as_version=4)
        nb.cells[0].source += "\n\nA new paragraph from the instructor."
        nbformat.write(nb, project / "solutions" / name)


def _jupyterlab_open_and_save(path: Path) -> None:
    """What JupyterLab 4 writes when a released notebook is opened and saved without running a cell:
    the kernel's kernelspec and language_info, cell metadata of the UI (trusted is stripped on save,
    collapsed/scrolled may be added), nothing else."""
    nb = json.loads(path.read_text())
    nb["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"
    nb["metadata"]["language_info"] = {
        "name": "python", "version": "3.11.7", "mimetype": "text/x-python", "file_extension": ".py",
        "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
        "nbconvert_exporter": "python"}
    nb["cells"][2]["metadata"].update(collapsed=False, scrolled=True)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- #
# release refuses, --force keeps a backup
# --------------------------------------------------------------------------- #
def test_a_students_saved_answer_survives_release(project: Path) -> None:
    mine = _answer(project / "notebooks" / "01-add.ipynb")
    _course_change(project)  # the instructor updates the course, then releases
    done = smtpkit(project)
    assert done.returncode == 2, done
    assert "01-add.ipynb" in done.stderr and "02-other.ipynb" not in done.stderr
    assert "--force" in done.stderr and "Nothing was written" in done.stderr
    assert (project / "notebooks" / "01-add.ipynb").read_text() == mine
    # nothing was written at all, not even the notebook nobody changed
    assert "A new paragraph" not in (project / "notebooks" / "02-other.ipynb").read_text()
    assert not (project / "notebooks" / BACKUPS).exists()
    assert smtpkit(project, "--check").returncode == 1  # --check still compares without writing
    assert (project / "notebooks" / "01-add.ipynb").read_text() == mine


def test_release_force_keeps_a_backup_and_says_where(project: Path) -> None:
    mine = _answer(project / "notebooks" / "01-add.ipynb")
    _course_change(project)
    done = smtpkit(project, "--force")
    assert done.returncode == 0, done
    backups = list((project / "notebooks" / BACKUPS).iterdir())
    assert len(backups) == 1 and [p.name for p in backups[0].iterdir()] == ["01-add.ipynb"]
    assert (backups[0] / "01-add.ipynb").read_text() == mine
    assert f"notebooks/{BACKUPS}/{backups[0].name}" in done.stdout and "01-add.ipynb" in done.stdout
    assert "A new paragraph" in (project / "notebooks" / "01-add.ipynb").read_text()
    assert smtpkit(project, "--check").returncode == 0
    # a second forced release with a second change keeps the first backup, adds another
    _answer(project / "notebooks" / "01-add.ipynb", "    return b + a\n")
    _course_change(project)
    assert smtpkit(project, "--force").returncode == 0
    assert len(list((project / "notebooks" / BACKUPS).iterdir())) == 2
    assert (backups[0] / "01-add.ipynb").read_text() == mine


def test_a_release_replaces_its_own_unchanged_copies(project: Path) -> None:
    _course_change(project)
    before = (project / "notebooks" / MANIFEST).read_text()
    done = release(project / "solutions", project / "notebooks")
    assert done.written == ["01-add.ipynb", "02-other.ipynb"] and done.backup is None
    assert (project / "notebooks" / MANIFEST).read_text() != before
    assert drift(project / "solutions", project / "notebooks") == []


def test_a_new_student_notebook_is_never_touched(project: Path) -> None:
    nbformat.write(new_notebook(cells=[new_code_cell("my scratch")]), project / "notebooks" / "scratch.ipynb")
    before = (project / "notebooks" / "scratch.ipynb").read_bytes()
    _course_change(project)
    release(project / "solutions", project / "notebooks", force=True)
    assert (project / "notebooks" / "scratch.ipynb").read_bytes() == before


# --------------------------------------------------------------------------- #
# what counts as work
# --------------------------------------------------------------------------- #
def test_opening_and_saving_in_jupyterlab_is_not_work(project: Path) -> None:
    path = project / "notebooks" / "01-add.ipynb"
    _jupyterlab_open_and_save(path)
    entry = read_manifest(project / "notebooks")["01-add.ipynb"]
    assert is_release_copy(path.read_bytes(), entry)
    _course_change(project)
    done = release(project / "solutions", project / "notebooks")  # no --force needed: nothing is lost
    assert "01-add.ipynb" in done.written and done.backup is None


@pytest.mark.parametrize("change", ["answer", "run", "new cell", "deleted cell", "markdown", "attachment",
                                    "broken file", "not a notebook"])
def test_anything_a_person_did_is_work(project: Path, change: str) -> None:
    path = project / "notebooks" / "01-add.ipynb"
    nb = json.loads(path.read_text())
    if change == "answer":
        _answer(path)
    else:
        if change == "run":  # outputs and execution counts, the code as released
            nb["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["passed\n"]}]
            nb["cells"][2]["execution_count"] = 1
        elif change == "new cell":
            nb["cells"].append({"cell_type": "markdown", "id": "mine", "metadata": {}, "source": "my notes"})
        elif change == "deleted cell":
            del nb["cells"][0]
        elif change == "markdown":
            nb["cells"][0]["source"] = "# 01 · Adding\n\nmy notes"
        elif change == "attachment":
            nb["cells"][0]["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo="}}
        path.write_text(json.dumps(nb, indent=1))
        if change == "broken file":
            path.write_text(path.read_text()[:-40])
        if change == "not a notebook":
            path.write_text("[]\n")
    _course_change(project)
    with pytest.raises(EditedNotebooks) as refused:
        release(project / "solutions", project / "notebooks")
    assert refused.value.names == ["01-add.ipynb"]


def test_without_a_manifest_only_an_identical_notebook_is_replaced(project: Path) -> None:
    (project / "notebooks" / MANIFEST).unlink()
    _course_change(project)
    todo = plan(project / "notebooks", {"01-add.ipynb": "{}", "02-other.ipynb": "{}"})
    assert todo.edited == ["01-add.ipynb", "02-other.ipynb"]  # unknown origin: when in doubt, refuse
    with pytest.raises(EditedNotebooks):
        release(project / "solutions", project / "notebooks")


def test_content_key_ignores_only_what_jupyterlab_rewrites() -> None:
    nb = _solution()
    text = nbformat.writes(nb)
    same = json.loads(text)
    same["metadata"]["language_info"] = {"name": "python", "version": "3.12.1"}
    for cell in same["cells"]:
        cell["id"] = cell["id"] + "x"
        cell["metadata"]["trusted"] = True
    assert content_key(json.dumps(same)) == content_key(text)
    same["cells"][1]["outputs"] = [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                                    "data": {"text/plain": "5"}}]
    assert content_key(json.dumps(same)) != content_key(text)
    assert content_key("not json") is None and content_key("{}") is None


def test_check_reports_notebooks_the_manifest_does_not_record(project: Path) -> None:
    (project / "notebooks" / MANIFEST).unlink()
    assert drift(project / "solutions", project / "notebooks") == [
        ("01-add.ipynb", f"not recorded in {MANIFEST}"), ("02-other.ipynb", f"not recorded in {MANIFEST}")]
    release(project / "solutions", project / "notebooks")  # an identical notebook is recorded again
    assert drift(project / "solutions", project / "notebooks") == []


def test_the_repositorys_notebooks_are_recorded() -> None:
    manifest = read_manifest(ROOT / "notebooks")
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(manifest) == names
    assert all(is_release_copy((ROOT / "notebooks" / n).read_bytes(), manifest[n]) for n in names)


# --------------------------------------------------------------------------- #
# release --student and smtpkit lab --release
# --------------------------------------------------------------------------- #
def _student_project(project: Path) -> None:
    (project / "kit").mkdir()
    (project / "kit" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text('[project]\nname = "course"\nversion = "1"\ndependencies = []\n'
                                            '[project.optional-dependencies]\nlab = ["jupyterlab>=4"]\n')


def test_release_student_never_touches_the_projects_notebooks(project: Path, tmp_path_factory, in_process) -> None:
    _student_project(project)
    notebooks = project / "notebooks"
    mine = _answer(notebooks / "01-add.ipynb")
    _course_change(project)  # 02 is now out of date too: still not touched
    (notebooks / "03-mine.ipynb").write_text("{}")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in notebooks.iterdir()}
    dest = tmp_path_factory.mktemp("out") / "student"
    done = in_process(project, "--student", str(dest))
    assert done.returncode == 0, done
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in notebooks.iterdir()} == before
    assert (notebooks / "01-add.ipynb").read_text() == mine
    assert "A new paragraph" in (dest / "notebooks" / "01-add.ipynb").read_text()  # from the solutions
    assert not (dest / "notebooks" / "03-mine.ipynb").exists()
    assert drift(project / "solutions", dest / "notebooks") == []


def test_a_student_release_keeps_the_work_done_in_it(project: Path, tmp_path_factory, in_process) -> None:
    _student_project(project)
    dest = tmp_path_factory.mktemp("out") / "student"
    assert in_process(project, "--student", str(dest)).returncode == 0
    mine = _answer(dest / "notebooks" / "01-add.ipynb")
    (dest / "notebooks" / "scratch.ipynb").write_text("{}")
    _course_change(project)
    refused = in_process(project, "--student", str(dest))
    assert refused.returncode == 2 and "01-add.ipynb" in refused.stderr
    assert (dest / "notebooks" / "01-add.ipynb").read_text() == mine
    forced = in_process(project, "--student", str(dest), "--force")
    assert forced.returncode == 0, forced
    assert "move it out before you hand the folder out" in forced.stdout
    [backup] = (dest / "notebooks" / BACKUPS).iterdir()
    assert (backup / "01-add.ipynb").read_text() == mine
    assert (dest / "notebooks" / "scratch.ipynb").read_text() == "{}"


def test_lab_release_refuses_edited_notebooks(project: Path) -> None:
    mine = _answer(project / "notebooks" / "01-add.ipynb")
    _course_change(project)
    with pytest.raises(lab.LabError) as refused:
        lab.prepare_notebooks(lab.find_course(project / "notebooks"), release_all=True)
    assert refused.value.exit_code == 2 and "01-add.ipynb" in str(refused.value)
    assert "smtpkit release --force" in str(refused.value)
    assert (project / "notebooks" / "01-add.ipynb").read_text() == mine
    # without --release: the missing notebook is written and recorded, the changed one kept
    (project / "notebooks" / "02-other.ipynb").unlink()
    course = lab.prepare_notebooks(lab.find_course(project / "notebooks"))
    assert course.written == ["02-other.ipynb"] and course.differ == ["01-add.ipynb"]
    assert "02-other.ipynb" in read_manifest(project / "notebooks")


def test_release_check_and_force_do_not_mix(project: Path) -> None:
    done = smtpkit(project, "--check", "--force")
    assert done.returncode == 2 and "--force" in done.stderr


def test_real_solutions_release_and_refuse(tmp_path: Path) -> None:
    """The course's own notebooks: a saved answer in 02 survives a release of a newer course."""
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / MANIFEST, tmp_path / "notebooks")
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(path, tmp_path / "notebooks")
    target = tmp_path / "notebooks" / "02_the_smtp_dialogue.ipynb"
    nb = nbformat.read(target, as_version=4)
    stubs = [c for c in nb.cells if c.cell_type == "code" and "NotImplementedError" in c.source]
    assert stubs, "02 has exercise stubs"
    stubs[0].source += "\n# my answer\n"
    nbformat.write(nb, target)
    mine = target.read_bytes()
    nb = nbformat.read(tmp_path / "solutions" / "00_start_here.ipynb", as_version=4)
    nb.cells[0].source += "\n\nA course change."
    nbformat.write(nb, tmp_path / "solutions" / "00_start_here.ipynb")
    done = smtpkit(tmp_path, "--solutions", "solutions", "--notebooks", "notebooks")
    assert done.returncode == 2 and "02_the_smtp_dialogue.ipynb" in done.stderr, done
    assert target.read_bytes() == mine
