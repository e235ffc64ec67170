"""Grade a class: every student's notebooks, each in a fresh kernel, ``workers`` at a time.

One long-lived grading process (kernel start-up is the cost that matters, not ours); a thread
per worker, each grading one notebook at a time on its own event loop: run the notebook in a
``KernelSession``, then judge its exercises (``judge``). Workers share nothing but the read-only
assignment, and results are assembled by student and notebook name, so the gradebook does not
depend on the number of workers or the order notebooks finish in.

A problem with one submission never stops the run: unreadable files, kernels that die or hang,
and even a bug of the grader's own become that notebook's status and reason.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from ..exercises import CheckResult, Exercise
from .assignment import Assignment
from .collect import collect, match, relative_name, safe_name
from .isolation import Sandbox
from .judge import judge_in_thread, unjudged
from .kernel import KernelSession
from .notebook import StudentNotebook, exercise_cells
from .problems import clip, notebook_status
from .settings import Limits

__all__ = ["NOTEBOOK_STATUSES", "NotebookReport", "StudentReport", "ClassReport", "RunPlan",
           "grade_class", "grade_notebook"]

#: Problems kept per notebook in the reports (the rest are counted).
MAX_PROBLEMS = 30

#: ok: ran; timeout: a cell or the notebook ran out of time; crashed: a kernel died;
#: error: not gradable (unreadable file, no kernel); missing: not submitted.
NOTEBOOK_STATUSES = ("ok", "timeout", "crashed", "error", "missing")


@dataclass
class NotebookReport:
    """How one released notebook went for one student."""

    notebook: str
    file: str | None
    status: str
    reason: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    kernels: int = 0

    def to_dict(self) -> dict:
        return {"notebook": self.notebook, "file": self.file, "status": self.status,
                "reason": self.reason, "seconds": round(self.seconds, 3),
                "problems": list(self.problems), "kernels": self.kernels}


@dataclass
class StudentReport:
    """One student: a result for every exercise of the assignment, and how each notebook went."""

    student: str
    slug: str
    notebooks: list[NotebookReport]
    results: dict[str, CheckResult]
    seconds: dict[str, float]
    ignored: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(r.points for r in self.results.values())

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results.values())


@dataclass
class ClassReport:
    assignment: Assignment
    students: list[StudentReport]
    limits: Limits
    workers: int
    seconds: float
    sandbox: Sandbox

    @property
    def network(self) -> str:
        """``isolated`` (sandboxed kernels) or ``shared`` (--unsafe-no-sandbox)."""
        return "isolated" if self.sandbox.isolate else "shared"


@dataclass(frozen=True)
class RunPlan:
    """Everything a grading run needs, decided once: what is graded, against what, with which
    limits and which sandbox, how many at a time."""

    submissions: Path
    assignment: Assignment
    limits: Limits
    sandbox: Sandbox
    workers: int = 1


@dataclass
class _Job:
    student: str
    notebook: str
    file: StudentNotebook
    relative: str


async def grade_notebook(file: StudentNotebook, exercises: list[Exercise], limits: Limits,
                         sandbox: Sandbox | None = None, lang: str | None = None
                         ) -> tuple[dict[str, tuple[CheckResult, float]], str, str, list[str], int]:
    """Run one notebook and judge ``exercises`` on it.

    Returns (results by exercise id with seconds, status, reason, problems, kernels used)."""
    if file.error:
        return ({e.id: (unjudged(e, "error", f"not graded: {file.error}"), 0.0) for e in exercises},
                "error", file.error, [], 0)
    snapshots = exercise_cells(file.cells, {e.id: e.function for e in exercises})
    async with KernelSession(file.cells, limits, snapshots, sandbox) as session:
        await session.run()
        results = await judge_in_thread(session, exercises, lang)
    status, reason = notebook_status(session.problems, session.expired, limits.notebook_timeout)
    if not session.started_once and not session.expired:
        status, reason = "error", (session.problems[0].text if session.problems
                                   else "the kernel could not start")
    problems = [p.text for p in session.problems[:MAX_PROBLEMS]]
    if len(session.problems) > MAX_PROBLEMS:
        problems.append(f"... and {len(session.problems) - MAX_PROBLEMS} more problems")
    return results, status, clip(reason, 1000), problems, session.starts


def _run_job(job: _Job, plan: RunPlan
             ) -> tuple[NotebookReport, dict[str, tuple[CheckResult, float]]]:
    exercises = plan.assignment.exercises_of(job.notebook)
    started = time.monotonic()
    try:
        results, status, reason, problems, kernels = asyncio.run(
            grade_notebook(job.file, exercises, plan.limits, plan.sandbox,
                           plan.assignment.lang or "en"))
    except Exception as exc:  # a bug of ours: this notebook, never the batch
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = f"the grader failed on this notebook ({detail}); please tell your instructor"
        results = {e.id: (unjudged(e, "error", message), 0.0) for e in exercises}
        status, reason, problems, kernels = "error", message, [], 0
    report = NotebookReport(job.notebook, job.relative, status, reason,
                            time.monotonic() - started, problems, kernels)
    return report, results


def grade_class(submissions: Path, assignment: Assignment, limits: Limits, workers: int = 1,
                on_progress: Callable[[int, int, str], None] | None = None,
                sandbox: Sandbox | None = None) -> ClassReport:
    """Grade every submission in ``submissions`` against ``assignment``.

    ``sandbox``: how kernels are isolated; by default the full sandbox, with the submissions
    and the hidden tests masked (``api.grade`` builds it with the output folder too)."""
    started = time.monotonic()
    root = Path(submissions)
    if sandbox is None:
        sandbox = Sandbox.build(root, None, Path(assignment.hidden_path)
                                if assignment.hidden_path else None)
    plan = RunPlan(root, assignment, limits, sandbox, max(1, workers))
    students = collect(root)
    taken: set[str] = set()
    plans: list[tuple[str, str, dict[str, StudentNotebook], list[tuple[str, str]]]] = []
    jobs: list[_Job] = []
    for submission in students:
        chosen, ignored = match(submission, assignment, root)
        plans.append((submission.student, safe_name(submission.student, taken), chosen, ignored))
        for notebook in assignment.notebooks:
            file = chosen.get(notebook.name)
            if file is not None:
                jobs.append(_Job(submission.student, notebook.name, file,
                                 relative_name(file.path, root)))
    # Long notebooks first (more code cells: a fair guess), so that no worker is left running a
    # long one alone at the end.
    jobs.sort(key=lambda j: (j.file.error is None, len(j.file.cells)), reverse=True)
    done: dict[tuple[str, str], tuple[NotebookReport, dict]] = {}
    if on_progress:
        on_progress(0, len(jobs), "")
    pool = ThreadPoolExecutor(max_workers=plan.workers, thread_name_prefix="smtpkit-grade")
    try:
        futures = {pool.submit(_run_job, job, plan): job for job in jobs}
        for count, future in enumerate(as_completed(futures), start=1):
            job = futures[future]
            done[(job.student, job.notebook)] = future.result()
            if on_progress:
                on_progress(count, len(jobs), f"{job.student}/{job.notebook}")
    except BaseException:  # Ctrl-C: drop the queue, do not wait for it
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    reports = []
    for student, slug, _, ignored in plans:
        notebooks, results, seconds = [], {}, {}
        for notebook in assignment.notebooks:
            if (student, notebook.name) in done:
                report, judged = done[(student, notebook.name)]
            else:
                report = NotebookReport(notebook.name, None, "missing", "not submitted")
                judged = {e.id: (unjudged(e, "not attempted", "not submitted"), 0.0)
                          for e in assignment.exercises_of(notebook.name)}
            notebooks.append(report)
            for exercise_id, (result, spent) in judged.items():
                results[exercise_id], seconds[exercise_id] = result, spent
        reports.append(StudentReport(student, slug, notebooks, results, seconds, ignored))
    return ClassReport(assignment, reports, limits, plan.workers, time.monotonic() - started,
                       sandbox)

