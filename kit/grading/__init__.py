"""Grading a class: ``smtpkit grade`` and the pieces it is made of.

Student code runs in a fresh kernel per notebook; the grader judges from its own process, so
expected answers and hidden tests never enter a student's process and nothing a notebook prints,
stores or patches can forge a grade. One module per job:

- ``collect``: find the submissions (``alice.ipynb`` or ``alice/*.ipynb``), match files to the
  released notebooks by name, then by content.
- ``notebook``: read a submission defensively (code and exercise ids only; outputs and other
  metadata dropped); choose the cell that defines each exercise's function.
- ``assignment``: the released notebooks' exercises, with the instructor's hidden tests.
- ``settings``: the limits of a kernel and its environment.
- ``isolation`` / ``sandbox``: who runs a kernel and what it may see and use (the grader's
  side, decided once per run), and the launcher that sets it up (an unprivileged user,
  bubblewrap, a private loopback the judge's servers listen on).
- ``problems`` / ``safe_files``: typed records of what went wrong; reading files a kernel
  could have touched (no links, sizes capped).
- ``kernel``: run a notebook in its own kernel (nbclient): timeouts per cell and per call, a
  wall clock per notebook that kills the process group, dead kernels noticed and replaced.
- ``remote``: the ``call`` protocol: arguments in as JSON, plain values (or errors) out.
- ``judge``: ``kit.exercises.run_exercise`` with a remote ``call``, in the grader's process.
- ``grade``: the class, ``workers`` notebooks at a time; ``api.grade`` does everything.
- ``gradebook`` / ``feedback``: gradebook.csv, results.json, lms.csv, Gradescope JSON, and
  one HTML feedback page per student (hidden tests redacted).
- ``progress``, ``command``: the progress bar and the ``smtpkit grade`` command line.

The formats and the hidden-test file are documented in ``docs/GRADING.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> module; imported on first use, so ``smtpkit grade`` can set up its process before
#: the heavy imports (nbformat, nbclient) happen.
_EXPORTS = {
    "grade": "api",
    "write_outputs": "api",
    "require_sandbox": "api",
    "Sandbox": "isolation",
    "RunPlan": "grade",
    "grade_class": "grade",
    "ClassReport": "grade",
    "StudentReport": "grade",
    "NotebookReport": "grade",
    "load_assignment": "assignment",
    "Assignment": "assignment",
    "AssignedNotebook": "assignment",
    "collect": "collect",
    "Submission": "collect",
    "Limits": "kernel",
    "KernelSession": "kernel",
    "GradingError": "errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
