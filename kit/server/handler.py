"""The lab server's policy, as an aiosmtpd handler (``handle_<COMMAND>`` hooks).

`LabSMTP` speaks the protocol; this class decides: which recipients are local (anything
else is relaying, refused), which users exist, and how an accepted message is stamped
(``Return-Path:`` and ``Received:``, RFC 5321 §4.4) and stored.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import time
from datetime import datetime
from email.utils import format_datetime, make_msgid

from ..protocol import format_received, parse_address, with_protocol
from .config import LabConfig
from .mailbox import Envelope, Mailbox

#: Queue IDs need to be unique, not secret: a generator seeded once from the OS (os.urandom),
#: not a system call per message as ``secrets`` makes: that call gives up the GIL, and getting it back
#: from the Maildir committer thread cost the event loop up to ~160 µs per message (cProfile).
_queue_ids = random.Random()


def new_queue_id() -> str:
    """A Postfix-looking queue ID such as ``34B9A8000F`` (ten upper-case hex digits)."""
    return f"{_queue_ids.getrandbits(40):010X}"


def complete_submission(content: bytes, hostname: str) -> bytes:
    """What an MSA may fix in a submitted message (RFC 6409 §8.2, §8.3): a missing Date or
    Message-ID is added at the top of the header; nothing else is touched."""
    head = content.split(b"\r\n\r\n", 1)[0].lower()
    names = {line.split(b":", 1)[0].strip() for line in head.split(b"\r\n") if b":" in line and line[:1] not in b" \t"}
    added = b""
    if b"date" not in names:
        added += f"Date: {format_datetime(datetime.now().astimezone())}\r\n".encode()
    if b"message-id" not in names:
        added += f"Message-ID: {make_msgid(domain=hostname)}\r\n".encode()
    return added + content


@functools.lru_cache(maxsize=256)  # the same few loopback peers, every message
def _peer_name(ip: str) -> str | None:
    try:
        return "localhost" if ipaddress.ip_address(ip.split("%")[0]).is_loopback else None
    except ValueError:
        return None


class LabHandler:
    """Policy and delivery for one `LabServer`."""

    def __init__(self, config: LabConfig, mailbox: Mailbox) -> None:
        self.config = config
        self.mailbox = mailbox

    async def handle_HELO(self, server, session, envelope, hostname: str) -> str:
        session.host_name = hostname
        return f"250 {self.config.hostname}"

    async def handle_MAIL(self, server, session, envelope, address: str, options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address: str, options: list[str]) -> str:
        if address.lower() == "postmaster":  # RCPT TO:<Postmaster> (RFC 5321 §4.5.1)
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"
        addr = parse_address(address)
        relays = self.config.relay_authenticated and bool(session.authenticated)
        if not relays and not self.config.is_local_domain(addr.domain):
            # Never an open relay: only mail for our own domains is accepted (RFC 5321 §7.1, §3.6.2).
            return f"554 5.7.1 <{address}>: Relay access denied"
        if self.config.is_local_domain(addr.domain) and not self.config.is_known_user(addr.local_part):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        if len(envelope.rcpt_tos) >= self.config.max_recipients:
            return "452 4.5.3 Error: too many recipients"  # §4.5.3.1.10
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_VRFY(self, server, session, envelope, address: str) -> str:
        if address.startswith("<") and address.endswith(">"):  # VRFY <bob@example.test>, as Postfix takes it
            address = address[1:-1]
        if not self.config.vrfy or self.config.users is None:
            return "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery"
        try:
            addr = parse_address(address) if "@" in address else None
        except ValueError:
            return f"501 5.1.3 Bad address syntax: {address}"
        local = addr.local_part if addr else address.strip("<>")
        if addr is not None and not self.config.is_local_domain(addr.domain):
            return f"551 5.1.6 <{address}>: User not local"
        if self.config.is_known_user(local):
            domain = addr.domain if addr else self.config.domains[0]
            return f"250 2.0.0 <{local}@{domain}>"
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"

    async def handle_NOOP(self, server, session, envelope, arg: str) -> str:
        return "250 2.0.0 Ok"

    async def handle_RSET(self, server, session, envelope) -> str:
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server, session, envelope) -> str:
        return "221 2.0.0 Bye"

    def stamp(self, session, envelope, queue_id: str, protocol: str) -> bytes:
        """The trace fields to prepend: Return-Path (on final delivery only) and Received (§4.4)."""
        peer_ip = session.peer[0] if session.peer else "127.0.0.1"
        received = format_received(
            helo=session.host_name, peer_ip=peer_ip, peer_name=_peer_name(peer_ip),
            by=self.config.hostname, with_=protocol, id=queue_id,
            for_=envelope.rcpt_tos[0] if len(envelope.rcpt_tos) == 1 else None,
            date=datetime.now().astimezone())
        head = f"Received: {received}\r\n"
        if self.config.final_delivery:
            mail_from = "" if envelope.mail_from == "<>" else envelope.mail_from
            head = f"Return-Path: <{mail_from}>\r\n" + head
        return head.replace("\n\t", "\r\n\t").encode("utf-8")

    async def handle_DATA(self, server, session, envelope) -> str:
        queue_id = new_queue_id()
        protocol = with_protocol(esmtp=session.extended_smtp, tls=session.ssl is not None,
                                 auth=bool(session.authenticated), utf8=bool(envelope.smtp_utf8))
        body = envelope.original_content
        if self.config.submission:
            body = complete_submission(body, self.config.hostname)
        content = self.stamp(session, envelope, queue_id, protocol) + body
        record = Envelope(
            mail_from="" if envelope.mail_from == "<>" else envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            peer=f"{session.peer[0]}:{session.peer[1]}" if session.peer else "",
            helo=session.host_name or "", received_at=time.time(), queue_id=queue_id,
            mail_options=tuple(envelope.mail_options), protocol=protocol,
            rcpt_options={r: tuple(o) for r, o in getattr(envelope, "rcpt_dsn", {}).items()})
        try:
            await self.mailbox.deliver_async(content, record)
        except OSError:
            return "451 4.3.0 Error: queue file write error"
        return f"250 2.0.0 Ok: queued as {queue_id}"
