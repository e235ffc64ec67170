#!/usr/bin/env python3
"""SMTP load generator for the throughput benchmark: pure Python, one thread, no postfix.

Drives ``--sessions`` SMTP sessions at once from one thread (``selectors``), each in
lock-step like smtplib -- no pipelining -- so every message costs the same 4 round
trips against every server: ``MAIL FROM``, ``RCPT TO``, ``DATA``, body + ``.``.
Sessions share one counter, so exactly ``--messages`` messages are sent in total.

Modes:
  reuse    connect, EHLO, then MAIL/RCPT/DATA/. repeated on the same connection, QUIT
  newconn  connect, EHLO, MAIL, RCPT, DATA, ., QUIT -- a new connection per message

Prints one JSON line: {"ok", "fail", "secs", "rate", "client_cpu_us", "errors"}. The clock
runs from the first connect to the last reply. Loopback targets only; bounded by
--messages and --max-seconds.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import selectors
import socket
import sys
import time

CONNECT = object()
CLOSE = object()


def build_message(size: int, sender: str, rcpt: str) -> bytes:
    """Headers + ``size`` bytes of 78-char lines, CRLF, ending in ``.``: ready to send
    after ``354`` (no line starts with a dot, so no dot-stuffing). As smtplib_bench.py."""
    head = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: throughput bench\r\n"
            f"Message-ID: <bench@bench.local>\r\n\r\n").encode()
    body = bytearray()
    i = 0
    while len(body) < size:
        body += (b"%d" % i + b"X" * 77)[:78] + b"\r\n"
        i += 1
    return head + bytes(body[:size]).rstrip(b"\r\n") + b"\r\n.\r\n"


def reply_complete(buf: bytes) -> bool:
    """A full (possibly multi-line) reply: ends with CRLF and its last line is ``xyz `` or ``xyz``."""
    if not buf.endswith(b"\r\n"):
        return False
    i = buf.rfind(b"\r\n", 0, len(buf) - 2)
    last = buf[i + 2:] if i >= 0 else buf
    return len(last) == 5 or last[3:4] == b" "


class Work:
    def __init__(self, total: int, deadline: float) -> None:
        self.left = total
        self.deadline = deadline
        self.ok = 0
        self.fail = 0
        self.errors: list[str] = []

    def take(self) -> bool:
        if self.left <= 0 or time.monotonic() > self.deadline:
            return False
        self.left -= 1
        return True

    def error(self, what: str) -> None:
        self.fail += 1
        if len(self.errors) < 5:
            self.errors.append(what)


def session(work: Work, msg: bytes, sender: str, rcpt: str, newconn: bool):
    """One client session as a generator: yields what to send (or CONNECT/CLOSE), gets replies."""
    mail = f"MAIL FROM:<{sender}>\r\n".encode()
    rcpt_cmd = f"RCPT TO:<{rcpt}>\r\n".encode()

    def expect(reply: bytes, code: bytes, what: str) -> bool:
        if reply[:3] == code:
            return True
        work.error(f"{what}: {reply[:120]!r}")
        return False

    def open_():
        if not expect((yield CONNECT), b"220", "greeting"):
            return False
        return expect((yield b"EHLO bench.local\r\n"), b"250", "EHLO")

    def quit_():
        yield b"QUIT\r\n"
        yield CLOSE

    if not newconn and not (yield from open_()):
        yield CLOSE
        return
    while work.take():
        if newconn and not (yield from open_()):
            yield CLOSE
            return
        if not (expect((yield mail), b"250", "MAIL") and expect((yield rcpt_cmd), b"250", "RCPT")
                and expect((yield b"DATA\r\n"), b"354", "DATA")):
            yield CLOSE
            return
        if not expect((yield msg), b"250", "end of data"):
            yield CLOSE
            return
        work.ok += 1
        if newconn:
            yield from quit_()
    if not newconn:
        yield from quit_()


class Driver:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.addr = (host, port)
        self.timeout = timeout
        self.sel = selectors.DefaultSelector()
        self.live = 0

    def start(self, gen) -> None:
        self.live += 1
        self.advance(gen, None, None)

    def advance(self, gen, sock, reply) -> None:
        while True:
            try:
                action = gen.send(reply)
            except StopIteration:
                if sock is not None:
                    self.sel.unregister(sock)
                    sock.close()
                self.live -= 1
                return
            reply = None
            if action is CLOSE:
                if sock is not None:
                    self.sel.unregister(sock)
                    sock.close()
                    sock = None
                continue
            if action is CONNECT:
                try:
                    sock = socket.create_connection(self.addr, timeout=self.timeout)
                except OSError as exc:
                    reply = f"421 connect failed: {exc}\r\n".encode()
                    continue
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sel.register(sock, selectors.EVENT_READ, [gen, bytearray()])
                return
            try:
                sock.sendall(action)
            except OSError:
                pass  # the next recv() sees the reset or EOF and reports it
            return

    def run(self, deadline: float) -> None:
        while self.live and time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=1.0):
                gen, buf = key.data
                sock = key.fileobj
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    buf[:] = b"421 connection closed by server\r\n"
                else:
                    buf += chunk
                    if not reply_complete(bytes(buf[-600:])):
                        continue
                reply = bytes(buf)
                buf.clear()
                self.advance(gen, sock, reply)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-n", "--messages", type=int, default=1000, help="messages in total")
    p.add_argument("-s", "--sessions", type=int, default=1, help="concurrent sessions")
    p.add_argument("--mode", choices=["reuse", "newconn"], default="reuse")
    p.add_argument("--size", type=int, default=1024, help="body bytes")
    p.add_argument("--sender", default="bench@bench.local")
    p.add_argument("--rcpt", default="bench@example.test")
    p.add_argument("--max-seconds", type=float, default=60.0, help="stop taking new messages after this")
    a = p.parse_args(argv)
    if not ipaddress.ip_address(a.host).is_loopback:
        p.error("loopback targets only")
    if not (1 <= a.messages <= 1_000_000 and 1 <= a.sessions <= 1000):
        p.error("--messages 1..1e6, --sessions 1..1000")

    msg = build_message(a.size, a.sender, a.rcpt)
    t_start = time.monotonic()
    work = Work(a.messages, t_start + a.max_seconds)
    driver = Driver(a.host, a.port, timeout=10.0)
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(min(a.sessions, a.messages)):
        driver.start(session(work, msg, a.sender, a.rcpt, a.mode == "newconn"))
    driver.run(deadline=t_start + a.max_seconds + 15.0)
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if driver.live:
        work.error(f"{driver.live} session(s) still open at the deadline")
    print(json.dumps({
        "ok": work.ok, "fail": work.fail, "secs": round(secs, 4),
        "rate": round(work.ok / secs, 1) if secs > 0 else 0.0,
        "client_cpu_us": round(cpu / max(work.ok, 1) * 1e6, 1),
        "errors": work.errors,
    }))
    return 0 if work.fail == 0 and work.ok == a.messages else 1


if __name__ == "__main__":
    sys.exit(main())
