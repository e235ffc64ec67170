"""`Room`: the class's one lab server, its live model and its views, with a time limit.

::

    from kit.classroom import Room
    from kit.server import greylist

    room = Room(domain="class.test", listen="192.0.2.10", port=2525, minutes=90).start()
    room.dashboard()                 # the live board, in the presenter's notebook
    room.set_behaviour(greylist())   # "now everybody gets 451: what does your client do?"
    room.set_behaviour(None)         # back to normal

Safe by construction, whatever the caller passes: loopback unless an address is named and
never every interface without ``listen_all`` (`check_listen`); mail only for the class
domain, never relayed (`LabHandler`: other domains get ``554 5.7.1``, RFC 5321 §3.6.2, §7.1);
VRFY answers ``252`` without looking anybody up and EXPN ``502`` (RFC 5321 §3.5.3, §7.3); no
AUTH, so no relaying for "authenticated" users either; the limits of `Limits` per address;
the server stops by itself after ``minutes``; memory stays bounded (the model keeps the last
``keep_sessions`` sessions, the server's transcripts the last ``keep_transcripts``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..notebook_instance import NotebookInstance
from ..server import Behaviour, Mailbox
from .html_view import render_html
from .limits import Limits
from .listen import check_listen
from .model import KEEP_SESSIONS, RoomModel, RoomSnapshot, RoomStatus
from .server import ClassroomServer

DEFAULT_DOMAIN = "class.test"
DEFAULT_PORT = 2525
DEFAULT_MINUTES = 120.0


def describe(rule: Behaviour) -> str:
    """A behaviour in a few words for the board, e.g. ``RCPT -> 451 4.7.1 ...``."""
    what = rule.reply or ("delay" if rule.delay else "")
    if rule.delay and rule.reply:
        what = f"{rule.delay:g} s, then {rule.reply}"
    elif rule.delay:
        what = f"wait {rule.delay:g} s"
    if rule.disconnect:
        what = f"{what}, then hang up" if what else "hang up"
    who = f" for {rule.recipient}" if rule.recipient else ""
    for name in ("{recipient}", "{sender}", "{host}"):  # filled in per session: not known here
        what = what.replace(name, "…")
    return f"{rule.stage}{who} -> {what}"


def chosen_rules(rules: tuple) -> list[Behaviour]:
    """The rules a presenter passed, ``None`` left out; anything else than a `Behaviour` is a TypeError."""
    chosen = [r for r in rules if r is not None]
    for rule in chosen:
        if not isinstance(rule, Behaviour):
            raise TypeError(f"{rule!r} is not a Behaviour (see kit.server.behaviours)")
    return chosen


class Room:
    """One classroom server. Use as a context manager, or `start` and `stop`.

    ``listen``: the address to bind (default 127.0.0.1); ``0.0.0.0``/``::`` only with
    ``listen_all=True``. ``port`` 0 picks a free one. ``minutes``: the running time, after
    which the server stops by itself. ``limits``: `Limits` per peer address.
    """

    def __init__(self, *, domain: str = DEFAULT_DOMAIN, listen: str | None = None, listen_all: bool = False,
                 port: int = DEFAULT_PORT, minutes: float = DEFAULT_MINUTES, hostname: str | None = None,
                 limits: Limits | None = None, maildir: str | None = None, keep_sessions: int = KEEP_SESSIONS,
                 keep_transcripts: int = 50) -> None:
        host, self.warnings = check_listen(listen, listen_all=listen_all)
        if not minutes > 0:
            raise ValueError("minutes must be positive")
        self.domain = domain.lower().rstrip(".")
        self.minutes = float(minutes)
        self.model = RoomModel(keep_sessions=keep_sessions)
        self.server = ClassroomServer(
            limits=limits, on_line=self.model.listener, host=host, port=port,
            hostname=hostname or f"mx.{self.domain}", domains=[self.domain], users=None, maildir=maildir,
            vrfy=False, expn=False, auth=None, relay_authenticated=False, keep_sessions=keep_transcripts)
        self.stopped = threading.Event()
        self._deadline: float | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    # -- life --------------------------------------------------------------------------------
    def start(self) -> Room:
        """Listen and start the clock; returns self. Starting a running room does nothing."""
        with self._lock:
            if self.running or self.stopped.is_set():
                if self.stopped.is_set():
                    raise RuntimeError("this room has stopped; make a new Room for the next class")
                return self
            self.server.start()
            self._deadline = time.monotonic() + self.minutes * 60
            self._timer = threading.Timer(self.minutes * 60, self._time_is_up)
            self._timer.daemon = True
            self._timer.start()
            self.model.note(f"open on {self.server.host}:{self.server.port} for {self.minutes:g} min")
            return self

    def _time_is_up(self) -> None:
        self.model.note("time limit reached: the server stops")
        self.stop()

    def stop(self) -> None:
        """Close every session (421 4.3.2) and stop listening. Idempotent."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self.server.stop()
            self.stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the room has stopped (the time limit, or `stop`); True if it has."""
        return self.stopped.wait(timeout)

    def __enter__(self) -> Room:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.server.running

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def mailbox(self) -> Mailbox:
        """Where the mails that made it are (a Maildir)."""
        return self.server.mailbox

    @property
    def seconds_left(self) -> float:
        if self._deadline is None or not self.running:
            return 0.0
        return max(self._deadline - time.monotonic(), 0.0)

    # -- behaviours, live from the presenter's notebook ---------------------------------------
    def set_behaviour(self, *rules: Behaviour | None) -> None:
        """From now on, only these behaviours (`kit.server.greylist()`, ``Behaviour("RCPT",
        "550 5.1.1 ...")``, ...); ``set_behaviour(None)`` or no argument: back to normal."""
        chosen = chosen_rules(rules)
        behaviours = self.server.behaviours
        behaviours.clear()
        for rule in chosen:
            behaviours.add(rule)
        self.model.note("behaviour: " + ("; ".join(describe(r) for r in chosen) if chosen else "normal again"))

    def add_behaviour(self, rule: Behaviour) -> None:
        """One more behaviour beside those already on."""
        self.server.add_behaviour(rule)
        self.model.note("behaviour added: " + describe(rule))

    @property
    def behaviours(self) -> list[Behaviour]:
        return self.server.behaviours.rules

    # -- views --------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows with every change of the model: views redraw only when it moved."""
        return self.model.version

    def snapshot(self) -> RoomSnapshot:
        return self.model.snapshot()

    def status(self) -> RoomStatus:
        running = self.running
        try:
            port = self.server.port
        except RuntimeError:  # not started yet
            port = self.server.config.port or 0
        return RoomStatus(
            host=self.server.host, port=port, domain=self.domain,
            running=running, seconds_left=self.seconds_left,
            behaviours=tuple(describe(r) for r in self.behaviours),
            refusals=tuple(sorted(self.server.guard.refusals.items())))

    def dashboard(self, *, interval: float = 1.0, **render_options: Any):
        """The live dashboard widget for a notebook (see `Dashboard`)."""
        from .widget import Dashboard

        return Dashboard(self, interval=interval, **render_options)

    def _repr_html_(self) -> str:
        return render_html(self.model.snapshot(), self.status())

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.running else "stopped"
        return f"<Room @{self.domain} {where}>"


_instance: NotebookInstance[Room] = NotebookInstance(Room)


def start_room(**settings: Any) -> Room:
    """The presenter's one line: a running room, the same one when the cell runs again."""
    return _instance.start(**settings)


def stop_room() -> None:
    """Stop the room `start_room` made, if any."""
    _instance.stop()
