"""`forward`: pass a stored message on to the next server, as a relaying MTA would.

The lab server never relays (RFC 5321 §7.1: no open relays in a course), so a chain of
servers is driven from the client side: take what one lab server stored and submit it,
with the envelope it arrived with, to the next one::

    msa, mx = LabServer(hostname="msa.example.test", ...), LabServer(hostname="mx.example.org", ...)
    send_mail(msa.host, msa.port, "alice@example.test", ["bob@example.org"], subject="Hi")
    forward(msa.mailbox.latest, mx.host, mx.port)      # EHLO msa.example.test, MAIL, RCPT, DATA

Each server prepends its own ``Received:`` field and keeps the ones already there (§4.4),
so the message that reaches the last server carries one field per server: a trace to read
with `kit.trace`.

What is sent is the stored message byte for byte. A relay never adds ``Return-Path:``: RFC 5321
§4.4 reserves it for final delivery ("When the delivery SMTP server makes the final delivery of a
message, it inserts a return-path line at the beginning of the mail data"). So the servers of a
chain that pass mail on are started as relays, ``LabServer(final_delivery=False)``, and write
none; only the last one does. A message that carries one was delivered already: `forward`
refuses it (ValueError) instead of quietly editing it.
"""

from __future__ import annotations

from email.message import Message
from email.policy import default as _default_policy
from typing import Any

from ..protocol.header import has_return_path, split_header
from ..trace import hops
from .send import SendResult, send_mail

__all__ = ["forward", "FALLBACK_HELO"]

#: The EHLO name used when the message carries no Received field to take it from.
FALLBACK_HELO = "relay.example.test"

def _as_bytes(message: Any) -> bytes:
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    if isinstance(message, str):
        return message.encode("utf-8")
    if isinstance(message, Message):
        # refold_source="none": header fields go out exactly as they were parsed
        policy = getattr(message, "policy", _default_policy)
        if hasattr(policy, "refold_source"):
            policy = policy.clone(refold_source="none")
        return message.as_bytes(policy=policy)
    raise TypeError(f"expected a StoredMessage, an email Message, bytes or str, not {type(message).__name__}")


def _top_by(content: bytes) -> str | None:
    """The host named in the ``by`` clause of the top-most Received field, if any (read by
    `kit.trace`, whose parser reads every Received field of the course)."""
    header, _ = split_header(content)
    found = hops(b"".join(header))
    words = (found[-1].by or "").split() if found else []
    return words[0] if words else None


def forward(stored_message: Any, host: str, port: int, *, helo: str | None = None,
            mail_from: str | None = None, rcpt_tos: list[str] | None = None,
            timeout: float = 10.0) -> SendResult:
    """Submit a stored message to the server at ``host``:``port``, as the next hop of a relay.

    ``stored_message`` is what a lab server's mailbox returns (``server.mailbox.latest``):
    its envelope gives MAIL FROM and the RCPT TOs unless ``mail_from`` / ``rcpt_tos`` say
    otherwise (they are required for a plain message, bytes or str). The content is sent
    unchanged; ValueError for a message that carries ``Return-Path:`` (finally delivered
    already, RFC 5321 §4.4: start the server it came from with ``final_delivery=False``).

    ``helo`` is the name to introduce ourselves with; by default it is the host that holds
    the message now, the ``by`` of its top-most ``Received:`` field, as the real MTA would
    say EHLO with its own name. Returns the `SendResult` (never raises for a refusal).
    """
    envelope = getattr(stored_message, "envelope", None)
    message = getattr(stored_message, "message", stored_message)
    if mail_from is None:
        if envelope is None:
            raise ValueError("no envelope: pass mail_from= (and rcpt_tos=) for a plain message")
        mail_from = envelope.mail_from
    if rcpt_tos is None:
        if envelope is None:
            raise ValueError("no envelope: pass rcpt_tos= (and mail_from=) for a plain message")
        rcpt_tos = list(envelope.rcpt_tos)
    content = _as_bytes(message)
    if has_return_path(content):
        raise ValueError("this message carries Return-Path:, so its server made the final delivery "
                         "(RFC 5321 §4.4) and a relay must not pass it on with that field; start "
                         "the servers that relay with LabServer(final_delivery=False)")
    name = helo or _top_by(content) or FALLBACK_HELO
    return send_mail(host, port, mail_from, list(rcpt_tos), content, ehlo_name=name, timeout=timeout)
