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

from ..i18n import N_, _
from ..server import Envelope, LabServer, Mailbox, Spooled, SpoolReader
from .bounce import read_dsn, wants_dsn
from .content import prepend_fields
from .events import Event
from .journal import Journal
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
        self._spools: list[SpoolReader] = []
        self.mailboxes: dict[str, Mailbox] = {}
        for user in [*users, "postmaster"]:  # RFC 5321 §4.5.1: postmaster MUST exist
            address = f"{user.lower()}@{self.domain}"
            if address not in self.mailboxes:
                self.mailboxes[address] = Mailbox(self.root / self.domain / user.lower(), durable=False)

    def watch(self, server: LabServer) -> SpoolReader:
        """Deliver what ``server`` (an MX of this domain) accepts."""
        reader = SpoolReader(server.mailbox, server.config.hostname)
        self._spools.append(reader)
        return reader

    def mailbox(self, address: str) -> Mailbox:
        try:
            return self.mailboxes[address.lower()]
        except KeyError:
            raise KeyError(_("no mailbox {address}; mailboxes: {mailboxes}").format(
                address=address, mailboxes=", ".join(self.mailboxes))) from None

    def has_work(self) -> bool:
        return any(s.pending() for s in self._spools)

    def _address(self, rcpt: str) -> str:
        return f"postmaster@{self.domain}" if rcpt.lower() == "postmaster" else rcpt.lower()

    def tick(self) -> int:
        """File what the MX servers accepted since the last round; returns how many."""
        count = 0
        for spool in self._spools:
            for item in spool.take():
                self._deliver(item)
                count += 1
        return count

    def _deliver(self, item: Spooled) -> None:
        env, content, mid, subject, via = item.envelope, item.content, item.message_id, item.subject, item.host
        recipients = recipients_from(env.rcpt_tos, env.rcpt_options)
        for r in recipients:
            now = self.clock()
            address = self._address(r.address)
            box = self.mailboxes.get(address)
            if box is None:
                r.state, r.status, r.diagnostic_type = FAILED, "5.1.1", "X-smtpkit"
                r.reply = f"unknown user: \"{address.partition('@')[0]}\""  # the DSN's diagnostic: English
                self.journal.add(Event(now, mid, "unknown user", self.name, address, (r.address,), None, "failed",
                                       N_("{mda} has no mailbox {address}", mda=self.name, address=address),
                                       subject=subject, via=via))
                continue
            data = prepend_fields(content, [("Return-Path", f"<{env.mail_from}>"), ("Delivered-To", address)])
            box.deliver(data, Envelope(
                mail_from=env.mail_from, rcpt_tos=(address,), peer=via, helo=env.helo,
                received_at=now, queue_id=env.queue_id, mail_options=env.mail_options, protocol="local",
                rcpt_options={address: env.rcpt_options.get(r.address, ())}))
            r.state = DELIVERED
            self.journal.add(Event(now, mid, "filed", self.name, address, (r.address,), None, "ok",
                                   N_("into the Maildir of {address} (from {via})", address=address, via=via),
                                   subject=subject, via=via))
        if not env.mail_from:
            self._link_dsn(content, mid, via)
        self._report(via, env, content, mid, subject, recipients)

    def _link_dsn(self, content: bytes, dsn_id: str, via: str) -> None:
        """A DSN from a server outside the world (a real Postfix): link it to the mail it
        reports on, found by the returned message's Message-ID or by ENVID (RFC 3461 §4.4),
        so that the journey of that mail shows it. DSNs the world made are linked already."""
        if any(e.related == dsn_id for e in self.journal.events()):
            return
        try:
            dsn = read_dsn(content)
        except ValueError:
            return  # a null-sender mail that is not a DSN (an auto-reply): nothing to link
        original = dsn.returned_message_id or self.journal.envids.get(dsn.per_message.get("Original-Envelope-Id", ""))
        if not original:
            return
        reporter = dsn.per_message.get("Reporting-MTA", "").partition(";")[2].strip() or via
        blocks = dsn.recipients
        action = blocks[0].get("Action", "") if blocks else ""
        who = tuple(b.get("Original-Recipient", b.get("Final-Recipient", "")).partition(";")[2].strip()
                    for b in blocks)
        status = ", ".join(f"{b.get('Action', '?')} {b.get('Status', '?')}" for b in blocks)
        self.journal.add(Event(self.clock(), original, "bounce" if action == "failed" else "dsn", reporter, None,
                               who, None, "failed" if action == "failed" else None,
                               N_("a DSN from {reporter}: {status}", reporter=reporter, status=status),
                               related=dsn_id,
                               subject=str(dsn.message.get("Subject", ""))))

    def _report(self, via: str, env: Envelope, content: bytes, mid: str, subject: str,
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
            self.outbound.report(entry, failed, "failed", reporting_mta=via)
        succeeded = [r for r in recipients if r.state == DELIVERED and wants_dsn(r.notify, "delivered")]
        if succeeded:
            self.outbound.report(entry, succeeded, "delivered", reporting_mta=via)

    def __repr__(self) -> str:
        return f"<MDA {self.name}: {', '.join(self.mailboxes)}>"
