"""Read a student's notebook defensively: only code and exercise ids, nothing else trusted.

A submission may be anything: not JSON, an old or future nbformat, cells deleted, duplicated,
retyped (their metadata lost), outputs and metadata edited by hand. ``read_submission`` keeps
the code cells' sources and the exercise id of cells that still carry
``{"kit": {"exercise": id}}``; outputs, execution counts and every other piece of metadata are
dropped, so a forged output or a ``points`` field has nothing to act on.

``exercise_cells`` decides which cell defines each exercise's function: the last cell with the
exercise's metadata that defines the function with more than the released stub's body. When
there is none (the stub was left alone and the answer written in a new cell, or the metadata
was lost), the function is whatever the name means after the whole notebook ran.
"""

from __future__ import annotations

import ast
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CodeCell", "StudentNotebook", "read_submission", "is_check_only", "is_stub",
           "defines", "exercise_cells", "MAX_NOTEBOOK_BYTES"]

#: A notebook file larger than this is refused (a real one with images is a few MB).
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class CodeCell:
    """A code cell: its source, its 1-based position among all cells of the file, its exercise
    id (from metadata) and whether it is only ``check(...)`` calls (not run when grading)."""

    source: str
    number: int
    exercise: str | None = None
    skip: bool = False


@dataclass
class StudentNotebook:
    """What was read from one file; ``error`` says why it could not be graded (cells empty)."""

    path: Path
    cells: list[CodeCell]
    error: str | None = None

    @property
    def exercise_ids(self) -> list[str]:
        return [c.exercise for c in self.cells if c.exercise]

    def defined_functions(self) -> set[str]:
        names: set[str] = set()
        for cell in self.cells:
            names |= defines(cell.source)
        return names


def _source(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "".join(value)
    return ""


def _exercise(metadata: object) -> str | None:
    if not isinstance(metadata, dict):
        return None
    kit = metadata.get("kit")
    if isinstance(kit, dict) and isinstance(kit.get("exercise"), str):
        return kit["exercise"]
    return None


def _v4_cells(data: dict) -> list[dict]:
    """The cells of a v4 notebook; older formats are converted by nbformat."""
    major = data.get("nbformat")
    if major == 4:
        cells = data.get("cells")
        if not isinstance(cells, list):
            raise ValueError("the notebook has no list of cells")
        return cells
    if isinstance(major, int) and 1 <= major < 4:
        import nbformat

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = nbformat.reads(json.dumps(data), as_version=4)
        return [dict(c) for c in converted.cells]
    raise ValueError(f"nbformat {major!r} is not a notebook format this grader reads (4, or 1-3)")


def read_submission(path: Path) -> StudentNotebook:
    """Read ``path``; a notebook that cannot be read comes back with ``error`` set, never raises."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the file is too large ({size // (1024 * 1024)} MB)")
        data = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the file is JSON, but not a notebook")
        raw_cells = _v4_cells(data)
    except UnicodeDecodeError:
        return StudentNotebook(path, [], "not a notebook: the file is not UTF-8 text")
    except json.JSONDecodeError as exc:
        return StudentNotebook(path, [], f"not a notebook: the file is not valid JSON ({exc})")
    except Exception as exc:  # nbformat conversion errors, OSError, ValueError
        return StudentNotebook(path, [], f"not a notebook: {exc}")
    cells = []
    for number, cell in enumerate(raw_cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _source(cell.get("source"))
        if not source.strip():
            continue
        cells.append(CodeCell(source, number, _exercise(cell.get("metadata")),
                              is_check_only(source)))
    return StudentNotebook(path, cells)


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # IPython magics, or a syntax error: not for us to judge here


def is_check_only(source: str) -> bool:
    """True for a cell of nothing but ``check(...)`` expressions: feedback for the student,
    which the grader neither needs nor trusts."""
    tree = _parse(source)
    if tree is None or not tree.body:
        return False
    for statement in tree.body:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Name)
                and statement.value.func.id == "check"):
            return False
    return True


def defines(source: str) -> set[str]:
    """Names of the functions a cell defines at top level."""
    tree = _parse(source)
    if tree is None:
        return set()
    return {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def is_stub(source: str, name: str) -> bool:
    """True when ``name`` is defined in ``source`` with only ``raise NotImplementedError``
    (and perhaps a docstring): the released stub, untouched."""
    tree = _parse(source)
    if tree is None:
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            body = list(statement.body)
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if len(body) == 1 and isinstance(body[0], ast.Raise):
                raised = body[0].exc
                target = raised.func if isinstance(raised, ast.Call) else raised
                return isinstance(target, ast.Name) and target.id == "NotImplementedError"
            return False
    return False


def exercise_cells(cells: list[CodeCell], functions: dict[str, str]) -> dict[str, tuple[int, str]]:
    """exercise id -> (position in ``cells``, function name) of the cell that defines it.

    ``functions`` maps the exercise ids to grade to their function names. Only cells carrying
    the exercise's metadata are considered, the last real (non-stub) definition wins."""
    chosen: dict[str, tuple[int, str]] = {}
    for position, cell in enumerate(cells):
        name = functions.get(cell.exercise or "")
        if name is None:
            continue
        if name in defines(cell.source) and not is_stub(cell.source, name):
            chosen[cell.exercise] = (position, name)
    return chosen
