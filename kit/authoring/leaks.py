"""Reference solutions stay with the grader: what the student release leaves out, and the checks
that a kit about to be released, or the project itself, gives no exercise's answer away.

* ``GRADER_ONLY`` paths (`kit.exercises.GRADER_ONLY`, today ``exercises/answers``) are not copied
  (`ignore_grader_only`); a released kit that still holds one, or a ``def reference_...`` anywhere,
  is refused (`static_leaks`).
* `audit` imports the kit in a fresh interpreter and calls every module-level function named
  like an exercise's function on that exercise's public tests; earning any points is a leak
  (``kit.protocol.dot_stuff`` was one: it answered ``dialogue.dot_stuff`` in full).
* `expected_problems` / `write_expected`: ``kit/exercises/expected.json``, the public tests'
  expected values that ship instead of the answers, must match the answers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import kit

from ..exercises._grader_only import GRADER_ONLY, is_grader_only
from .errors import AuthoringError

__all__ = ["GRADER_ONLY", "ignore_grader_only", "static_leaks", "audit", "describe_leak", "expected_problems",
           "write_expected", "EXPECTED_RELATIVE"]

#: Where the expected values live, relative to the project root.
EXPECTED_RELATIVE = "kit/exercises/expected.json"
_REFERENCE_DEF = re.compile(r"^[ \t]*def[ \t]+reference_\w*[ \t]*\(", re.MULTILINE)
_AUDIT_SCRIPT = Path(__file__).with_name("_audit.py")


def ignore_grader_only(kit_dir: Path) -> Callable[[str, list[str]], set[str]]:
    """A ``shutil.copytree`` ``ignore`` that leaves out every GRADER_ONLY path under ``kit_dir``."""
    kit_dir = Path(kit_dir).resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        if here != kit_dir and not here.is_relative_to(kit_dir):
            return set()
        relative = here.relative_to(kit_dir).as_posix()
        prefix = "" if relative == "." else relative + "/"
        return {name for name in names if is_grader_only(prefix + name)}

    return ignore


def static_leaks(kit_dir: Path) -> list[str]:
    """What in the kit at ``kit_dir`` is a reference solution by its place or its name."""
    kit_dir = Path(kit_dir)
    found = [f"{(kit_dir / p).as_posix()} (grader-only)" for p in GRADER_ONLY if (kit_dir / p).exists()]
    for path in sorted(kit_dir.rglob("*.py")):
        if is_grader_only(path.relative_to(kit_dir).as_posix()):
            continue
        match = _REFERENCE_DEF.search(path.read_text(encoding="utf-8", errors="replace"))
        if match:
            found.append(f"{path.as_posix()} ({match.group(0).strip()}...: a reference solution)")
    return found


def audit(root: Path, timeout: float = 600) -> list[dict]:
    """Leaks of the kit in ``root/kit`` found by calling it (see ``_audit.py``); [] without a kit."""
    root = Path(root).resolve()
    if not (root / "kit" / "__init__.py").is_file():
        return []
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no caches in a release
    run = subprocess.run([sys.executable, str(_AUDIT_SCRIPT), str(root)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        raise AuthoringError(f"could not audit the kit in {root} for leaked answers:\n{run.stderr.strip()}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def describe_leak(leak: dict) -> str:
    """One line for a leak found by `audit`."""
    return (f"{leak['name']} answers {leak['exercise']} ({leak['points']:g}/{leak['max_points']:g} points "
            "on its public tests)")


def _is_running_kit(root: Path) -> bool:
    return (root / "kit").resolve() == Path(kit.__file__).resolve().parent


def _has_answers(root: Path) -> bool:
    return any((root / "kit" / p).exists() for p in GRADER_ONLY)


def _rendered_expected() -> str:
    from ..exercises._expected import collect_expected, render_expected

    try:
        return render_expected(collect_expected())
    except RuntimeError as exc:
        raise AuthoringError(f"cannot compute the expected values: {exc}") from None


def expected_problems(root: Path, path: Path | None = None) -> list[tuple[str, str]]:
    """``(path, why)`` when ``root``'s expected.json (or the file at ``path``) does not match its
    answers; [] when it does or when ``root`` has no answers (e.g. a student release)."""
    root = Path(root).resolve()
    if not _has_answers(root):
        return []
    if not _is_running_kit(root):
        raise AuthoringError(f"{root / 'kit'} is not the kit this smtpkit runs from ({Path(kit.__file__).parent}); "
                             "run smtpkit from that project's environment")
    name = EXPECTED_RELATIVE if path is None else str(path)
    path = root / EXPECTED_RELATIVE if path is None else Path(path)
    if not path.is_file():
        return [(name, "missing")]
    if path.read_text(encoding="utf-8") != _rendered_expected():
        return [(name, "out of date")]
    return []


def write_expected(root: Path) -> Path | None:
    """Write ``root``'s expected.json from its answers (only if changed); None without answers."""
    root = Path(root).resolve()
    if not _has_answers(root):
        return None
    if not expected_problems(root):
        return root / EXPECTED_RELATIVE
    path = root / EXPECTED_RELATIVE
    path.write_text(_rendered_expected(), encoding="utf-8")
    return path
