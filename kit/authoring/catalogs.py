"""Translation catalogs: the German (or any other) text of the course notebooks, one PO file each.

``solutions/locale/<lang>/<notebook stem>.po`` holds one entry per cell whose text changes:
``msgctxt`` is the cell's id, ``msgid`` the English cell source, ``msgstr`` the translation. Every
markdown cell has one (``update`` adds them); a code cell has one only where a translator chose to
translate its comments or shown strings (its code must stay the same: `same_code`). The
navigation cells (``{"kit": {"nav": ...}}``) are not translated: the release generates them in the
language, from the translated headings.

An entry is usable only when it is translated, not fuzzy, not obsolete and *current*: its
``msgid`` equals the English cell's source today. When the English changes, ``update`` (``smtpkit
release --update-catalogs``) does what ``msgmerge`` does: the new source becomes the ``msgid``,
the old one is kept as ``#| msgid`` (previous) and the entry is marked fuzzy, so the translator
sees what changed; entries of cells that are gone become obsolete (``#~``). A cell without a
usable entry is released in English (as gettext falls back to the msgid), and `problems` names it,
so ``release --check`` fails until the catalog is complete.

Catalogs are read and written with polib, with ``wrapwidth=0`` (lines are never re-wrapped), so
an update of an unchanged catalog rewrites nothing.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AuthoringError
from .markers import BEGIN, END, strip_solutions

__all__ = ["CatalogProblem", "Catalog", "catalog_path", "load", "translatable_cells", "problems", "update",
           "same_code", "is_generated"]

LOCALE = "locale"
_WRAP = 0  # never re-wrap: a saved catalog is byte-identical to the one read


def catalog_path(solutions_dir: Path, lang: str, notebook: str) -> Path:
    """``solutions/locale/<lang>/<notebook stem>.po``."""
    return Path(solutions_dir) / LOCALE / lang / (Path(notebook).stem + ".po")


def is_generated(cell: Any) -> bool:
    """A navigation cell: generated in each language, never translated."""
    kit = (cell.get("metadata") or {}).get("kit")
    return isinstance(kit, dict) and bool(kit.get("nav"))


def _generated_ids(notebook: Any) -> set[str]:
    from ..course.nav import CELL_IDS

    return {c.get("id") for c in notebook.cells if is_generated(c)} | set(CELL_IDS.values())


def _match(notebook: Any, catalog: Catalog) -> tuple[list[tuple[int, Any, Any]], list[tuple[str, Any, bool]]]:
    """Per translatable cell (index, cell, its entry or None); and the entries of no such cell
    as (cell id, entry, whether the id is a generated cell's)."""
    cells = translatable_cells(notebook)
    ids = {c.id for _, c in cells}
    generated = _generated_ids(notebook)
    matched = [(index, cell, catalog.entries.get(cell.id)) for index, cell in cells]
    return matched, [(cid, e, cid in generated) for cid, e in catalog.entries.items() if cid not in ids]


def translatable_cells(notebook: Any) -> list[tuple[int, Any]]:
    """(index, cell) of every cell a catalog may translate: markdown and code cells with an id,
    not generated."""
    return [(i, c) for i, c in enumerate(notebook.cells)
            if c.cell_type in ("markdown", "code") and c.get("id") and not is_generated(c)]


@dataclass(frozen=True)
class CatalogProblem:
    """Why one cell of one notebook cannot be released translated (or why a catalog entry is wrong)."""

    notebook: str  # the notebook's file name
    cell: str  # the cell id (the entry's msgctxt)
    kind: str  # missing | untranslated | fuzzy | stale | obsolete | code differs | no catalog
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.notebook}: cell {self.cell}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


class Catalog:
    """One notebook's catalog, read once: usable translations by cell id, and its entries."""

    def __init__(self, path: Path, po: Any | None) -> None:
        self.path, self.po = Path(path), po
        self.entries = {} if po is None else {e.msgctxt: e for e in po if e.msgctxt}

    @property
    def exists(self) -> bool:
        return self.po is not None

    def translation(self, cell_id: str, source: str) -> str | None:
        """The translation of a cell whose English source is ``source``, if usable."""
        entry = self.entries.get(cell_id)
        if entry is None or entry.obsolete or "fuzzy" in entry.flags or not entry.msgstr:
            return None
        return entry.msgstr if entry.msgid == source else None

    def translated(self, cell: Any) -> str | None:
        """The source ``cell`` takes in this language, or None: a usable translation, and for a code
        cell one that changes only comments and strings (`same_code`)."""
        text = self.translation(cell.id, cell.source)
        if text is None or (cell.cell_type == "code" and not same_code(cell.source, text)):
            return None
        return text


def load(path: Path) -> Catalog:
    """Read a catalog (a missing file gives an empty `Catalog`); AuthoringError when unreadable."""
    import polib

    path = Path(path)
    if not path.is_file():
        return Catalog(path, None)
    try:
        return Catalog(path, polib.pofile(str(path), wrapwidth=_WRAP, encoding="utf-8"))
    except (OSError, ValueError) as exc:  # polib raises OSError/ValueError on syntax errors
        raise AuthoringError(f"{path}: not a readable PO catalog ({exc})") from None


