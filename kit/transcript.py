"""One model of an SMTP dialogue, shared by the lab server and the client.

A `Transcript` is the list of lines of one session, each with its direction and time.
It renders as text in swaks' style (``->`` client to server, ``<-`` server to client,
``===`` notes) and as HTML in Jupyter. Lines are appended from the server's thread and read
from the notebook's, so appends and snapshots take a lock.
"""

from __future__ import annotations

import html
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .protocol import RemoteProtocolError, Reply, parse_reply

Direction = Literal["client", "server", "info"]
ARROWS: dict[str, str] = {"client": " -> ", "server": "<-  ", "info": "=== "}
_COLOURS = {"client": "#1f5fa8", "server": "#1e7b34", "info": "#777"}
_ids = itertools.count(1)


class Line(NamedTuple):
    """One line of a dialogue: who sent it, its text (no CRLF), and when (epoch seconds).

    A named tuple, not a dataclass: the server makes one per line, so it must be cheap."""

    direction: Direction
    text: str
    time: float

    def render(self, start: float | None = None) -> str:
        lapse = f"[{self.time - start:7.3f}s] " if start is not None else ""
        return f"{lapse}{ARROWS[self.direction]}{self.text}"


@dataclass
class Transcript:
    """The lines of one SMTP session, in order. Thread-safe to append to and to read."""

    peer: str = ""
    session_id: int = field(default_factory=lambda: next(_ids))
    started: float = field(default_factory=time.time)
    _lines: list[Line] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, direction: Direction, text: str, when: float | None = None) -> Line:
        line = Line(direction, text, time.time() if when is None else when)
        self._lines.append(line)  # list.append is atomic; readers copy under the lock
        return line

    @property
    def lines(self) -> list[Line]:
        with self._lock:
            return list(self._lines)

    def __iter__(self) -> Iterator[Line]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self._lines)

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

    def to_text(self, *, times: bool = False) -> str:
        """swaks-style text; with ``times=True`` each line shows seconds since the start."""
        start = self.started if times else None
        return "\n".join(ln.render(start) for ln in self.lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_dict(self) -> dict:
        return {"session_id": self.session_id, "peer": self.peer, "started": self.started,
                "lines": [{"direction": ln.direction, "text": ln.text, "time": ln.time} for ln in self.lines]}

    def _repr_html_(self) -> str:
        rows = "".join(
            f'<div style="color:{_COLOURS[ln.direction]}">{html.escape(ARROWS[ln.direction])}'
            f"{html.escape(ln.text)}</div>" for ln in self.lines)
        head = html.escape(f"session {self.session_id} with {self.peer}" if self.peer else f"session {self.session_id}")
        return (f'<div class="kit-transcript"><div style="font-weight:bold">{head}</div>'
                f'<pre style="margin:0;white-space:pre-wrap">{rows}</pre></div>')


class Transcripts:
    """All sessions a server has seen, oldest first; a read-only, thread-safe list."""

    def __init__(self) -> None:
        self._items: list[Transcript] = []
        self._lock = threading.Lock()

    def append(self, transcript: Transcript) -> None:
        with self._lock:
            self._items.append(transcript)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

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
        items = self._snapshot()
        return items[-1] if items else None

    def to_text(self, *, times: bool = False) -> str:
        return "\n\n".join(f"=== session {t.session_id} {t.peer}\n{t.to_text(times=times)}"
                           for t in self._snapshot())

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<Transcripts: {len(self)} sessions>"

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self._snapshot()) or "<em>no sessions yet</em>"
