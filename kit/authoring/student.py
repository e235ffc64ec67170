"""The student release: the folder students get, and nothing they must not see.

It holds the ``kit/`` package source (no caches), ``notebooks/``, ``pyproject.toml`` and
``README.md``; never ``solutions/``, ``tests/`` or hidden tests. Before copying it refuses when
the notebooks are out of date with the solutions, when a notebook still holds a solution marker,
or when a ``kit`` module defines ``HIDDEN`` tests. A marker file identifies an earlier release,
which is the only non-empty folder it will overwrite.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .errors import AuthoringError
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
    for name, path in sources.items():
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=_IGNORE)
        else:
            shutil.copy2(path, dest / name)
    (dest / MARKER).write_text(json.dumps({"made_by": "smtpkit release --student"}) + "\n")
    return dest
