"""A class on one hub: ``smtpkit hub`` runs JupyterHub for a seminar on one machine.

Each module has one job:

- ``roster``: the class list (one student per line, or an LMS's CSV export) -> account names;
- ``accounts``: those names -> unprivileged local accounts (created and removed by the command,
  never touching an account it did not create);
- ``passwords``: one password per student, printed once for the instructor, kept only hashed;
  ``authenticator`` checks them inside JupyterHub;
- ``homes``: writing into a student's home without following links (the release of the course,
  the feedback pages) and never over what is there; ``feedback`` returns a grading run's pages;
- ``runtime``: the students' Python environment (the release's dependencies; the kit from the
  release, without the reference solutions);
- ``limits``: a cgroup per student server (memory, processes, CPU where the machine delegates it);
- ``spawner``: JupyterHub's LocalProcessSpawner with those limits and the release;
- ``config``: the hub's settings (ports, TLS, spawner, idle culler) from one JSON file;
- ``collect``: the students' notebooks -> the layout ``smtpkit grade`` reads;
- ``state``: where the hub keeps its files; ``process``: running and stopping JupyterHub;
- ``command``: ``smtpkit hub start|stop|collect|return|remove-accounts``.

Why local accounts: a single-user Jupyter server must not run as root, and an account per student
is what keeps one student's files and processes from another's. See docs/HUB.md.
"""

from __future__ import annotations

__all__: list[str] = []
