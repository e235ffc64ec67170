"""One model of an SMTP dialogue, shared by the lab server and the client.

A `Transcript` is the list of lines of one session, each with its direction and time.
It renders as text in swaks' style (``->`` client to server, ``<-`` server to client,
``===`` notes) and as HTML in Jupyter.

The server records what it receives as raw chunks (`add_chunk`), exactly as they came off
the socket, and the lines are cut only when someone reads the transcript: recording then
costs one list append per chunk, not per line, on the server's hot path. Reading also adds
the notes a student needs (a command line that ended in a bare LF) and shortens long
message data to its first lines. Appends come from the server's thread and reads from the
notebook's; reads take a lock.
"""

from __future__ import annotations

import collections
import html
import itertools
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .i18n import N_, _
from .protocol import RemoteProtocolError, Reply, parse_reply

Direction = Literal["client", "server", "info"]
ARROWS: dict[str, str] = {"client": " -> ", "server": "<-  ", "info": "=== "}
_COLOURS = {"client": "#1f5fa8", "server": "#1e7b34", "info": "#777"}
_ids = itertools.count(1)

#: Noted after a command line that ended in LF alone: servers are lenient about it, but it
#: is a bug in the client (RFC 5321 §2.3.8: lines end in CRLF).
BARE_LF_NOTE = N_("the line above ended in a bare LF; SMTP lines end in CRLF (RFC 5321 §2.3.8)")
#: Noted after the message data when lines of it were counted, not kept.
HIDDEN_NOTE = N_("({hidden} more lines of data not shown)")
_HIDDEN = re.compile(r"\((\d+) more lines of data not shown\)")
#: Lines of message data shown per message; the rest are counted.
DATA_LINES_SHOWN = 60


class _Chunk(NamedTuple):
    data: bytes
    time: float


class _Payload(NamedTuple):
    """Octets of a BDAT chunk (RFC 3030): message data counted by size, not ended by a dot;
    ``end`` closes the chunk."""

    data: bytes
    end: bool
    time: float


class _Skipped(NamedTuple):
    """Message data not kept (over the transcript's budget): only its line count."""

    lines: int
    time: float


class Line(NamedTuple):
    """One line of a dialogue: who sent it, its text (no CRLF), and when (epoch seconds).

    A named tuple, not a dataclass: the server makes one per line, so it must be cheap."""

    direction: Direction
    text: str
    time: float

    def render(self, start: float | None = None, *, translated: bool = False) -> str:
        """The line as text; ``translated`` shows a note in the kit's language (what people read;
        the recorded text, which checkers search, stays as it is)."""
        lapse = f"[{self.time - start:7.3f}s] " if start is not None else ""
        text = note_text(self.text) if translated and self.direction == "info" else self.text
        return f"{lapse}{ARROWS[self.direction]}{text}"


def note_text(text: str) -> str:
    """A transcript note in the kit's language (notes are recorded in English, the language the
    checkers read them in); a note the catalog does not know is shown as recorded."""
    hidden = _HIDDEN.fullmatch(text)
    if hidden:
        return _(HIDDEN_NOTE).format(hidden=hidden.group(1))
    return _(text)


