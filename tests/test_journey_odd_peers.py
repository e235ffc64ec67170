"""Issue 15, item 5: the world's MTA against peers that misbehave, each a raw socket declared
as a foreign MX (`Peer`). Every case ends in logged attempts, deferrals and a bounce with the
reason; never a loop (the number of attempts is the retry policy's), never a worker error,
and each test is bounded in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from kit.journey import MailWorld, Peer, read_dsn

RETRY = (0.2, 0.2)  # three tries
TIMEOUT = 1.0  # the MTA's SMTP timeout


class RawPeer:
    """A listener on 127.0.0.1 that runs ``handle(conn)`` for each of at most ``limit``
    connections (each bounded to a few seconds)."""

    def __init__(self, handle: Callable[[socket.socket], None], limit: int = 10) -> None:
        self.handle, self.limit, self.connections = handle, limit, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.connections < self.limit and not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(3.0)
            with conn:
                try:
                    self.handle(conn)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(5)


def _read_until_closed(conn: socket.socket, answer_quit: bytes | None = None) -> None:
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        data = conn.recv(4096)
        if not data:
            return
        if answer_quit and b"QUIT" in data.upper():
            conn.sendall(answer_quit)
            return


def _hangs(conn):  # accepts, never greets
    _read_until_closed(conn)


def _closes_early(conn):  # accepts and hangs up at once
    conn.close()


def _greets_421(conn):
    conn.sendall(b"421 4.3.2 mx.odd.example Service not available, closing transmission channel\r\n")


def _greets_554(conn):
    conn.sendall(b"554 5.7.1 mx.odd.example No SMTP service here\r\n")
    _read_until_closed(conn, answer_quit=b"221 2.0.0 Bye\r\n")


def _overlong(conn):  # a greeting line far beyond the 512 octets of RFC 5321 §4.5.3.1.5
    conn.sendall(b"220 " + b"x" * 70_000 + b"\r\n")
    _read_until_closed(conn)


def _pop3(conn):
    conn.sendall(b"+OK POP3 server ready\r\n")
    _read_until_closed(conn, answer_quit=b"+OK bye\r\n")


CASES = {
    "hangs": (_hangs, "no reply"),
    "closes early": (_closes_early, "closed the connection"),
    "greets 421": (_greets_421, "421 4.3.2"),
    "greets 554": (_greets_554, "554 5.7.1"),
    "overlong lines": (_overlong, "longer than 4096 octets"),
    "speaks no SMTP": (_pop3, "+OK POP3"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_odd_peer_ends_in_deferrals_and_a_bounce(case):
    handle, reason = CASES[case]
    peer = RawPeer(handle)
    started = time.monotonic()
    try:
        with MailWorld(retry=RETRY, timeout=TIMEOUT, peers=[Peer("mx.odd.example", peer.port,
                                                                 domains=("odd.example",))]) as world:
            sent = world.send("alice@uni.example", "someone@odd.example", subject=f"Odd: {case}", body="x")
            assert sent.ok, sent.error
            world.wait_until_idle(timeout=15)
            journey = world.journey(sent)
            attempts = journey.attempts()
            assert world.errors == []
            assert len(attempts) == len(RETRY) + 1 == peer.connections  # one per try: never a loop
            assert all(a.peer == "mx.odd.example" and a.outcome == "deferred" and reason in a.reply
                       for a in attempts), [a.reply for a in attempts]
            assert any(e.kind == "gave up" for e in journey.events)
            dsn = next(m for m in world.mailbox("alice@uni.example").messages() if m.envelope.mail_from == "")
            block = read_dsn(dsn.message).recipient("someone@odd.example")
            assert block["Action"] == "failed" and reason in block["Diagnostic-Code"]
            assert journey.dsn_ids == [str(dsn.message["Message-ID"])]
    finally:
        peer.close()
    assert time.monotonic() - started < 20
