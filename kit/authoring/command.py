"""``smtpkit release``: regenerate the student notebooks, check them, build a student release.

Exit codes: 0 done (or in sync), 1 ``--check`` found out-of-date notebooks, 2 an error (missing
folder, malformed markers), with the message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import AuthoringError
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
    solutions, notebooks = Path(args.solutions), Path(args.notebooks)
    try:
        if args.check:
            problems = drift(solutions, notebooks)
            for name, why in problems:
                print(f"{why}: {name}")
            if problems:
                print("student notebooks are out of date; run `smtpkit release`", file=sys.stderr)
            return 1 if problems else 0
        written = release(solutions, notebooks)
        print(f"released {len(written)} notebook(s) from {solutions} into {notebooks}")
        if args.student:
            dest = student_release(Path.cwd(), Path(args.student), solutions_dir=solutions,
                                   notebooks_dir=notebooks)
            print(f"student release written to {dest}")
        return 0
    except AuthoringError as exc:
        print(f"smtpkit release: error: {exc}", file=sys.stderr)
        return 2
