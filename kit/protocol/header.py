"""Byte-level edits of a message's header section that a relay or a delivery agent makes.

A relay must not change what earlier hops wrote (RFC 5321 §4.4), so these helpers touch only
the fields they are asked to and leave every other byte, the body included, as it was.
"""

from __future__ import annotations

import re

__all__ = ["split_header", "drop_return_path", "prepend_fields"]

_RETURN_PATH = re.compile(rb"return-path[ \t]*:", re.IGNORECASE)


def split_header(content: bytes) -> tuple[list[bytes], bytes]:
    """The header lines (each with its line end) and the rest, from the empty line on."""
    lines = content.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line in (b"\r\n", b"\n", b"\r"):
            return lines[:i], b"".join(lines[i:])
    return lines, b""


def drop_return_path(content: bytes) -> bytes:
    """``content`` without its ``Return-Path:`` fields (folded lines included).

    Only final delivery writes Return-Path (RFC 5321 §4.4), so a relay drops any it finds.
    """
    header, rest = split_header(content)
    kept: list[bytes] = []
    dropping = False
    for line in header:
        if line[:1] in (b" ", b"\t"):  # a continuation line belongs to the field above
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_RETURN_PATH.match(line))
        if not dropping:
            kept.append(line)
    return b"".join(kept) + rest


def prepend_fields(content: bytes, fields: list[tuple[str, str]]) -> bytes:
    """Put ``Name: value`` fields on top of the header, in the order given, with the message's
    own line ends."""
    newline = b"\r\n" if b"\r\n" in content[:2000] else b"\n"
    head = b"".join(f"{name}: {value}".encode().replace(b"\n", newline) + newline for name, value in fields)
    return head + content
