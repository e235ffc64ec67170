"""The seminar deck, assembled from one source: ``solutions/deck/seminar.ipynb``.

The source is a notebook of slides. Its own cells carry the talk's words (section titles with
their minutes, speaker notes); every other cell is a *reference* to a cell of the course,
``{"kit": {"from": "02_the_smtp_dialogue.ipynb#connect"}}``, and is filled in here with that
cell's current source. So a slide shows what the course says today: an edit of the course
reaches the deck at the next ``smtpkit present``, and a cell id that vanished is an error that
names the slide (`DeckError`), never a silently stale copy.

- ``{"kit": {"minutes": 8}}`` on a section's first cell gives its share of the 90 minutes; the
  cell ``{"kit": {"agenda": true}}`` becomes the agenda (sections, minutes, clock), and each
  section slide gets a timing line.
- RISE reads ``metadata.slideshow.slide_type`` (slide, subslide, fragment, notes, skip) and the
  notebook's ``rise`` settings (`style.rise_settings`); ``seminar.css`` next to the deck makes
  it legible from the back row (`style.DECK_CSS`).
- ``lang="de"``: referenced cells come from the German edition of the course (its catalogs in
  ``solutions/locale/de/``), the deck's own cells from ``solutions/deck/locale/de/seminar.po``;
  an untranslated cell stays English and is counted in `Deck.untranslated`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..notebook_file import DEFAULT_LANG, dumps
from .style import DECK_CSS, rise_settings

__all__ = ["DeckError", "Deck", "Section", "DECK_NAME", "deck_source", "deck_catalog", "references",
           "assemble", "write_deck", "update_catalog"]

DECK_NAME = "seminar.ipynb"
_REF = re.compile(r"^(?P<notebook>[0-9A-Za-z_.-]+\.ipynb)#(?P<cell>[A-Za-z0-9_-]{1,64})$")


class DeckError(Exception):
    """The deck cannot be assembled: a reference that names no cell, or a broken source."""


@dataclass(frozen=True)
class Section:
    """One part of the talk: its title (the first heading of its first cell) and minutes."""

    title: str
    minutes: int
    start: int  # minutes since the talk began


@dataclass
class Deck:
    """An assembled deck: the notebook to present, its sections and what is not translated."""

    notebook: Any
    lang: str
    sections: list[Section] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return sum(s.minutes for s in self.sections)


def deck_source(solutions: Path) -> Path:
    return Path(solutions) / "deck" / DECK_NAME


def deck_catalog(solutions: Path, lang: str) -> Path:
    return Path(solutions) / "deck" / "locale" / lang / (Path(DECK_NAME).stem + ".po")


def _kit(cell: Any) -> dict:
    kit = (cell.get("metadata") or {}).get("kit")
    return kit if isinstance(kit, dict) else {}


def _reference(cell: Any, index: int) -> tuple[str, str] | None:
    """(notebook file name, cell id) a deck cell takes, or None for the deck's own cells."""
    ref = _kit(cell).get("from")
    if ref is None:
        return None
    match = _REF.match(str(ref))
    if not match:
        raise DeckError(f"deck cell {index}: 'from' must read NOTEBOOK.ipynb#CELL-ID, not {ref!r}")
    return match["notebook"], match["cell"]


def references(source: Any) -> list[tuple[int, str, str]]:
    """(cell index, notebook file name, cell id) of every reference in the deck source."""
    found = ((index, _reference(cell, index)) for index, cell in enumerate(source.cells))
    return [(index, *ref) for index, ref in found if ref is not None]


def _course(solutions: Path, lang: str) -> tuple[dict[str, Any], int]:
    """The course notebooks in ``lang`` (instructor copies, in memory) and how many of their cells
    are not translated."""
    from ..authoring import AuthoringError
    from ..authoring.plan import ReleasePlan

    try:
        plan = ReleasePlan(solutions)
        edition = plan.edition(lang)
    except AuthoringError as exc:
        raise DeckError(str(exc)) from None
    return edition.instructor, edition.problems


def _title(source: str) -> str:
    for line in source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return source.strip().splitlines()[0] if source.strip() else "?"


def _strip_env(source: str) -> str:
    from ..authoring.plan import ENV_MAGIC

    lines = source.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith(ENV_MAGIC))


