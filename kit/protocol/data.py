"""Mail data on the wire: line endings, transparency (dot-stuffing) and end of data
(RFC 5321 §2.3.8, §4.1.1.4, §4.5.2).

Lines end in CRLF. The data ends with a line holding a single dot, ``<CRLF>.<CRLF>``. So
that a line of the message that starts with a dot is not mistaken for the end, the client
doubles a leading dot on every line ("dot-stuffing") and the server deletes it again.
Only ``<CRLF>.<CRLF>`` ends the data: a bare LF dot LF does not (the SMTP smuggling
attacks of 2023 abused servers that accepted it).
"""

from __future__ import annotations

import re
from typing import TypeVar

AnyText = TypeVar("AnyText", str, bytes)

#: §4.5.3.1.6: a text line is at most 1000 octets including CRLF (not counting a stuffed dot).
MAX_TEXT_LINE = 1000
END_OF_DATA = b"\r\n.\r\n"

_NEWLINES = re.compile(r"\r\n|\r|\n")
_NEWLINES_B = re.compile(rb"\r\n|\r|\n")


def to_crlf(text: AnyText) -> AnyText:
    """Normalise every line ending (LF, CR or CRLF) to CRLF (§2.3.8)."""
    if isinstance(text, bytes):
        return _NEWLINES_B.sub(b"\r\n", text)
    return _NEWLINES.sub("\r\n", text)


def dot_unstuff(text: AnyText) -> AnyText:
    """Delete the first dot of every line that starts with one (§4.5.2, server side)."""
    if isinstance(text, bytes):
        return re.sub(rb"(?m)^\.", b"", text)
    return re.sub(r"(?m)^\.", "", text)


def encode_data(message: str | bytes) -> bytes:
    """What a client sends after 354: CRLF lines, dot-stuffed, then ``.CRLF`` (§4.1.1.4).

    A message that does not end with a line break gets one, so the final dot is alone on
    its line. Dot-stuffing (§4.5.2, client side: a leading dot of every line is doubled) is done
    here on the CRLF lines, and only here: the kit has no separate ``dot_stuff``, because writing
    one is an exercise of notebook 02 (``dialogue.dot_stuff``), and the kit must not hand its
    students the answer under the exercise's name.
    """
    raw = message.encode("utf-8") if isinstance(message, str) else message
    raw = re.sub(rb"(?m)^\.", b"..", to_crlf(raw))
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return raw + b".\r\n"


def decode_data(payload: bytes) -> bytes:
    """Inverse of `encode_data` for a payload that ends in ``.CRLF``: un-stuffed content."""
    if payload == b".\r\n":
        return b""
    if not payload.endswith(END_OF_DATA):
        raise ValueError("data does not end with <CRLF>.<CRLF> (RFC 5321 §4.1.1.4)")
    return dot_unstuff(payload[: -len(b".\r\n")])


def find_end_of_data(buffer: bytes, start: int = 0) -> int:
    """Index just past the ``<CRLF>.<CRLF>`` that ends the data, or -1 if not there yet.

    The data may be empty, so a buffer that starts with ``.CRLF`` also ends it.
    ``start`` is where the data begins (just after the 354 reply was received).
    """
    if buffer.startswith(b".\r\n", start):
        return start + 3
    i = buffer.find(END_OF_DATA, start)
    return -1 if i < 0 else i + len(END_OF_DATA)


def long_lines(text: bytes) -> list[int]:
    """1-based numbers of the lines longer than §4.5.3.1.6 allows (1000 octets with CRLF)."""
    return [n for n, line in enumerate(text.split(b"\r\n"), 1) if len(line) + 2 > MAX_TEXT_LINE]
