"""`ClassroomServer`: a `LabServer` whose sessions keep the classroom's limits.

Everything else (Maildir, transcripts, behaviours, stopping with 421) is `LabServer`'s. Only
`start` differs: `LabServer.start` builds a `LabController` directly, so this override builds
a `ClassroomController` the same way (a hook in `LabServer` for the controller class would let
this file shrink to its constructor).
"""

from __future__ import annotations

import weakref
from typing import Any

from ..server import LabServer
from ..server.controller import bind_socket
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

    def start(self) -> ClassroomServer:
        """Bind and serve (as `LabServer.start`, with classroom sessions); returns self."""
        with self._lock:
            if self._controller is not None:
                return self
            sock = bind_socket(self.config.host, self.config.port or 0)
            controller = ClassroomController(LabHandler(self.config, self.mailbox), self._state, sock,
                                             guard=self.guard, ready_timeout=5.0, **self._smtp_options())
            try:
                controller.start()
            except BaseException:
                controller.stop(no_assert=True)
                sock.close()
                raise
            self._controller = controller
            self._address = sock.getsockname()[:2]
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, LabServer._cleanup, controller, self.mailbox, self._tmp)
            return self
