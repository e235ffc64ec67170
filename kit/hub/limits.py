"""Memory, processes and CPU per student: a cgroup for each student's server.

The hub runs as root and places each student's Jupyter server (and so every kernel it starts)
in a cgroup of its own, where the machine offers one (the same places the grading sandbox
uses, `kit.grading.isolation.cgroup_parents`): a memory limit with children included, a
process count, and a CPU quota (cgroup v1 ``cpu.cfs_quota_us``, or v2 ``cpu.max`` when the
``cpu`` controller is delegated). A student who fills memory then loses their own kernel, not the seminar's machine.
Where no cgroup can be made, the spawner falls back to a per-user process limit (RLIMIT_NPROC)
and says that memory is not limited. With SystemdSpawner, systemd does all of this itself
(``mem_limit``, ``cpu_limit``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "StudentCgroup", "cgroups_available"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one student's server and kernels may use together."""

    memory_mb: int = 1024
    processes: int = 256
    cpus: float = 1.0


def _cpu_parent() -> str | None:
    """This process's cgroup in a writable cgroup v1 ``cpu`` hierarchy, or None."""
    mount = own = None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                extra = right.split()
                if len(extra) >= 3 and extra[0] == "cgroup" and "cpu" in extra[2].split(","):
                    mount = left.split()[4]
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if "cpu" in names.split(","):
                    own = path
    except OSError:
        return None
    if mount is None or own is None:
        return None
    parent = os.path.join(mount, own.lstrip("/"))
    return parent if os.access(os.path.join(parent, "cgroup.procs"), os.W_OK) else None


def cgroups_available() -> dict[str, str]:
    """Where student cgroups can be made: memory and processes where the grading sandbox makes
    its own (`kit.grading.isolation.cgroup_parents`), and on cgroup v1 the ``cpu`` hierarchy."""
    if os.geteuid() != 0:
        return {}
    from ..grading.isolation import cgroup_parents

    parents = dict(cgroup_parents())
    cpu = None if "unified" in parents else _cpu_parent()
    if cpu is not None:
        parents["cpu"] = cpu
    return parents


def _write(folder: str, name: str, value: str) -> bool:
    try:
        with open(os.path.join(folder, name), "w", encoding="ascii") as f:
            f.write(value)
        return True
    except OSError:
        return False


class StudentCgroup:
    """The cgroups of one student's server: ``place(pid)`` after it started, ``remove()``
    after it stopped."""

    def __init__(self, account: str, limits: Limits, parents: dict[str, str]) -> None:
        self.folders = [os.path.join(parent, f"smtpkit-hub-{account}") for parent in parents.values()]
        self.kinds = list(parents)
        self.limits = limits
        self.applied: list[str] = []

    def place(self, pid: int) -> list[str]:
        """Make the cgroups, set the limits, move ``pid`` in; return what was limited."""
        memory = str(self.limits.memory_mb * _MiB)
        applied = []
        for kind, folder in zip(self.kinds, self.folders, strict=True):
            os.makedirs(folder, exist_ok=True)
            if kind == "memory" and _write(folder, "memory.limit_in_bytes", memory):
                applied.append(f"memory {self.limits.memory_mb} MB")
            if kind == "unified":
                if _write(folder, "memory.max", memory):
                    applied.append(f"memory {self.limits.memory_mb} MB")
                _write(folder, "memory.swap.max", "0")
                period = 100_000
                if _write(folder, "cpu.max", f"{int(self.limits.cpus * period)} {period}"):
                    applied.append(f"cpu {self.limits.cpus:g}")
            if kind == "cpu" and _write(folder, "cpu.cfs_period_us", "100000") \
                    and _write(folder, "cpu.cfs_quota_us", str(int(self.limits.cpus * 100_000))):
                applied.append(f"cpu {self.limits.cpus:g}")
            if kind in ("pids", "unified") and _write(folder, "pids.max", str(self.limits.processes)):
                applied.append(f"processes {self.limits.processes}")
            if not _write(folder, "cgroup.procs", str(pid)):
                raise OSError(f"cannot move process {pid} into {folder}")
        self.applied = applied
        return applied

    def remove(self) -> None:
        """Remove the (now empty) cgroups; a cgroup still in use stays."""
        for folder in self.folders:
            try:
                Path(folder).rmdir()
            except OSError:
                pass
