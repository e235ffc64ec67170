"""The MDA: files what a domain's MX servers accepted into each user's own Maildir.

The MX answered ``250`` and stored the message in its spool; the delivery agent (Postfix's
``local`` or ``virtual``, Dovecot's LDA or LMTP server) takes it from there. For each
recipient it writes one copy into ``<root>/<domain>/<user>/`` (a Maildir: ``tmp/``,
``new/``, ``cur/``), with two fields on top, as Postfix's ``local`` writes them:

* ``Return-Path: <sender>``: the envelope sender, written at final delivery (RFC 5321 §4.4);
* ``Delivered-To: user@domain``: which mailbox got it (RFC 9228), which also stops loops.

A recipient without a mailbox cannot be delivered: the MDA reports it through its site's
outbound `MTA` as a DSN (``Status: 5.1.1``), unless the sender is ``<>`` or NOTIFY says no.
That happens only when the MX accepts any local part (``verify_recipients=False``); by
default the MX knows the users and refuses unknown ones at RCPT (``550 5.1.1``), the
sender's MTA bounces, and no backscatter is made. A recipient who asked ``NOTIFY=SUCCESS``
gets a "delivered" DSN (RFC 3461 §4.1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..server import LabServer
from ..server.mailbox import Envelope, Mailbox
from .bounce import wants_dsn
from .content import drop_return_path, header_fields, prepend_fields
from .journal import Event, Journal
from .mta import MTA
from .queue import DELIVERED, FAILED, QueueEntry, recipients_from

__all__ = ["MDA"]


class MDA:
    """Delivery into per-user Maildirs for ``domain``; ``name`` labels it in the journal."""

    def __init__(self, name: str, domain: str, root: str | Path, users: Iterable[str], *, journal: Journal,
                 outbound: MTA | None = None, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.domain = domain.lower()
        self.root = Path(root)
        self.journal = journal
        self.outbound = outbound
        self.clock = clock
        self._sources: list[tuple[LabServer, set[str]]] = []
        self.mailboxes: dict[str, Mailbox] = {}
        for user in [*users, "postmaster"]:  # RFC 5321 §4.5.1: postmaster MUST exist
            address = f"{user.lower()}@{self.domain}"
            if address not in self.mailboxes:
                self.mailboxes[address] = Mailbox(self.root / self.domain / user.lower(), durable=False)

    def watch(self, server: LabServer) -> None:
        """Deliver what ``server`` (an MX of this domain) accepts."""
        self._sources.append((server, set()))

    def mailbox(self, address: str) -> Mailbox:
        try:
            return self.mailboxes[address.lower()]
        except KeyError:
            raise KeyError(f"no mailbox {address}; mailboxes: {', '.join(self.mailboxes)}") from None

    def _new_keys(self, server: LabServer, seen: set[str]) -> list[str]:
        return [k for k in server.mailbox.keys()
                if k not in seen and server.mailbox.envelope(k) is not None]

    def has_work(self) -> bool:
        return any(self._new_keys(s, seen) for s, seen in self._sources)

    def _address(self, rcpt: str) -> str:
        return f"postmaster@{self.domain}" if rcpt.lower() == "postmaster" else rcpt.lower()

    def tick(self) -> int:
        count = 0
        for server, seen in self._sources:
            for key in self._new_keys(server, seen):
                seen.add(key)
                self._deliver(server, key)
                count += 1
        return count

    def _deliver(self, server: LabServer, key: str) -> None:
        env = server.mailbox.get(key).envelope
        content = drop_return_path(server.mailbox.raw(key))
        fields = header_fields(content)
        mid = fields["Message-ID"] or f"<{env.queue_id}@{server.config.hostname}>"
        recipients = recipients_from(env.rcpt_tos, env.rcpt_options)
        for r in recipients:
            now = self.clock()
            address = self._address(r.address)
            box = self.mailboxes.get(address)
            if box is None:
                r.state, r.status, r.diagnostic_type = FAILED, "5.1.1", "X-smtpkit"
                r.reply = f"unknown user: \"{address.partition('@')[0]}\""
                self.journal.add(Event(now, mid, "unknown user", self.name, address, (r.address,), None, "failed",
                                       f"{self.name} has no mailbox {address}", subject=fields["Subject"],
                                       via=server.config.hostname))
                continue
            data = prepend_fields(content, [("Return-Path", f"<{env.mail_from}>"), ("Delivered-To", address)])
            box.deliver(data, Envelope(
                mail_from=env.mail_from, rcpt_tos=(address,), peer=server.config.hostname, helo=env.helo,
                received_at=now, queue_id=env.queue_id, mail_options=env.mail_options, protocol="local",
                rcpt_options={address: env.rcpt_options.get(r.address, ())}))
            r.state = DELIVERED
            self.journal.add(Event(now, mid, "filed", self.name, address, (r.address,), None, "ok",
                                   f"into the Maildir of {address} (from {server.config.hostname})",
                                   subject=fields["Subject"], via=server.config.hostname))
        self._report(server, env, content, mid, fields["Subject"], recipients)

    def _report(self, server: LabServer, env: Envelope, content: bytes, mid: str, subject: str,
                recipients: list) -> None:
        """DSNs for failed recipients and for those who asked NOTIFY=SUCCESS."""
        if self.outbound is None:
            return
        params = {k.upper(): v for k, _, v in (o.partition("=") for o in env.mail_options)}
        entry = QueueEntry(queue_id=env.queue_id, sender=env.mail_from, recipients=recipients, content=content,
                           message_id=mid, subject=subject, arrived=env.received_at, received_from=env.helo,
                           ret=params.get("RET"), envid=params.get("ENVID"), last_try=self.clock())
        failed = [r for r in recipients if r.state == FAILED]
        if failed:
            self.outbound.report(entry, failed, "failed", reporting_mta=server.config.hostname)
        succeeded = [r for r in recipients if r.state == DELIVERED and wants_dsn(r.notify, "delivered")]
        if succeeded:
            self.outbound.report(entry, succeeded, "delivered", reporting_mta=server.config.hostname)

    def __repr__(self) -> str:
        return f"<MDA {self.name}: {', '.join(self.mailboxes)}>"
