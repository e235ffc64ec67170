"""``grade(...)``: the whole job in one call, as ``smtpkit grade`` runs it.

Load the assignment (released notebooks + registry + hidden tests), decide on network isolation,
grade every submission, and write the gradebook, results, exports and feedback into ``out``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..exercises import Registry
from .archive import submissions_folder
from .assignment import load_assignment
from .errors import GradingError
from .feedback import write_feedback
from .grade import ClassReport, grade_class
from .gradebook import write_gradebook, write_gradescope, write_lms, write_results
from .isolation import Sandbox, probe
from .settings import Limits, default_workers

__all__ = ["grade", "write_outputs", "require_sandbox", "UNSAFE_WARNING"]

UNSAFE_WARNING = ("--unsafe-no-sandbox: students' code ran with the grader's user, files, "
                  "network and environment; a hostile submission could read or change "
                  "anything this user can")


def require_sandbox() -> None:
    """GradingError (exit 2), naming the missing piece, when kernels can't be sandboxed here."""
    problem = probe()
    if problem is not None:
        raise GradingError(f"cannot sandbox students' code here: {problem}. Fix that, or grade "
                           "in a disposable container or VM with --unsafe-no-sandbox")


def write_outputs(report: ClassReport, out: Path) -> dict[str, Path]:
    """Write every output file into ``out``; returns them by kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "gradebook": write_gradebook(report, out / "gradebook.csv"),
        "results": write_results(report, out / "results.json"),
        "lms": write_lms(report, out / "lms.csv"),
        "gradescope": write_gradescope(report, out / "gradescope"),
        "feedback": write_feedback(report, out / "feedback",
                                   report.assignment.lang or "en"),
    }


def grade(submissions: Path, out: Path | None = None, *, notebooks: Path = Path("notebooks"),
          hidden: Path | None = None, workers: int | None = None, limits: Limits | None = None,
          unsafe_no_sandbox: bool = False, hide: tuple[str, ...] = (),
          on_progress: Callable[[int, int, str], None] | None = None,
          warn: Callable[[str], None] | None = None, registry: Registry | None = None,
          only: tuple[str, ...] | None = None) -> ClassReport:
    """Grade the class in ``submissions``; write the outputs into ``out`` when given.

    Kernels run sandboxed (``isolation``); where that is impossible this raises GradingError
    unless ``unsafe_no_sandbox`` says to run students' code without it. ``hide``: more paths
    kernels must not see; ``registry``: the exercises (the course's by default); ``only``: the
    notebooks of this assignment (``02,03``; all released notebooks by default).
    ``submissions`` may be a folder or an LMS zip (``archive``)."""
    assignment = load_assignment(Path(notebooks), Path(hidden) if hidden else None, registry,
                                 only)
    if unsafe_no_sandbox:
        assignment.warnings.append(UNSAFE_WARNING)
    else:
        require_sandbox()
    for message in assignment.warnings:
        if warn:
            warn(message)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)  # exists before kernels run: masked
    with submissions_folder(Path(submissions), warn) as folder:
        sandbox = Sandbox.build(folder, Path(out) if out is not None else None,
                                Path(hidden) if hidden else None,
                                (*hide, str(Path(submissions).resolve())),
                                isolate=not unsafe_no_sandbox)
        report = grade_class(folder, assignment, limits or Limits(),
                             workers or default_workers(), on_progress, sandbox)
    if out is not None:
        write_outputs(report, Path(out))
    return report
