"""A tiny scripted peer on 127.0.0.1 for tests: it says what a real server said, byte for byte.

The lab server is polite; real peers are not always: Postfix sends an unsolicited ``421``
after too many errors and hangs up, a POP3 server answers ``+OK``. `TinyPeer` plays such a
peer from a script: ``answer(line, state)`` returns the bytes to send for one client line
and whether to hang up after them. Everything is bounded: connections, lines per
connection, and the time a connection may last.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

Answer = Callable[[str, dict], tuple[bytes, bool]]


class TinyPeer:
    def __init__(self, greeting: bytes, answer: Answer | None = None, *, max_connections: int = 10,
                 max_lines: int = 50, timeout: float = 10.0) -> None:
        self.greeting = greeting
        self.answer = answer or (lambda line, state: (b"", True))
        self.max_connections, self.max_lines, self.timeout = max_connections, max_lines, timeout
        self.received: list[list[str]] = []  # the lines of each connection, as they came
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        served = 0
        while served < self.max_connections and not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            served += 1
            lines: list[str] = []
            self.received.append(lines)
            with conn:
                self._talk(conn, lines)

    def _talk(self, conn: socket.socket, lines: list[str]) -> None:
        deadline = time.monotonic() + self.timeout
        conn.settimeout(0.5)
        state: dict = {}
        try:
            if self.greeting:
                conn.sendall(self.greeting)
            if state.get("close") or self.greeting.startswith((b"421", b"521")):
                return
            buffer = b""
            while len(lines) < self.max_lines and time.monotonic() < deadline and not self._stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.rstrip(b"\r").decode("utf-8", "replace")
                    lines.append(line)
                    data, close = self.answer(line, state)
                    if data:
                        conn.sendall(data)
                    if close:
                        return
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> TinyPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def postfix_error_limit(limit: int = 2, refuse: tuple[str, ...] = ()) -> Answer:
    """Postfix with ``smtpd_hard_error_limit = limit``: a 5yz for each refused recipient counts as
    an error, and once the count reaches the limit smtpd says ``421 4.7.0 ... too many errors``
    at once, without waiting for a command, and hangs up (smtpd.c, smtpd_proto)."""

    def answer(line: str, state: dict) -> tuple[bytes, bool]:
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            return b"250-mx.example.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n", False
        if verb == "MAIL":
            return b"250 2.1.0 Ok\r\n", False
        if verb == "RCPT":
            address = line.split(":", 1)[1].strip().strip("<>")
            if address not in refuse:
                return b"250 2.1.5 Ok\r\n", False
            state["errors"] = state.get("errors", 0) + 1
            reply = f"550 5.1.1 <{address}>: Recipient address rejected: User unknown\r\n".encode()
            if state["errors"] >= limit:
                return reply + b"421 4.7.0 mx.example.test Error: too many errors\r\n", True
            return reply, False
        if verb == "QUIT":
            return b"221 2.0.0 Bye\r\n", True
        return b"502 5.5.2 Error: command not recognized\r\n", False

    return answer


def pop3(line: str, state: dict) -> tuple[bytes, bool]:
    """A POP3 server (RFC 1939): ``-ERR`` to anything it does not know, ``+OK`` to QUIT."""
    if line.upper().startswith("QUIT"):
        return b"+OK bye\r\n", True
    return b"-ERR unknown command\r\n", False


def rejecting_554(line: str, state: dict) -> tuple[bytes, bool]:
    """A server that greeted with 554 (RFC 5321 §3.1): 503 to everything until QUIT."""
    if line.upper().startswith("QUIT"):
        return b"221 2.0.0 Bye\r\n", True
    return b"503 5.5.1 Error: bad sequence of commands\r\n", False
