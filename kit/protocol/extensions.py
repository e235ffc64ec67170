"""The EHLO reply: the server's name, a greeting, and one service extension per line
(RFC 5321 §4.1.1.1, the extension model of RFC 1869, now §2.2).

::

    250-mail.example.test Hello client.example.test
    250-SIZE 10485760
    250-8BITMIME
    250 PIPELINING

Each extension line is a keyword (case-insensitive) and optional parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .replies import Reply, format_reply


@dataclass(frozen=True)
class EhloInfo:
    """The parsed EHLO reply: ``domain``, ``greeting`` and ``extensions`` (KEYWORD -> params)."""

    domain: str
    greeting: str = ""
    extensions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def supports(self, keyword: str) -> bool:
        return keyword.upper() in self.extensions

    @property
    def size_limit(self) -> int | None:
        """The SIZE extension's maximum message size (RFC 1870), None if absent or 0."""
        params = self.extensions.get("SIZE")
        if params and params[0].isdigit() and int(params[0]) > 0:
            return int(params[0])
        return None


def parse_ehlo(reply: Reply) -> EhloInfo:
    """Read an EHLO reply into an `EhloInfo`; keywords are upper-cased (§2.2.2)."""
    if not reply.is_positive:
        raise ValueError(f"EHLO was refused: {reply.code} {reply.text}")
    first, *rest = reply.lines
    domain, _, greeting = first.partition(" ")
    extensions: dict[str, tuple[str, ...]] = {}
    for line in rest:
        words = line.split()
        if words:  # a blank line carries no extension
            extensions[words[0].upper()] = tuple(words[1:])
    return EhloInfo(domain, greeting, extensions)


def format_ehlo(domain: str, greeting: str, extensions: dict[str, tuple[str, ...]] | list[str]) -> list[str]:
    """Wire lines of an EHLO reply (no CRLF)."""
    items = extensions if isinstance(extensions, list) else [
        " ".join((k, *v)) for k, v in extensions.items()]
    first = f"{domain} {greeting}".rstrip()
    return format_reply(250, [first, *items])
