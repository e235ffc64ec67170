"""The registry of exercises, filled by the topic modules of this package.

Every public module in ``kit/exercises/`` (a name without a leading underscore, such as
``demo.py``) is a topic module: it calls ``register(Exercise(...))`` at import. The grader-only
``answers`` package (``GRADER_ONLY``) is not a topic and is never imported from here. Topic
modules are imported on the first lookup, so ``import kit.exercises`` stays cheap; a topic module
that fails to import does not take the others down, and its error is named when an id is not
found.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
import warnings
from collections.abc import Iterable

from ._exercise import Exercise
from ._grader_only import is_grader_only
from ._tests import TestLike

__all__ = ["Registry", "REGISTRY", "register", "get", "all_exercises", "extend"]

_PACKAGE = __name__.rpartition(".")[0]


class Registry:
    """Exercises by id. ``topics`` is the package whose public modules define them (or None)."""

    def __init__(self, topics: str | None = None) -> None:
        self._exercises: dict[str, Exercise] = {}
        self._topics = topics
        self._loaded = topics is None
        self._failures: dict[str, str] = {}
        self._lock = threading.RLock()

    def register(self, exercise: Exercise, *, replace: bool = False) -> Exercise:
        """Add ``exercise``; an id already taken is an error unless ``replace``."""
        if not isinstance(exercise, Exercise):
            raise TypeError(f"register() needs an Exercise, got {type(exercise).__name__}")
        with self._lock:
            if exercise.id in self._exercises and not replace:
                raise ValueError(f"exercise {exercise.id!r} is already registered")
            self._exercises[exercise.id] = exercise
        return exercise

    def get(self, exercise_id: str) -> Exercise:
        """The exercise called ``exercise_id``; KeyError with suggestions when there is none."""
        self._load()
        try:
            return self._exercises[exercise_id]
        except KeyError:
            raise KeyError(self._unknown(exercise_id)) from None

    def all_exercises(self) -> list[Exercise]:
        """Every exercise, sorted by id."""
        self._load()
        return [self._exercises[k] for k in sorted(self._exercises)]

    def extend(self, exercise_id: str, tests: Iterable[TestLike]) -> Exercise:
        """Append tests (e.g. hidden ones) to a registered exercise and return the new one."""
        with self._lock:
            extended = self.get(exercise_id).with_tests(tests)
            self._exercises[exercise_id] = extended
        return extended

    def failures(self) -> dict[str, str]:
        """Topic modules that failed to import, with their errors (after loading them)."""
        self._load()
        return dict(self._failures)

    def _unknown(self, exercise_id: str) -> str:
        message = f"no exercise called {exercise_id!r}"
        close = difflib.get_close_matches(str(exercise_id), list(self._exercises), n=3)
        if close:
            message += f"; did you mean {' or '.join(map(repr, close))}?"
        for module, error in self._failures.items():
            message += f" (topic module {module} failed to import: {error})"
        return message

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            package = importlib.import_module(self._topics)
            for info in pkgutil.iter_modules(package.__path__):
                name = f"{self._topics}.{info.name}"
                if info.name.startswith("_") or is_grader_only("/".join(name.split(".")[1:])):
                    continue
                try:
                    importlib.import_module(name)
                except Exception as exc:  # one broken topic must not hide the others
                    self._failures[name] = f"{type(exc).__name__}: {exc}"
                    warnings.warn(f"{name} failed to import: {exc}", stacklevel=2)
            self._loaded = True


#: The registry the notebooks and the grader use; topic modules register into it.
REGISTRY = Registry(topics=_PACKAGE)


def register(exercise: Exercise, *, replace: bool = False) -> Exercise:
    """Register ``exercise`` in the default registry (topic modules call this at import)."""
    return REGISTRY.register(exercise, replace=replace)


def get(exercise_id: str) -> Exercise:
    """Look an exercise up in the default registry."""
    return REGISTRY.get(exercise_id)


def all_exercises() -> list[Exercise]:
    """Every exercise of the default registry, sorted by id."""
    return REGISTRY.all_exercises()


def extend(exercise_id: str, tests: Iterable[TestLike]) -> Exercise:
    """Append tests to an exercise of the default registry (the grader adds hidden tests)."""
    return REGISTRY.extend(exercise_id, tests)
