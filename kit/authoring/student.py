"""The student release: the folder students get, a project of its own, and nothing they must not see.

It holds the ``kit/`` package source (no caches), ``notebooks/`` rendered straight from the
solutions (the project's own ``notebooks/``, which may hold someone's work, is neither read nor
written), and its own ``README.md``, ``pyproject.toml`` and ``Makefile``: ``python -m pip install .``
then ``smtpkit lab`` (or ``make lab``) is all a student needs, JupyterLab included. Every relative
link of the README leads to a file of the release. It never holds ``solutions/``, ``tests/``,
hidden tests or the grader-only paths of the kit (``GRADER_ONLY``: the reference solutions in
``kit/exercises/answers``).

Before copying it refuses when a student notebook would still hold a solution marker, when a
``kit`` module defines ``HIDDEN`` tests, or when ``kit/exercises/expected.json`` is out of date
with the answers. After copying it audits the released kit as a student's kernel will see it
(`leaks`): a grader-only path, a ``def reference_...``, or a kit function that earns points on an
exercise under that exercise's name, and the release is removed again. A marker file identifies
an earlier release, which is the only non-empty folder it will write into: its ``notebooks/``
are students' work like any other (`release` keeps edited ones unless forced, with a backup);
everything else of the earlier release is replaced.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from ..notebook_file import DEFAULT_LANG, parse
from .errors import AuthoringError
from .leaks import audit, describe_leak, expected_problems, ignore_grader_only, static_leaks
from .markers import has_markers
from .plan import ReleasePlan, student_folder
from .release import Released, refuse_edited, write_release

__all__ = ["MARKER", "student_release", "build_student_release", "student_pyproject", "student_readme",
           "MAKEFILE"]

MARKER = ".smtpkit-student-release"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints")
_HIDDEN = re.compile(r"^HIDDEN\s*[:=]", re.MULTILINE)
#: What the release writes itself; an earlier release's copies are replaced (notebooks/ is not).
_GENERATED = ("kit", "README.md", "pyproject.toml", "Makefile")

MAKEFILE = """\
# make lab: install the course into .venv (first time only) and open it in JupyterLab.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: lab
lab: $(VENV)/.installed
\t$(BIN)/smtpkit lab

$(VENV)/.installed: pyproject.toml
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --disable-pip-version-check -q .
\ttouch $@
"""


# --------------------------------------------------------------------------- #
# pyproject.toml: the project's, less what only the instructor needs
# --------------------------------------------------------------------------- #
def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise AuthoringError("building a student release reads pyproject.toml: use Python >= 3.11, "
                                 "or `pip install tomli`") from None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuthoringError(f"{path}: not a readable pyproject.toml ({exc})") from None


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list):
        items = [_value(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        return one_line if len(one_line) <= 80 else "[\n" + "".join(f"    {i},\n" for i in items) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise AuthoringError(f"pyproject.toml: cannot write a {type(value).__name__} value")


def _tables(name: str, table: dict[str, Any]) -> list[str]:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    out = [f"[{name}]", *(f"{_key(k)} = {_value(v)}" for k, v in plain.items()), ""] if plain else []
    for key, sub in nested.items():
        out += _tables(f"{name}.{_key(key)}", sub)
    return out


def student_pyproject(project: dict[str, Any]) -> str:
    """The release's pyproject.toml from the project's (parsed): the same package, its ``lab``
    extra (JupyterLab) made a plain dependency so that ``pip install .`` is enough, without the
    other extras (tests) and tool settings other than setuptools'."""
    meta = dict(project.get("project") or {})
    if not meta.get("name"):
        raise AuthoringError("pyproject.toml has no [project] name")
    extras = meta.pop("optional-dependencies", {}) or {}
    dependencies = list(meta.get("dependencies") or [])
    dependencies += [d for d in extras.get("lab", []) if d not in dependencies]
    meta["dependencies"] = dependencies
    meta["readme"] = "README.md"
    meta.pop("license-files", None)
    data = {"build-system": project.get("build-system") or {"requires": ["setuptools>=77"],
                                                          "build-backend": "setuptools.build_meta"},
            "project": meta}
    setuptools = (project.get("tool") or {}).get("setuptools")
    if setuptools:
        data["tool"] = {"setuptools": setuptools}
    lines = ["# The student release of the course (written by `smtpkit release --student`).", ""]
    for name, table in data.items():
        if name == "tool":
            for key, sub in table.items():
                lines += _tables(f"tool.{_key(key)}", sub)
        else:
            lines += _tables(name, table)
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- #
# README.md: two lines to start, and the notebooks
# --------------------------------------------------------------------------- #
def _title(text: str, name: str) -> str:
    try:
        cells = parse(text)["cells"]
    except (ValueError, KeyError, TypeError):
        return name
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source") or [])
            match = re.search(r"^#\s+(.+?)\s*$", source, re.MULTILINE)
            if match:
                return match.group(1).replace("[", "\\[").replace("]", "\\]")
    return name


