"""The live model of the room: every session, the mails that made it, the common mistakes.

`RoomModel.feed` takes the lines of every session as the server records them (its
``on_line`` listener: session, direction, text) and keeps, thread-safe and bounded:

* each session once, by id: who (HELO/EHLO name, else the address), each command paired with
  its reply and the reply's class (2yz done, 3yz go on, 4yz try later, 5yz refused; RFC 5321
  §4.2.1); pipelined commands wait in line for their replies (RFC 2920 §3);
* the mails that made it (a ``250`` after the final dot or ``BDAT ... LAST``), with envelope
  and Subject;
* the mistakes: every 4yz/5yz reply counted by code, enhanced code (RFC 3463) and command,
  plus lines that ended in a bare LF (RFC 5321 §2.3.8);
* the "first to deliver" board.

Everything a student typed is stored already made `visible` and cut, so neither memory nor
the projector suffers from a 10 MB line. `snapshot` hands the views an immutable copy.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..protocol import ProtocolError, parse_command
from ..transcript import BARE_LF_NOTE, Transcript
from .text import visible

#: Bounds: sessions kept, exchanges kept per session, mails listed, places on the board.
KEEP_SESSIONS = 500
KEEP_EXCHANGES = 40
KEEP_MAILS = 100
BOARD_PLACES = 10
#: Cut lengths (characters) of what students chose.
CUT_LINE, CUT_NAME, CUT_ADDRESS = 120, 40, 80

VERBS = frozenset({"HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
                   "STARTTLS", "AUTH"})
MESSAGE = "(message)"  # the "command" a reply after the final dot answers
CONNECT = "(connect)"  # the "command" the greeting answers
UNASKED = "(unasked)"  # a reply no command asked for: a timeout, a limit, the server stopping
_ENHANCED = re.compile(r"\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?: |$)")


@dataclass(frozen=True)
class Exchange:
    """One command and the server's reply (its first line; ``code`` None while none came)."""

    command: str
    verb: str
    reply: str
    code: int | None
    time: float

    @property
    def reply_class(self) -> int:
        """2, 3, 4 or 5: the reply's first digit (RFC 5321 §4.2.1); 0 when no reply came."""
        return self.code // 100 if self.code else 0


@dataclass(frozen=True)
class SessionView:
    id: int
    peer: str
    who: str
    started: float
    ended: float | None
    exchanges: tuple[Exchange, ...]
    earlier: int  # exchanges no longer kept
    mails: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Mail:
    session_id: int
    who: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    time: float
    reply: str


@dataclass(frozen=True)
class Mistake:
    code: int  # 0: a mistake without a reply code (a bare LF)
    enhanced: str
    verb: str
    count: int
    example: str  # the last command that met it
    reply: str  # the last reply


@dataclass(frozen=True)
class Place:
    rank: int
    who: str
    seconds: float  # after the room opened
    session_id: int


@dataclass(frozen=True)
class Event:
    """One thing that happened, for views that print as it goes (the terminal)."""

    seq: int
    kind: str  # "open", "exchange", "mail", "close", "note"
    session_id: int
    who: str
    exchange: Exchange | None = None
    text: str = ""


@dataclass(frozen=True)
class RoomSnapshot:
    started: float
    version: int
    sessions: tuple[SessionView, ...]  # newest first
    total_sessions: int
    active_sessions: int
    mails: tuple[Mail, ...]  # newest first
    total_mails: int
    mistakes: tuple[Mistake, ...]  # most common first
    board: tuple[Place, ...]
    notes: tuple[str, ...]  # the room's own notes, newest last


class _Live:
    """What the model knows of one session while it runs (mutable, under the model's lock)."""

    def __init__(self, sid: int, peer: str, when: float) -> None:
        self.id, self.peer, self.started = sid, visible(peer, CUT_NAME), when
        self.helo: str | None = None
        self.ended: float | None = None
        self.exchanges: collections.deque[Exchange] = collections.deque(maxlen=KEEP_EXCHANGES)
        self.earlier = 0
        self.pending: collections.deque[tuple[str, str]] = collections.deque(maxlen=64)
        self.first_line: str | None = None
        self.in_data = self.in_bdat = self.in_header = self.bdat_open = False
        self.subject = ""
        self.sender = ""
        self.recipients: list[str] = []
        self.mails = 0
        self.notes: collections.deque[str] = collections.deque(maxlen=5)

    @property
    def who(self) -> str:
        return self.helo or self.peer.rsplit(":", 1)[0]

    def reset_envelope(self) -> None:
        self.sender, self.recipients, self.subject = "", [], ""
        self.bdat_open = False

    def view(self) -> SessionView:
        return SessionView(self.id, self.peer, self.who, self.started, self.ended, tuple(self.exchanges),
                           self.earlier, self.mails, tuple(self.notes))


