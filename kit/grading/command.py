"""``smtpkit grade``: grade a class's notebooks: gradebook, results and feedback.

    smtpkit grade SUBMISSIONS --out DIR [--hidden PATH] [--workers N] [--timeout S] ...

Exit codes: 0 graded (whatever the submissions did: broken ones get rows and reasons);
1 nothing to grade (no notebook in SUBMISSIONS); 2 bad arguments or unusable instructor input
(missing folders, a broken hidden-tests file), with the message on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from zipfile import is_zipfile

from ..cli_args import positive_float, positive_int
from .errors import GradingError
from .progress import ProgressBar, format_duration
from .settings import Limits, default_workers

__all__ = ["configure", "run"]

_DEFAULTS = Limits()


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the grading options to ``parser``."""
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.epilog = ("Writes DIR/gradebook.csv, DIR/results.json, DIR/lms.csv, "
                     "DIR/gradescope/<student>.json and DIR/feedback/<student>.html. "
                     "See docs/GRADING.md.")
    parser.add_argument("submissions", metavar="SUBMISSIONS",
                        help="folder with alice.ipynb per student, or alice/*.ipynb; or the "
                             "zip an LMS (Moodle, Canvas) downloads")
    parser.add_argument("--out", metavar="DIR", required=True, help="where to write the results")
    parser.add_argument("--hidden", metavar="PATH",
                        help="hidden tests: a Python file defining HIDDEN = {id: [tests]}")
    parser.add_argument("--notebooks", metavar="DIR", default="notebooks",
                        help="the released student notebooks the submissions answer")
    parser.add_argument("--assignment", metavar="NOTEBOOKS", default=None,
                        help="grade only these released notebooks: their numbers or names, "
                             "comma-separated (e.g. 02,03); default: all")
    parser.add_argument("--workers", metavar="N", type=positive_int, default=default_workers(),
                        help="notebooks graded at the same time (default: the number of cores)")
    parser.add_argument("--timeout", metavar="S", type=positive_float,
                        default=_DEFAULTS.cell_timeout,
                        help="seconds a cell may run before it is interrupted")
    parser.add_argument("--notebook-timeout", metavar="S", type=positive_float,
                        default=_DEFAULTS.notebook_timeout,
                        help="wall-clock seconds for one notebook, all cells and tests; then "
                             "its kernel is killed")
    parser.add_argument("--call-timeout", metavar="S", type=positive_float, default=None,
                        help="cap on each exercise's own time limit per call of a student's "
                             "function (default: the exercise's limit)")
    parser.add_argument("--memory", metavar="MB", type=positive_int, default=_DEFAULTS.memory_mb,
                        help="address space a kernel may use")
    parser.add_argument("--cpu", metavar="S", type=positive_int, default=None,
                        help="CPU seconds a kernel may use (default: the notebook timeout)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run students' code WITHOUT the sandbox (as this user, with its "
                             "files and network), only inside a disposable container or VM; "
                             "without this flag, grading refuses where the sandbox (Linux, "
                             "bubblewrap, user namespaces) is missing")
    parser.add_argument("--hide", metavar="PATH", action="append", default=[],
                        help="a file or folder kernels must not see (repeatable; kernels see "
                             "only Python, the kit and system libraries anyway, and the "
                             "submissions, --out and --hidden are masked wherever they lie)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")


def _warn(message: str) -> None:
    print(f"smtpkit grade: warning: {message}", file=sys.stderr)


def _lean_imports() -> None:
    """jsonschema (imported by nbformat) loads the optional IRI checker ``rfc3987_syntax`` when
    it is installed, which builds a grammar for ~2 s at import; notebooks never need it. This
    command's process goes without it (jsonschema treats the ImportError as "not installed")."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    """Grade; return the exit code."""
    _lean_imports()
    from .api import grade
    from .collect import collect

    submissions = Path(args.submissions)
    try:
        if not submissions.is_dir() and not is_zipfile(submissions):
            raise GradingError(f"submissions folder not found: {submissions} (or an LMS zip)")
        if submissions.is_dir() and not collect(submissions):
            print(f"smtpkit grade: no notebooks found in {submissions} "
                  "(expected alice.ipynb or alice/*.ipynb)", file=sys.stderr)
            return 1
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise GradingError(f"--out {out} exists and is not a folder")
        limits = Limits(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                        call_timeout=args.call_timeout, memory_mb=args.memory,
                        cpu_seconds=args.cpu or 0)
        bar = ProgressBar(enabled=False if args.quiet else None)
        try:
            report = grade(submissions, out, notebooks=Path(args.notebooks), hidden=args.hidden,
                           workers=args.workers, limits=limits,
                           unsafe_no_sandbox=args.unsafe_no_sandbox,
                           only=tuple(args.assignment.split(",")) if args.assignment else None,
                           hide=tuple(args.hide), on_progress=bar, warn=_warn)
        except KeyboardInterrupt:
            bar.close()
            print("smtpkit grade: interrupted; nothing written", file=sys.stderr, flush=True)
            os._exit(130)  # not waiting for the notebooks still running; their kernels die with us
        finally:
            bar.close()
    except GradingError as exc:
        print(f"smtpkit grade: error: {exc}", file=sys.stderr)
        return 2
    if not report.students:
        print(f"smtpkit grade: no notebooks found in {submissions}", file=sys.stderr)
        return 1
    if not args.quiet:
        _summary(report, out)
    return 0


def _summary(report, out: Path) -> None:
    from .gradebook import points

    notebooks = sum(1 for s in report.students for n in s.notebooks if n.status != "missing")
    print(f"graded {len(report.students)} student(s), {notebooks} notebook(s) in "
          f"{format_duration(report.seconds)} with {report.workers} worker(s); "
          + ("kernels sandboxed" if report.sandbox.isolate else "NO SANDBOX (--unsafe-no-sandbox)"))
    width = max(len(s.student) for s in report.students)
    for student in report.students:
        line = f"  {student.student:<{width}}  {points(student.total):>5}/{points(student.max_points)}"
        issues = [f"{n.notebook}: {n.status}" for n in student.notebooks if n.status != "ok"]
        if issues:
            line += "  (" + "; ".join(issues) + ")"
        print(line)
    print(f"wrote {out}/gradebook.csv, results.json, lms.csv, gradescope/, feedback/")
