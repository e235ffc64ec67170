"""The assignment: the released notebooks, the exercises they ask for, and the hidden tests.

The released student notebooks (``notebooks/`` by default) say which exercises exist and where:
each exercise cell carries ``{"kit": {"exercise": id}}``. The tests come from the exercise
registry (``kit/exercises/<topic>.py``), extended by the instructor's hidden tests
(``--hidden PATH``, read with ``kit.exercises.load_hidden``). Nothing here comes from a
student's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..exercises import REGISTRY, Exercise, Registry, load_hidden
from .errors import GradingError
from .notebook import read_submission

__all__ = ["AssignedNotebook", "Assignment", "load_assignment"]


@dataclass(frozen=True)
class AssignedNotebook:
    """A released notebook: its file name and its exercise ids, in cell order."""

    name: str
    exercises: tuple[str, ...]


@dataclass
class Assignment:
    """What is graded: notebooks in order, and every exercise (hidden tests included) by id."""

    notebooks: list[AssignedNotebook]
    exercises: dict[str, Exercise]
    warnings: list[str] = field(default_factory=list)
    hidden_path: str | None = None
    #: The folder of the released notebooks.
    folder: str | None = None
    #: The released notebooks' language (metadata ``kit.lang``; None for English): the
    #: language of the checks' messages and the feedback pages. Read from the instructor's
    #: release, never from a student's file.
    lang: str | None = None

    @property
    def order(self) -> list[str]:
        """Every exercise id, in notebook and cell order: the gradebook's columns."""
        return [e for nb in self.notebooks for e in nb.exercises]

    @property
    def max_points(self) -> float:
        return sum(self.exercises[e].points for e in self.order)

    def notebook(self, name: str) -> AssignedNotebook:
        return next(nb for nb in self.notebooks if nb.name == name)

    def exercises_of(self, name: str) -> list[Exercise]:
        return [self.exercises[e] for e in self.notebook(name).exercises]


def chosen(names: list[str], selectors: tuple[str, ...]) -> list[str]:
    """The notebook names an assignment selects: ``02`` or ``2`` (the number prefix),
    ``02_the_smtp_dialogue`` or the full file name. GradingError naming a selector that matches
    no notebook."""
    picked: list[str] = []
    for selector in selectors:
        key = selector.strip()
        if not key:
            continue
        number = key.lstrip("0") or "0" if key.isdigit() else None
        matches = [n for n in names if n == key or n == f"{key}.ipynb"
                   or (number is not None and n.split("_", 1)[0].isdigit()
                       and (n.split("_", 1)[0].lstrip("0") or "0") == number)]
        if not matches:
            raise GradingError(f"--assignment: no released notebook matches {key!r} "
                               f"(there are: {', '.join(names)})")
        picked += [m for m in matches if m not in picked]
    return [n for n in names if n in picked]


def load_assignment(notebooks_dir: Path, hidden: Path | None = None,
                    registry: Registry | None = None,
                    only: tuple[str, ...] | None = None) -> Assignment:
    """Read the released notebooks in ``notebooks_dir`` and attach the hidden tests.

    ``only``: the notebooks of this assignment (see ``chosen``); all by default. GradingError
    when the folder has no notebook with an exercise, or the hidden tests cannot be used
    (unreadable, an unknown exercise id, a test name used twice)."""
    registry = registry or REGISTRY
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise GradingError(f"released notebooks folder not found: {notebooks_dir} "
                           "(use --notebooks DIR)")
    notebooks: list[AssignedNotebook] = []
    exercises: dict[str, Exercise] = {}
    warnings: list[str] = []
    langs: set[str | None] = set()
    paths = sorted(notebooks_dir.glob("*.ipynb"))
    if only:
        keep = set(chosen([p.name for p in paths], only))
        paths = [p for p in paths if p.name in keep]
    for path in paths:
        released = read_submission(path)
        if released.error:
            raise GradingError(f"{path}: {released.error}")
        langs.add(released.lang)
        ids: list[str] = []
        for exercise_id in released.exercise_ids:
            if exercise_id in exercises:
                if exercise_id not in ids:
                    warnings.append(f"{path.name}: exercise {exercise_id} is already graded in "
                                    "another notebook; counted once")
                continue
            try:
                exercises[exercise_id] = registry.get(exercise_id)
            except KeyError as exc:
                warnings.append(f"{path.name}: {exc.args[0]}; not graded")
                continue
            ids.append(exercise_id)
        if ids:
            notebooks.append(AssignedNotebook(path.name, tuple(ids)))
    if not notebooks:
        raise GradingError(f"no notebook in {notebooks_dir} has an exercise cell "
                           '(cell metadata {"kit": {"exercise": "<id>"}})')
    if len(langs) > 1:
        warnings.append("the released notebooks are in more than one language; feedback in "
                        "English")
    lang = next(iter(langs)) if len(langs) == 1 else None
    assignment = Assignment(notebooks, exercises, warnings, folder=str(notebooks_dir.resolve()),
                            lang=lang)
    if hidden is not None:
        _attach_hidden(assignment, Path(hidden), registry)
    return assignment


def _attach_hidden(assignment: Assignment, path: Path, registry: Registry) -> None:
    try:
        hidden = load_hidden(path)
    except FileNotFoundError as exc:
        raise GradingError(str(exc)) from None
    except Exception as exc:  # a syntax error, a bad HIDDEN: the instructor's file
        raise GradingError(f"cannot use the hidden tests in {path}: "
                           f"{type(exc).__name__}: {exc}") from None
    for exercise_id, tests in hidden.items():
        if exercise_id not in assignment.exercises:
            try:
                registry.get(exercise_id)
            except KeyError as exc:
                raise GradingError(f"{path}: hidden tests for an unknown exercise: "
                                   f"{exc.args[0]}") from None
            assignment.warnings.append(f"{path.name}: hidden tests for {exercise_id}, which no "
                                       "released notebook asks for; ignored")
            continue
        try:
            assignment.exercises[exercise_id] = assignment.exercises[exercise_id].with_tests(tests)
        except ValueError as exc:
            raise GradingError(f"{path}: {exc}") from None
    assignment.hidden_path = str(path)