def _verb(line: str) -> str:
    word = line.split(" ", 1)[0].upper()
    return word if word in VERBS else "unknown"


def _address(line: str) -> str:
    """The address of a MAIL or RCPT line as the kit's parser reads it (the raw text if it cannot)."""
    try:
        path = parse_command(line).path
    except (ProtocolError, ValueError):
        return visible(line.partition(":")[2].strip(), CUT_ADDRESS)
    return visible(str(path.address) if path and path.address else "<>", CUT_ADDRESS)


class RoomModel:
    """The room as the dashboard shows it; `feed` it lines, read it with `snapshot`."""

    def __init__(self, *, keep_sessions: int = KEEP_SESSIONS, started: float | None = None) -> None:
        if keep_sessions < 1:
            raise ValueError("keep_sessions must be at least 1")
        self.keep_sessions = keep_sessions
        self.started = time.time() if started is None else started
        self._lock = threading.Lock()
        self._sessions: collections.OrderedDict[int, _Live] = collections.OrderedDict()
        self._total = self._active = 0
        self._mails: collections.deque[Mail] = collections.deque(maxlen=KEEP_MAILS)
        self._total_mails = 0
        self._mistakes: dict[tuple[int, str, str], list] = {}
        self._board: list[Place] = []
        self._on_board: set[str] = set()
        self._notes: collections.deque[str] = collections.deque(maxlen=20)
        self._events: collections.deque[Event] = collections.deque(maxlen=2000)
        self._seq = 0

    # -- input ------------------------------------------------------------------------------
    def listener(self, transcript, direction: str, text: str) -> None:
        """The signature of `LabServer`'s ``on_line``: pass ``room_model.listener``."""
        self.feed(transcript.session_id, transcript.peer, direction, text)

    def feed(self, session_id: int, peer: str, direction: str, text: str, when: float | None = None) -> None:
        """One line of one session, in the order the server recorded it."""
        when = time.time() if when is None else when
        with self._lock:
            live = self._sessions.get(session_id)
            if live is None:
                if direction != "info" or not text.startswith("connection from"):
                    return  # a session forgotten (or never seen opening): never shown twice
                live = self._open(session_id, peer, when)
            if direction == "client":
                self._client(live, text)
            elif direction == "server":
                self._server(live, text, when)
            else:
                self._info(live, text, when)

    def replay(self, transcripts: Iterable[Transcript]) -> RoomModel:
        """Feed whole recorded sessions (e.g. ``server.transcripts``), in order; returns self.
        A slide without a running server can show a room this way."""
        for transcript in transcripts:
            for line in transcript.lines:
                self.feed(transcript.session_id, transcript.peer, line.direction, line.text, line.time)
        return self

    def note(self, text: str) -> None:
        """A note of the room itself (a behaviour switched, the time limit)."""
        with self._lock:
            self._notes.append(visible(text, 200))
            self._event("note", 0, "", text=visible(text, 200))

    def _event(self, kind: str, sid: int, who: str, **more) -> None:
        self._seq += 1
        self._events.append(Event(self._seq, kind, sid, who, **more))

    def _open(self, sid: int, peer: str, when: float) -> _Live:
        live = _Live(sid, peer, when)
        self._sessions[sid] = live
        self._total += 1
        self._active += 1
        while len(self._sessions) > self.keep_sessions:
            _, old = self._sessions.popitem(last=False)
            if old.ended is None:
                self._active -= 1  # forgotten while open: no longer counted as active
        self._event("open", sid, live.who, text=live.peer)
        return live

    def _client(self, live: _Live, text: str) -> None:
        if live.in_data or live.in_bdat:
            if live.in_data and text == ".":
                live.in_data = False
                live.pending.append((MESSAGE, MESSAGE))
            elif live.in_header:
                if text == "":
                    live.in_header = False
                elif text[:8].lower() == "subject:" and not live.subject:
                    live.subject = visible(text[8:].strip(), CUT_ADDRESS)
            return
        verb = _verb(text)
        live.pending.append((visible(text, CUT_LINE) if verb not in ("MAIL", "RCPT") else text[:2000], verb))
        if verb == "BDAT":  # its octets follow as lines, until the reply (RFC 3030 §2)
            live.in_bdat = True
            if not live.bdat_open:  # the first chunk starts with the header
                live.bdat_open = live.in_header = True

    def _server(self, live: _Live, text: str, when: float) -> None:
        if len(text) > 3 and text[3] == "-":  # a line of a multi-line reply: keep the first
            if live.first_line is None:
                live.first_line = text
            return
        first, live.first_line = live.first_line or text, None
        code = int(text[:3]) if text[:3].isdigit() else None
        if live.pending:
            command, verb = live.pending.popleft()
        else:
            command = verb = UNASKED if live.exchanges else CONNECT
        if verb in ("MAIL", "RCPT"):
            address = _address(command)
            command = visible(command, CUT_LINE)
        live.in_bdat = False
        exchange = Exchange(command, verb, visible(first, CUT_LINE), code, when)
        if len(live.exchanges) == live.exchanges.maxlen:
            live.earlier += 1
        live.exchanges.append(exchange)
        self._event("exchange", live.id, live.who, exchange=exchange)
        ok = code is not None and 200 <= code < 300
        if verb in ("HELO", "EHLO") and ok:
            live.helo = visible(command.split(" ", 1)[1] if " " in command else "", CUT_NAME) or None
            live.reset_envelope()
        elif verb == "MAIL" and ok:
            live.sender = address
        elif verb == "RCPT" and ok and len(live.recipients) < 100:
            live.recipients.append(address)
        elif verb == "RSET" and ok:
            live.reset_envelope()
        elif verb == "DATA" and code == 354:
            live.in_data = live.in_header = True
        elif verb == MESSAGE or (verb == "BDAT" and "LAST" in command.upper().split()[2:]):
            if ok:
                self._delivered(live, exchange)
            live.reset_envelope()
        if code is not None and code >= 400:
            self._mistake(code, first, verb, command)

    def _delivered(self, live: _Live, exchange: Exchange) -> None:
        live.mails += 1
        self._total_mails += 1
        mail = Mail(live.id, live.who, live.sender, tuple(live.recipients), live.subject, exchange.time, exchange.reply)
        self._mails.append(mail)
        key = live.who.lower()
        if len(self._board) < BOARD_PLACES and key not in self._on_board:
            self._on_board.add(key)
            self._board.append(Place(len(self._board) + 1, live.who, exchange.time - self.started, live.id))
        self._event("mail", live.id, live.who, text=f"{mail.sender or '<>'} -> {', '.join(mail.recipients)}")

    def _mistake(self, code: int, reply: str, verb: str, command: str) -> None:
        match = _ENHANCED.match(reply)
        key = (code, match.group(1) if match else "", verb)
        entry = self._mistakes.get(key)
        if entry is None:
            if len(self._mistakes) >= 200:  # bounded: codes x commands is small, but be sure
                return
            entry = self._mistakes[key] = [0, "", ""]
        entry[0] += 1
        entry[1], entry[2] = command, visible(reply, CUT_LINE)

    def _info(self, live: _Live, text: str, when: float) -> None:
        if text == "connection closed":
            if live.ended is None:
                live.ended = when
                self._active -= 1
                self._event("close", live.id, live.who)
        elif text == BARE_LF_NOTE:
            self._mistake_bare_lf(live)
        elif text.startswith("connection from") or text.endswith("lines of data not shown)"):
            return
        else:
            live.notes.append(visible(text, CUT_LINE))
            self._event("note", live.id, live.who, text=visible(text, CUT_LINE))

    def _mistake_bare_lf(self, live: _Live) -> None:
        command = live.pending[-1][0] if live.pending else ""
        self._mistake(0, "line ended in a bare LF, not CRLF (RFC 5321 §2.3.8)", "bare LF", visible(command, CUT_LINE))

    # -- output -----------------------------------------------------------------------------
    def snapshot(self) -> RoomSnapshot:
        with self._lock:
            sessions = tuple(live.view() for live in reversed(self._sessions.values()))
            mistakes = sorted((Mistake(code, enh, verb, n, ex, rep) for (code, enh, verb), (n, ex, rep)
                               in self._mistakes.items()), key=lambda m: (-m.count, m.code, m.verb))
            return RoomSnapshot(self.started, self._seq, sessions, self._total, self._active,
                                tuple(reversed(self._mails)), self._total_mails, tuple(mistakes),
                                tuple(self._board), tuple(self._notes))

    @property
    def version(self) -> int:
        """Grows with every change: a view redraws only when it moved."""
        return self._seq

    def events_since(self, seq: int) -> tuple[list[Event], int]:
        """Events after ``seq`` and how many were dropped in between (the log keeps the last 2000)."""
        with self._lock:
            events = [e for e in self._events if e.seq > seq]
            first = events[0].seq if events else self._seq + 1
            return events, max(first - seq - 1, 0)


@dataclass(frozen=True)
class RoomStatus:
    """What the room says of itself beside the model: where to connect, what is switched on."""

    host: str
    port: int
    domain: str
    running: bool
    seconds_left: float
    behaviours: tuple[str, ...] = ()
    refusals: tuple[tuple[str, int], ...] = ()  # (reason, count) of connections and sessions refused