def assemble(solutions: Path, lang: str = DEFAULT_LANG, *, source_path: Path | None = None) -> Deck:
    """The deck notebook in ``lang`` from the deck source and the course in ``solutions``."""
    from ..authoring import catalogs
    from ..authoring.plan import env_line
    from ..notebook_file import read

    solutions = Path(solutions)
    path = Path(source_path) if source_path else deck_source(solutions)
    if not path.is_file():
        raise DeckError(f"no deck source at {path}")
    source = read(path)
    course, problems = _course(solutions, lang)
    own = catalogs.load(deck_catalog(solutions, lang)) if lang != DEFAULT_LANG else None
    problem_cells = {(p.notebook, p.cell) for p in problems}
    untranslated: list[str] = []
    by_id = {name: {c.get("id"): c for c in nb.cells} for name, nb in course.items()}

    cells = []
    for index, cell in enumerate(source.cells):
        new = copy.deepcopy(cell)
        kit = _kit(cell)
        ref = _reference(cell, index)
        if ref is not None:
            name, cell_id = ref
            if name not in by_id:
                raise DeckError(f"deck cell {index} ({cell.get('id')}): takes {name}#{cell_id}, "
                                f"but the course has no notebook {name}")
            if cell_id not in by_id[name]:
                raise DeckError(f"deck cell {index} ({cell.get('id')}): takes {name}#{cell_id}, "
                                f"but {name} has no cell with id {cell_id!r} (renamed or deleted?)")
            taken = by_id[name][cell_id]
            new.cell_type = taken.cell_type
            new.source = _strip_env(taken.source) if taken.cell_type == "code" else taken.source
            if (name, cell_id) in problem_cells:
                untranslated.append(f"{name}#{cell_id}")
            tags = (taken.get("metadata") or {}).get("tags")
            if tags:
                new.metadata["tags"] = list(tags)
        elif own is not None and cell.cell_type in ("markdown", "code") and cell.get("id") and not kit.get("agenda"):
            text = own.translated(cell)
            if text is not None:
                new.source = text
            elif cell.cell_type == "markdown" or cell.id in own.entries:  # a code cell needs no entry
                untranslated.append(f"{DECK_NAME}#{cell.id}")
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        else:
            new.pop("outputs", None)
            new.pop("execution_count", None)
        new.metadata.pop("execution", None)
        cells.append(new)

    sections, clock = [], 0
    for cell in cells:
        minutes = _kit(cell).get("minutes")
        if minutes is not None:
            if not isinstance(minutes, int) or minutes <= 0:
                raise DeckError(f"deck cell {cell.get('id')}: minutes must be a positive whole number")
            sections.append(Section(_title(cell.source), minutes, clock))
            cell.source = cell.source.rstrip() + "\n\n" + _timing_line(minutes, clock, lang)
            clock += minutes
    for cell in cells:
        if _kit(cell).get("agenda"):
            cell.source = _agenda(sections, lang)

    if lang != DEFAULT_LANG:  # the kit speaks the deck's language in the kernel
        first_code = next((c for c in cells if c.cell_type == "code"), None)
        if first_code is not None:
            first_code.source = env_line(lang) + first_code.source

    notebook = copy.deepcopy(source)
    notebook.cells = cells
    notebook.metadata["rise"] = rise_settings()
    kit_meta = dict(notebook.metadata.get("kit") or {})
    kit_meta.update({"deck": True, "lang": lang} if lang != DEFAULT_LANG else {"deck": True})
    notebook.metadata["kit"] = kit_meta
    return Deck(notebook, lang, sections, untranslated)


_WORDS = {
    "en": {"minutes": "min", "from": "from", "section": "Section", "time": "Minutes", "clock": "Clock",
           "agenda": "# Agenda", "total": "Total"},
    "de": {"minutes": "Min.", "from": "ab", "section": "Abschnitt", "time": "Minuten", "clock": "Uhr",
           "agenda": "# Ablauf", "total": "Gesamt"},
}


def _words(lang: str) -> dict[str, str]:
    return _WORDS.get(lang, _WORDS[DEFAULT_LANG])


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _timing_line(minutes: int, start: int, lang: str) -> str:
    w = _words(lang)
    return (f'<p class="kit-deck-timing">{minutes} {w["minutes"]} · '
            f'{w["from"]} {_clock(start)}</p>')


def _agenda(sections: list[Section], lang: str) -> str:
    w = _words(lang)
    rows = "\n".join(f"| {i} | {s.title} | {s.minutes} | {_clock(s.start)} |" for i, s in enumerate(sections, 1))
    total = sum(s.minutes for s in sections)
    return (f"{w['agenda']}\n\n| | {w['section']} | {w['time']} | {w['clock']} |\n|---|---|---|---|\n{rows}\n"
            f"| | **{w['total']}** | **{total}** | {_clock(total)} |")


def write_deck(deck: Deck, folder: Path) -> Path:
    """Write the deck notebook and its style sheet (``seminar.css``, which jupyterlab-rise loads
    for ``seminar.ipynb``) into ``folder``; return the notebook's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DECK_NAME
    path.write_text(dumps(deck.notebook), encoding="utf-8")
    (folder / (Path(DECK_NAME).stem + ".css")).write_text(DECK_CSS, encoding="utf-8")
    (folder / "rise.css").write_text("/* RISE asks for it too; the deck's style is seminar.css */\n", encoding="utf-8")
    _trust(path)
    return path


def _trust(path: Path) -> None:
    """Sign the deck as trusted (Jupyter's signature store), as `smtpkit lab` does for the course:
    the kit wrote it, so its HTML and widget outputs may render."""
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    Path(notary.data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    notebook = nbformat.read(str(path), as_version=4)
    if not notary.check_signature(notebook):
        notary.sign(notebook)


def update_catalog(solutions: Path, lang: str) -> Path:
    """Bring the deck's own catalog (``solutions/deck/locale/<lang>/seminar.po``) up to date with
    its own cells, as ``smtpkit release --update-catalogs`` does for the course (the same
    `kit.authoring.catalogs.update`: every markdown cell, code cells whose comments a translator
    chose to translate); references and the generated agenda are not the deck's text."""
    from ..authoring import catalogs
    from ..notebook_file import read

    if not deck_source(solutions).is_file():
        raise DeckError(f"no deck source at {deck_source(solutions)}")
    source = read(deck_source(solutions))
    own = copy.deepcopy(source)
    own.cells = [c for i, c in enumerate(source.cells)
                 if _reference(c, i) is None and not _kit(c).get("agenda") and c.cell_type in ("markdown", "code")]
    path = deck_catalog(solutions, lang)
    catalogs.update(own, DECK_NAME, catalogs.load(path), lang)
    return path
