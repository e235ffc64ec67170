#!/usr/bin/env python3
"""What does the deck's view of `smtpkit classroom` cost? Size and time of the control socket.

Starts a `Room` on 127.0.0.1 and its `ControlServer` on a socket in a fresh private folder,
delivers ``--students`` sessions (each from its own loopback address, one mail each, bounded
by a 10 s timeout per client), then measures:

- the full state (status and snapshot) as JSON: its size, and the time to ask and parse it
  (``--full`` requests);
- an unchanged room: the status only, as the deck's board asks about once a second
  (``--quiet`` requests through `RemoteRoom.status`).

    .venv/bin/python benchmarks/classroom_control.py                 # 120 students
    .venv/bin/python benchmarks/classroom_control.py --students 30
"""

from __future__ import annotations

import argparse
import json
import shutil
import smtplib
import tempfile
import time
from pathlib import Path

from kit.classroom import ControlServer, Room, connect_room
from kit.classroom.control import _ask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=120, choices=range(1, 201), metavar="N (1-200)")
    parser.add_argument("--full", type=int, default=20, help="full-state requests to time (default 20)")
    parser.add_argument("--quiet", type=int, default=200, help="status-only requests to time (default 200)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="smtpkit-control-bench-"))
    socket_path = folder / "ctl" / "classroom.sock"
    try:
        with Room(port=0, minutes=5) as room:
            for i in range(args.students):
                with smtplib.SMTP(room.host, room.port, local_hostname=f"student{i}", timeout=10,
                                  source_address=(f"127.0.1.{i + 1}", 0)) as client:
                    client.sendmail(f"s{i}@class.test", ["teacher@class.test"], "Subject: hi\r\n\r\nhello\r\n")
            time.sleep(0.5)  # the last QUIT reaches the model
            server = ControlServer(room, socket_path).start()
            try:
                remote = connect_room(socket_path)
                full = _ask(socket_path, {"op": "state", "known": None})
                started = time.perf_counter()
                for _ in range(args.full):
                    json.dumps(_ask(socket_path, {"op": "state", "known": None}))
                full_ms = (time.perf_counter() - started) / args.full * 1000
                unchanged = _ask(socket_path, {"op": "state", "known": full["tag"]})
                started = time.perf_counter()
                for _ in range(args.quiet):
                    remote.status()
                quiet_ms = (time.perf_counter() - started) / args.quiet * 1000
            finally:
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"sessions {len(full['snapshot']['sessions'])}: full state {len(json.dumps(full)) / 1024:.0f} KiB "
          f"in {full_ms:.1f} ms; unchanged room {len(json.dumps(unchanged))} B in {quiet_ms:.2f} ms")


if __name__ == "__main__":
    main()
