"""Byte-level reads and edits of a message's header section that a relay or a delivery agent
makes.

A relay must not change what earlier hops wrote (RFC 5321 §4.4), so these helpers touch only
the fields they are asked to and leave every other byte, the body included, as it was.
"""

from __future__ import annotations

import re

__all__ = ["split_header", "has_return_path", "prepend_fields"]

_RETURN_PATH = re.compile(rb"return-path[ \t]*:", re.IGNORECASE)


def split_header(content: bytes) -> tuple[list[bytes], bytes]:
    """The header lines (each with its line end) and the rest, from the empty line on."""
    lines = content.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line in (b"\r\n", b"\n", b"\r"):
            return lines[:i], b"".join(lines[i:])
    return lines, b""


def has_return_path(content: bytes) -> bool:
    """Whether the header holds a ``Return-Path:`` field: the mark of final delivery (RFC 5321
    §4.4), which a message passed on to another server must not carry."""
    header, _ = split_header(content)
    return any(_RETURN_PATH.match(line) for line in header)


def prepend_fields(content: bytes, fields: list[tuple[str, str]]) -> bytes:
    """Put ``Name: value`` fields on top of the header, in the order given, with the message's
    own line ends."""
    newline = b"\r\n" if b"\r\n" in content[:2000] else b"\n"
    head = b"".join(f"{name}: {value}".encode().replace(b"\n", newline) + newline for name, value in fields)
    return head + content
