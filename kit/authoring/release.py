"""Release: ``solutions/*.ipynb`` (instructor copies, the single source) -> ``notebooks/*.ipynb``.

A student notebook keeps every cell except those tagged ``solution-only``; code cells have
their solution blocks stubbed (``markers``) and no outputs or execution counts. Only the cell
metadata students need survives (``kit``, ``tags``, ``editable``, ``deletable``, and
``raw_mimetype`` on raw cells), cell ids are kept from the source (or derived from the notebook
name and position), and notebook metadata is reduced to a fixed kernelspec, so a release is a
pure function of the sources: running it again yields identical bytes, and ``check`` can tell
drift by comparing bytes.

The notebooks folder is also the students' workspace, so `release` never overwrites a notebook
someone edited (`workspace`): it refuses with `EditedNotebooks`, naming them, unless ``force``,
which first copies them into ``.backup/<UTC time>/``. It records what it wrote in the folder's
manifest (``.smtpkit-release.json``), which `drift` checks too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ..notebook_file import NotebookFileError, dumps
from ..notebook_file import read as read_file
from .errors import AuthoringError
from .markers import strip_solutions
from .workspace import MANIFEST, back_up, manifest_entry, plan, read_manifest, write_manifest

__all__ = [
    "SOLUTION_ONLY", "release", "check", "drift", "student_notebook", "render", "read_notebook",
    "rendered", "Released", "EditedNotebooks", "RELEASED_METADATA", "write_release", "folder_drift", "refuse_edited",
]

SOLUTION_ONLY = "solution-only"
_KEEP_CELL_METADATA = ("kit", "tags", "editable", "deletable", "raw_mimetype")
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
RELEASED_METADATA = _METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def _cell_id(cell: Any, name: str, index: int) -> str:
    cell_id = cell.get("id")
    if isinstance(cell_id, str) and _CELL_ID.fullmatch(cell_id):
        return cell_id
    return hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]


def student_notebook(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student copy of a solution notebook (``name`` is used in error messages and ids)."""
    cells = []
    for index, cell in enumerate(solution.cells):
        metadata = cell.get("metadata", {})
        if SOLUTION_ONLY in metadata.get("tags", []):
            continue
        kept = {k: metadata[k] for k in _KEEP_CELL_METADATA if k in metadata}
        new: dict[str, Any] = {
            "id": _cell_id(cell, name, index),
            "cell_type": cell.cell_type,
            "metadata": kept,
            "source": cell.source,
        }
        if cell.cell_type == "code":
            new.update(source=strip_solutions(cell.source, name, index), outputs=[],
                       execution_count=None)
        elif "attachments" in cell:
            new["attachments"] = cell.attachments
        cells.append(nbformat.from_dict(new))
    metadata = dict(_METADATA)
    if "kit" in solution.metadata:
        metadata["kit"] = solution.metadata["kit"]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    notebook.nbformat_minor = 5
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    """The file text nbformat writes (v4, indent 1, sorted keys) with a trailing newline
    (`kit.notebook_file.dumps`, the kit's one notebook writer)."""
    try:
        return dumps(notebook)
    except NotebookFileError as exc:
        raise AuthoringError(f"the student {exc}") from None


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a v4 notebook (`kit.notebook_file.read`); AuthoringError naming the file when it is
    not one. Cells saved without an id get none here, so that ``student_notebook`` derives a
    stable id instead."""
    try:
        return read_file(path)
    except NotebookFileError as exc:
        raise AuthoringError(str(exc)) from None


def _check_folders(solutions_dir: Path, notebooks_dir: Path | None) -> None:
    if not solutions_dir.is_dir():
        raise AuthoringError(f"solutions folder not found: {solutions_dir}")
    if notebooks_dir is not None and notebooks_dir.exists() and solutions_dir.resolve() == notebooks_dir.resolve():
        raise AuthoringError(f"solutions and notebooks are the same folder: {solutions_dir}")


def rendered(solutions_dir: Path, notebooks_dir: Path | None = None) -> dict[str, str]:
    """Student file name -> the text a release writes (every solution parsed and rendered, so a
    bad one fails before anything is written). The English edition of a `ReleasePlan`: use one
    plan where several steps need the notebooks."""
    from .plan import ReleasePlan

    solutions_dir = Path(solutions_dir)
    _check_folders(solutions_dir, None if notebooks_dir is None else Path(notebooks_dir))
    return ReleasePlan(solutions_dir).edition().student


class EditedNotebooks(AuthoringError):
    """A release would replace notebooks that hold someone's work; nothing was written."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder, self.names = Path(folder), list(names)
        super().__init__(
            f"{len(self.names)} notebook(s) in {self.folder} were changed since the last release and differ "
            f"from the new one, so they may hold a student's work: {', '.join(self.names)}. Nothing was "
            "written. Keep the work elsewhere first, or run again with --force, which copies them into "
            f"{self.folder / '.backup'}/<time>/ before replacing them")


