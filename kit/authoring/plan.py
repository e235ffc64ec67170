"""A release, planned once: every notebook of every language, as text, before anything is written.

``solutions/*.ipynb`` are read once (`ReleasePlan`); each language is an `Edition` computed on
first use and kept: the notebooks of the instructor and the student copies (file name -> the text
a release writes). ``smtpkit release`` writes them, ``release --check`` compares them with the
folders, ``smtpkit lab`` writes the missing ones and trusts the rest, the student release copies
them, all from one plan, so nothing is rendered twice.

English is the source: its instructor notebooks are ``solutions/`` themselves, its student copies
``notebooks/``. Another language (``de``) is the same notebooks with each cell's source replaced by
its catalog entry (`catalogs`; a cell without a usable one stays English, and `Edition.problems`
names it): the same cells, ids, exercises and code. Two more differences, both made here:

- the first code cell a student gets starts with ``%env SMTPKIT_LANG=de``, so the kit speaks the
  notebook's language in its kernel (feedback, hints, tables), and the notebook metadata says
  ``{"kit": {"lang": "de"}}``, which the grader reads to write feedback pages in that language;
- the navigation cells are generated in the language from the translated headings (`nav`).

Its student copies go to ``notebooks/<lang>/`` (a workspace like ``notebooks/``: `workspace`), its
instructor notebooks to ``solutions/<lang>/``. Those are executed (``make solutions-de``) to hold
outputs in the language, so the release writes one only when its *sources* changed (then without
outputs, to be executed again), and ``--check`` compares sources, never outputs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ..notebook_file import DEFAULT_LANG, LANGUAGES, NotebookFileError
from ..notebook_file import read as read_file
from . import catalogs
from .errors import AuthoringError
from .release import SOLUTION_ONLY, read_notebook, render, student_notebook

__all__ = ["ReleasePlan", "Edition", "ENV_MAGIC", "env_line", "student_folder", "instructor_folder",
           "source_key", "translate"]

ENV_MAGIC = "%env SMTPKIT_LANG="


def env_line(lang: str) -> str:
    """The line a translated notebook's first code cell starts with."""
    return f"{ENV_MAGIC}{lang}\n"


def student_folder(notebooks_root: Path, lang: str) -> Path:
    """``notebooks/`` for English, ``notebooks/<lang>/`` for a translation."""
    return Path(notebooks_root) if lang == DEFAULT_LANG else Path(notebooks_root) / lang


def instructor_folder(solutions_dir: Path, lang: str) -> Path:
    """``solutions/`` for English (the source), ``solutions/<lang>/`` for a translation."""
    return Path(solutions_dir) if lang == DEFAULT_LANG else Path(solutions_dir) / lang


def source_key(notebook: Any) -> list:
    """What an instructor notebook is made of, outputs left out: its language, and per cell the
    type, id, source, tags and kit metadata. Two notebooks with the same key differ only in what
    running them changes."""
    kit = (notebook.get("metadata") or {}).get("kit")
    return [kit, [(c.get("cell_type"), c.get("id"), c.get("source"), (c.get("metadata") or {}).get("tags"),
                   (c.get("metadata") or {}).get("kit")) for c in notebook.get("cells", [])]]


def translate(source: Any, name: str, catalog: catalogs.Catalog, lang: str) -> Any:
    """The instructor notebook of ``source`` (English) in ``lang``: cell sources from the catalog
    where it has a usable entry, ``%env SMTPKIT_LANG=<lang>`` first in the first code cell a
    student gets, ``kit.lang`` in the metadata, no outputs (they come from executing it)."""
    notebook = copy.deepcopy(source)
    env_done = False
    for cell in notebook.cells:
        if cell.cell_type in ("markdown", "code") and cell.get("id") and not catalogs.is_generated(cell):
            text = catalog.translated(cell)
            if text is not None:
                cell.source = text
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
            if not env_done and SOLUTION_ONLY not in cell.metadata.get("tags", []):
                if (cell.metadata.get("kit") or {}).get("exercise"):
                    raise AuthoringError(f"{name}: the first code cell is an exercise cell; the {lang} release "
                                         f"puts `{env_line(lang).strip()}` there: start the notebook with a setup cell")
                cell.source = env_line(lang) + cell.source
                env_done = True
    kit = dict(notebook.metadata.get("kit") or {})
    kit["lang"] = lang
    notebook.metadata["kit"] = kit
    return notebook


@dataclass
class Edition:
    """One language of the course, rendered."""

    lang: str
    #: Instructor notebooks (for English, the sources as read), by file name.
    instructor: dict[str, Any] = field(default_factory=dict)
    #: Student notebooks: file name -> the exact text a release writes.
    student: dict[str, str] = field(default_factory=dict)
    #: Why cells are not (correctly) translated; empty for English and for a complete translation.
    problems: list[catalogs.CatalogProblem] = field(default_factory=list)
    #: The catalogs read, by notebook file name (translations only).
    catalogs: dict[str, catalogs.Catalog] = field(default_factory=dict)

    def instructor_text(self, name: str) -> str:
        return render(self.instructor[name])


