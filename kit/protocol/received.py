"""Writing trace fields: the ``Received:`` line a server prepends (RFC 5321 §4.4) and the
WITH protocol names of RFC 3848 and RFC 6531.

A server MUST prepend a Received field to every message it accepts, and MUST NOT change
or delete the ones already there. Reading them back into hops is `kit.trace`'s job.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from email.utils import format_datetime


def with_protocol(*, esmtp: bool = True, tls: bool = False, auth: bool = False,
                  lmtp: bool = False, utf8: bool = False) -> str:
    """The WITH value: SMTP after HELO, ESMTP after EHLO; ``S`` = TLS, ``A`` = authenticated
    (RFC 3848 §2); LMTP for RFC 2033; UTF8SMTP... when SMTPUTF8 was used (RFC 6531 §3.7.3)."""
    if lmtp:
        base = "UTF8LMTP" if utf8 else "LMTP"
    elif utf8:
        base = "UTF8SMTP"
    else:
        base = "ESMTP" if (esmtp or tls or auth) else "SMTP"
    suffix = ("S" if tls else "") + ("A" if auth else "")
    return base + suffix


def address_literal(ip: str) -> str:
    """``127.0.0.1`` -> ``[127.0.0.1]``; ``::1`` -> ``[IPv6:::1]`` (§4.1.3)."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    return f"[IPv6:{addr.compressed}]" if addr.version == 6 else f"[{addr}]"


def format_received(*, helo: str | None, peer_ip: str, peer_name: str | None = None, by: str,
                    with_: str, id: str | None = None, for_: str | None = None,
                    date: datetime | None = None, software: str = "smtpkit") -> str:
    """The value of a ``Received:`` field (§4.4 Stamp), folded over indented lines.

    ``from HELO (peer-name [address-literal])`` names the client as it introduced itself and
    as the TCP connection shows it; the receiver can trust only the latter.
    """
    tcp_info = address_literal(peer_ip)
    if peer_name:
        tcp_info = f"{peer_name} {tcp_info}"
    parts = [f"from {helo or 'unknown'} ({tcp_info})", f"by {by} ({software}) with {with_}"]
    if id:
        parts[-1] += f" id {id}"
    if for_:
        parts.append(f"for <{for_}>")
    when = format_datetime(date or datetime.now().astimezone())
    return "\n\t".join(parts) + f"; {when}"
