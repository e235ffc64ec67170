"""A judge-side relay that delivers a lab server's replies the way real networks and servers do:
in pieces, and sometimes over several lines.

TCP is a byte stream: one ``send`` of the server may arrive in several ``recv`` calls of the
client, and several replies may arrive in one. RFC 5321 §4.2.1 lets any reply span lines
(``220-...`` then ``220 ...``), and many real servers greet with a multi-line 220. A client
that calls ``recv()`` once per reply works against a quiet server on loopback and breaks
against a busy one; notebook 02 teaches the bug, so the checker must provoke it.

`PiecesRelay` sits between the student's client and the judge's `LabServer`:

* every reply is sent in two TCP segments with a pause between them, the first one cut in
  the middle of its first line;
* the greeting gets two more lines in front of its last one (still one 220 reply);
* the client's bytes go to the server unchanged, so the server's transcript and Maildir stay
  the evidence;
* it notes when the client sent something while a reply was still on its way
  (``early``): a client that waits for whole replies never does, one with a single
  ``recv()`` per reply does at once;
* it keeps what the client sent (``sent``, the first MiB), so the judge can see a bare LF
  inside the message data, which the server's transcript does not flag (``bare_lf``).

It lives in ``kit.exercises`` because only the judge needs it; the lab server itself sends
each reply in one write, as aiosmtpd does. Its listening socket comes from
`kit.server.controller.bind_socket`, so under the grader it listens where the sandboxed kernel
can connect; the lab server behind it must then listen where the relay can reach it (see
``dialogue.relayed_server``).
"""

from __future__ import annotations

import re
import socket
import threading
import time

from ..server.controller import bind_socket

__all__ = ["PiecesRelay"]

#: Lines added to the greeting, before its last line (RFC 5321 §4.2.1, §4.3.1: a 220 may span lines).
GREETING_LINES = (b"This lab server answers in pieces, as busy servers and networks do",
                  b"a reply ends with the line that has a space after its code")

_KEEP = 1 << 20
_BARE_LF = re.compile(rb"(?<!\r)\n")


class PiecesRelay:
    """``with PiecesRelay(server.host, server.port, pause=0.03) as relay:`` then connect to
    ``relay.host, relay.port``. ``relay.early`` lists the first line of each piece of client data
    that arrived before the reply to the previous command was complete."""

    def __init__(self, host: str, port: int, pause: float = 0.03) -> None:
        self.target = (host, port)
        self.pause = pause
        self.early: list[str] = []
        self.sent = bytearray()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        # where the student's code can connect: in the grader, the sandboxed kernel's loopback
        self._listener = bind_socket("127.0.0.1", 0)
        self._listener.listen()
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="pieces-relay", daemon=True)

    def __enter__(self) -> PiecesRelay:
        self._acceptor.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def bare_lf(self) -> bool:
        """True when the client sent a line feed without a carriage return before it (RFC 5321 §2.3.8)."""
        return _BARE_LF.search(bytes(self.sent)) is not None

    def wait_idle(self, timeout: float = 2.0) -> None:
        """Wait until every relayed connection has ended (or ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._acceptor.join(1.0)
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(1.0)

    # -- plumbing -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            state = {"replying": False}
            with self._lock:
                self._sockets += [client, server]
            for target, name in ((self._upstream, "replies"), (self._downstream, "commands")):
                thread = threading.Thread(target=target, args=(client, server, state),
                                          name=f"pieces-relay-{name}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _downstream(self, client: socket.socket, server: socket.socket, state: dict) -> None:
        """Client -> server, unchanged; note data sent while a reply is still incomplete."""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if len(self.sent) < _KEEP:
                    self.sent += data[:_KEEP - len(self.sent)]
                if state["replying"]:
                    first = data.split(b"\n", 1)[0].rstrip(b"\r")
                    self.early.append(first.decode("utf-8", "replace")[:80])
                server.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(server, socket.SHUT_WR)

    def _upstream(self, client: socket.socket, server: socket.socket, state: dict) -> None:
        """Server -> client, one whole reply at a time, each in two pieces."""
        buffer = b""
        lines: list[bytes] = []
        greeting = True
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    lines.append(line + b"\n")
                    if line[3:4] == b"-":
                        continue  # more lines of this reply follow
                    reply, lines = lines, []
                    if greeting:
                        reply = _longer_greeting(reply)
                        greeting = False
                    self._send_in_pieces(client, b"".join(reply), state)
            if lines or buffer:
                client.sendall(b"".join(lines) + buffer)
        except OSError:
            pass
        finally:
            _shutdown(client, socket.SHUT_WR)

    def _send_in_pieces(self, client: socket.socket, reply: bytes, state: dict) -> None:
        cut = min(len(reply) - 1, 6) if len(reply) > 1 else len(reply)
        state["replying"] = True
        client.sendall(reply[:cut])
        time.sleep(self.pause)
        state["replying"] = False
        client.sendall(reply[cut:])


def _longer_greeting(reply: list[bytes]) -> list[bytes]:
    """``220 text`` -> ``220-text``, the added lines, then ``220 text`` again as the last line."""
    last = reply[-1]
    code = last[:3]
    if len(reply) != 1 or not code.isdigit() or code != b"220":
        return reply
    first = code + b"-" + last[4:]
    middle = [code + b"-" + text + b"\r\n" for text in GREETING_LINES]
    return [first, *middle, last]


def _shutdown(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:
        pass
