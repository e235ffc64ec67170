"""The German edition's machinery (issue 16): one release plan per language, catalogs keyed by
cell id, stale/missing/untranslated/fuzzy/obsolete entries named by ``release --check``,
``--update-catalogs`` as msgmerge does, German instructor notebooks compared by sources,
``smtpkit lab --lang de`` settings, and the grader reading a notebook's language.

Small projects in temporary folders with catalogs written here, so nothing depends on how far the
translators are. The real catalogs and notebooks are in ``test_german_parity.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat
import polib
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kit.authoring import catalogs
from kit.authoring.command import configure, run
from kit.authoring.plan import ReleasePlan
from kit.course import lab, nav
from kit.grading.notebook import read_submission

SOLVED = '''def add(a, b):
    """Return a + b."""
    # BEGIN SOLUTION
    # add the two numbers
    return a + b
    # END SOLUTION
'''
SETUP = 'from kit import check\n# the numbers we add\nNUMBERS = (2, 3)\nprint("ready")\n'


def _notebook(title: str = "# 01 · Adding", extra: str = "") -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(title, id="title"),
        new_markdown_cell("nav", id="kit-nav-top", metadata={"kit": {"nav": "top"}}),
        new_code_cell(SETUP, id="setup"),
        new_markdown_cell("## The exercise\n\nWrite `add`." + extra, id="task"),
        new_code_cell(SOLVED, id="add-cell", metadata={"kit": {"exercise": "demo.add"}}),
        new_markdown_cell("nav", id="kit-nav-bottom", metadata={"kit": {"nav": "bottom"}}),
    ]
    cells[2].outputs = [new_output("stream", name="stdout", text="ready\n")]
    cells[2].execution_count = 1
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    return nb


GERMAN = {"title": "# 01 · Addieren", "task": "## Die Aufgabe\n\nSchreibe `add`."}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(_notebook(), tmp_path / "solutions" / "01_add.ipynb")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _po(project: Path) -> Path:
    return project / "solutions" / "locale" / "de" / "01_add.po"


def _translate(project: Path, texts: dict[str, str], *, fuzzy_off: bool = True) -> None:
    po = polib.pofile(str(_po(project)), wrapwidth=0)
    for entry in po:
        if entry.msgctxt in texts:
            entry.msgstr = texts[entry.msgctxt]
            if fuzzy_off and "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    po.save(str(_po(project)))


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="smtpkit release")
    configure(parser)
    return run(parser.parse_args(list(argv)))


def _complete(project: Path) -> None:
    assert _run("--update-catalogs", "--lang", "de") == 0
    _translate(project, GERMAN)
    assert _run() == 0


# --------------------------------------------------------------------------- #
# catalogs
# --------------------------------------------------------------------------- #
def test_update_catalogs_adds_one_entry_per_markdown_cell_and_is_idempotent(project: Path, capsys) -> None:
    assert _run("--update-catalogs") == 2  # no catalog folder yet: English only, nothing to update
    assert "no language to update" in capsys.readouterr().err
    assert _run("--update-catalogs", "--lang", "de") == 0
    po = polib.pofile(str(_po(project)))
    assert [(e.msgctxt, e.msgid, e.msgstr) for e in po] == [
        ("title", "# 01 · Adding", ""), ("task", "## The exercise\n\nWrite `add`.", "")]  # no nav, no code
    before = _po(project).read_bytes()
    assert _run("--update-catalogs", "--lang", "de") == 0
    assert _po(project).read_bytes() == before
    assert "0 catalog(s) updated" in capsys.readouterr().out


def test_check_names_every_untranslated_cell_and_release_falls_back_to_english(project: Path, capsys) -> None:
    _run("--update-catalogs", "--lang", "de")
    assert _run() == 0  # writes English and German (German still English text)
    out = capsys.readouterr().out
    assert "de: 2 cell(s) are still in English" in out
    de = nbformat.read(project / "notebooks" / "de" / "01_add.ipynb", as_version=4)
    assert de.cells[0].source == "# 01 · Adding"
    assert _run("--check") == 1
    captured = capsys.readouterr()
    assert "de: 01_add.ipynb: cell title: untranslated" in captured.out
    assert "de: 01_add.ipynb: cell task: untranslated" in captured.out
    assert "the translation is not complete (2 untranslated)" in captured.err
    assert "expected while the translation is under way" in captured.err
    assert _run("--check", "--lang", "en") == 0  # English alone is in sync


def test_a_complete_translation_releases_german_notebooks_that_pass_the_check(project: Path) -> None:
    _complete(project)
    assert _run("--check") == 0
    student = nbformat.read(project / "notebooks" / "de" / "01_add.ipynb", as_version=4)
    english = nbformat.read(project / "notebooks" / "01_add.ipynb", as_version=4)
    assert [c.id for c in student.cells] == [c.id for c in english.cells]
    assert student.metadata["kit"] == {"lang": "de"} and "kit" not in english.metadata
    assert student.cells[0].source == "# 01 · Addieren"
    setup = student.cells[2].source
    assert setup == "%env SMTPKIT_LANG=de\n" + SETUP  # the only code difference
    assert student.cells[4].source == english.cells[4].source  # the stub, unchanged
    assert student.cells[4].metadata["kit"] == {"exercise": "demo.add"}
    # navigation generated in German, linking the German headings
    assert "**In diesem Notebook**" in student.cells[1].source
    assert "[Die Aufgabe](#Die-Aufgabe)" in student.cells[1].source
    assert "Dies ist das einzige Notebook des Kurses." in student.cells[5].source
    assert nav.stale(project / "notebooks" / "de") == []  # `smtpkit nav` agrees: the same German navigation
    # the instructor notebook: the solution kept, no outputs yet (to be executed)
    instructor = nbformat.read(project / "solutions" / "de" / "01_add.ipynb", as_version=4)
    assert "return a + b" in instructor.cells[4].source
    assert instructor.cells[2].outputs == [] and instructor.cells[2].execution_count is None
    assert instructor.metadata["kit"]["lang"] == "de"


def test_stale_translation_is_named_then_marked_fuzzy_with_the_previous_msgid(project: Path, capsys) -> None:
    _complete(project)
    nbformat.write(_notebook(extra=" Mind negative numbers."), project / "solutions" / "01_add.ipynb")
    capsys.readouterr()
    assert _run("--check", "--lang", "de") == 1
    out = capsys.readouterr().out
    assert "de: 01_add.ipynb: cell task: stale (the English cell changed since it was translated" in out
    plan = ReleasePlan(project / "solutions")
    task = next(c for c in plan.edition("de").instructor["01_add.ipynb"].cells if c.id == "task")
    assert task.source.endswith("Mind negative numbers.")  # a stale translation is not used
    assert _run("--update-catalogs", "--lang", "de") == 0
    entry = next(e for e in polib.pofile(str(_po(project))) if e.msgctxt == "task")
    assert "fuzzy" in entry.flags and entry.previous_msgid == "## The exercise\n\nWrite `add`."
    assert entry.msgid.endswith("Mind negative numbers.") and entry.msgstr == GERMAN["task"]
    assert _run("--check", "--lang", "de") == 1
    assert "cell task: fuzzy" in capsys.readouterr().out
    _translate(project, {"task": "## Die Aufgabe\n\nSchreibe `add`. Denk an negative Zahlen."})
    assert _run("--lang", "de") == 0
    assert _run("--check", "--lang", "de") == 0


def test_missing_and_obsolete_entries(project: Path, capsys) -> None:
    _complete(project)
    nb = _notebook()
    nb.cells.insert(4, new_markdown_cell("A new hint.", id="hint"))
    del nb.cells[0]  # the title cell is gone
    nbformat.write(nb, project / "solutions" / "01_add.ipynb")
    capsys.readouterr()
    assert _run("--check", "--lang", "de") == 1
    out = capsys.readouterr().out
    assert "cell hint: missing" in out
    assert "cell title: obsolete (no cell has this id any more; delete the entry)" in out
    _run("--update-catalogs", "--lang", "de")
    text = _po(project).read_text()
    assert '#~ msgctxt "title"' in text  # kept as obsolete, as msgmerge does
    assert 'msgctxt "hint"' in text
    capsys.readouterr()
    assert _run("--check", "--lang", "de") == 1
    out = capsys.readouterr().out
    assert "cell title: obsolete" in out and "cell hint: untranslated" in out


def test_a_navigation_entry_is_obsolete_and_removed_by_update(project: Path) -> None:
    _complete(project)
    po = polib.pofile(str(_po(project)), wrapwidth=0)
    po.append(polib.POEntry(msgctxt="kit-nav-top", msgid="nav", msgstr="Navigation"))
    po.save(str(_po(project)))
    problems = ReleasePlan(project / "solutions").edition("de").problems
    assert [(p.cell, p.kind) for p in problems] == [("kit-nav-top", "obsolete")]
    assert "generated in each language" in problems[0].detail
    _run("--update-catalogs", "--lang", "de")
    assert "kit-nav-top" not in _po(project).read_text()


def test_translated_code_may_change_comments_and_strings_only(project: Path, capsys) -> None:
    _complete(project)
    po = polib.pofile(str(_po(project)), wrapwidth=0)
    good = SETUP.replace("# the numbers we add", "# die Zahlen, die wir addieren").replace('"ready"', '"bereit"')
    po.append(polib.POEntry(msgctxt="setup", msgid=SETUP, msgstr=good))
    po.save(str(_po(project)))
    assert _run("--lang", "de") == 0 and _run("--check", "--lang", "de") == 0
    student = nbformat.read(project / "notebooks" / "de" / "01_add.ipynb", as_version=4)
    assert student.cells[2].source == "%env SMTPKIT_LANG=de\n" + good
    po = polib.pofile(str(_po(project)), wrapwidth=0)
    next(e for e in po if e.msgctxt == "setup").msgstr = good.replace("(2, 3)", "(2, 4)")
    po.save(str(_po(project)))
    capsys.readouterr()
    assert _run("--check", "--lang", "de") == 1
    assert "cell setup: code differs" in capsys.readouterr().out
    code = ReleasePlan(project / "solutions").edition("de").instructor["01_add.ipynb"].cells[2].source
    assert "(2, 3)" in code  # a translation that changes code is not used


def test_same_code() -> None:
    assert catalogs.same_code('x = f("a")  # one\n', 'x = f("b")  # eins\n')
    assert catalogs.same_code('print("a" "b")\n', 'print("ab")\n')
    assert catalogs.same_code('%matplotlib inline\nx = 1\n', '%matplotlib inline\nx = 1  # eins\n')
    assert not catalogs.same_code("x = 1\n", "x = 2\n")
    assert not catalogs.same_code("x = f(a)\n", "x = g(a)\n")


def test_executed_instructor_notebooks_are_compared_by_sources_not_outputs(project: Path, capsys) -> None:
    _complete(project)
    path = project / "solutions" / "de" / "01_add.ipynb"
    executed = nbformat.read(path, as_version=4)
    executed.cells[2].outputs = [new_output("stream", name="stdout", text="bereit\n")]
    executed.cells[2].execution_count = 1
    nbformat.write(executed, path)
    data = path.read_bytes()
    assert _run("--check", "--lang", "de") == 0
    assert _run("--lang", "de") == 0
    assert path.read_bytes() == data  # its outputs kept: the sources did not change
    executed.cells[3].source = "## Eigenmächtig geändert"
    nbformat.write(executed, path)
    capsys.readouterr()
    assert _run("--check", "--lang", "de") == 1
    assert f"de: out of date: {Path('solutions/de/01_add.ipynb')}" in capsys.readouterr().out
    assert _run("--lang", "de") == 0
    assert nbformat.read(path, as_version=4).cells[3].source == "## Die Aufgabe\n\nSchreibe `add`."


def test_the_plan_renders_each_language_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kit.authoring import plan as plan_module

    calls = []
    real = plan_module.student_notebook
    monkeypatch.setattr(plan_module, "student_notebook", lambda nb, name: calls.append(name) or real(nb, name))
    plan = ReleasePlan(project / "solutions")
    for _ in range(3):
        plan.edition("en")
        plan.edition("de")
    assert calls == ["01_add.ipynb", "01_add.ipynb"]


# --------------------------------------------------------------------------- #
# smtpkit lab --lang de
# --------------------------------------------------------------------------- #
def test_lab_prepares_the_german_notebooks_from_one_plan(project: Path) -> None:
    _run("--update-catalogs", "--lang", "de")
    _translate(project, GERMAN)
    course = lab.find_course(lang="de", cwd=project)
    assert course.notebooks == project / "notebooks" / "de" and course.solutions == project / "solutions"
    lab.prepare_notebooks(course)
    assert course.written == ["01_add.ipynb"] and course.untranslated == 0
    assert json.loads((project / "notebooks" / "de" / "01_add.ipynb").read_text())["metadata"]["kit"]["lang"] == "de"
    assert not (project / "notebooks" / "01_add.ipynb").exists()  # the English course is not touched
    with pytest.raises(lab.LabError, match="unknown language 'fr'"):
        lab.find_course(lang="fr", cwd=project)


def test_lab_settings_set_the_display_language_for_that_lab_only(tmp_path: Path) -> None:
    assert lab.TRANSLATION_PLUGIN not in lab.lab_settings("en")
    assert lab.lab_settings("de")[lab.TRANSLATION_PLUGIN] == {"locale": "de_DE"}
    with lab.quiet_config_path("de") as folder:
        written = json.loads((folder / "labconfig" / "default_setting_overrides.json").read_text())
        env = lab.lab_environment("t", folder, base={"JUPYTER_CONFIG_PATH": "/mine"}, lang="de")
    assert written[lab.TRANSLATION_PLUGIN] == {"locale": "de_DE"}
    assert env["JUPYTER_CONFIG_PATH"].split(":") == ["/mine", str(folder)]  # the user's settings first
    assert env["SMTPKIT_LANG"] == "de"
    assert not folder.exists()  # a temporary folder: nothing is left in the user's settings


def test_the_german_language_pack_is_installed() -> None:
    assert lab.language_pack_installed("de_DE"), "pip install -e '.[lab]' installs jupyterlab-language-pack-de-DE"
    assert not any("language pack" in w for w in lab.preflight("de"))


# --------------------------------------------------------------------------- #
# the grader sees the notebook's language
# --------------------------------------------------------------------------- #
def test_the_grader_reads_the_notebooks_language(project: Path, tmp_path: Path) -> None:
    _complete(project)
    german = read_submission(project / "notebooks" / "de" / "01_add.ipynb")
    english = read_submission(project / "notebooks" / "01_add.ipynb")
    assert german.lang == "de" and english.lang is None
    assert german.exercise_ids == english.exercise_ids == ["demo.add"]
    forged = json.loads((project / "notebooks" / "de" / "01_add.ipynb").read_text())
    forged["metadata"]["kit"]["lang"] = "<script>"
    (tmp_path / "forged.ipynb").write_text(json.dumps(forged))
    assert read_submission(tmp_path / "forged.ipynb").lang is None


def test_nav_labels_cover_every_language() -> None:
    from kit.notebook_file import LANGUAGES

    assert set(nav.LABELS) == set(LANGUAGES)
    assert all(set(words) == set(nav.LABELS["en"]) for words in nav.LABELS.values())


def test_the_student_readme_speaks_of_the_german_course_only_when_it_is_in_the_release() -> None:
    from kit.authoring.student import student_readme

    notebooks = {"01_add.ipynb": json.dumps({"cells": [{"cell_type": "markdown", "source": "# Adding"}]})}
    assert "smtpkit lab --lang de" in student_readme(notebooks, ">=3.10", ("de",))
    assert "--lang" not in student_readme(notebooks, ">=3.10")


def test_lab_reads_and_renders_the_course_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`smtpkit lab --release` used to render every solution two or three times (release, drift,
    missing ones) and once more to trust them; now one plan serves all of it."""
    from nbformat.sign import NotebookNotary

    from kit.authoring import plan as plan_module

    _run("--update-catalogs", "--lang", "de")
    reads = []
    real = plan_module.read_notebook
    monkeypatch.setattr(plan_module, "read_notebook", lambda path: reads.append(path.name) or real(path))
    course = lab.prepare_notebooks(lab.find_course(lang="de", cwd=project), release_all=True)
    assert course.written == ["01_add.ipynb"] and course.untranslated == 2
    notary = NotebookNotary(data_dir=str(project / "jupyter-data"))
    assert lab.trust_course(course, notary) == ["01_add.ipynb"]
    assert reads == ["01_add.ipynb"]


