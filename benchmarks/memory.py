#!/usr/bin/env python3
"""Does `smtpkit serve` keep a flat memory line? RSS after 1,000 and after 50,000 sessions.

Starts a real ``smtpkit serve`` (``python -m kit serve``) on 127.0.0.1 in a process of its
own, reads its RSS (``VmRSS`` in /proc/PID/status) right after start-up (idle), then drives
sessions with `bench_client.py` (a fast raw-socket client: connect, EHLO, MAIL, RCPT, DATA,
1 KiB message, QUIT per session, ``--concurrency`` at once) up to each checkpoint and
prints the RSS there. Target (issue 14): RSS after 50,000 sessions within 1.2x of RSS after
1,000.

The server prints every line of every session as it does by default (to /dev/null here),
so the listener path is measured too; ``--quiet`` passes ``--quiet``. Its Maildir goes to a
temporary folder that is removed at the end (``--keep`` keeps it). Loopback only; every
client run is bounded in messages and seconds, and the server is stopped at the end.

    .venv/bin/python benchmarks/memory.py                          # 1,000 .. 50,000 sessions
    .venv/bin/python benchmarks/memory.py --checkpoints 1000,5000 --no-fsync
    .venv/bin/python benchmarks/memory.py --keep-sessions 100000   # the old behaviour: keep all
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from throughput import CLIENT, free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def drive(port: int, n: int, concurrency: int, max_seconds: float, python: str) -> dict:
    out = subprocess.run([python, CLIENT, "--port", str(port), "--mode", "newconn", "-n", str(n),
                          "-s", str(concurrency), "--max-seconds", str(max_seconds)],
                         capture_output=True, text=True, timeout=max_seconds + 60)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["fail"] or result["ok"] != n:
        raise RuntimeError(f"client run incomplete: {result}")
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoints", default="1000,5000,10000,20000,30000,40000,50000",
                   help="session counts at which RSS is read (cumulative)")
    p.add_argument("--concurrency", type=int, default=10, help="client sessions at once (default 10)")
    p.add_argument("--keep-sessions", type=int, default=None,
                   help="passed to smtpkit serve (default: serve's own default)")
    p.add_argument("--no-fsync", action="store_true", help="pass --no-fsync (faster; memory is the same)")
    p.add_argument("--quiet", action="store_true", help="pass --quiet (no line printing)")
    p.add_argument("--step-seconds", type=float, default=600.0, help="time bound of one client run")
    p.add_argument("--keep", action="store_true", help="keep the Maildir")
    p.add_argument("--python", default=sys.executable)
    a = p.parse_args(argv)
    checkpoints = sorted(int(x) for x in a.checkpoints.split(","))
    if not (1 <= checkpoints[0] and checkpoints[-1] <= 200_000):
        p.error("checkpoints 1..200000")

    work = tempfile.mkdtemp(prefix="kit-bench-memory-")
    port = free_port()
    cmd = [a.python, "-m", "kit", "serve", "--port", str(port), "--maildir", os.path.join(work, "md")]
    if a.keep_sessions:
        cmd += ["--keep-sessions", str(a.keep_sessions)]
    if a.no_fsync:
        cmd.append("--no-fsync")
    if a.quiet:
        cmd.append("--quiet")
    t0 = time.monotonic()
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    try:
        wait_port(port)  # one probe session (220, then closed)
        started = time.monotonic() - t0
        time.sleep(1.0)
        idle = rss_kib(server.pid)
        print(f"# smtpkit serve pid={server.pid} port={port}: listening after {started:.2f} s; "
              f"idle RSS {idle / 1024:.1f} MiB", flush=True)
        print(f"# command: {' '.join(cmd[1:])}", flush=True)
        done = 0
        for target in checkpoints:
            r = drive(port, target - done, a.concurrency, a.step_seconds, a.python)
            done = target
            time.sleep(0.5)  # let the server close the last sessions
            rss = rss_kib(server.pid)
            rows.append({"sessions": done, "rss_kib": rss, "rate": r["rate"]})
            print(f"after {done:>6} sessions: RSS {rss / 1024:6.1f} MiB  ({r['rate']:.0f} sessions/s)", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# kept {work}")
    if server.returncode not in (0, -signal.SIGTERM):
        print(f"server exited with {server.returncode}: {err[-2000:]}", file=sys.stderr)
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        ratio = last["rss_kib"] / first["rss_kib"]
        print("\n| sessions | RSS MiB |\n|---:|---:|")
        print(f"| idle (after start) | {idle / 1024:.1f} |")
        for r in rows:
            print(f"| {r['sessions']:,} | {r['rss_kib'] / 1024:.1f} |")
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(f"\nRSS after {last['sessions']:,} / after {first['sessions']:,} sessions = {ratio:.2f} "
              f"(target <= 1.2: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
