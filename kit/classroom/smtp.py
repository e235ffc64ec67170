"""The classroom's SMTP session: the lab server's `LabSMTP`, with the limits of `PeerGuard`.

Composition over copying: the dialogue, the transcript and the behaviours are `LabSMTP`'s;
this subclass only stands at four doors (see `kit.classroom.limits` for the codes and RFCs):

* the greeting: a connection over its address's session or connection limit gets ``421 4.7.0``
  and is closed *before* a session exists, so a flood costs no transcript and no memory;
* each recognised command (aiosmtpd's ``_smtp_methods``): over the address's commands a
  minute, ``421 4.7.0`` and close;
* each reply: a session's syntax and sequence errors (500-504, 555) are counted; over the
  limit, ``421 4.7.0`` and close;
* each chunk read: a session over its octet budget (a 10 MB line) gets ``421 4.7.0`` and is
  closed; what was over is never recorded.
"""

from __future__ import annotations

import functools
import time

from ..server.controller import LabController
from ..server.smtp import LabSMTP
from .limits import PeerGuard

#: Replies counted as the client's mistakes in the dialogue itself (RFC 5321 §4.2.2, §4.2.4).
ERROR_CODES = ("500", "501", "502", "503", "504", "555")


class ClassroomSMTP(LabSMTP):
    """One session of the classroom server."""

    def __init__(self, handler, *, guard: PeerGuard, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.guard = guard
        self._ip = ""
        self._errors = 0
        self._octets = 0
        self._closing = False
        self._smtp_methods = {verb: self._budgeted(method) for verb, method in self._smtp_methods.items()}

    async def _handle_client(self) -> None:
        self._ip = self.session.peer[0] if self.session and self.session.peer else ""
        refusal = self.guard.admit(self._ip, time.monotonic())
        if refusal is not None:  # no session, no transcript: the dashboard counts it instead
            self._closing = True
            self.transport.write(f"421 4.7.0 {self.hostname} Error: {refusal}\r\n".encode())
            self.transport.close()
            return
        try:
            await super()._handle_client()
        finally:
            self.guard.release(self._ip)

    def _budgeted(self, method):
        """``method`` (an ``smtp_*`` bound method) behind the address's commands-a-minute budget."""

        @functools.wraps(method)  # keeps __smtp_syntax__ and friends, which HELP reads
        async def run(arg: str | None) -> None:
            if self.guard.take_command(self._ip, time.monotonic()):
                await method(arg)
                return
            limit = self.guard.limits.commands_per_minute
            await self._close_with(f"421 4.7.0 {self.hostname} Error: too many commands from {self._ip} "
                                   f"(limit {limit} a minute), closing connection",
                                   "closed: too many commands a minute")

        return run

    async def push(self, status: str | bytes) -> None:
        await super().push(status)
        code = (status[:3].decode("ascii", "replace") if isinstance(status, bytes) else status[:3])
        if code in ERROR_CODES and not self._closing:
            self._errors += 1
            if self._errors >= self.guard.limits.errors_per_session:
                self.guard.count("too many errors in one session")
                await self._close_with(f"421 4.7.0 {self.hostname} Error: too many errors "
                                       f"({self._errors}), closing connection", "closed: too many errors")

    async def _close_with(self, reply: str, note: str) -> None:
        self._closing = True
        await super().push(reply)
        self._note_and_close(note)

    def _note_and_close(self, note: str) -> None:
        if self.transcript is not None:
            self.lab.record(self.transcript, "info", note)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # decided to close: nothing more is read or recorded
        self._octets += len(data)
        budget = self.guard.limits.session_octets
        if self._octets > budget:
            self._closing = True
            self.guard.count("too many octets in one session")
            line = f"421 4.7.0 {self.hostname} Error: more than {budget:,} octets in one session, closing connection"
            if self.transcript is not None:
                self.lab.record(self.transcript, "server", line)
            if self.transport is not None:
                self.transport.write(f"{line}\r\n".encode())
            self._note_and_close("closed: too many octets in one session")
            return
        super().data_received(data)


class ClassroomController(LabController):
    """`LabController` whose sessions are `ClassroomSMTP`, sharing one `PeerGuard`."""

    def __init__(self, handler, lab, sock, *, guard: PeerGuard, **kwargs) -> None:
        super().__init__(handler, lab, sock, **kwargs)
        self.guard = guard

    def factory(self) -> ClassroomSMTP:
        return ClassroomSMTP(self.handler, guard=self.guard, lab=self.lab, loop=self.loop, **self.SMTP_kwargs)
