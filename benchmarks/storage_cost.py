#!/usr/bin/env python3
"""What one delivery to the LabServer's Maildir costs, without SMTP: wall and CPU us/message.

Variants (each run --count messages into a fresh Maildir, variants alternating per rep):
  open-write-close     one plain file per message (the floor)
  maildir.add          stdlib mailbox.Maildir.add (note: it fsyncs every message file itself)
  maildir.add-nofsync  the same with the stdlib's per-file fsync patched out
  kit durable=False    kit Mailbox.deliver(): Maildir.add + envelope JSON, no extra flush
  kit durable=True     kit Mailbox.deliver(): the above + syncfs (or fsync of files and dirs)
  kit no-fsync-at-all  kit durable=False with the stdlib fsync patched out too

Runs in the calling thread (no committer thread, no event loop), so the numbers are the
storage path only. Pin it like the benchmark: ``taskset -c 1 .venv/bin/python
benchmarks/storage_cost.py``. The folder must be on a real disk (default: $TMPDIR).
"""

from __future__ import annotations

import argparse
import mailbox
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager

from kit.server.mailbox import Envelope, Mailbox


@contextmanager
def stdlib_fsync_off():
    orig = mailbox._sync_flush
    mailbox._sync_flush = lambda f: f.flush()
    try:
        yield
    finally:
        mailbox._sync_flush = orig


def payload(size: int) -> bytes:
    line = b"X" * 76 + b"\r\n"
    return b"Subject: storage bench\r\n\r\n" + line * (size // len(line) + 1)


def run_variant(name: str, root: str, count: int, data: bytes) -> tuple[float, float]:
    path = tempfile.mkdtemp(prefix=name.replace(" ", "_").replace("=", "") + "-", dir=root)
    env = Envelope(mail_from="a@bench.local", rcpt_tos=("b@example.test",), peer="127.0.0.1:1",
                   helo="bench.local", received_at=time.time(), queue_id="0123456789")
    try:
        if name == "open-write-close":
            def op(i):
                with open(os.path.join(path, f"m{i}"), "wb") as fh:
                    fh.write(data)
            ctx = None
        elif name.startswith("maildir.add"):
            md = mailbox.Maildir(os.path.join(path, "md"), factory=None, create=True)
            op = lambda i: md.add(data)  # noqa: E731
            ctx = stdlib_fsync_off if name.endswith("nofsync") else None
        else:
            box = Mailbox(path, durable=(name == "kit durable=True"))
            op = lambda i: box.deliver(data, env)  # noqa: E731
            ctx = stdlib_fsync_off if name == "kit no-fsync-at-all" else None
        with (ctx() if ctx else _null()):
            c0, t0 = time.process_time(), time.perf_counter()
            for i in range(count):
                op(i)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return wall / count * 1e6, cpu / count * 1e6
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _null():
    yield


VARIANTS = ["open-write-close", "maildir.add", "maildir.add-nofsync", "kit durable=False", "kit durable=True",
            "kit no-fsync-at-all"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=300, help="messages per variant and rep (default 300)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--size", type=int, default=1200, help="message bytes (default 1200)")
    p.add_argument("--dir", default=None, help="where to create the Maildirs (default $TMPDIR)")
    a = p.parse_args(argv)
    if not (1 <= a.count <= 20000 and 1 <= a.reps <= 50):
        p.error("count 1-20000, reps 1-50")
    data = payload(a.size)
    root = tempfile.mkdtemp(prefix="kit-storage-", dir=a.dir)
    res: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    try:
        for rep in range(a.reps):
            order = VARIANTS if rep % 2 == 0 else VARIANTS[::-1]
            for v in order:
                res[v].append(run_variant(v, root, a.count, data))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"storage cost per message: {a.reps} reps x {a.count} messages of {len(data)} B, "
          f"median (min-max)\n")
    print("| variant | wall us/msg | CPU us/msg (user+sys) |\n|---|---:|---:|")
    for v in VARIANTS:
        w = [x[0] for x in res[v]]
        c = [x[1] for x in res[v]]
        print(f"| {v} | {statistics.median(w):.0f} ({min(w):.0f}-{max(w):.0f}) | "
              f"{statistics.median(c):.0f} ({min(c):.0f}-{max(c):.0f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