def test_a_translation_cannot_move_solution_code_out_of_its_block() -> None:
    german = SOLVED.replace("# add the two numbers", "# addiere die beiden Zahlen")
    assert catalogs.same_code(SOLVED, german)  # the TODO text translated: fine
    leaked = SOLVED.replace("    # BEGIN SOLUTION\n    # add the two numbers\n    return a + b\n",
                            "    return a + b  # die Lösung\n    # BEGIN SOLUTION\n    # addiere\n    return a + b\n")
    assert not catalogs.same_code(SOLVED, leaked)  # students would get `return a + b`
    assert not catalogs.same_code(SOLVED, SOLVED.replace("    # END SOLUTION\n", ""))
    moved = SOLVED.replace("    # END SOLUTION\n", "").replace("    return a + b\n",
                                                              "    # END SOLUTION\n    return a + b\n")
    assert not catalogs.same_code(SOLVED, moved)


def test_lab_says_when_the_german_course_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_add.ipynb").write_text(nbformat.writes(_notebook()))
    course = lab.find_course(lang="de", cwd=tmp_path)
    assert course.solutions is None
    with pytest.raises(lab.LabError, match="the de course is not here"):
        lab.prepare_notebooks(course)


def test_work_in_the_german_folder_stops_the_release_before_anything_is_written(project: Path, capsys) -> None:
    _complete(project)
    work = project / "notebooks" / "de" / "01_add.ipynb"
    nb = nbformat.read(work, as_version=4)
    nb.cells[4].source = SOLVED.replace("# BEGIN SOLUTION\n", "")  # a student's answer
    nbformat.write(nb, work)
    nbformat.write(_notebook(extra=" New."), project / "solutions" / "01_add.ipynb")
    english = (project / "notebooks" / "01_add.ipynb").read_bytes()
    assert _run() == 2
    assert "changed since the last release" in capsys.readouterr().err and "notebooks/de" in str(work)
    assert (project / "notebooks" / "01_add.ipynb").read_bytes() == english  # English not written either
    assert _run("--force") == 0
    assert list((project / "notebooks" / "de" / ".backup").glob("*/01_add.ipynb"))
