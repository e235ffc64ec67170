"""Reference solution of notebook 04's ``message.disagreements`` (RFC 5321 §2.3.1, §3.3; RFC 5322
§3.6.2, §3.6.3)."""

from __future__ import annotations

import email
import email.policy
from email.utils import getaddresses

__all__ = ["disagreements"]


def _addresses(msg: email.message.Message, name: str) -> list[str]:
    values = [str(v) for v in msg.get_all(name, [])]
    return [addr for _, addr in getaddresses(values) if addr]


def disagreements(envelope: dict, header_text: str) -> list[str]:
    msg = email.message_from_string(header_text, policy=email.policy.compat32)
    sender = (envelope.get("mail_from") or "").lower()
    froms = [a.lower() for a in _addresses(msg, "From")]
    header = {a.lower() for a in _addresses(msg, "To") + _addresses(msg, "Cc")}
    rcpts = {r.lower() for r in envelope.get("rcpt_tos", [])}
    items = [] if froms == [sender] else ["From"]
    items += [f"envelope only: {a}" for a in rcpts - header]
    items += [f"header only: {a}" for a in header - rcpts]
    return sorted(items)