def _code_tokens(source: str) -> list[tuple[int, str]] | None:
    """The cell's tokens without comments and with every string literal blanked; None when it
    does not tokenize (IPython magics are turned into comments first)."""
    lines = ["#" + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines(True)]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("".join(lines)).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    fstring = {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}
    out = []
    for tok in tokens:
        if tok.type in skip:
            continue
        if tok.type == tokenize.STRING or tok.type in fstring:
            out.append((tokenize.STRING, ""))
        else:
            out.append((tok.type, tok.string))
    return out


def same_code(english: str, translated: str) -> bool:
    """True when two code cells differ at most in comments and the text of string literals
    (what a translator may change); the code itself, names, numbers and operators, is the same.

    Solution markers are comments that matter: both cells must have the same ``# BEGIN
    SOLUTION`` / ``# END SOLUTION`` lines in the same order, and their student stubs the same code,
    so a translation can never move solution code out of a block (where students would get it)."""
    if _markers(english) != _markers(translated):
        return False
    if _markers(english):
        try:
            english, translated = strip_solutions(english), strip_solutions(translated)
        except AuthoringError:
            return False
    a, b = _code_tokens(english), _code_tokens(translated)
    if a is None or b is None:
        return english == translated
    return _squash(a) == _squash(b)


def _markers(source: str) -> list[tuple[str, str]]:
    """The solution marker lines of ``source``: (BEGIN or END, indentation), in order."""
    out = []
    for line in source.splitlines():
        if (begin := BEGIN.fullmatch(line)) is not None:
            out.append(("BEGIN", begin["indent"]))
        elif END.fullmatch(line):
            out.append(("END", line[: len(line) - len(line.lstrip())]))
    return out


def _squash(tokens: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Adjacent string literals as one (a translation may split or join implicit concatenations)."""
    out: list[tuple[int, str]] = []
    for tok in tokens:
        if tok[0] == tokenize.STRING and out and out[-1][0] == tokenize.STRING:
            continue
        out.append(tok)
    return out


def problems(notebook: Any, name: str, catalog: Catalog) -> list[CatalogProblem]:
    """Every reason the translated ``notebook`` (English source, file ``name``) is incomplete or
    wrong, in cell order, then the catalog's entries for cells that do not exist."""
    if not catalog.exists:
        return [CatalogProblem(name, "*", "no catalog", f"{catalog.path} not found: run `smtpkit release "
                               "--update-catalogs`")]
    out = []
    matched, left = _match(notebook, catalog)
    for _, cell, entry in matched:
        if entry is None:
            if cell.cell_type == "markdown":
                out.append(CatalogProblem(name, cell.id, "missing",
                                          "no entry: run `smtpkit release --update-catalogs`"))
            continue
        if entry.obsolete:
            if cell.cell_type == "markdown":
                out.append(CatalogProblem(name, cell.id, "obsolete", "the entry is marked obsolete (#~) but the "
                                          "cell exists: run `smtpkit release --update-catalogs`"))
            continue
        if entry.msgid != cell.source:
            out.append(CatalogProblem(name, cell.id, "stale", "the English cell changed since it was translated: "
                                      "run `smtpkit release --update-catalogs`, then revise the fuzzy entry"))
        elif "fuzzy" in entry.flags:
            out.append(CatalogProblem(name, cell.id, "fuzzy", "revise the translation and remove the fuzzy flag"))
        elif not entry.msgstr:
            out.append(CatalogProblem(name, cell.id, "untranslated"))
        elif cell.cell_type == "code" and not same_code(cell.source, entry.msgstr):
            out.append(CatalogProblem(name, cell.id, "code differs", "a translated code cell may change only "
                                      "comments and strings"))
    for cell_id, _, generated in left:
        why = "a navigation cell: generated in each language, not translated" if generated \
            else "no cell has this id any more"
        out.append(CatalogProblem(name, cell_id, "obsolete", why + "; delete the entry"))
    return out


def update(notebook: Any, name: str, catalog: Catalog, lang: str) -> bool:
    """Bring ``catalog`` up to date with the English ``notebook``, as msgmerge does: an entry for
    every markdown cell (new ones untranslated), a changed English source marked fuzzy with the
    old one kept as previous msgid, entries of vanished cells obsolete, entries of generated cells
    removed. Entries are kept in cell order. Returns True when the file was written (only if
    something changed)."""
    import polib

    po = catalog.po
    if po is None:
        po = polib.POFile(wrapwidth=_WRAP)
        po.metadata = {"Project-Id-Version": "smtpkit course", "Language": lang, "MIME-Version": "1.0",
                       "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "8bit"}
    before = str(po) if catalog.po is not None else None
    ordered = []
    matched, left = _match(notebook, catalog)
    for index, cell, entry in matched:
        if entry is None:
            if cell.cell_type != "markdown":
                continue
            entry = polib.POEntry(msgctxt=cell.id, msgid=cell.source, msgstr="")
        if entry.obsolete:
            entry.obsolete = False
        if entry.msgid != cell.source:
            if entry.msgstr:
                entry.previous_msgid = entry.msgid
                if "fuzzy" not in entry.flags:
                    entry.flags.append("fuzzy")
            entry.msgid = cell.source
        entry.comment = f"cell {index} ({cell.cell_type})"
        ordered.append(entry)
    gone = [entry for _, entry, generated in left if not generated]
    for entry in gone:
        entry.obsolete = True
    po[:] = ordered + gone
    text = str(po)
    if text == before:
        return False
    catalog.path.parent.mkdir(parents=True, exist_ok=True)
    catalog.path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    catalog.po, catalog.entries = po, {e.msgctxt: e for e in po if e.msgctxt}
    return True
