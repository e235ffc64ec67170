"""The classroom's limits per peer address, and the ledger that applies them.

One server, thirty laptops, and somebody always tries a loop. Each limit is answered the way
a production server answers it, with the RFC 5321 reply code and the RFC 3463 enhanced code,
so that meeting a limit is itself a lesson:

* too many sessions at once, or too many new connections a minute, from one address:
  ``421 4.7.0`` instead of the greeting, then close (RFC 5321 §3.1 and §4.2.2: 421 may be
  sent "if the service knows it must shut down" this channel; RFC 3463 §3.8 X.7.0 "other or
  undefined security status"; Postfix's anvil answers the same);
* too many commands a minute from one address, or too many syntax errors in one session:
  ``421 4.7.0``, then close (RFC 5321 §4.2.4 allows 421 in reply to any command);
* too many recipients in one transaction: ``452 4.5.3`` (RFC 5321 §4.5.3.1.10; RFC 3463
  §3.6 X.5.3 "too many recipients"); the client should send the rest in another transaction;
* a message over the size limit: ``552 5.3.4`` (RFC 1870 §6 at ``MAIL FROM ... SIZE=``, and
  after the final dot; RFC 5321 §4.2.2 "exceeded storage allocation"; RFC 3463 §3.4 X.3.4
  "message too big for system");
* a command line over 4096 octets (a 10 MB line; RFC 5321 §4.5.3.1.4 allows 512), or more
  octets in one session than a few messages need: ``421 4.7.0`` and close (`kit.classroom.smtp`).

`PeerGuard` is pure bookkeeping (no sockets), called from the server's thread; the clock is
passed in so tests can drive it.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

MiB = 1024 * 1024
WINDOW = 60.0  # seconds: "a minute" of the rate limits


@dataclass(frozen=True)
class Limits:
    """The limits of one classroom server. Counts are per peer address unless named otherwise."""

    #: sessions open at the same time from one address (421 4.7.0 at connect)
    sessions_per_peer: int = 3
    #: new connections a minute from one address (421 4.7.0 at connect)
    connections_per_minute: int = 30
    #: commands a minute from one address, over all its sessions (421 4.7.0, then close)
    commands_per_minute: int = 120
    #: syntax and sequence errors (500-504, 555) one session may make (421 4.7.0, then close),
    #: like Postfix's smtpd_hard_error_limit
    errors_per_session: int = 20
    #: octets in one message (552 5.3.4)
    message_size: int = 1 * MiB
    #: recipients in one transaction (452 4.5.3); RFC 5321 §4.5.3.1.8 asks for at least 100
    recipients: int = 100
    #: octets one session may send in all (421 4.7.0, then close); None: 4 messages and 1 MiB
    session_octets: int | None = None
    #: sessions open at the same time from everybody (421 4.7.0)
    total_sessions: int = 200
    #: seconds a client may stay silent (421 4.4.2); RFC 5321 §4.5.3.2.7: at least 5 minutes
    idle_timeout: float = 300.0

    def __post_init__(self) -> None:
        for name in ("sessions_per_peer", "connections_per_minute", "commands_per_minute",
                     "errors_per_session", "message_size", "recipients", "total_sessions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        if self.session_octets is None:
            object.__setattr__(self, "session_octets", 4 * self.message_size + MiB)
        elif self.session_octets < self.message_size + 64 * 1024:
            raise ValueError("session_octets must leave room for one whole message (message_size + 64 KiB)")


class _Peer:
    __slots__ = ("active", "connections", "commands")

    def __init__(self) -> None:
        self.active = 0
        self.connections: collections.deque[float] = collections.deque()
        self.commands: collections.deque[float] = collections.deque()


def _within(times: collections.deque[float], now: float, limit: int) -> bool:
    """Forget the times older than the window; True (and note ``now``) if one more fits."""
    while times and times[0] <= now - WINDOW:
        times.popleft()
    if len(times) >= limit:
        return False
    times.append(now)
    return True


class PeerGuard:
    """Counts sessions, connections and commands per peer address; thread-safe.

    Memory stays bounded: each address keeps at most one minute of times (never more than
    its limit), and addresses with nothing open and nothing recent are forgotten.
    """

    #: prune idle addresses when more than this many are known
    PRUNE_AT = 4096

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._peers: dict[str, _Peer] = {}
        self._active = 0
        self._lock = threading.Lock()
        #: reason -> how many times it refused (for the dashboard)
        self.refusals: collections.Counter[str] = collections.Counter()

    def admit(self, ip: str, now: float) -> str | None:
        """A new connection from ``ip``: None if it may go on (it then holds a session slot until
        `release`), else why not, in words for a 421 reply."""
        limits = self.limits
        with self._lock:
            if len(self._peers) > self.PRUNE_AT:
                self._prune(now)
            peer = self._peers.setdefault(ip, _Peer())
            reason = None
            if self._active >= limits.total_sessions:
                reason = "too many connections"
            elif peer.active >= limits.sessions_per_peer:
                reason = f"too many sessions from {ip} at once (limit {limits.sessions_per_peer})"
            elif not _within(peer.connections, now, limits.connections_per_minute):
                reason = f"too many connections from {ip} (limit {limits.connections_per_minute} a minute)"
            if reason is not None:
                self.refusals[reason.split(" (")[0].replace(ip, "one address")] += 1
                return reason
            peer.active += 1
            self._active += 1
            return None

    def release(self, ip: str) -> None:
        """The session that `admit` let in has ended."""
        with self._lock:
            peer = self._peers.get(ip)
            if peer is not None and peer.active > 0:
                peer.active -= 1
                self._active -= 1

    def take_command(self, ip: str, now: float) -> bool:
        """Count one command from ``ip``; False when it is over its budget for the minute."""
        with self._lock:
            peer = self._peers.setdefault(ip, _Peer())
            if _within(peer.commands, now, self.limits.commands_per_minute):
                return True
            self.refusals["too many commands from one address"] += 1
            return False

    def count(self, reason: str) -> None:
        """Note a refusal decided elsewhere (a session's errors or octets)."""
        with self._lock:
            self.refusals[reason] += 1

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def _prune(self, now: float) -> None:
        for ip in [ip for ip, p in self._peers.items()
                   if not p.active and all(not t or t[-1] <= now - WINDOW for t in (p.connections, p.commands))]:
            del self._peers[ip]
