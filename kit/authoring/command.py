"""``smtpkit release``: regenerate the student notebooks and the public tests' expected values,
check them, build a student release.

Run in the project folder: besides the notebooks, ``release`` writes ``kit/exercises/
expected.json`` from the grader-only answers (when the folder's kit has them), and ``--check``
also fails when that file is out of date or when the kit hands out an exercise's answer under
the exercise's name (`leaks.audit`).

The student notebooks are also where students work, so no release overwrites a notebook that was
changed since the release wrote it (`workspace`): it names them and stops (exit 2), unless
``--force``, which first copies each into ``.backup/<UTC time>/`` beside the notebooks and says
where. ``--student DIR`` renders the notebooks straight from the solutions into ``DIR`` and
leaves the project's ``notebooks/`` alone.

Exit codes: 0 done (or in sync), 1 ``--check`` found something out of date or a leaked answer,
2 an error (missing folder, malformed markers, notebooks that hold someone's work), with the
message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import AuthoringError
from .leaks import audit, describe_leak, expected_problems, write_expected
from .release import Released, drift, release
from .student import build_student_release

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the release options to ``parser``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only report student notebooks out of date with the solutions (exit 1)")
    mode.add_argument("--student", metavar="DIR",
                      help="build the student release in DIR (kit, notebooks from the solutions, its own README, "
                           "pyproject and Makefile); the project's notebooks/ is left alone")
    parser.add_argument("--force", action="store_true",
                        help="also replace notebooks changed since the last release (someone's work), "
                             "after copying them into .backup/<time>/ beside them")
    parser.add_argument("--solutions", metavar="DIR", default="solutions",
                        help="instructor notebooks (default: solutions)")
    parser.add_argument("--notebooks", metavar="DIR", default="notebooks",
                        help="student notebooks to write (default: notebooks)")


def _say_replaced(done: Released) -> None:
    if done.backup is not None:
        print(f"replaced {len(done.replaced)} changed notebook(s) ({', '.join(done.replaced)}); "
              f"the changed versions are kept in {done.backup}")


def run(args: argparse.Namespace) -> int:
    """Run the release the options ask for; return the exit code."""
    solutions, notebooks, root = Path(args.solutions), Path(args.notebooks), Path.cwd()
    if args.check and args.force:
        print("smtpkit release: error: --check writes nothing, so --force has no meaning with it", file=sys.stderr)
        return 2
    try:
        if args.check:
            problems = drift(solutions, notebooks) + expected_problems(root)
            for name, why in problems:
                print(f"{why}: {name}")
            if problems:
                print("student notebooks or expected values are out of date; run `smtpkit release`",
                      file=sys.stderr)
            leaks = audit(root)
            for leak in leaks:
                print(f"leaked answer: {describe_leak(leak)}")
            if leaks:
                print("the kit gives exercises' answers away under their names; rename or remove them",
                      file=sys.stderr)
            return 1 if problems or leaks else 0
        expected = write_expected(root)
        if expected is not None:
            print(f"expected values of the public tests in {expected.relative_to(root.resolve())}")
        if args.student:
            dest, done = build_student_release(root, Path(args.student), solutions_dir=solutions, force=args.force)
            _say_replaced(done)
            print(f"student release written to {dest} ({len(done.paths)} notebook(s); {notebooks}/ not touched)")
            if done.backup is not None:
                print(f"note: {done.backup} is inside the release; move it out before you hand the folder out")
            return 0
        done = release(solutions, notebooks, force=args.force)
        _say_replaced(done)
        print(f"released {len(done.paths)} notebook(s) from {solutions} into {notebooks} "
              f"({len(done.written)} written, {len(done.paths) - len(done.written)} already up to date)")
        return 0
    except AuthoringError as exc:
        print(f"smtpkit release: error: {exc}", file=sys.stderr)
        return 2
