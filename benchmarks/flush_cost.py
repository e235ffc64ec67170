#!/usr/bin/env python3
"""What one serial message's flush costs: syncfs against per-file fsyncs (no SMTP, no threads).

A serial client gets nothing from group commit: each message waits for its own flush. The
kit flushes with ``syncfs`` (one call; it writes back every dirty page of the file system,
other processes' too). The alternative is to flush only what this message touched:
``fdatasync`` of the message file, ``fsync`` of ``new/`` (the rename) and ``fdatasync`` of the
envelope log: three calls. Each variant writes ``--count`` 1 KiB messages (tmp/ -> new/,
one log line each) and flushes after every message; variants alternate per repetition.
Prints wall and CPU µs per message, median (min-max) over the repetitions.

    taskset -c 1 .venv/bin/python benchmarks/flush_cost.py          # ~20 s
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

from kit.server.mailbox import _SYNCFS

BODY = b"X" * 1024


def run(folder: str, count: int, variant: str) -> tuple[float, float]:
    tmp, new = os.path.join(folder, "tmp"), os.path.join(folder, "new")
    os.makedirs(tmp)
    os.makedirs(new)
    log = os.open(os.path.join(folder, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    dirfd = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(count):
        fd = os.open(os.path.join(tmp, str(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, BODY)
        if variant == "fsyncs":
            os.fdatasync(fd)
        os.close(fd)
        os.rename(os.path.join(tmp, str(i)), os.path.join(new, str(i)))
        os.write(log, b'{"key": "%d"}\n' % i)
        if variant == "syncfs":
            _SYNCFS(dirfd)
        else:
            os.fsync(dirfd)
            os.fdatasync(log)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    os.close(dirfd)
    os.close(log)
    return wall / count * 1e6, cpu / count * 1e6


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dir", default=None, help="parent folder (default $TMPDIR); must be a real disk")
    a = p.parse_args(argv)
    if _SYNCFS is None:
        print("no syncfs on this system", file=sys.stderr)
        return 1
    root = tempfile.mkdtemp(prefix="kit-flush-", dir=a.dir)
    res: dict[str, list[tuple[float, float]]] = {"syncfs": [], "fsyncs": []}
    try:
        for rep in range(a.reps):
            for variant in (("syncfs", "fsyncs") if rep % 2 == 0 else ("fsyncs", "syncfs")):
                folder = os.path.join(root, f"{variant}-{rep}")
                res[variant].append(run(folder, a.count, variant))
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"| flush per message ({a.count} msgs x {a.reps} reps) | wall µs/msg | CPU µs/msg |\n|---|---:|---:|")
    for variant, label in (("syncfs", "syncfs (the kit)"), ("fsyncs", "fdatasync file + fsync new/ + fdatasync log")):
        walls, cpus = [r[0] for r in res[variant]], [r[1] for r in res[variant]]
        print(f"| {label} | {statistics.median(walls):.0f} ({min(walls):.0f}-{max(walls):.0f}) "
              f"| {statistics.median(cpus):.0f} ({min(cpus):.0f}-{max(cpus):.0f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
