"""A reader of a server's spool: takes each committed message once, in commit order.

A lab server that passes mail on (an MSA, an MX) stores what it accepted in its Maildir
and appends the envelope as one line to its envelope log (`kit.server.mailbox`) once the
message is on disk. The agent behind it (Postfix's ``pickup`` and ``qmgr``, an MDA) takes
it from there. `SpoolReader` reads that log from where it stopped, so a round costs what
is new, not what the spool has held since the start; no directory is listed and nothing
polls: `Mailbox.on_commit` says when there is something to take.

::

    reader = SpoolReader(server.mailbox, host=server.config.hostname)
    server.mailbox.on_commit(wake_me)      # called after each commit
    for item in reader.take():             # what is new since the last take
        item.envelope.mail_from, item.message_id, item.content
"""

from __future__ import annotations

import email.policy
import json
import os
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from .mailbox import ENVELOPE_LOG, Envelope, Mailbox

__all__ = ["Spooled", "SpoolReader"]

_headers = BytesHeaderParser(policy=email.policy.default)


@dataclass(frozen=True)
class Spooled:
    """One message taken from a spool: its Maildir key, envelope and bytes (as stored, with
    the local line end), and the host whose spool it was."""

    key: str
    envelope: Envelope
    content: bytes
    host: str

    @property
    def subject(self) -> str:
        return str(_headers.parsebytes(self.content).get("Subject", "") or "")

    @property
    def message_id(self) -> str:
        """The header's Message-ID, or one made of the queue ID and the host (as Postfix
        names a message without one in its logs)."""
        found = _headers.parsebytes(self.content).get("Message-ID")
        return str(found) if found else f"<{self.envelope.queue_id}@{self.host}>"


class SpoolReader:
    """Takes what ``mailbox`` committed since the last `take`; ``host`` names the spool."""

    def __init__(self, mailbox: Mailbox, host: str) -> None:
        self.mailbox = mailbox
        self.host = host
        self._log = mailbox.path / ENVELOPE_LOG
        self._offset = 0
        self.taken = 0

    def _size(self) -> int:
        try:
            return os.stat(self._log).st_size
        except FileNotFoundError:
            return 0

    def pending(self) -> bool:
        """Is there a committed message not yet taken? (One ``stat``, no listing.)"""
        size = self._size()
        if size < self._offset:  # the spool was cleared: start again from the top
            self._offset = 0
        return size > self._offset

    def take(self, limit: int | None = None) -> list[Spooled]:
        """The messages committed since the last call, oldest first (at most ``limit``)."""
        if not self.pending():
            return []
        with open(self._log, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        out: list[Spooled] = []
        consumed = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n") or (limit is not None and len(out) >= limit):
                break  # a line still being written, or enough for now: the rest next time
            record = json.loads(line)
            key = record.pop("key")
            content = self._read(key)
            consumed += len(line)
            if content is not None:
                out.append(Spooled(key, Envelope.from_dict(record), content, self.host))
        self._offset += consumed
        self.taken += len(out)
        return out

    def _read(self, key: str) -> bytes | None:
        for sub in ("new", "cur"):
            try:
                data = (self.mailbox.path / sub / key).read_bytes()
            except FileNotFoundError:
                continue
            return data
        return None  # deleted meanwhile (a cleared spool): nothing to take

    def __repr__(self) -> str:
        return f"<SpoolReader {self.host}: {self.taken} taken>"
