"""``grade(...)``: the whole job in one call, as ``smtpkit grade`` runs it.

Load the assignment (released notebooks + registry + hidden tests), decide on network isolation,
grade every submission, and write the gradebook, results, exports and feedback into ``out``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import netns
from .assignment import load_assignment
from .errors import GradingError
from .feedback import write_feedback
from .grade import ClassReport, grade_class
from .gradebook import write_gradebook, write_gradescope, write_lms, write_results
from .settings import NETWORK_MODES, Limits, default_workers, sandbox_paths

__all__ = ["grade", "write_outputs", "resolve_network", "NETWORK_MODES"]

#: auto: isolate when this machine allows it; isolated: insist; shared: the host's network.


def resolve_network(mode: str, warn: Callable[[str], None] | None = None) -> bool:
    """Whether kernels get a private network namespace; GradingError if ``isolated`` is
    impossible here."""
    if mode not in NETWORK_MODES:
        raise GradingError(f"--network must be one of {', '.join(NETWORK_MODES)}, got {mode!r}")
    if mode == "shared":
        return False
    problem = netns.probe()
    if problem is None:
        return True
    if mode == "isolated":
        raise GradingError(f"cannot isolate student kernels from the network here: {problem}")
    if warn:
        warn(f"network isolation is not available ({problem}); student code runs with this "
             "machine's network (use a container or root to isolate it)")
    return False


def write_outputs(report: ClassReport, out: Path) -> dict[str, Path]:
    """Write every output file into ``out``; returns them by kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "gradebook": write_gradebook(report, out / "gradebook.csv"),
        "results": write_results(report, out / "results.json"),
        "lms": write_lms(report, out / "lms.csv"),
        "gradescope": write_gradescope(report, out / "gradescope"),
        "feedback": write_feedback(report, out / "feedback"),
    }


def grade(submissions: Path, out: Path | None = None, *, notebooks: Path = Path("notebooks"),
          hidden: Path | None = None, workers: int | None = None, limits: Limits | None = None,
          network: str = "auto", hide: tuple[str, ...] = (),
          on_progress: Callable[[int, int, str], None] | None = None,
          warn: Callable[[str], None] | None = None) -> ClassReport:
    """Grade the class in ``submissions``; write the outputs into ``out`` when given.

    ``hide``: more paths isolated kernels must not see (see ``settings.sandbox_paths``)."""
    assignment = load_assignment(Path(notebooks), Path(hidden) if hidden else None)
    for message in assignment.warnings:
        if warn:
            warn(message)
    isolate = resolve_network(network, warn)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)  # exists before kernels run: hidden from them
    hidden_paths, read_only = sandbox_paths(Path(submissions), Path(notebooks), out,
                                            Path(hidden) if hidden else None, tuple(hide))
    from dataclasses import replace

    limits = replace(limits or Limits(), isolate=isolate, hide=hidden_paths, read_only=read_only)
    report = grade_class(Path(submissions), assignment, limits, workers or default_workers(),
                         on_progress)
    if out is not None:
        write_outputs(report, Path(out))
    return report
