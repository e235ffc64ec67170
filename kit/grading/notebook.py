"""Read a student's notebook defensively: only code and exercise ids, nothing else trusted.

A submission may be anything: not JSON, an old or future nbformat, cells deleted, duplicated,
retyped (their metadata lost), outputs and metadata edited by hand, a symbolic link, a FIFO, or
a file built to exhaust the grader. ``read_submission`` keeps the code cells' sources and the
exercise id of cells that still carry ``{"kit": {"exercise": id}}``, and the notebook's language
(``kit.lang``, one of the course's languages or None: it only picks the feedback's language);
outputs, execution counts and every other piece of metadata are dropped, so a forged output or a
``points`` field has nothing to act on. The JSON is parsed by `kit.notebook_file.parse`, the
kit's one notebook reader, on the bytes read here under the caps below.

Caps, all checked before the expensive step they protect:

- the file: opened without following a symbolic link (``O_NOFOLLOW``), refused unless it is a
  regular file of at most ``MAX_NOTEBOOK_BYTES`` (checked with ``fstat`` before reading; at most
  that many bytes plus one are ever read);
- one cell: a code cell longer than ``MAX_CELL_CHARS`` is not run; it is replaced by a cell
  that raises ``RuntimeError("this cell is larger than N KB and was not run")``, so the rest of
  the notebook still runs and the student sees why;
- the notebook: after ``MAX_CELLS`` code cells, or once the code kept reaches
  ``MAX_CODE_CHARS`` characters, the remaining cells are dropped and one cell that raises a
  ``RuntimeError`` saying so takes their place.

Every cap that applied is also described in ``StudentNotebook.notes``.

Each cell's source is parsed once, when its ``CodeCell`` is made (``CodeCell.facts``: the
functions it defines, which of them are untouched stubs, whether it is only ``check(...)``
calls), so matching files to notebooks and choosing exercise cells never parse again.

``exercise_cells`` decides which cell defines each exercise's function: the last cell with the
exercise's metadata that defines the function with more than the released stub's body. When
there is none (the stub was left alone and the answer written in a new cell, or the metadata
was lost), the function is whatever the name means after the whole notebook ran.
"""

from __future__ import annotations

import ast
import os
import stat
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..notebook_file import notebook_lang, parse

__all__ = ["CodeCell", "CellFacts", "StudentNotebook", "read_submission", "is_check_only",
           "is_stub", "defines", "exercise_cells", "MAX_NOTEBOOK_BYTES", "MAX_CELL_CHARS",
           "MAX_CODE_CHARS", "MAX_CELLS"]

#: A notebook file larger than this is refused before it is read (the course's largest,
#: solutions with outputs, is under 0.5 MB; a real one with many images a few MB).
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
#: A code cell with a longer source is not run (the course's longest cell is under 2,000).
MAX_CELL_CHARS = 200_000
#: Code kept per notebook, all cells together (the course's largest notebook has about 10,000).
MAX_CODE_CHARS = 1_000_000
#: Code cells kept per notebook (the course's largest notebook has 45).
MAX_CELLS = 2_000


@dataclass(frozen=True)
class CellFacts:
    """What one parse of a cell's source says (nothing when it does not parse as Python)."""

    functions: frozenset[str] = frozenset()  # defined at top level
    stubs: frozenset[str] = frozenset()  # of those, the ones whose body is the released stub's
    check_only: bool = False  # nothing but ``check(...)`` expressions


@dataclass(frozen=True)
class CodeCell:
    """A code cell: its source, its 1-based position among all cells of the file, its exercise
    id (from metadata) and whether it is only ``check(...)`` calls (not run when grading).

    ``facts`` is computed once, from ``source``, when the cell is made; ``skip`` left out
    (None) is taken from them."""

    source: str
    number: int
    exercise: str | None = None
    skip: bool | None = None
    facts: CellFacts = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        facts = analyse(self.source)
        object.__setattr__(self, "facts", facts)
        if self.skip is None:
            object.__setattr__(self, "skip", facts.check_only)


@dataclass
class StudentNotebook:
    """What was read from one file; ``error`` says why it could not be graded (cells empty);
    ``notes`` say which caps applied (cells not run, cells dropped)."""

    path: Path
    cells: list[CodeCell]
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    #: The notebook's language (metadata ``kit.lang``: "de" for the German release; None for
    #: English or unknown). Harmless to trust: it only chooses the language of the feedback page.
    lang: str | None = None

    @property
    def exercise_ids(self) -> list[str]:
        return [c.exercise for c in self.cells if c.exercise]

    @cached_property
    def _functions(self) -> frozenset[str]:
        return frozenset().union(*(c.facts.functions for c in self.cells))

    def defined_functions(self) -> set[str]:
        """Names of the functions the cells define at top level (computed once)."""
        return set(self._functions)


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


def _old_source(value: object) -> object:
    """A source in formats 1-3: lines kept with their newlines (v3) or without (v2)."""
    if isinstance(value, list) and value and all(isinstance(x, str) for x in value):
        return "".join(value) if value[0].endswith(("\n", "\r")) else "\n".join(value)
    return value


