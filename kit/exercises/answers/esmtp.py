"""Reference solutions of notebook 07 (ESMTP): ``parse_ehlo`` from `kit.protocol`, ``auth_plain``
by RFC 4616 §2."""

from __future__ import annotations

import base64

from ...protocol import parse_ehlo as _parse_ehlo
from ...protocol import parse_reply as _parse_reply

__all__ = ["parse_ehlo", "auth_plain"]


def parse_ehlo(lines: list[str]) -> dict:
    """Keyword (upper case) -> list of parameters, for every line after the first (§4.1.1.1)."""
    info = _parse_ehlo(_parse_reply(lines))
    return {k: list(v) for k, v in info.extensions.items()}


def auth_plain(user: str, password: str, authzid: str = "") -> str:
    """RFC 4616 §2: ``[authzid] NUL authcid NUL passwd``, UTF-8, then base64 (RFC 4954 §4)."""
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode("ascii")