class ReleasePlan:
    """The instructor notebooks of ``solutions_dir``, read once, and their editions on demand."""

    def __init__(self, solutions_dir: Path) -> None:
        self.solutions = Path(solutions_dir)
        if not self.solutions.is_dir():
            raise AuthoringError(f"solutions folder not found: {self.solutions}")
        self.sources = {path.name: read_notebook(path) for path in sorted(self.solutions.glob("*.ipynb"))}
        self._editions: dict[str, Edition] = {}

    def languages(self) -> list[str]:
        """English, then every language with a catalog folder (``solutions/locale/<lang>/``)."""
        found = [p.name for p in sorted((self.solutions / catalogs.LOCALE).glob("*")) if p.is_dir()]
        return [DEFAULT_LANG] + [lang for lang in found if lang in LANGUAGES and lang != DEFAULT_LANG]

    def check_lang(self, lang: str) -> str:
        if lang not in LANGUAGES:
            raise AuthoringError(f"unknown language {lang!r} (the course has: {', '.join(LANGUAGES)})")
        return lang

    def edition(self, lang: str = DEFAULT_LANG) -> Edition:
        """The notebooks of ``lang`` (computed once)."""
        self.check_lang(lang)
        if lang not in self._editions:
            self._editions[lang] = self._english() if lang == DEFAULT_LANG else self._translated(lang)
        return self._editions[lang]

    def _english(self) -> Edition:
        student = {name: render(student_notebook(nb, name)) for name, nb in self.sources.items()}
        return Edition(DEFAULT_LANG, dict(self.sources), student)

    def _translated(self, lang: str) -> Edition:
        from ..course.nav import navigate_course

        edition = Edition(lang)
        translated = {}
        for name, source in self.sources.items():
            catalog = catalogs.load(catalogs.catalog_path(self.solutions, lang, name))
            edition.catalogs[name] = catalog
            edition.problems += catalogs.problems(source, name, catalog)
            translated[name] = translate(source, name, catalog, lang)
        with_nav = [name for name, nb in translated.items() if any(catalogs.is_generated(c) for c in nb.cells)]
        updated = navigate_course([(name, translated[name]) for name in with_nav])
        for name, notebook in zip(with_nav, updated, strict=True):
            for cell in notebook["cells"]:  # as nbformat reads a file: each source one string
                if isinstance(cell.get("source"), list):
                    cell["source"] = "".join(cell["source"])
            translated[name] = nbformat.from_dict(notebook)
        edition.instructor = translated
        edition.student = {name: render(student_notebook(nb, name)) for name, nb in translated.items()}
        return edition

    # ------------------------------------------------------------------ #
    # the instructor notebooks of a translation
    # ------------------------------------------------------------------ #
    def instructor_drift(self, lang: str) -> list[tuple[str, str]]:
        """``(path, why)`` for each instructor notebook of ``lang`` whose sources are not the
        release's ("missing", "out of date", "extra", "not a notebook"); outputs are not compared."""
        if lang == DEFAULT_LANG:
            return []
        edition = self.edition(lang)
        folder = instructor_folder(self.solutions, lang)
        present = {p.name for p in folder.glob("*.ipynb")} if folder.is_dir() else set()
        out = []
        for name in sorted(set(edition.instructor) | present):
            path = folder / name
            if name not in present:
                out.append((str(path), "missing"))
            elif name not in edition.instructor:
                out.append((str(path), "extra"))
            else:
                try:
                    current = read_file(path)
                except NotebookFileError:
                    out.append((str(path), "not a notebook"))
                    continue
                if source_key(current) != source_key(edition.instructor[name]):
                    out.append((str(path), "out of date"))
        return out

    def write_instructor(self, lang: str) -> list[str]:
        """Write the instructor notebooks of ``lang`` whose sources changed (without outputs: they
        are to be executed); those already right, outputs and all, are left alone. Returns the
        names written."""
        folder = instructor_folder(self.solutions, lang)
        todo = [Path(p).name for p, why in self.instructor_drift(lang) if why != "extra"]
        if todo:
            folder.mkdir(parents=True, exist_ok=True)
        for name in todo:
            (folder / name).write_bytes(self.edition(lang).instructor_text(name).encode("utf-8"))
        return todo

    def update_catalogs(self, lang: str) -> list[Path]:
        """Bring the catalogs of ``lang`` up to date with the English sources (`catalogs.update`);
        return the files written."""
        if self.check_lang(lang) == DEFAULT_LANG:
            raise AuthoringError("English is the source language: it has no catalogs")
        written = []
        for name, source in self.sources.items():
            catalog = catalogs.load(catalogs.catalog_path(self.solutions, lang, name))
            if catalogs.update(source, name, catalog, lang):
                written.append(catalog.path)
        self._editions.pop(lang, None)
        return written