@dataclass
class Released:
    """What `release` did in a notebooks folder."""

    folder: Path
    #: Every student notebook of the release, sorted by name.
    paths: list[Path] = field(default_factory=list)
    #: Names of the notebooks written now (new, or a release copy replaced).
    written: list[str] = field(default_factory=list)
    #: Names of edited notebooks replaced because of ``force``, and the folder holding their copies.
    replaced: list[str] = field(default_factory=list)
    backup: Path | None = None


def release(solutions_dir: Path, notebooks_dir: Path, *, force: bool = False,
            names: list[str] | None = None) -> Released:
    """Write the student copy of every solution notebook (or of ``names`` only) into
    ``notebooks_dir``; return what was done (`write_release` of a fresh English plan)."""
    return write_release(Path(notebooks_dir), rendered(Path(solutions_dir), Path(notebooks_dir)), force=force,
                         names=names)


def write_release(notebooks_dir: Path, released: dict[str, str], *, force: bool = False,
                  names: list[str] | None = None) -> Released:
    """Write ``released`` (file name -> text; or only ``names`` of it) into ``notebooks_dir``.

    Files already identical are left untouched (their mtime too, so an open JupyterLab tab is not
    told the file changed). A notebook that differs from the release and from what the previous
    release wrote is someone's work: `EditedNotebooks` is raised and nothing is written, unless
    ``force``, which copies those into ``.backup/<UTC time>/`` first. Student notebooks without a
    solution are not deleted (``check`` reports them as extra).
    """
    notebooks_dir = Path(notebooks_dir)
    if names is not None:
        released = {name: text for name, text in released.items() if name in set(names)}
    todo = plan(notebooks_dir, released)
    if todo.edited and not force:
        raise EditedNotebooks(notebooks_dir, todo.edited)
    notebooks_dir.mkdir(parents=True, exist_ok=True)
    result = Released(notebooks_dir, paths=[notebooks_dir / name for name in released])
    if todo.edited:
        result.backup = back_up(notebooks_dir, todo.edited)
        result.replaced = list(todo.edited)
        todo.write.update({name: released[name] for name in todo.edited})
    for name, text in todo.write.items():
        (notebooks_dir / name).write_bytes(text.encode("utf-8"))
    result.written = sorted(todo.write)
    entries = read_manifest(notebooks_dir)
    entries.update({name: manifest_entry(text) for name, text in released.items()})
    write_manifest(notebooks_dir, entries)
    return result


def refuse_edited(folders: dict[Path, dict[str, str]]) -> None:
    """`EditedNotebooks` for the first folder (folder -> the texts a release writes there) holding
    someone's work; called before a release of several folders writes any of them."""
    for folder, released in folders.items():
        edited = plan(folder, released).edited
        if edited:
            raise EditedNotebooks(folder, edited)


def drift(solutions_dir: Path, notebooks_dir: Path) -> list[tuple[str, str]]:
    """``(file name, "out of date" | "missing" | "extra" | "not recorded")`` for each student
    notebook not in sync with the solutions (`folder_drift` of a fresh English plan)."""
    return folder_drift(Path(notebooks_dir), rendered(Path(solutions_dir), Path(notebooks_dir)))


def folder_drift(notebooks_dir: Path, released: dict[str, str]) -> list[tuple[str, str]]:
    """``(file name, "out of date" | "missing" | "extra" | "not recorded")`` for each notebook of
    ``notebooks_dir`` not as ``released``, sorted by name; empty when in sync. "not recorded":
    the notebook is right but the folder's manifest (``.smtpkit-release.json``) does not say the
    release wrote it, so the next release would take it for a student's work."""
    notebooks_dir = Path(notebooks_dir)
    present = {p.name for p in notebooks_dir.glob("*.ipynb")} if notebooks_dir.is_dir() else set()
    manifest = read_manifest(notebooks_dir)
    problems = []
    for name in sorted(set(released) | present):
        if name not in present:
            problems.append((name, "missing"))
        elif name not in released:
            problems.append((name, "extra"))
        elif (notebooks_dir / name).read_bytes() != released[name].encode("utf-8"):
            problems.append((name, "out of date"))
        elif manifest.get(name) != manifest_entry(released[name]):
            problems.append((name, f"not recorded in {MANIFEST}"))
    return problems


def check(solutions_dir: Path, notebooks_dir: Path) -> list[str]:
    """Names of the student notebooks that are out of date, missing or extra; empty if in sync."""
    return [name for name, _ in drift(solutions_dir, notebooks_dir)]
