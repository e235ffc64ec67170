"""Mailbox addresses and paths, RFC 5321 §4.1.2 (grammar) and §4.5.3.1 (size limits).

A *path* is what MAIL FROM and RCPT TO carry: an address in angle brackets,
``<alice@example.test>``. The reverse-path of MAIL FROM may be the *null path* ``<>``,
used for bounces so that a bounce never causes another bounce (§4.5.5).
"""

from __future__ import annotations

import ipaddress
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
# §4.1.3 General-address-literal = Standardized-tag ":" 1*dcontent
_GENERAL_LITERAL = re.compile(r"([A-Za-z0-9-]*[A-Za-z0-9]):[\x21-\x5a\x5e-\x7e]+\Z")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}\Z")


def is_address_literal(text: str) -> bool:
    """``[192.0.2.1]``, ``[IPv6:2001:db8::1]`` or ``[tag:content]`` (§4.1.3), addresses checked."""
    if not (text.startswith("[") and text.endswith("]")):
        return False
    inner = text[1:-1]
    if inner[:5].upper() == "IPV6:":
        try:
            ipaddress.IPv6Address(inner[5:])
            return True
        except ValueError:
            return False
    if _IPV4.match(inner):
        try:
            ipaddress.IPv4Address(inner)
            return True
        except ValueError:
            return False
    general = _GENERAL_LITERAL.match(inner)
    return bool(general) and general.group(1).upper() != "IPV6"


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
        if self.is_bare_postmaster:
            return
        if not (_DOMAIN.match(self.domain) or is_address_literal(self.domain)):
            raise ProtocolError(
                f"bad domain {self.domain!r} (RFC 5321 §4.1.2)", "553 5.1.2 Bad destination domain syntax"
            )
        if len(self.domain.encode()) > MAX_DOMAIN:
            raise ProtocolError(
                f"domain longer than {MAX_DOMAIN} octets (RFC 5321 §4.5.3.1.2)",
                "553 5.1.2 Domain too long",
            )

    @property
    def is_bare_postmaster(self) -> bool:
        """``<Postmaster>`` without a domain, which every server MUST accept (§4.5.1)."""
        return self.domain == "" and self.local_part.lower() == "postmaster"

    def __str__(self) -> str:
        return self.local_part if self.is_bare_postmaster else f"{self.local_part}@{self.domain}"

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


def parse_path(text: str, *, allow_null: bool = False, allow_postmaster: bool = False) -> Path:
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
    if allow_postmaster and inner.lower() == "postmaster":  # RCPT TO:<Postmaster>, §4.1.1.3
        return Path(Address(inner, ""))
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