def student_readme(notebooks: dict[str, str], requires_python: str | None = None,
                   translations: tuple[str, ...] = ()) -> str:
    """The release's README: how to start (``pip install .`` then ``smtpkit lab``, or ``make lab``),
    one link per notebook, where the student's work is kept, and for a German translation in the
    release a German paragraph on ``smtpkit lab --lang de``."""
    python = f"Python {requires_python.lstrip('>=~ ')} or newer" if requires_python else "Python 3"
    rows = "\n".join(f"- [{_title(text, name)}](notebooks/{name})" for name, text in sorted(notebooks.items()))
    return f"""# SMTP course

Learn SMTP in Jupyter, against a real SMTP server that runs on your own machine (127.0.0.1 only; it
never sends mail anywhere).

## Start

In this folder, with {python}:

```bash
python -m pip install .
smtpkit lab
```

`smtpkit lab` opens the course in JupyterLab in your web browser, at the first notebook. Or, with
`make`: `make lab` does both inside a virtual environment of its own (`.venv` in this folder); use
it when pip refuses to install outside one ("externally-managed-environment").

## The notebooks

In order, each one builds on the ones before:

{rows}

Each exercise has a `check(...)` cell that shows right under it what passed, what did not and why.

Your answers live in the notebooks in `notebooks/`: save them there (JupyterLab saves on Ctrl-S).
No command of the course overwrites a notebook you changed.
""" + (_GERMAN_README if "de" in translations else "")


_GERMAN_README = """
## Auf Deutsch

Der ganze Kurs liegt auch auf Deutsch bei (`notebooks/de/`): `smtpkit lab --lang de` öffnet ihn in
JupyterLab, dessen Oberfläche dann ebenfalls Deutsch ist. Deine Antworten speicherst du in den
Notebooks in `notebooks/de/`.
"""


# --------------------------------------------------------------------------- #
# building the release
# --------------------------------------------------------------------------- #
def _refuse_leaks(root: Path, notebooks: dict[str, str]) -> None:
    for name, text in notebooks.items():
        cells = parse(text)["cells"]
        if any(c["cell_type"] == "code" and has_markers("".join(c["source"]) if isinstance(c["source"], list)
                                                       else c["source"]) for c in cells):
            raise AuthoringError(f"{name} would still contain solution markers; refusing to release it")
    for path in sorted((root / "kit").rglob("*.py")):
        if _HIDDEN.search(path.read_text(encoding="utf-8", errors="replace")):
            raise AuthoringError(f"{path} defines HIDDEN tests; keep hidden tests outside kit/")
    stale = expected_problems(root)
    if stale:
        raise AuthoringError(", ".join(f"{path} ({why})" for path, why in stale)
                             + ": the expected values do not match the answers; run `smtpkit release` first")


def _refuse_answers(dest: Path, created: bool) -> None:
    """The released kit must hold no reference solution; remove the release and refuse if it does
    (all of it if this call created the folder, else all but the notebooks, which may hold work)."""
    found = static_leaks(dest / "kit") + [describe_leak(leak) for leak in audit(dest)]
    if found:
        if created:
            shutil.rmtree(dest)
        else:
            _remove_generated(dest)
        raise AuthoringError("the student release would give answers away; refusing it:\n  "
                             + "\n  ".join(found))


