#!/usr/bin/env python3
"""One SMTP server for the throughput benchmark, in a process of its own (so it can be pinned).

Kinds:
  sink          bare aiosmtpd ``Controller`` + a handler that discards every message
                (``server_hostname`` set, bound to 127.0.0.1) -- the anchor
  lab           ``kit.server.LabServer(durable=True)``: Maildir, flushed before ``250``
  lab-nofsync   ``kit.server.LabServer(durable=False)``: same Maildir writes, no flush

Prints ``READY 127.0.0.1:<port> pid=<pid>`` on stdout once it serves, runs until
SIGTERM/SIGINT (or --max-seconds), stops cleanly and prints a one-line JSON summary on
stderr (messages accepted, files in the Maildir, RSS).

Run it alone to profile a server, e.g. pinned like the benchmark does::

    taskset -c 1 .venv/bin/python benchmarks/bench_server.py --kind lab --maildir /tmp/md &
    .venv/bin/py-spy record -r 250 -o lab.svg --pid <pid> &    # then drive it with bench_client.py

The sink and the start-up signal handling are adapted from /work/shared/bench/aiosmtpd_sink.py
(ANCHOR bench, AIOSMTPD-NOTES.md §4).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time

DOMAIN = "example.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib() -> dict:
    out = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def count_lines(path: str) -> int:
    """Envelopes in the Maildir's JSON-lines log (one line per stored message)."""
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return -1


def count_files(path: str) -> int:
    try:
        return sum(1 for e in os.scandir(path) if e.is_file())
    except OSError:
        return -1


class DiscardHandler:
    """Accept every message and throw it away; count them (from aiosmtpd_sink.py)."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        self.bytes += len(envelope.original_content or b"")
        return "250 OK"


class SinkServer:
    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.handler = DiscardHandler()
        # server_hostname avoids a socket.getfqdn() per connection (aiosmtpd #178).
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port,
                                     server_hostname="aiosmtpd-sink", ready_timeout=10.0)
        self.port = port

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> dict:
        self.controller.stop()
        # Controller.start() opens one probe connection: an empty session, no message.
        return {"messages": self.handler.messages, "bytes": self.handler.bytes}


class LabKind:
    def __init__(self, durable: bool, maildir: str) -> None:
        from kit.server import LabServer

        self.maildir = maildir
        self.server = LabServer(domains=[DOMAIN], durable=durable, maildir=maildir)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> dict:
        sessions = len(self.server.transcripts)
        self.server.stop()
        return {"messages": count_files(os.path.join(self.maildir, "new")),
                "envelopes": count_lines(os.path.join(self.maildir, "kit-envelopes.jsonl")),
                "tmp_left": count_files(os.path.join(self.maildir, "tmp")),
                "sessions": sessions}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["sink", "lab", "lab-nofsync"], required=True)
    p.add_argument("--maildir", help="Maildir for the lab kinds (default: a new temporary folder)")
    p.add_argument("--max-seconds", type=float, default=1800.0, help="safety stop")
    a = p.parse_args(argv)

    if a.kind == "sink":
        server = SinkServer(free_port())
    else:
        maildir = a.maildir or tempfile.mkdtemp(prefix="kit-bench-maildir-")
        server = LabKind(durable=(a.kind == "lab"), maildir=maildir)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # Keep SIGTERM/SIGINT off the server threads (they inherit the mask at creation):
    # Python handles signals in the main thread only.
    sigs = {signal.SIGTERM, signal.SIGINT}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        server.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    extra = f" maildir={server.maildir}" if isinstance(server, LabKind) else ""
    print(f"READY 127.0.0.1:{server.port} pid={os.getpid()}{extra}", flush=True)

    deadline = time.monotonic() + a.max_seconds
    while not stop.wait(0.25) and time.monotonic() < deadline:
        pass
    summary = {"kind": a.kind, **server.stop(), **rss_kib()}
    print(json.dumps(summary), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
