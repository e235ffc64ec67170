#!/usr/bin/env python3
"""LabServer (durable) side by side with a private Postfix (durable) and a bare aiosmtpd sink.

Issue 14's fair anchor: Postfix also writes every message to disk before its ``250`` (its queue
file is fsynced), then delivers it to a Maildir. Per repetition this script starts three fresh
servers, each pinned like the client (``--pin same``: one CPU for server and client):

  postfix   a private Postfix 3.x on 127.0.0.1 (``/work/shared/recipes/postfix-peer/postfix_peer.sh``:
            its own config folder, ``postfix -c DIR/etc start``, DNS off, loopback only, default
            durability, delivery to Maildirs); never the system's configuration
  lab       ``LabServer(durable=True)`` (`bench_server.py --kind lab`): ``250`` after syncfs
  sink      bare aiosmtpd Controller + discard handler (`bench_server.py --kind sink`)

and runs every scenario against the three back to back, in an order that alternates per
scenario and repetition:

  src_s20_d   smtp-source -d -s 20 -m M   -l 1024     20 sessions on reused connections
  src_s1_d    smtp-source -d -s 1  -m M1  -l 1024     one serial connection
  conn_c20    helo_quit -c 20 -n NC                   20 concurrent HELO..QUIT sessions, no message
  big_s20_d   smtp-source -d -s 20 -m MB  -l 102400   100 KB messages, 20 sessions
  big_s1_d    smtp-source -d -s 1  -m MB1 -l 102400   100 KB messages, one connection

Rates are units (messages or sessions) per second of the client's wall clock; ratios are taken
per repetition from adjacent runs, then summarised as median (min-max). Server CPU per unit:
all threads of the server process (/proc schedstat); for Postfix, every process of the
instance's process group plus what the master reaped from exited children, read after the queue
has drained, so Postfix's delivery to the Maildir is counted too. After each Postfix run the
script waits (bounded) until the queue is empty, so its deliveries do not load the next run.

Files stay until the end of the run (deletions make later file creation dearer: see run_rep).
Checks: the LabServer's Maildir new/ and Postfix's catch-all Maildir must hold exactly the
messages that got ``250`` (exit 1 otherwise).

Needs root (Postfix runs as its own users), /usr/sbin/postfix and smtp-source (Debian package
``postfix``, see benchmarks/README.md), and cc for helo_quit.c. Not a test: CI does not run it.

    .venv/bin/python benchmarks/postfix_compare.py                 # 5 reps, ~4 min
    .venv/bin/python benchmarks/postfix_compare.py --reps 3 --json out.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from throughput import (
    count_files,
    create_cost_us,
    find_tool,
    fmt_num,
    fmt_rate,
    fmt_ratio,
    fs_type,
    loadavg,
    pinning,
    proc_cpu_s,
    start_server,
    summarize,
)

from kit.journey.postfix import RECIPE, PostfixPeer

PEER = str(RECIPE)
HELO_QUIT_C = "/work/shared/bench/helo_quit.c"
SENDER = "bench@bench.local"
RCPT = {"postfix": "bench@postfix.test", "lab": "bench@example.test", "sink": "bench@example.test"}
KINDS = ["postfix", "lab", "sink"]
LABEL = {"postfix": "Postfix (durable)", "lab": "LabServer (durable)", "sink": "bare aiosmtpd sink"}
HZ = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------ postfix
def _stat_ticks(pid: int, children: bool = False) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime=14, stime=15, cutime=16, cstime=17
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if children else 0)


def group_cpu_s(master: int) -> float:
    """CPU seconds of a Postfix instance: its live processes (the master's process group) plus
    the children the master has reaped (cutime/cstime)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != master:  # pgrp
                continue
            pid = int(entry.name)
            total += _stat_ticks(pid, children=(pid == master))
        except (OSError, ValueError, IndexError):
            continue
    return total / HZ


class Postfix(PostfixPeer):
    """The shared `kit.journey.postfix.PostfixPeer`, started at once, with the benchmark's counters."""

    kind = "postfix"

    def __init__(self, pin: list[str], root: str) -> None:
        super().__init__(root=root, pin=pin)
        self.start()
        self.acked = 0

    @property
    def stored(self) -> int:
        return count_files(os.path.join(self.maildir(), "new"))

    def drain(self, timeout: float = 120.0) -> float:
        t0 = time.monotonic()
        while self.queued() and time.monotonic() - t0 < timeout:
            time.sleep(0.05)
        return time.monotonic() - t0

    def cpu(self) -> float:
        return group_cpu_s(self.pid)

    def stop(self) -> dict:
        stored = self.stored
        super().stop(remove=False)  # the files stay until the run ends (see run_rep)
        return {"stored": stored}


# ---------------------------------------------------------------------- scenarios
def scenarios(a) -> dict[str, dict]:
    out = {
        "src_s20_d": {"title": "20 sessions, reused connections (`src_s20_d`), 1 KB", "tool": "src",
                      "s": 20, "n": a.messages, "size": 1024},
        "src_s1_d": {"title": "one serial connection (`src_s1_d`), 1 KB", "tool": "src", "s": 1,
                     "n": a.serial_messages, "size": 1024},
        "conn_c20": {"title": "20 concurrent HELO..QUIT sessions (`conn_c20`)", "tool": "hq", "s": 20,
                     "n": a.sessions_n, "size": 0},
        "big_s20_d": {"title": "20 sessions, reused connections, 100 KB (`big_s20_d`)", "tool": "src", "s": 20,
                      "n": a.big_messages, "size": 102400},
        "big_s1_d": {"title": "one serial connection, 100 KB (`big_s1_d`)", "tool": "src", "s": 1,
                     "n": max(20, a.big_messages // 2), "size": 102400},
    }
    wanted = a.scenarios.split(",") if a.scenarios else list(out)
    return {k: out[k] for k in wanted}


def client_cmd(a, sc: dict, kind: str, port: int) -> list[str]:
    if sc["tool"] == "hq":
        return [a.helo_quit, "-c", str(sc["s"]), "-n", str(sc["n"]), "-t", str(int(a.run_seconds)),
                f"127.0.0.1:{port}"]
    return [a.smtp_source, "-M", "bench.local", "-f", SENDER, "-t", RCPT[kind], "-d", "-s", str(sc["s"]),
            "-m", str(sc["n"]), "-l", str(sc["size"]), f"127.0.0.1:{port}"]


def cpu_of(srv) -> float | None:
    return srv.cpu() if isinstance(srv, Postfix) else proc_cpu_s(srv.pid)


def measure(a, sc: dict, kind: str, srv, pin: list[str]) -> dict:
    stored0 = srv.stored if kind != "sink" else None
    cpu0 = cpu_of(srv)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(pin + client_cmd(a, sc, kind, srv.port), capture_output=True, text=True,
                           timeout=a.run_seconds + 60)
        rc, out, err = p.returncode, p.stdout.strip(), p.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, out, err = -1, "", "client timed out"
    wall = time.perf_counter() - t0
    rec: dict = {"rc": rc, "wall_s": round(wall, 4), "errors": []}
    if sc["tool"] == "hq":
        kv = dict(x.split("=", 1) for x in out.split() if "=" in x)
        ok = int(kv.get("ok", 0))
        rec.update(ok=ok, fail=sc["n"] - ok, rate=float(kv.get("rate", 0.0)))
    else:  # smtp-source reports nothing: the wall clock of the whole run
        ok = sc["n"] if rc == 0 else 0
        rec.update(ok=ok, fail=sc["n"] - ok, rate=round(ok / wall, 1))
    if rc or err:
        rec["errors"].append((err or out)[-300:])
    if isinstance(srv, Postfix):
        rec["drain_s"] = round(srv.drain(), 3)
    cpu1 = cpu_of(srv)
    if cpu0 is not None and cpu1 is not None and rec["ok"]:
        rec["server_cpu_us"] = round((cpu1 - cpu0) / rec["ok"] * 1e6, 1)
    if sc["tool"] == "src":
        srv.acked += rec["ok"]
        if stored0 is not None:
            rec["stored"] = srv.stored - stored0
            if rec["stored"] != rec["ok"]:
                rec["errors"].append(f"Maildir new/ grew by {rec['stored']}, but {rec['ok']} messages got 250")
    return rec


def start(kind: str, pin: list[str], workdir: str, py: str):
    if kind == "postfix":
        return Postfix(pin, workdir)
    return start_server(kind, pin, workdir, None, py, max_seconds=1800)


def run_rep(a, rep: int, scen: dict, pins, workroot: str, out: dict) -> None:
    pin_srv, pin_cli = pins
    workdir = os.path.join(workroot, f"rep{rep + 1}")
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)  # Postfix's users must reach its folder
    la = loadavg()
    create_us = create_cost_us(workdir)
    print(f"# rep {rep + 1}/{a.reps} loadavg={la} file-create={create_us}us", flush=True)
    servers: dict = {}
    try:
        for k in KINDS:
            servers[k] = start(k, pin_srv, workdir, a.python)
        for k in KINDS:  # warm-up (not counted): Postfix spawns its 20 smtpd processes here
            for sc in ({"tool": "src", "s": 20, "n": 60, "size": 1024}, {"tool": "hq", "s": 20, "n": 60, "size": 0}):
                rec = measure(a, sc, k, servers[k], pin_cli)
                if rec["fail"] or rec["errors"]:
                    raise RuntimeError(f"warm-up against {k} failed: {rec}")
        for si, (sname, sc) in enumerate(scen.items()):
            order = KINDS if (rep + si) % 2 == 0 else KINDS[::-1]
            for k in order:
                rec = measure(a, sc, k, servers[k], pin_cli)
                rec.update(rep=rep, scenario=sname, kind=k, loadavg=la, create_us=create_us)
                out["results"].append(rec)
                bad = rec["fail"] or rec["errors"]
                if bad:
                    out["problems"].append(f"rep {rep + 1} {sname} {k}: rc={rec['rc']} fail={rec['fail']} "
                                           f"{rec['errors']}")
                print(f"  {sname:9s} {k:8s} {rec['rate']:8.1f} /s  srv={rec.get('server_cpu_us', '-')}us"
                      + (f"  drain={rec['drain_s']}s" if "drain_s" in rec else "")
                      + ("  ERROR" if bad else ""), flush=True)
    finally:
        for k, srv in servers.items():
            if isinstance(srv, Postfix):
                srv.drain()
            summary = srv.stop()
            if k == "sink":
                stored = summary.get("messages")
            elif k == "lab":
                stored = summary.get("messages")
            else:
                stored = summary.get("stored")
            ok = stored == srv.acked
            out["checks"].append({"rep": rep, "kind": k, "acked": srv.acked, "stored": stored, "ok": ok})
            if not ok:
                out["problems"].append(f"rep {rep + 1} {k}: {srv.acked} messages got 250, {stored} stored")
        # The rep's Maildirs and queue stay until the whole run is over, so the run adds no mass
        # deletion of its own: on this VM's ext4 the CPU cost of creating a file depends on inodes
        # freed recently (perf: find_inode_bit -> recently_deleted, 60% of the LabServer's CPU in
        # one 1 KB run on 2026-12-04; file-create then ~950 us instead of ~30 us), and Postfix and
        # LabServer both create files for every message.


def build_helo_quit(workroot: str) -> str:
    exe = os.path.join(workroot, "helo_quit")
    subprocess.run(["cc", "-O2", "-pthread", "-o", exe, HELO_QUIT_C], check=True, timeout=120)
    return exe


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="repetitions, fresh servers each (default 5)")
    p.add_argument("--messages", type=int, default=1500, help="messages in src_s20_d (default 1500)")
    p.add_argument("--serial-messages", type=int, default=600, help="messages in src_s1_d (default 600)")
    p.add_argument("--sessions-n", type=int, default=3000, help="sessions in conn_c20 (default 3000)")
    p.add_argument("--big-messages", type=int, default=200, help="100 KB messages in big_s20_d (default 200; "
                   "big_s1_d sends half)")
    p.add_argument("--scenarios", default="", help="comma list (default all)")
    p.add_argument("--pin", choices=["same", "none", "split"], default="same")
    p.add_argument("--run-seconds", type=float, default=60.0, help="time limit of one client run")
    p.add_argument("--workdir", default=None, help="where Maildirs and Postfix's queue go (default $TMPDIR)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--json", metavar="OUT")
    p.add_argument("--python", default=sys.executable)
    a = p.parse_args(argv)
    if not (1 <= a.reps <= 20 and 1 <= a.messages <= 50_000 and 1 <= a.serial_messages <= 50_000
            and 1 <= a.sessions_n <= 100_000 and 1 <= a.big_messages <= 5000):
        p.error("out of range")
    a.smtp_source = find_tool("smtp-source")
    if not (a.smtp_source and find_tool("postfix") and os.path.exists(PEER)):
        p.error(f"needs /usr/sbin/postfix, smtp-source (apt-get install postfix) and {PEER}")
    if os.geteuid() != 0:
        p.error("run as root: Postfix starts as root and drops to its own users")
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    pins = pinning(a.pin)
    scen = scenarios(a)
    root = a.workdir or tempfile.gettempdir()
    workroot = tempfile.mkdtemp(prefix="kit-postfix-compare-", dir=root)
    os.chmod(workroot, 0o755)
    a.helo_quit = build_helo_quit(workroot)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    version = subprocess.run([find_tool("postconf"), "-d", "-h", "mail_version"], capture_output=True,
                             text=True).stdout.strip()
    print(f"# postfix_compare {stamp}: reps={a.reps} pin={a.pin} ({' '.join(pins[0]) or '-'}) "
          f"postfix {version}, fs={fs_type(workroot)} ({root})", flush=True)
    out: dict[str, list] = {"results": [], "checks": [], "problems": []}
    t0 = time.monotonic()
    try:
        for rep in range(a.reps):
            try:
                run_rep(a, rep, scen, pins, workroot, out)
            except (RuntimeError, OSError, subprocess.SubprocessError, KeyError) as exc:
                out["problems"].append(f"rep {rep + 1}: {type(exc).__name__}: {exc}")
                print(f"# rep {rep + 1} aborted: {exc}", file=sys.stderr, flush=True)
                break
    finally:
        if not a.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    elapsed = time.monotonic() - t0
    results = out["results"]

    def runs(sname, k, rep=None):
        return [r for r in results if r["scenario"] == sname and r["kind"] == k and not r["fail"]
                and (rep is None or r["rep"] == rep)]

    def ratios(sname, num, den):
        vals = []
        for rep in range(a.reps):
            x, y = runs(sname, num, rep), runs(sname, den, rep)
            if x and y and y[0]["rate"]:
                vals.append(x[0]["rate"] / y[0]["rate"])
        return summarize(vals)

    summary = {}
    for sname in scen:
        row = {k: {"rate": summarize([r["rate"] for r in runs(sname, k)]),
                   "cpu": summarize([r.get("server_cpu_us") for r in runs(sname, k)])} for k in KINDS}
        row["lab_postfix"] = ratios(sname, "lab", "postfix")
        row["lab_sink"] = ratios(sname, "lab", "sink")
        summary[sname] = row
    la = [r["loadavg"] for r in results] or [-1.0]
    cr = summarize([r["create_us"] for r in results])
    lines = [f"postfix_compare {stamp}: {a.reps} reps, pin={a.pin}, cpus={os.cpu_count()}, Postfix {version}, "
             f"loadavg {min(la):.2f}-{max(la):.2f}, file create {cr['median'] if cr else '-'} us, {elapsed:.0f} s",
             "", "units/s median (min-max) over reps; ratios per rep from adjacent runs, median (min-max)", "",
             "| scenario | Postfix (durable) | LabServer (durable) | bare aiosmtpd sink | LabServer / Postfix "
             "| LabServer / sink |", "|---|---:|---:|---:|---:|---:|"]
    for sname, row in summary.items():
        lines.append(f"| {scen[sname]['title']} | {fmt_rate(row['postfix']['rate'])} | {fmt_rate(row['lab']['rate'])} "
                     f"| {fmt_rate(row['sink']['rate'])} | {fmt_ratio(row['lab_postfix'])} "
                     f"| {fmt_ratio(row['lab_sink'])} |")
    lines += ["", "Server CPU µs per message (per session in conn_c20), medians; Postfix incl. its delivery:", "",
              "| scenario | Postfix | LabServer | sink | LabServer / sink |", "|---|---:|---:|---:|---:|"]
    for sname, row in summary.items():
        lab, sink = row["lab"]["cpu"], row["sink"]["cpu"]
        rel = f"{lab['median'] / sink['median']:.2f}" if lab and sink and sink["median"] else "-"
        lines.append(f"| {sname} | {fmt_num(row['postfix']['cpu'])} | {fmt_num(lab)} | {fmt_num(sink)} | {rel} |")
    checks_ok = all(c["ok"] for c in out["checks"])
    lines += ["", f"storage check: {'OK' if checks_ok else 'FAILED'} "
              + "; ".join(f"{k}: {sum(c['stored'] or 0 for c in out['checks'] if c['kind'] == k)} stored / "
                          f"{sum(c['acked'] for c in out['checks'] if c['kind'] == k)} acked" for k in KINDS)]
    if out["problems"]:
        lines += ["", "PROBLEMS:"] + [f"- {p}" for p in out["problems"][:20]]
    md = "\n".join(lines)
    print("\n" + md, flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"args": {k: v for k, v in vars(a).items()}, "scenarios": scen, "results": results,
                       "checks": out["checks"], "summary": summary, "markdown": md, "problems": out["problems"]},
                      fh, indent=1)
    return 0 if checks_ok and not out["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
