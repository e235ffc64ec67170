"""Mailbox addresses and paths, RFC 5321 §4.1.2 (grammar) and §4.5.3.1 (size limits).

A *path* is what MAIL FROM and RCPT TO carry: an address in angle brackets,
``<alice@example.test>``. The reverse-path of MAIL FROM may be the *null path* ``<>``,
used for bounces so that a bounce never causes another bounce (§4.5.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ProtocolError

# §4.5.3.1.1-3: every implementation MUST accept at least these sizes.
MAX_LOCAL_PART = 64
MAX_DOMAIN = 255
MAX_PATH = 256

# §4.1.2: atext from RFC 5322 §3.2.3; Dot-string = Atom *("." Atom)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010FFFF]"
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
# Quoted-string = DQUOTE *QcontentSMTP DQUOTE (qtextSMTP or a backslash pair)
_QUOTED_STRING = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010FFFF]|\\[\x20-\x7e])*"\Z')
# §4.1.2 Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
_LABEL = r"[A-Za-z0-9\u0080-\U0010FFFF](?:[A-Za-z0-9\-\u0080-\U0010FFFF]*[A-Za-z0-9\u0080-\U0010FFFF])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\Z")
# §4.1.3 address literals: [IPv4] or [IPv6:...] or [tag:content]
_ADDRESS_LITERAL = re.compile(r"\[(?:[0-9.]+|IPv6:[0-9A-Fa-f:.]+|[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+)\]\Z")


@dataclass(frozen=True)
class Address:
    """A mailbox ``local-part@domain`` (§4.1.2). Validates itself on construction."""

    local_part: str
    domain: str

    def __post_init__(self) -> None:
        if not (_DOT_STRING.match(self.local_part) or _QUOTED_STRING.match(self.local_part)):
            raise ProtocolError(
                f"bad local part {self.local_part!r} (RFC 5321 §4.1.2)", "553 5.1.3 Bad address syntax"
            )
        if len(self.local_part.encode()) > MAX_LOCAL_PART:
            raise ProtocolError(
                f"local part longer than {MAX_LOCAL_PART} octets (RFC 5321 §4.5.3.1.1)",
                "553 5.1.3 Local part too long",
            )
        if not (_DOMAIN.match(self.domain) or _ADDRESS_LITERAL.match(self.domain)):
            raise ProtocolError(
                f"bad domain {self.domain!r} (RFC 5321 §4.1.2)", "553 5.1.2 Bad destination domain syntax"
            )
        if len(self.domain.encode()) > MAX_DOMAIN:
            raise ProtocolError(
                f"domain longer than {MAX_DOMAIN} octets (RFC 5321 §4.5.3.1.2)",
                "553 5.1.2 Domain too long",
            )

    def __str__(self) -> str:
        return f"{self.local_part}@{self.domain}"

    @property
    def is_ascii(self) -> bool:
        """False for an internationalised address, which needs SMTPUTF8 (RFC 6531)."""
        return str(self).isascii()


def parse_address(text: str) -> Address:
    """Parse ``local-part@domain`` (no angle brackets); the last ``@`` splits it."""
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ProtocolError(f"{text!r} is not local-part@domain (RFC 5321 §4.1.2)", "553 5.1.3 Bad address syntax")
    return Address(local, domain)


@dataclass(frozen=True)
class Path:
    """A reverse- or forward-path (§4.1.2). ``address is None`` is the null path ``<>``."""

    address: Address | None

    @property
    def is_null(self) -> bool:
        return self.address is None

    def __str__(self) -> str:
        return "<>" if self.address is None else f"<{self.address}>"


NULL_PATH = Path(None)


def parse_path(text: str, *, allow_null: bool = False) -> Path:
    """Parse ``<local@domain>`` (or ``<>`` when allowed: MAIL FROM only, §4.5.5).

    A source route (``<@relay:user@host>``, §4.1.2 A-d-l) is accepted and ignored, as
    §C of RFC 5321 asks of servers.
    """
    if len(text.encode()) > MAX_PATH:
        raise ProtocolError(f"path longer than {MAX_PATH} octets (RFC 5321 §4.5.3.1.3)", "501 5.1.3 Path too long")
    if not (text.startswith("<") and text.endswith(">")):
        raise ProtocolError(
            f"{text!r}: a path must be in angle brackets, e.g. <alice@example.test> (RFC 5321 §4.1.2)",
            "501 5.1.3 Bad address syntax",
        )
    inner = text[1:-1]
    if inner == "":
        if allow_null:
            return NULL_PATH
        raise ProtocolError("the null path <> is only allowed in MAIL FROM (RFC 5321 §4.5.5)",
                            "501 5.1.3 Bad recipient address syntax")
    if inner.startswith("@") and ":" in inner:  # obsolete source route
        inner = inner.split(":", 1)[1]
    return Path(parse_address(inner))


def format_path(address: str | Address | Path | None) -> str:
    """``alice@x`` -> ``<alice@x>``; ``None`` or ``""`` -> ``<>``; paths pass through."""
    if isinstance(address, Path):
        return str(address)
    if address is None or address == "" or address == "<>":
        return "<>"
    text = str(address)
    return text if text.startswith("<") else f"<{text}>"
