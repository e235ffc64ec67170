"""What a grading run may use: the limits of a student's kernel, and how many at a time.

Kept free of heavy imports: ``smtpkit grade --help`` reads its defaults from here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = ["Limits", "default_workers"]

_MiB = 1024 * 1024


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

    def rlimits(self) -> dict[str, int]:
        """The launcher's per-process limits: address space, CPU seconds, file size."""
        return {"as": self.memory_mb * _MiB, "cpu": self.cpu_limit,
                "fsize": self.file_size_mb * _MiB}

    @staticmethod
    def kernel_env(isolated: bool, work: str) -> dict[str, str]:
        """A kernel's whole environment: never the grader's (its tokens and passwords stay
        out), only a path, a home, a language and the kit's own variables."""
        home = "/tmp/home" if isolated else work
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
               "HOME": home, "TMPDIR": "/tmp" if isolated else work,
               "LANG": os.environ.get("LANG") or "C.UTF-8", "MPLBACKEND": "agg",
               "SMTPKIT_GRADING": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        for key in ("SMTPKIT_LANG",):
            if os.environ.get(key):
                env[key] = os.environ[key]
        return env


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
