"""SMTP replies: parse and format them (RFC 5321 §4.2, enhanced codes from RFC 3463).

A reply is a three-digit code and text. A multi-line reply repeats the code on every line,
with a hyphen after it on all lines but the last, which has a space (§4.2.1)::

    250-mail.example.test
    250-PIPELINING
    250 SIZE 10485760

With ENHANCEDSTATUSCODES (RFC 2034) the text starts with ``class.subject.detail``, e.g.
``250 2.1.5 Ok``. `ReplyReader` turns a byte stream into replies, so a client can pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import RemoteProtocolError

# §4.2: Reply-code = %x32-35 %x30-35 %x30-39 ; we also accept 1yz to be able to *explain* it.
_LINE = re.compile(r"([1-5][0-9][0-9])([ -]|\Z)(.*)\Z", re.S)
# RFC 3463 §2: status-code = class "." subject "." detail
_ENHANCED = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |\Z)")


@dataclass(frozen=True)
class Reply:
    """A parsed reply: ``code``, ``enhanced`` status (or None) and the text ``lines``.

    ``raw``: the lines exactly as they came off the wire (without CRLF), when the reply was
    parsed; a transcript shows these, not a reconstruction. Two replies that say the same
    thing are equal however they were spelt, so ``raw`` takes no part in comparisons.
    """

    code: int
    lines: tuple[str, ...] = ("",)
    enhanced: str | None = None
    raw: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 100 <= self.code <= 599:
            raise ValueError(f"reply code {self.code} is not three digits 1-5yz (RFC 5321 §4.2)")

    @property
    def text(self) -> str:
        """All text lines joined by newlines, enhanced code removed."""
        return "\n".join(self.lines)

    @property
    def first_digit(self) -> int:
        return self.code // 100

    @property
    def is_positive(self) -> bool:
        """2yz: positive completion (§4.2.1)."""
        return self.first_digit == 2

    @property
    def is_intermediate(self) -> bool:
        """3yz: positive intermediate, send more (e.g. 354 after DATA)."""
        return self.first_digit == 3

    @property
    def is_transient(self) -> bool:
        """4yz: transient negative; the client SHOULD try again later (§4.2.1)."""
        return self.first_digit == 4

    @property
    def is_permanent(self) -> bool:
        """5yz: permanent negative; do not repeat the same request (§4.2.1)."""
        return self.first_digit == 5

    @property
    def is_multiline(self) -> bool:
        return len(self.lines) > 1

    def wire_lines(self) -> list[str]:
        """The reply as sent on the wire, one string per line, without CRLF: the lines as
        received for a parsed reply, else formatted (the enhanced code on every line)."""
        if self.raw is not None:
            return list(self.raw)
        return format_reply(self.code, self.lines, self.enhanced)

    @property
    def summary(self) -> str:
        """The reply on one line, code and enhanced code kept: ``550 5.1.1 <b@x>: User unknown``
        (the lines of a multi-line reply joined by spaces)."""
        head = f"{self.code} {self.enhanced}" if self.enhanced else str(self.code)
        text = " ".join(line.strip() for line in self.lines if line.strip())
        return f"{head} {text}" if text else head

    def __str__(self) -> str:
        return "\n".join(self.wire_lines())


def split_enhanced(code: int, text: str) -> tuple[str | None, str]:
    """Split ``"2.1.5 Ok"`` into ``("2.1.5", "Ok")`` when the class matches the code."""
    m = _ENHANCED.match(text)
    if m and int(m.group(1)) == code // 100:
        return f"{m.group(1)}.{m.group(2)}.{m.group(3)}", text[m.end():]
    return None, text


def parse_reply(lines: str | bytes | Iterable[str | bytes]) -> Reply:
    """Parse the lines of exactly one reply (a string with newlines, or a list of lines).

    Raises `RemoteProtocolError` if a line has no valid code, the codes differ, a line
    before the last lacks the hyphen, or the last line has one (§4.2.1).
    """
    if isinstance(lines, bytes):
        lines = lines.decode("utf-8", errors="replace")
    if isinstance(lines, str):
        lines = lines.replace("\r\n", "\n").rstrip("\n").split("\n")
    raw = [ln.decode("utf-8", errors="replace") if isinstance(ln, bytes) else ln for ln in lines]
    raw = [ln.removesuffix("\n").removesuffix("\r") for ln in raw]
    if not raw:
        raise RemoteProtocolError("empty reply")
    code: int | None = None
    enhanced: str | None = None
    texts: list[str] = []
    for i, line in enumerate(raw):
        m = _LINE.match(line)
        if not m:
            raise RemoteProtocolError(f"not a reply line: {line!r} (RFC 5321 §4.2)")
        this_code, sep, text = int(m.group(1)), m.group(2), m.group(3)
        last = i == len(raw) - 1
        if code is not None and this_code != code:
            raise RemoteProtocolError(f"codes differ within one reply: {code} and {this_code}")
        if not last and sep != "-":
            raise RemoteProtocolError(f"line {i + 1} ends the reply but more lines follow: {line!r}")
        if last and sep == "-":
            raise RemoteProtocolError(f"last line still says more follows ('-'): {line!r}")
        code = this_code
        ecode, text = split_enhanced(this_code, text)
        if i == 0:
            enhanced = ecode
        texts.append(text)
    assert code is not None
    return Reply(code, tuple(texts), enhanced, raw=tuple(raw))


def format_reply(code: int, text: str | Iterable[str] = "", enhanced: str | None = None) -> list[str]:
    """Format a reply into wire lines (no CRLF): ``format_reply(250, "Ok", "2.1.0")``."""
    texts = text.split("\n") if isinstance(text, str) else list(text) or [""]
    prefix = f"{enhanced} " if enhanced else ""
    out = []
    for i, t in enumerate(texts):
        sep = " " if i == len(texts) - 1 else "-"
        body = f"{prefix}{t}"
        out.append(f"{code}{sep}{body}" if body else f"{code}{sep}".rstrip())
    return out


class ReplyReader:
    """Incremental parser: feed bytes as they arrive, collect complete replies.

    Sans-I/O like h11: the caller owns the socket. Lines end at CRLF; a bare LF is
    tolerated on input (be liberal in what you accept).
    """

    def __init__(self, max_line: int = 4096) -> None:
        self._buffer = bytearray()
        self._pending: list[str] = []
        self._max_line = max_line

    def feed(self, data: bytes) -> list[Reply]:
        """Add received bytes; return the replies that are now complete.

        Raises `RemoteProtocolError` for a line that is not part of a reply (``+OK`` from a
        POP3 server, say); the error carries the offending ``lines`` and the ``replies``
        completed before them."""
        self._buffer += data
        replies = []
        while True:
            nl = self._buffer.find(b"\n")
            if nl < 0:
                if len(self._buffer) > self._max_line:
                    raise RemoteProtocolError(f"reply line longer than {self._max_line} octets", replies=replies)
                break
            if nl > self._max_line:
                raise RemoteProtocolError(f"reply line longer than {self._max_line} octets", replies=replies)
            raw = bytes(self._buffer[: nl + 1])
            del self._buffer[: nl + 1]
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            self._pending.append(line)
            m = _LINE.match(line)
            if not m or m.group(2) != "-":
                lines, self._pending = self._pending, []
                try:
                    replies.append(parse_reply(lines))
                except RemoteProtocolError as exc:
                    raise RemoteProtocolError(str(exc), exc.reply, lines=tuple(lines), replies=replies) from None
        return replies

    @property
    def has_partial(self) -> bool:
        """True while part of a reply has arrived but not its last line."""
        return bool(self._pending or self._buffer)
