"""Small byte-level edits of a message's header that the agents of the journey make.

A relay must not change what earlier hops wrote (RFC 5321 §4.4), so these helpers touch
only what each agent is told to: prepend trace and delivery fields, read a few fields without
parsing the body. (``Return-Path:`` is written by final delivery only, RFC 5321 §4.4: the world's
MSA and MX never write one, so nobody has to remove it.)
"""

from __future__ import annotations

import email.policy
import re
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import format_datetime

from ..protocol.header import prepend_fields, split_header

__all__ = ["split_header", "prepend_fields", "header_fields", "count_received",
           "local_received"]

_headers = BytesHeaderParser(policy=email.policy.default)
_RECEIVED = re.compile(rb"^received[ \t]*:", re.IGNORECASE | re.MULTILINE)


def header_fields(content: bytes) -> dict[str, str]:
    """Message-ID, Subject, From and Date of a message (empty strings when missing)."""
    msg = _headers.parsebytes(content)
    return {name: str(msg.get(name, "") or "") for name in ("Message-ID", "Subject", "From", "Date")}


def count_received(content: bytes) -> int:
    """How many ``Received:`` fields the header holds (loop detection, RFC 5321 §6.3)."""
    header, _ = split_header(content)
    return len(_RECEIVED.findall(b"".join(header)))


def local_received(host: str, queue_id: str, when: float | None = None) -> str:
    """The value of a Received field for mail made on this host (a bounce): no ``from``,
    only ``by`` and ``id``, as Postfix writes it (RFC 5321 §4.4 makes ``from`` optional)."""
    moment = datetime.fromtimestamp(when).astimezone() if when else datetime.now().astimezone()
    return f"by {host} (smtpkit) id {queue_id};\n\t{format_datetime(moment)}"
