"""The German course against the English one, on the repository's real catalogs and notebooks.

Parity (always run): the German edition the release plans, and every German notebook committed in
``notebooks/de`` and ``solutions/de``, has the English notebook's cells (types and ids), its
exercises (same ids, same cells) and its code: a code cell differs at most by the
``%env SMTPKIT_LANG=de`` line and by translated comments and strings.

Completeness (``test_the_german_catalogs_are_complete``): no missing, untranslated, fuzzy, stale or
obsolete entry, so an English edit that is not yet translated fails the suite (``smtpkit release
--update-catalogs`` marks what to translate). It is never skipped.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from kit.authoring import catalogs
from kit.authoring.plan import ENV_MAGIC, ReleasePlan, env_line

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"


@pytest.fixture(scope="module")
def plan() -> ReleasePlan:
    return ReleasePlan(SOLUTIONS)


def _parity(english: nbformat.NotebookNode, german: nbformat.NotebookNode, name: str) -> None:
    def shape(nb: nbformat.NotebookNode) -> list:
        return [(c.cell_type, c.get("id")) for c in nb.cells]

    assert shape(german) == shape(english), name
    assert [(c.get("metadata") or {}).get("kit") for c in german.cells] == \
        [(c.get("metadata") or {}).get("kit") for c in english.cells], f"{name}: exercise and nav metadata"
    assert (german.metadata.get("kit") or {}).get("lang") == "de", f"{name}: notebook metadata kit.lang"
    env_seen = False
    for en, de in zip(english.cells, german.cells, strict=True):
        if en.cell_type != "code":
            continue
        source = de.source
        if not env_seen:
            assert source.startswith(env_line("de")), f"{name}: the first code cell sets SMTPKIT_LANG"
            source, env_seen = source[len(env_line("de")):], True
        assert ENV_MAGIC not in source, f"{name}: cell {de.id}"
        assert catalogs.same_code(en.source, source), f"{name}: cell {de.id}: code differs from English"
    assert env_seen, f"{name}: no code cell"


def test_the_planned_german_edition_has_the_english_cells_exercises_and_code(plan: ReleasePlan) -> None:
    english, german = plan.edition("en"), plan.edition("de")
    assert sorted(german.instructor) == sorted(english.instructor)
    for name, source in english.instructor.items():
        _parity(source, german.instructor[name], name)
    for name, text in english.student.items():
        _parity(nbformat.reads(text, as_version=4), nbformat.reads(german.student[name], as_version=4), name)


GERMAN_FILES = sorted((ROOT / "notebooks" / "de").glob("*.ipynb")) + sorted((SOLUTIONS / "de").glob("*.ipynb"))


@pytest.mark.parametrize("path", GERMAN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_german_notebooks_match_the_english_ones(path: Path) -> None:
    english_path = ROOT / path.parent.parent.name / path.name
    english = nbformat.read(english_path, as_version=4)
    if english_path.parent.name == "notebooks":
        english = nbformat.reads(ReleasePlan(SOLUTIONS).edition("en").student[path.name], as_version=4)
    _parity(english, nbformat.read(path, as_version=4), str(path.relative_to(ROOT)))


def test_the_german_catalogs_are_complete(plan: ReleasePlan) -> None:
    """Every English cell has a current German translation (`smtpkit release --check --lang de`)."""
    problems = plan.edition("de").problems
    assert problems == [], f"{len(problems)} problem(s), e.g.:\n" + "\n".join(map(str, problems[:20]))
