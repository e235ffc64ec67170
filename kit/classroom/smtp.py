"""The classroom's SMTP session: the lab server's `LabSMTP`, with the limits of `PeerGuard`.

Composition over copying: the dialogue, the transcript and the behaviours are `LabSMTP`'s;
this subclass only stands at four doors (see `kit.classroom.limits` for the codes and RFCs):

* the greeting: a connection over its address's session or connection limit gets ``421 4.7.0``
  and is closed *before* a session exists, so a flood costs no transcript and no memory;
* each recognised command (aiosmtpd's ``_smtp_methods``): over the address's commands a
  minute, ``421 4.7.0`` and close;
* each reply: a session's syntax and sequence errors (500-504, 555) are counted; over the
  limit, ``421 4.7.0`` and close;
* each chunk read: a command line longer than `LINE_CAP` octets (a 10 MB line; RFC 5321
  §4.5.3.1.4 allows 512) or a session over its octet budget gets ``421 4.7.0`` and is closed;
  what was over is never recorded, so the transcript keeps at most `LINE_CAP` octets of it.
  Message data (after ``354``, and the octets of a ``BDAT`` chunk, RFC 3030 §2) is not a command
  line: the message size limit and the lab server's own data budget bound it.
"""

from __future__ import annotations

import functools
import time

from ..protocol import ProtocolError, parse_bdat
from ..server.controller import LabController
from ..server.smtp import LabSMTP
from .limits import PeerGuard

#: Replies counted as the client's mistakes in the dialogue itself (RFC 5321 §4.2.2, §4.2.4).
ERROR_CODES = ("500", "501", "502", "503", "504", "555")
#: Octets of one command line beyond which the session is closed: eight times RFC 5321's 512.
LINE_CAP = 4096


class ClassroomSMTP(LabSMTP):
    """One session of the classroom server."""

    def __init__(self, handler, *, guard: PeerGuard, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.guard = guard
        self._ip = ""
        self._errors = 0
        self._octets = 0
        self._closing = False
        self._in_message = False  # after 354, until the next reply
        self._line = b""  # the start of the command line being read
        self._run = 0  # its length so far
        self._chunk_left = 0  # octets of a BDAT chunk still to come
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
        code = (status[:3].decode("ascii", "replace") if isinstance(status, bytes) else status[:3])
        self._in_message = code == "354"
        await super().push(status)
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
            self._refuse_data(f"more than {budget:,} octets in one session", "too many octets in one session")
            return
        if not self._in_message and self._line_too_long(data):
            self._refuse_data(f"command line longer than {LINE_CAP:,} octets (RFC 5321 §4.5.3.1.4 allows 512)",
                              "a command line far too long")
            return
        super().data_received(data)

    def _line_too_long(self, data: bytes) -> bool:
        """Follow the command lines in ``data``: True when one grows past `LINE_CAP`."""
        i, size = 0, len(data)
        while i < size:
            if self._chunk_left:  # BDAT octets: data, not a line
                step = min(self._chunk_left, size - i)
                self._chunk_left -= step
                i += step
                continue
            end = data.find(b"\n", i)
            stop = size if end < 0 else end
            if self._run < 64:
                self._line += data[i:min(stop, i + 64 - self._run)]
            self._run += stop - i
            if self._run > LINE_CAP:
                return True
            if end < 0:
                return False
            if self._line[:5].upper() == b"BDAT ":
                try:
                    self._chunk_left = parse_bdat(self._line[5:].decode("ascii").strip())[0]
                except (ProtocolError, UnicodeDecodeError):
                    pass  # answered 501: no chunk follows
            self._line, self._run, i = b"", 0, end + 1
        return False

    def _refuse_data(self, why: str, reason: str) -> None:
        """Answer ``421 4.7.0`` from inside `data_received` (no await there) and close."""
        self._closing = True
        self.guard.count(reason)
        line = f"421 4.7.0 {self.hostname} Error: {why}, closing connection"
        if self.transcript is not None:
            self.lab.record(self.transcript, "server", line)
        if self.transport is not None:
            self.transport.write(f"{line}\r\n".encode())
        self._note_and_close(f"closed: {reason}")


class ClassroomController(LabController):
    """`LabController` whose sessions are `ClassroomSMTP`, sharing one `PeerGuard`."""

    def __init__(self, handler, lab, sock, *, guard: PeerGuard, **kwargs) -> None:
        super().__init__(handler, lab, sock, **kwargs)
        self.guard = guard

    def factory(self) -> ClassroomSMTP:
        return ClassroomSMTP(self.handler, guard=self.guard, lab=self.lab, loop=self.loop, **self.SMTP_kwargs)

    #: The room exists for the other users: the per-user guard of a student's lab server on a
    #: hub (``SMTPKIT_LAB_OWNER_ONLY``) does not apply; its own limits per address do.
    owner_guard = False
