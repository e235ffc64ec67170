"""``smtpkit release``: regenerate the student notebooks and the public tests' expected values,
check them, build a student release.

Run in the project folder: besides the notebooks, ``release`` writes ``kit/exercises/
expected.json`` from the grader-only answers (when the folder's kit has them), and ``--check``
also fails when that file is out of date or when the kit hands out an exercise's answer under
the exercise's name (`leaks.audit`).

Exit codes: 0 done (or in sync), 1 ``--check`` found something out of date or a leaked answer,
2 an error (missing folder, malformed markers), with the message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import AuthoringError
from .leaks import audit, describe_leak, expected_problems, write_expected
from .release import drift, release
from .student import student_release

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the release options to ``parser``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only report student notebooks out of date with the solutions (exit 1)")
    mode.add_argument("--student", metavar="DIR",
                      help="after releasing, build the student release (kit, notebooks) in DIR")
    parser.add_argument("--solutions", metavar="DIR", default="solutions",
                        help="instructor notebooks (default: solutions)")
    parser.add_argument("--notebooks", metavar="DIR", default="notebooks",
                        help="student notebooks to write (default: notebooks)")


def run(args: argparse.Namespace) -> int:
    """Run the release the options ask for; return the exit code."""
    solutions, notebooks, root = Path(args.solutions), Path(args.notebooks), Path.cwd()
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
        written = release(solutions, notebooks)
        if expected is not None:
            print(f"expected values of the public tests in {expected.relative_to(root.resolve())}")
        print(f"released {len(written)} notebook(s) from {solutions} into {notebooks}")
        if args.student:
            dest = student_release(Path.cwd(), Path(args.student), solutions_dir=solutions,
                                   notebooks_dir=notebooks)
            print(f"student release written to {dest}")
        return 0
    except AuthoringError as exc:
        print(f"smtpkit release: error: {exc}", file=sys.stderr)
        return 2