@dataclass
class Transcript:
    """The lines of one SMTP session, in order. Thread-safe to append to and to read."""

    peer: str = ""
    session_id: int = field(default_factory=lambda: next(_ids))
    started: float = field(default_factory=time.time)
    _lines: list[Line] = field(default_factory=list, repr=False)
    _pending: list = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _partial: bytes = field(default=b"", repr=False)
    _in_data: bool = field(default=False, repr=False)
    _data_lines: int = field(default=0, repr=False)
    _payload_partial: bytes = field(default=b"", repr=False)

    def add(self, direction: Direction, text: str, when: float | None = None) -> Line:
        line = Line(direction, text, time.time() if when is None else when)
        self._pending.append(line)  # list.append is atomic; reads sort it out under the lock
        return line

    def add_chunk(self, data: bytes, when: float | None = None) -> None:
        """Record bytes received from the client, as they came; lines are cut on reading."""
        self._pending.append(_Chunk(data, time.time() if when is None else when))

    def add_payload(self, data: bytes, *, end: bool = False, when: float | None = None) -> None:
        """Record octets of a BDAT chunk; ``end=True`` after its last octet."""
        self._pending.append(_Payload(data, end, time.time() if when is None else when))

    def add_skipped(self, lines: int, when: float | None = None) -> None:
        """Record that ``lines`` lines of message data came but were not kept."""
        self._pending.append(_Skipped(lines, time.time() if when is None else when))

    @property
    def lines(self) -> list[Line]:
        with self._lock:
            self._settle()
            return list(self._lines)

    def new_lines(self, start: int) -> list[Line]:
        """Lines from index ``start`` on (for printing a dialogue as it happens)."""
        with self._lock:
            self._settle()
            return self._lines[start:]

    def _settle(self) -> None:
        """Turn pending entries into lines (caller holds the lock)."""
        count = len(self._pending)
        for entry in self._pending[:count]:
            if isinstance(entry, Line):
                if entry.direction == "server":
                    self._end_data_summary(entry.time)
                    self._in_data = entry.text.startswith("354")
                    self._data_lines = 0
                self._lines.append(entry)
            elif isinstance(entry, _Skipped):
                self._data_lines += entry.lines
            elif isinstance(entry, _Payload):
                self._cut_payload(entry)
            else:
                self._cut(entry)
        del self._pending[:count]

    def _cut(self, chunk: _Chunk) -> None:
        data = self._partial + chunk.data
        *complete, self._partial = data.split(b"\n")
        for raw in complete:
            bare_lf = not raw.endswith(b"\r")
            text = raw.rstrip(b"\r").decode("utf-8", errors="backslashreplace")
            if self._in_data:
                if text == "." and not bare_lf:
                    self._end_data_summary(chunk.time)
                    self._in_data = False
                else:
                    self._add_data_line(text, chunk.time)
                    continue
            self._lines.append(Line("client", text, chunk.time))
            if bare_lf and not self._in_data:
                self._lines.append(Line("info", BARE_LF_NOTE, chunk.time))

    def _cut_payload(self, entry: _Payload) -> None:
        """A BDAT chunk shows as message data: its first lines, then a count of the rest."""
        data = self._payload_partial + entry.data
        *complete, self._payload_partial = data.split(b"\n")
        if entry.end and self._payload_partial:  # a chunk need not end at a line end
            complete.append(self._payload_partial)
            self._payload_partial = b""
        for raw in complete:
            self._add_data_line(raw.rstrip(b"\r").decode("utf-8", errors="backslashreplace"), entry.time)
        if entry.end:
            self._end_data_summary(entry.time, in_data=True)

    def _add_data_line(self, text: str, when: float) -> None:
        """One line of message data: shown while within the first `DATA_LINES_SHOWN`, else counted."""
        self._data_lines += 1
        if self._data_lines <= DATA_LINES_SHOWN:
            self._lines.append(Line("client", text, when))

    def _end_data_summary(self, when: float, in_data: bool | None = None) -> None:
        hidden = self._data_lines - DATA_LINES_SHOWN
        if (self._in_data if in_data is None else in_data) and hidden > 0:
            self._lines.append(Line("info", HIDDEN_NOTE.format(hidden=hidden), when))
        self._data_lines = 0

    def __iter__(self) -> Iterator[Line]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def client_lines(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.direction == "client"]

    def server_lines(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.direction == "server"]

    def replies(self) -> list[Reply]:
        """The server's lines grouped into parsed replies (multi-line replies joined)."""
        out: list[Reply] = []
        pending: list[str] = []
        for text in self.server_lines():
            pending.append(text)
            if len(text) < 4 or text[3] != "-":
                try:
                    out.append(parse_reply(pending))
                except RemoteProtocolError:
                    pass
                pending = []
        return out

    def to_text(self, *, times: bool = False, translated: bool = False) -> str:
        """swaks-style text; with ``times=True`` each line shows seconds since the start;
        ``translated=True`` shows the notes in the kit's language (``str()`` does)."""
        start = self.started if times else None
        return "\n".join(ln.render(start, translated=translated) for ln in self.lines)

    def __str__(self) -> str:
        return self.to_text(translated=True)

    def to_dict(self) -> dict:
        return {"session_id": self.session_id, "peer": self.peer, "started": self.started,
                "lines": [{"direction": ln.direction, "text": ln.text, "time": ln.time} for ln in self.lines]}

    def _repr_html_(self) -> str:
        rows = "".join(
            f'<div style="color:{_COLOURS[ln.direction]}">{html.escape(ARROWS[ln.direction])}'
            f"{html.escape(note_text(ln.text) if ln.direction == 'info' else ln.text)}</div>" for ln in self.lines)
        head = html.escape(_("session {id} with {peer}").format(id=self.session_id, peer=self.peer) if self.peer
                           else _("session {id}").format(id=self.session_id))
        return (f'<div class="kit-transcript"><div style="font-weight:bold">{head}</div>'
                f'<pre style="margin:0;white-space:pre-wrap">{rows}</pre></div>')


class Transcripts:
    """The sessions a server has seen, oldest first; a read-only, thread-safe list.

    ``keep`` bounds it: only the last ``keep`` sessions are kept and older ones are forgotten
    (``forgotten`` counts them), so a server that runs for days does not grow without end.
    ``None`` keeps every session.
    """

    def __init__(self, keep: int | None = None) -> None:
        if keep is not None and keep < 1:
            raise ValueError("keep must be at least 1 (or None: keep every session)")
        self.keep = keep
        self._items: collections.deque[Transcript] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        self.forgotten = 0

    def append(self, transcript: Transcript) -> None:
        with self._lock:
            if self.keep is not None and len(self._items) == self.keep:
                self.forgotten += 1
            self._items.append(transcript)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.forgotten = 0

    def _snapshot(self) -> list[Transcript]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Transcript]:
        return iter(self._snapshot())

    def __getitem__(self, index: int) -> Transcript:
        return self._snapshot()[index]

    @property
    def last(self) -> Transcript | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def to_text(self, *, times: bool = False, translated: bool = False) -> str:
        """Every session as text, each under a ``=== session N PEER`` line."""
        head = _("=== session {id} {peer}") if translated else "=== session {id} {peer}"
        return "\n\n".join(head.format(id=t.session_id, peer=t.peer) + "\n"
                             + t.to_text(times=times, translated=translated) for t in self._snapshot())

    def __str__(self) -> str:
        return self.to_text(translated=True)

    def __repr__(self) -> str:
        older = f", {self.forgotten} older forgotten (keep={self.keep})" if self.forgotten else ""
        return f"<Transcripts: {len(self)} sessions{older}>"

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self._snapshot()) or "<em>" + _("no sessions yet") + "</em>"
