"""What a grading run may use: the limits of a student's kernel, and how many at a time.

Kept free of heavy imports: ``smtpkit grade --help`` reads its defaults from here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "NETWORK_MODES", "default_workers", "sandbox_paths"]

_MiB = 1024 * 1024
#: ``--network``: isolate kernels, share the grader's network, or isolate where the machine allows it.
NETWORK_MODES = ("auto", "isolated", "shared")


@dataclass(frozen=True)
class Limits:
    """What a student's kernel may use. ``cpu_seconds`` 0 means: as long as the wall clock."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    #: Caps each exercise's own ``time_limit`` per call (None: the exercise decides).
    call_timeout: float | None = None
    #: RLIMIT_AS, virtual memory: an idle course kernel maps ~1-1.5 GB (threads, arenas).
    memory_mb: int = 4096
    cpu_seconds: int = 0
    file_size_mb: int = 64
    #: Private network, mount and PID namespaces and no capabilities (see ``sandbox.py``).
    isolate: bool = True
    #: With ``isolate``: paths the kernel sees as empty (submissions, hidden tests, solutions,
    #: the output folder) and paths it may only read (the Python installation, the kit).
    hide: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    #: After SIGINT, how long a cell or call may take to stop before the kernel is killed.
    grace: float = 2.0
    #: Kernel start-up (import of IPython and friends) may take this long.
    startup_timeout: float = 60.0

    def call_limit(self, exercise_limit: float) -> float:
        """Seconds one call of an exercise may take."""
        return min(exercise_limit, self.call_timeout) if self.call_timeout else exercise_limit

    @property
    def cpu_limit(self) -> int:
        """CPU seconds a kernel may use."""
        return self.cpu_seconds or int(self.notebook_timeout) + 1

    def sandbox_args(self, own: str | None = None) -> list[str]:
        """The ``sandbox.py`` options for these limits; ``own`` is the kernel's folder."""
        args = ["--memory", str(self.memory_mb * _MiB), "--cpu", str(self.cpu_limit),
                "--fsize", str(self.file_size_mb * _MiB)]
        if not self.isolate:
            return args
        args.append("--isolate")
        if own:
            args += ["--own", own]
        for path in self.read_only:
            args += ["--read-only", path]
        for path in self.hide:
            args += ["--hide", path]
        return args


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def sandbox_paths(submissions: Path, notebooks: Path, out: Path | None = None,
                  hidden: Path | None = None, extra_hide: tuple[str, ...] = ()
                  ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(hide, read_only) for isolated kernels.

    Hidden: the submissions (no student reads another's notebook), the output folder, the
    hidden tests, and, when the kit runs from a project checkout (an editable install), every
    entry of that project but ``kit/``, the released notebooks and a virtual environment inside
    it (``solutions/``, ``tests/``, ``.git``...). Read-only: the whole file system but the
    kernel's private ``/tmp``, ``/var/tmp`` and ``/dev/shm``, so nothing a kernel writes outlives
    it or reaches the next one (or the next grading run)."""
    import kit

    kit_dir = Path(kit.__file__).resolve().parent
    project = kit_dir.parent
    keep = {kit_dir, Path(notebooks).resolve(), Path(sys.prefix).resolve()}
    hide = {Path(submissions).resolve(), *(Path(p).resolve() for p in extra_hide)}
    if out is not None:
        hide.add(Path(out).resolve())
    if hidden is not None:
        hide.add(Path(hidden).resolve())
    if (project / "pyproject.toml").is_file():
        for entry in project.iterdir():
            resolved = entry.resolve()
            if not any(k == resolved or k.is_relative_to(resolved) for k in keep):
                hide.add(resolved)
    return tuple(sorted(map(str, hide))), ("/",)
