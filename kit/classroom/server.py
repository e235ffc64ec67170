"""`ClassroomServer`: a `LabServer` whose sessions keep the classroom's limits.

Everything else (Maildir, transcripts, behaviours, the life cycle, stopping with 421) is
`LabServer`'s; only the controller that makes the sessions differs (`_controller_for`).
"""

from __future__ import annotations

from typing import Any

from ..server import LabServer
from ..server.handler import LabHandler
from .limits import Limits, PeerGuard
from .smtp import ClassroomController


class ClassroomServer(LabServer):
    """A lab server for a whole class: ``ClassroomServer(limits=Limits(), **LabServer settings)``."""

    def __init__(self, *, limits: Limits | None = None, **settings: Any) -> None:
        self.limits = limits or Limits()
        settings.update(max_message_size=self.limits.message_size, max_recipients=self.limits.recipients,
                        idle_timeout=self.limits.idle_timeout,
                        # the guard refuses first with its own words; the lab server's cap stays as a backstop
                        max_sessions=self.limits.total_sessions + 1)
        super().__init__(**settings)
        self.guard = PeerGuard(self.limits)

    def _controller_for(self, sock: Any) -> ClassroomController:
        """Classroom sessions (the peer guard's limits) instead of plain lab sessions."""
        return ClassroomController(LabHandler(self.config, self.mailbox), self._state, sock,
                                   guard=self.guard, ready_timeout=5.0, **self._smtp_options())
