"""Does a kit hand its students an exercise's answer? Run as a script on a folder holding ``kit/``.

    python kit/authoring/_audit.py ROOT      # prints a JSON list of leaks, [] when there are none

It imports the ``kit`` found in ROOT (and only that one: ROOT goes first on ``sys.path``) and
every module in it except ``__main__`` modules and the grader-only paths (``GRADER_ONLY``). A
*leak* is a module-level callable whose name is an exercise's function name (``dot_stuff``,
``parse_reply``, ...) and that earns points on that exercise's public tests: a student who writes
``from kit.x import dot_stuff`` would be graded for the kit's work. Each leak is reported once,
with the exercise and the points it earned.

A script, not an import of the running kit: the audit must see the released tree as a student's
kernel sees it, without the answers package, so `kit.authoring.student` runs it in a fresh
interpreter with ROOT first on the path.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import warnings
from pathlib import Path


def audit(root: Path) -> list[dict]:
    """The leaks of the kit in ``root`` (see the module docstring)."""
    sys.path.insert(0, str(root))
    import kit

    if Path(kit.__file__).resolve().parent != (root / "kit").resolve():
        raise RuntimeError(f"imported {kit.__file__}, not the kit in {root}")
    try:
        exercises = importlib.import_module("kit.exercises")
    except ImportError:
        return []  # a kit without exercises has nothing to give away
    grader_only = getattr(exercises, "GRADER_ONLY", ())

    def hidden(name: str) -> bool:
        parts = name.split(".")[1:]
        return any(parts[: len(p.split("/"))] == p.split("/") for p in grader_only)

    by_function: dict[str, list] = {}
    for exercise in exercises.all_exercises():
        public = [t for t in exercise.tests if not t.hidden]
        if public:
            by_function.setdefault(exercise.function, []).append(exercise)
    leaks: list[dict] = []
    seen: set[int] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for info in pkgutil.walk_packages(kit.__path__, "kit."):
            if info.name.rsplit(".", 1)[-1] == "__main__" or hidden(info.name):
                continue
            try:
                module = importlib.import_module(info.name)
            except Exception:  # an optional dependency missing: nothing importable there
                continue
            for function, candidates in by_function.items():
                obj = getattr(module, function, None)
                if obj is None or not callable(obj) or isinstance(obj, type) or id(obj) in seen:
                    continue
                seen.add(id(obj))
                for exercise in candidates:
                    result = exercises.run_exercise(
                        exercise, exercises.local_call(obj, exercise.function, exercise.time_limit))
                    if result.points > 0:
                        leaks.append({"name": f"{info.name}.{function}", "exercise": exercise.id,
                                      "points": result.points, "max_points": result.max_points})
    return leaks


if __name__ == "__main__":
    if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
        del sys.path[0]  # this folder's modules are not top-level modules
    print(json.dumps(audit(Path(sys.argv[1]).resolve())))