def _v4_cells(data: dict) -> list[dict]:
    """The cells of a v4 notebook, or of an older one read as v4 would have them.

    Formats 1 to 3 are read here rather than by nbformat's converter, which validates the whole
    notebook twice (about 12 s for 100,000 cells); only what the grader keeps is carried over:
    a code cell's source (``code`` in v1, ``input`` in v2 and v3) and its metadata."""
    major = data.get("nbformat")
    if major == 4:
        cells = data.get("cells")
        if not isinstance(cells, list):
            raise ValueError("the notebook has no list of cells")
        return cells
    if isinstance(major, int) and 1 <= major < 4:
        if major == 1:
            cells = data.get("cells")
        else:
            worksheets = data.get("worksheets")
            if not isinstance(worksheets, list):
                raise ValueError("the notebook has no list of worksheets")
            cells = [cell for sheet in worksheets if isinstance(sheet, dict)
                     for cell in (sheet.get("cells") if isinstance(sheet.get("cells"), list)
                                  else [])]
        if not isinstance(cells, list):
            raise ValueError("the notebook has no list of cells")
        key = "code" if major == 1 else "input"
        return [{"cell_type": "code", "source": _old_source(cell.get(key)),
                 "metadata": cell.get("metadata")}
                if isinstance(cell, dict) and cell.get("cell_type") == "code" else {}
                for cell in cells]
    raise ValueError(f"nbformat {major!r} is not a notebook format this grader reads (4, or 1-3)")


def _kb(chars: int) -> str:
    return f"{chars // 1000:,} KB"


def _raising(message: str) -> str:
    return f"raise RuntimeError({message!r})"


def _read_capped(path: Path) -> bytes:
    """The file's bytes: not through a symbolic link, a regular file only, the size checked
    with ``fstat`` before anything is read, and never more than the cap plus one byte read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise ValueError("the file is a symbolic link") from None
        raise ValueError(f"the file cannot be opened ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the file is too large ({info.st_size / 2**20:.1f} MB; the limit "
                             f"is {MAX_NOTEBOOK_BYTES // 2**20} MB)")
        chunks, left = [], MAX_NOTEBOOK_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:  # it grew after fstat
            raise ValueError(f"the file is too large (more than {MAX_NOTEBOOK_BYTES // 2**20} MB)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_submission(path: Path) -> StudentNotebook:
    """Read ``path``; a notebook that cannot be read comes back with ``error`` set, never raises."""
    path = Path(path)
    try:
        data = parse(_read_capped(path).decode("utf-8"), any_format=True)
        raw_cells = _v4_cells(data)
    except UnicodeDecodeError:
        return StudentNotebook(path, [], "not a notebook: the file is not UTF-8 text")
    except Exception as exc:  # OSError, ValueError, RecursionError (JSON nested too deeply)
        return StudentNotebook(path, [], f"not a notebook: {exc}")
    lang = notebook_lang(data.get("metadata"))
    del data
    cells: list[CodeCell] = []
    notes: list[str] = []
    total = 0
    for number, cell in enumerate(raw_cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _source(cell.get("source"))
        if not source.strip():
            continue
        if len(source) > MAX_CELL_CHARS:
            message = f"this cell is larger than {_kb(MAX_CELL_CHARS)} and was not run"
            notes.append(f"cell {number}: {message} ({len(source):,} characters)")
            source = _raising(message)
        if len(cells) >= MAX_CELLS or total + len(source) > MAX_CODE_CHARS:
            why = (f"more than {MAX_CELLS:,} code cells" if len(cells) >= MAX_CELLS
                   else f"more than {_kb(MAX_CODE_CHARS)} of code")
            message = f"the notebook has {why}: cell {number} and the cells after it were not run"
            notes.append(message)
            cells.append(CodeCell(_raising(message), number, skip=False))
            break
        total += len(source)
        cells.append(CodeCell(source, number, _exercise(cell.get("metadata"))))
    return StudentNotebook(path, cells, notes=notes, lang=lang)


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # IPython magics or a syntax error (not for us to judge here), or code nested too
        # deeply for the parser (``-`` * 10_000 + ``1``): the kernel will say so when it runs.
        return None


def _stub_body(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) == 1 and isinstance(body[0], ast.Raise):
        raised = body[0].exc
        target = raised.func if isinstance(raised, ast.Call) else raised
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"
    return False


def _is_check(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name) and statement.value.func.id == "check")


def analyse(source: str) -> CellFacts:
    """Parse ``source`` once and keep what the grader asks about it."""
    tree = _parse(source)
    if tree is None:
        return CellFacts()
    functions: set[str] = set()
    stubs: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name not in functions and _stub_body(statement):
                stubs.add(statement.name)  # the first definition of a name decides, as before
            functions.add(statement.name)
    check_only = bool(tree.body) and all(_is_check(s) for s in tree.body)
    return CellFacts(frozenset(functions), frozenset(stubs), check_only)


def is_check_only(source: str) -> bool:
    """True for a cell of nothing but ``check(...)`` expressions: feedback for the student,
    which the grader neither needs nor trusts."""
    return analyse(source).check_only


def defines(source: str) -> set[str]:
    """Names of the functions a cell defines at top level."""
    return set(analyse(source).functions)


def is_stub(source: str, name: str) -> bool:
    """True when ``name`` is defined in ``source`` with only ``raise NotImplementedError``
    (and perhaps a docstring): the released stub, untouched."""
    return name in analyse(source).stubs


def exercise_cells(cells: list[CodeCell], functions: dict[str, str]) -> dict[str, tuple[int, str]]:
    """exercise id -> (position in ``cells``, function name) of the cell that defines it.

    ``functions`` maps the exercise ids to grade to their function names. Only cells carrying
    the exercise's metadata are considered, the last real (non-stub) definition wins."""
    chosen: dict[str, tuple[int, str]] = {}
    for position, cell in enumerate(cells):
        name = functions.get(cell.exercise or "")
        if name is None:
            continue
        if name in cell.facts.functions and name not in cell.facts.stubs:
            chosen[cell.exercise] = (position, name)
    return chosen