def _remove_generated(dest: Path) -> None:
    for name in _GENERATED:
        path = dest / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _check_destination(dest: Path) -> bool:
    """Refuse a folder that is neither new, empty nor an earlier release; True if it is new."""
    if dest.exists() and not dest.is_dir():
        raise AuthoringError(f"{dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise AuthoringError(f"{dest} is not empty and is not an earlier student release; "
                             "choose an empty or new folder")
    return not dest.exists() or not any(dest.iterdir())


def build_student_release(root: Path, dest: Path, *, solutions_dir: Path | None = None,
                          force: bool = False, plan: ReleasePlan | None = None,
                          langs: list[str] | None = None) -> tuple[Path, Released]:
    """Build the student release of the project at ``root`` in ``dest``; return ``dest`` and what
    was done in its ``notebooks/`` (`release`: edited notebooks refused unless ``force``).

    ``solutions_dir`` defaults to ``root/solutions``; ``plan`` is the release plan of those (read
    here when not given). Each translation of ``langs`` (default: every language the plan has)
    goes into ``notebooks/<lang>/``, so ``smtpkit lab --lang de`` works in the release; an
    incomplete translation (cells still in English, `Edition.problems`) is left out, since
    students would get a course in two languages.
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    solutions_dir = Path(solutions_dir or root / "solutions").resolve()
    sources = {"kit": root / "kit", "solutions": solutions_dir, "pyproject.toml": root / "pyproject.toml"}
    for name, path in sources.items():
        if not path.exists():
            raise AuthoringError(f"cannot build a student release: {path} not found ({name})")
    for path in (root / "kit", solutions_dir, root / "notebooks", root / "tests"):
        if dest == path or dest.is_relative_to(path):
            raise AuthoringError(f"the student release cannot go inside {path}")
    if root.is_relative_to(dest):
        raise AuthoringError(f"the student release cannot contain the project itself ({root})")
    plan = plan or ReleasePlan(solutions_dir)
    langs = langs or plan.languages()
    notebooks = plan.edition().student
    if not notebooks:
        raise AuthoringError(f"cannot build a student release: no notebooks in {solutions_dir}")
    translations = {lang: plan.edition(lang).student for lang in langs
                    if lang != DEFAULT_LANG and not plan.edition(lang).problems}
    for texts in (notebooks, *translations.values()):
        _refuse_leaks(root, texts)
    project = _load_toml(root / "pyproject.toml")
    pyproject = student_pyproject(project)
    readme = student_readme(notebooks, (project.get("project") or {}).get("requires-python"), tuple(translations))
    created = _check_destination(dest)
    if not force:  # edited work in a translation's folder: refuse before anything is written
        refuse_edited({student_folder(dest / "notebooks", lang): texts for lang, texts in translations.items()})
    done = write_release(dest / "notebooks", notebooks, force=force)  # refuses edited work first
    for lang, texts in translations.items():
        write_release(student_folder(dest / "notebooks", lang), texts, force=force)
    _remove_generated(dest)
    grader_only = ignore_grader_only(root / "kit")
    shutil.copytree(root / "kit", dest / "kit", ignore=lambda d, n: _IGNORE(d, n) | grader_only(d, n))
    (dest / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (dest / "README.md").write_text(readme, encoding="utf-8")
    (dest / "Makefile").write_text(MAKEFILE, encoding="utf-8")
    _refuse_answers(dest, created)
    (dest / MARKER).write_text(json.dumps({"made_by": "smtpkit release --student"}) + "\n")
    return dest, done


def student_release(root: Path, dest: Path, *, solutions_dir: Path | None = None, force: bool = False) -> Path:
    """Build the student release of the project at ``root`` in ``dest``; return ``dest``."""
    return build_student_release(root, dest, solutions_dir=solutions_dir, force=force)[0]
