"""The student release: the folder students get, and nothing they must not see.

It holds the ``kit/`` package source (no caches), ``notebooks/``, ``pyproject.toml`` and
``README.md``; never ``solutions/``, ``tests/``, hidden tests or the grader-only paths of the kit
(``GRADER_ONLY``: the reference solutions in ``kit/exercises/answers``). Before copying it refuses
when the notebooks are out of date with the solutions, when a notebook still holds a solution
marker, when a ``kit`` module defines ``HIDDEN`` tests, or when ``kit/exercises/expected.json`` is
out of date with the answers. After copying it audits the released kit as a student's kernel will
see it (`leaks`): a grader-only path, a ``def reference_...``, or a kit function that earns points
on an exercise under that exercise's name, and the release is removed again. A marker file
identifies an earlier release, which is the only non-empty folder it will overwrite.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .errors import AuthoringError
from .leaks import audit, describe_leak, expected_problems, ignore_grader_only, static_leaks
from .markers import has_markers
from .release import drift, read_notebook

__all__ = ["MARKER", "student_release"]

MARKER = ".smtpkit-student-release"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints")
_HIDDEN = re.compile(r"^HIDDEN\s*[:=]", re.MULTILINE)


def _refuse_leaks(root: Path, notebooks_dir: Path, solutions_dir: Path) -> None:
    if solutions_dir.is_dir():
        stale = drift(solutions_dir, notebooks_dir)
        if stale:
            names = ", ".join(f"{name} ({why})" for name, why in stale)
            raise AuthoringError(f"notebooks are not in sync with solutions: {names}; "
                                 "run `smtpkit release` first")
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        notebook = read_notebook(path)
        if any(c.cell_type == "code" and has_markers(c.source) for c in notebook.cells):
            raise AuthoringError(f"{path} contains solution markers; refusing to release it")
    for path in sorted((root / "kit").rglob("*.py")):
        if _HIDDEN.search(path.read_text(encoding="utf-8", errors="replace")):
            raise AuthoringError(f"{path} defines HIDDEN tests; keep hidden tests outside kit/")
    stale = expected_problems(root)
    if stale:
        raise AuthoringError(", ".join(f"{path} ({why})" for path, why in stale)
                             + ": the expected values do not match the answers; run `smtpkit release` first")


def _refuse_answers(dest: Path) -> None:
    """The released kit must hold no reference solution; remove the release and refuse if it does."""
    found = static_leaks(dest / "kit") + [describe_leak(leak) for leak in audit(dest)]
    if found:
        shutil.rmtree(dest)
        raise AuthoringError("the student release would give answers away; refusing it:\n  "
                             + "\n  ".join(found))


def _prepare(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise AuthoringError(f"{dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()):
        if not (dest / MARKER).is_file():
            raise AuthoringError(f"{dest} is not empty and is not an earlier student release; "
                                 "choose an empty or new folder")
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    dest.mkdir(parents=True, exist_ok=True)


def student_release(
    root: Path,
    dest: Path,
    *,
    solutions_dir: Path | None = None,
    notebooks_dir: Path | None = None,
) -> Path:
    """Build the student release of the project at ``root`` in ``dest``; return ``dest``.

    ``solutions_dir``/``notebooks_dir`` default to ``root/solutions`` and ``root/notebooks``.
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    solutions_dir = Path(solutions_dir or root / "solutions").resolve()
    notebooks_dir = Path(notebooks_dir or root / "notebooks").resolve()
    sources = {"kit": root / "kit", "notebooks": notebooks_dir,
               "pyproject.toml": root / "pyproject.toml", "README.md": root / "README.md"}
    for name, path in sources.items():
        if not path.exists():
            raise AuthoringError(f"cannot build a student release: {path} not found ({name})")
    for path in (root / "kit", notebooks_dir, solutions_dir):
        if dest == path or dest.is_relative_to(path):
            raise AuthoringError(f"the student release cannot go inside {path}")
    if root.is_relative_to(dest):
        raise AuthoringError(f"the student release cannot contain the project itself ({root})")
    _refuse_leaks(root, notebooks_dir, solutions_dir)
    _prepare(dest)
    grader_only = ignore_grader_only(root / "kit")
    for name, path in sources.items():
        if name == "kit":
            shutil.copytree(path, dest / name, ignore=lambda d, n: _IGNORE(d, n) | grader_only(d, n))
        elif path.is_dir():
            shutil.copytree(path, dest / name, ignore=_IGNORE)
        else:
            shutil.copy2(path, dest / name)
    _refuse_answers(dest)
    (dest / MARKER).write_text(json.dumps({"made_by": "smtpkit release --student"}) + "\n")
    return dest
