"""JupyterHub's LocalProcessSpawner, with a student's limits (`limits`).

Each student's server runs as the student's own account (LocalProcessSpawner switches user
before it starts the server); once started, its process goes into the student's cgroup, so
the kernels it starts are counted too. Without cgroups, each server gets a process limit
(RLIMIT_NPROC for the student's account) and the hub log says that memory is not limited.
"""

from __future__ import annotations

import resource

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Float, Integer

from .limits import Limits, StudentCgroup, cgroups_available

__all__ = ["CourseSpawner"]


class CourseSpawner(LocalProcessSpawner):
    """A student's Jupyter server as their own user, in their own cgroup."""

    memory_mb = Integer(1024, help="memory of a student's server and kernels together, MB").tag(config=True)
    processes = Integer(256, help="processes a student may run at once").tag(config=True)
    cpus = Float(1.0, help="CPU cores a student may use (cgroup v2 cpu.max)").tag(config=True)

    def _limits(self) -> Limits:
        return Limits(self.memory_mb, self.processes, self.cpus)

    def make_preexec_fn(self, name):
        switch_user = super().make_preexec_fn(name)
        fallback = not cgroups_available()
        processes = self.processes

        def preexec() -> None:
            if fallback:
                resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
            switch_user()

        return preexec

    async def start(self):
        started = await super().start()
        parents = cgroups_available()
        if parents:
            self._cgroup = StudentCgroup(self.user.name, self._limits(), parents)
            try:
                applied = self._cgroup.place(self.pid)
                self.log.info("smtpkit: %s limited to %s", self.user.name, ", ".join(applied))
            except OSError as exc:
                self.log.warning("smtpkit: no cgroup for %s: %s", self.user.name, exc)
        else:
            self.log.warning("smtpkit: no cgroups here: %s's memory is not limited, processes "
                             "limited to %d", self.user.name, self.processes)
        return started

    async def stop(self, now=False):
        await super().stop(now=now)
        cgroup = getattr(self, "_cgroup", None)
        if cgroup is not None:
            cgroup.remove()
