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


#: `DataReader.problem` when a text line is longer than the reader's ``max_line`` (§4.5.3.1.6).
LINE_TOO_LONG = "line too long"
#: `DataReader.problem` when the data is larger than the reader's ``max_size`` (§4.5.3.1.7).
TOO_MUCH_DATA = "too much data"


def _may_have_long_line(lines: bytes, max_line: int) -> bool:
    """False if no line of ``lines`` is longer than ``max_line`` octets with its CRLF; True if
    one may be (then count exactly). A line that long has ``n = max_line - 1`` or more octets
    before its CRLF, so no CRLF starts at any of those n positions, and they hold a whole window
    ``[k*w, k*w + w)`` with ``w = n // 2``. Looking for a CRLF in each window costs a few ``find``
    calls per kilobyte instead of splitting every line (200 µs for 100 KB)."""
    w = (max_line - 1) // 2
    find = lines.find
    return any(find(b"\r\n", i, i + w + 1) < 0 for i in range(0, len(lines) - w + 1, w))


class DataReader:
    """The server's side of DATA: the octets after ``354``, fed in blocks as they arrive.

    ``feed(block)`` returns -1 until the block that holds the end, ``<CRLF>.<CRLF>`` (§4.1.1.4:
    only a line of a single dot between CRLFs ends the data, also as the very first line), then
    the index in that block just past it: what follows belongs to the next command (a pipelining
    client may send it in the same packet). `content` is the message with the transparency dots
    removed (§4.5.2). Lines end in CRLF only; a bare CR or LF is part of its line.

    Limits, in the order aiosmtpd's line reader applies them, so the lab server answers as it
    did: a line (with CRLF) of more than ``max_line`` octets makes `problem` `LINE_TOO_LONG`
    (§4.5.3.1.6; the default 1001 is 1000 plus a stuffed dot); data lines (with CRLF, before
    un-stuffing, without the final dot) of more than ``max_size`` octets in all make it
    `TOO_MUCH_DATA` (§4.5.3.1.7). The first limit broken wins; a line longer than ``max_line + 2``
    breaks the line limit before it is counted towards the size (aiosmtpd's stream limit). Once
    a limit is broken the reader keeps nothing and only looks for the end: the server answers
    after the end of data (§4.2.5), and memory stays bounded by ``max_size`` plus one line.

    The work is done per block, not per line (``bytes.find``/``split``/``replace``), which is
    what makes a 100 KB message cheap; the line-by-line rules only run on a block that breaks
    a limit.
    """

    def __init__(self, *, max_size: int | None = None, max_line: int = MAX_TEXT_LINE + 1) -> None:
        if max_line < 3:
            raise ValueError("max_line must allow at least a dot and CRLF (3 octets)")
        self.max_size = max_size or None
        self.max_line = max_line
        #: None, `LINE_TOO_LONG` or `TOO_MUCH_DATA`.
        self.problem: str | None = None
        #: True once ``<CRLF>.<CRLF>`` has been read.
        self.done = False
        #: Octets of data lines counted so far (with CRLF, before un-stuffing).
        self.size = 0
        self._parts: list[bytes] = []
        self._tail = b""  # bytes not yet judged: the start of a line (or, once a limit broke, its end)
        self._line_start = True  # _tail begins a line

    def feed(self, block: bytes) -> int:
        """Take the next octets; -1 while the data goes on, else where in ``block`` it ended."""
        if self.done:
            raise ValueError("the data has already ended")
        tail = self._tail
        buf = tail + block if tail else block
        if self._line_start and buf[:3] == b".\r\n":
            lines_end, stop = 0, 3
        else:
            i = buf.find(END_OF_DATA)
            if i >= 0:
                lines_end, stop = i + 2, i + 5
            else:
                j = buf.rfind(b"\r\n")
                lines_end, stop = (j + 2 if j >= 0 else 0), -1
        if lines_end and self.problem is None:
            self._take_lines(buf[:lines_end] if lines_end < len(buf) else buf)
        if stop >= 0:
            self.done, self._tail = True, b""
            return stop - len(tail)
        rest = buf[lines_end:]
        line_start = self._line_start or lines_end > 0
        if self.problem is None and len(rest) > self.max_line + 1:
            self._fail(LINE_TOO_LONG)  # no CRLF yet, and already too long with one
        if self.problem is not None and (not line_start or len(rest) > 3):
            rest, line_start = rest[-1:], False  # not the final dot's line: keep a possible CR
        self._tail, self._line_start = rest, line_start
        return -1

    def _take_lines(self, lines: bytes) -> None:
        """Judge and keep whole lines (``lines`` starts a line and ends in CRLF)."""
        size = self.size + len(lines)
        if ((self.max_size is None or size <= self.max_size)
                and (len(lines) <= self.max_line or not _may_have_long_line(lines, self.max_line)
                     or max(map(len, lines.split(b"\r\n"))) + 2 <= self.max_line)):
            self.size = size
            self._parts.append(lines)
            return
        for line in lines.split(b"\r\n")[:-1]:  # a limit breaks in this block: which one first?
            n = len(line)
            if n > self.max_line:
                return self._fail(LINE_TOO_LONG)
            self.size += n + 2
            if self.max_size is not None and self.size > self.max_size:
                return self._fail(TOO_MUCH_DATA)
            if n + 2 > self.max_line:
                return self._fail(LINE_TOO_LONG)
            self._parts.append(line + b"\r\n")

    def _fail(self, problem: str) -> None:
        self.problem = problem
        self._parts.clear()

    @property
    def content(self) -> bytes:
        """The message as sent, without the transparency dots (§4.5.2); empty after a problem."""
        data = b"".join(self._parts)
        if data[:1] == b".":
            data = data[1:]
        return data.replace(b"\r\n.", b"\r\n")


class ChunkReader:
    """A BDAT chunk (RFC 3030 §2): exactly ``size`` octets after the command line, whatever they
    are (a dot or CRLF means nothing here). Fed like `DataReader`; keeps at most ``keep`` octets
    (the room left under the message size limit: a client may announce up to 999,999,999), so
    that a chunk too big for the server costs it no memory, only the reading."""

    def __init__(self, size: int, *, keep: int | None = None) -> None:
        if size < 0:
            raise ValueError("a chunk size is 0 or more octets")
        self.size = size
        self.keep = size if keep is None else max(min(keep, size), 0)
        #: True once all ``size`` octets have been read (at once for ``BDAT 0``).
        self.done = size == 0
        self._left = size
        self._parts: list[bytes] = []
        self._kept = 0

    def feed(self, block: bytes) -> int:
        """Take the next octets; -1 while the chunk goes on, else how many of ``block`` it took."""
        if self.done:
            raise ValueError("the chunk has already ended")
        take = min(self._left, len(block))
        room = self.keep - self._kept
        if room > 0:
            piece = block[:min(take, room)] if min(take, room) < len(block) else block
            self._parts.append(piece)
            self._kept += len(piece)
        self._left -= take
        if self._left:
            return -1
        self.done = True
        return take

    @property
    def content(self) -> bytes:
        """The octets kept: the whole chunk unless it was larger than ``keep``."""
        return b"".join(self._parts)
