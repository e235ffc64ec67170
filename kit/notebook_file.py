"""Notebook files: the one place the kit turns a ``.ipynb`` file's text into a notebook and back.

Three readers use it: the release reads the instructor notebooks (`read`: strict, nbformat-
validated), the navigation tool reads a folder of them (`parse`: JSON with a list of cells, so a
broken file can still be named and linked to), and the grader reads students' files (`parse` on
bytes it has read under its own caps, then ``kit.grading.notebook`` keeps only code and exercise
ids). One writer: `dumps` gives the bytes nbformat and JupyterLab write (indent 1, sorted keys,
sources split into lines, a trailing newline), so a release or a navigation update of an unchanged
notebook rewrites nothing.

A notebook's language is notebook metadata ``{"kit": {"lang": "de"}}`` (`notebook_lang`): the
German release sets it, the grader reads it to write feedback in the assignment's language.
English notebooks carry none.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

__all__ = ["NotebookFileError", "parse", "read", "dumps", "notebook_lang", "LANGUAGES", "DEFAULT_LANG"]

#: The languages the course is written in; English is the source, the others are translations.
LANGUAGES = ("en", "de")
DEFAULT_LANG = "en"


class NotebookFileError(ValueError):
    """The file is not a notebook; the message says why (and names the file when known)."""


def parse(data: str | bytes, *, any_format: bool = False) -> dict[str, Any]:
    """The notebook JSON of ``data`` as a dict. NotebookFileError when it is not JSON, not an
    object, or (unless ``any_format``: the grader converts formats 1-3 itself) not a v4 notebook
    with a list of cells."""
    try:
        notebook = json.loads(data)
    except UnicodeDecodeError:
        raise NotebookFileError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise NotebookFileError(f"the file is not valid JSON ({exc})") from None
    if not isinstance(notebook, dict):
        raise NotebookFileError("the file is JSON, but not a notebook")
    if not any_format and not isinstance(notebook.get("cells"), list):
        raise NotebookFileError("no list of cells")
    return notebook


def read(path: Path) -> Any:
    """Read a v4 notebook as an ``nbformat.NotebookNode``; NotebookFileError naming the file when
    it is not one. Cells saved without an id get none here (nbformat would invent a random one),
    so that the release derives a stable id instead."""
    import nbformat

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = parse(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MissingIDFieldWarning: handled below
            notebook = nbformat.reads(text, as_version=4)
    except Exception as exc:  # OSError, JSON or schema errors: name the file
        raise NotebookFileError(f"{path}: not a readable notebook ({exc})") from None
    for raw_cell, cell in zip(raw.get("cells", []), notebook.cells, strict=False):
        if "id" not in raw_cell:
            cell.pop("id", None)
    return notebook


def dumps(notebook: Any, *, validate: bool = True) -> str:
    """The file text of ``notebook`` (a NotebookNode or a plain dict) as nbformat writes it, with a
    trailing newline. NotebookFileError when ``validate`` and it is not a valid v4 notebook."""
    import nbformat

    node = nbformat.from_dict(notebook) if not isinstance(notebook, nbformat.NotebookNode) else notebook
    if validate:
        try:
            nbformat.validate(node)
        except nbformat.ValidationError as exc:
            raise NotebookFileError(f"the notebook would be invalid: {exc.message}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = nbformat.writes(node, version=4)
    return text if text.endswith("\n") else text + "\n"


def notebook_lang(metadata: object) -> str | None:
    """The language a notebook's metadata declares (``kit.lang``), if it is one of `LANGUAGES`;
    None otherwise (English notebooks declare none; anything else is not trusted)."""
    if not isinstance(metadata, dict):
        return None
    kit = metadata.get("kit")
    lang = kit.get("lang") if isinstance(kit, dict) else None
    return lang if lang in LANGUAGES else None
