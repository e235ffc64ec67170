#!/usr/bin/env python3
"""Messages/s through the kit's LabServer (durable Maildir on and off) vs a bare aiosmtpd sink.

Every server and every client load runs in a process of its own. Per repetition the script
starts fresh servers (`bench_server.py`):

  sink          bare aiosmtpd Controller + discard handler (the anchor)
  lab           LabServer(durable=True): Maildir under $TMPDIR (or --workdir), syncfs before 250
  lab-nofsync   LabServer(durable=False): same Maildir writes, no syncfs (NB: the stdlib's
                mailbox.Maildir.add() still fsyncs each message file)
  lab-tmpfs     LabServer(durable=True) with the Maildir on /dev/shm: storage almost free, so
                lab-tmpfs vs lab shows what the file system costs (--no-tmpfs leaves it out)

warms them up, then runs every scenario against all of them back to back (adjacent
measurements, order alternating per scenario and repetition, so slow drift on a shared box
cancels out) and stops them. Ratios are computed per repetition from those adjacent runs,
then summarised as median (min-max).

Scenarios (client: `bench_client.py`, pure Python, lock-step like smtplib, 1 KiB body):
  a  1 conn, serial        one connection, MESSAGES messages one after the other
  b  S sessions, reused    S concurrent sessions on reused connections, MESSAGES in total
  c  new conn per msg      one client, connect/EHLO/MAIL/RCPT/DATA/QUIT per message
With --postfix (needs /usr/sbin/smtp-source and smtp-sink: apt-get install postfix, see
/work/shared/bench/setup.sh) two more, smtp-source -d with 1 and S sessions, and Postfix's
smtp-sink as one more server (the native ceiling).

--pin same (default) runs each server and its client on the same CPU with taskset: on this
2-vCPU VM a request/response ping-pong across vCPUs costs ~100 us per wake-up, so unpinned
single-session rates are bimodal; pinned, rate ~ 1 / (server + client CPU per message), which
is stable (see /work/shared/bench/AIOSMTPD-NOTES.md §4). --pin none leaves placement to the
kernel. Server CPU per message is read from /proc/PID/task/*/schedstat.

Every stored message is checked: the LabServer's Maildir new/ must grow by exactly the
number of 250-acknowledged messages, and the sink's count must match at stop. A run that
loses mail is reported as an error (exit code 1).

The process handling, pinning and CPU accounting are adapted from /work/shared/bench/anchor.py
(ANCHOR bench).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "bench_server.py")
CLIENT = os.path.join(HERE, "bench_client.py")
DOMAIN = "example.test"
SENDER, RCPT = "bench@bench.local", f"bench@{DOMAIN}"
LAB_KINDS = ("lab", "lab-nofsync", "lab-tmpfs")
LABEL = {"sink": "sink", "lab": "lab durable", "lab-nofsync": "lab no-fsync", "lab-tmpfs": "lab tmpfs",
         "smtp-sink": "smtp-sink"}


# ------------------------------------------------------------------------------ util
def proc_cpu_s(pid: int | None) -> float | None:
    """CPU seconds used so far by all threads of ``pid`` (schedstat, ns; from anchor.py)."""
    if not pid:
        return None
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                total += int(fh.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        return None


def count_files(path: str) -> int:
    try:
        return sum(1 for e in os.scandir(path) if e.is_file())
    except OSError:
        return -1


def loadavg() -> float:
    try:
        with open("/proc/loadavg") as fh:
            return float(fh.read().split()[0])
    except OSError:
        return -1.0


def fs_type(path: str) -> str:
    """File system type holding ``path`` (durability means nothing on tmpfs)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                mnt = parts[1]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def create_cost_us(parent: str, n: int = 100) -> float:
    """Median CPU us to create one empty file in a new folder under ``parent``.

    On this VM's ext4 root it ranges from ~20 us to ~950 us, depending on the folder and on
    files other tenants deleted lately (perf: the kernel's inode allocator skips recently freed
    inodes, find_inode_bit -> recently_deleted), and the LabServer and Postfix create a file per
    message, so it is printed beside the results."""
    d = tempfile.mkdtemp(prefix="calib-", dir=parent)
    v = []
    try:
        for i in range(n):
            t0 = time.process_time()
            fd = os.open(os.path.join(d, f"f{i}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            v.append(time.process_time() - t0)
            os.close(fd)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return round(statistics.median(v) * 1e6, 1)


def find_tool(name: str) -> str | None:
    p = shutil.which(name)
    if p:
        return p
    p = f"/usr/sbin/{name}"
    return p if os.access(p, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(512)
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not answer within {timeout}s")


def summarize(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


# ------------------------------------------------------------------------- pinning
def pinning(mode: str) -> tuple[list[str], list[str]]:
    """(server prefix, client prefix) for subprocess command lines."""
    if mode == "none":
        return [], []
    if not shutil.which("taskset"):
        print("# taskset not found: running unpinned", file=sys.stderr)
        return [], []
    last = str((os.cpu_count() or 1) - 1)
    if mode == "same":
        return ["taskset", "-c", last], ["taskset", "-c", last]
    return ["taskset", "-c", "0"], ["taskset", "-c", last]  # split


# ------------------------------------------------------------------------- servers
class Server:
    def __init__(self, kind: str, proc: subprocess.Popen, port: int, errlog: str, maildir: str | None):
        self.kind, self.proc, self.port, self.errlog, self.maildir = kind, proc, port, errlog, maildir
        self.pid = proc.pid  # taskset execs the program, so this is the server's pid
        self.acked = 0  # messages a client got 250 for

    @property
    def stored(self) -> int | None:
        return count_files(os.path.join(self.maildir, "new")) if self.maildir else None

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        try:
            with open(self.errlog) as fh:
                tail = fh.read().strip().splitlines()
        except OSError:
            tail = []
        if tail:
            try:
                return json.loads(tail[-1])
            except ValueError:
                return {"stderr_tail": tail[-5:]}
        return {}


def start_server(kind: str, pin: list[str], workdir: str, tmpfs: str | None, py: str, max_seconds: float) -> Server:
    errlog = os.path.join(workdir, f"{kind}.stderr")
    if kind == "smtp-sink":
        port = free_port()
        cmd = pin + [find_tool("smtp-sink")]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]  # required when run as root
        cmd += [f"127.0.0.1:{port}", "1024"]
        with open(errlog, "w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        wait_port(port)
        return Server(kind, proc, port, errlog, None)
    maildir = None
    if kind in LAB_KINDS:
        maildir = os.path.join(tmpfs if kind == "lab-tmpfs" else workdir, f"maildir-{kind}")
    server_kind = "lab" if kind == "lab-tmpfs" else kind
    cmd = pin + [py, SERVER, "--kind", server_kind, "--max-seconds", str(max_seconds)]
    if maildir:
        cmd += ["--maildir", maildir]
    with open(errlog, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = proc.stdout.readline() if sel.select(timeout=30) else ""
    sel.close()
    if not line.startswith("READY"):
        proc.kill()
        proc.wait(timeout=10)
        with open(errlog) as fh:
            raise RuntimeError(f"{kind} server failed to start: {line!r} {fh.read()[-2000:]}")
    port = int(line.split()[1].rsplit(":", 1)[1])
    return Server(kind, proc, port, errlog, maildir)


# ----------------------------------------------------------------------- scenarios
def scenarios(a) -> dict[str, dict]:
    s = a.sessions
    out = {
        "a": {"title": "a: 1 conn, serial", "client": "py", "sessions": 1, "mode": "reuse", "n": a.messages},
        "b": {"title": f"b: {s} sessions, reused conns", "client": "py", "sessions": s, "mode": "reuse",
              "n": a.messages},
        "c": {"title": "c: new conn per msg", "client": "py", "sessions": 1, "mode": "newconn",
              "n": a.conn_messages},
    }
    if a.smtp_source:
        out["src1"] = {"title": "smtp-source -d -s 1", "client": "smtp-source", "sessions": 1, "n": a.messages}
        out["src20"] = {"title": f"smtp-source -d -s {s}", "client": "smtp-source", "sessions": s,
                        "n": a.messages}
    wanted = set(a.scenarios.split(","))
    return {k: v for k, v in out.items() if k in wanted or (k.startswith("src") and "src" in wanted)}


def client_cmd(a, sc: dict, port: int) -> list[str]:
    if sc["client"] == "smtp-source":
        return [a.smtp_source, "-M", "bench.local", "-f", SENDER, "-t", RCPT, "-d", "-s", str(sc["sessions"]),
                "-m", str(sc["n"]), "-l", str(a.size), f"127.0.0.1:{port}"]
    return [a.python, CLIENT, "--port", str(port), "-n", str(sc["n"]), "-s", str(sc["sessions"]),
            "--mode", sc["mode"], "--size", str(a.size), "--sender", SENDER, "--rcpt", RCPT,
            "--max-seconds", str(a.run_seconds)]


def measure(a, sc: dict, srv: Server, pin: list[str]) -> dict:
    stored0 = srv.stored
    cpu0 = proc_cpu_s(srv.pid)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(pin + client_cmd(a, sc, srv.port), capture_output=True, text=True,
                           timeout=a.run_seconds + 60)
        rc, out, err = p.returncode, p.stdout.strip(), p.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, out, err = -1, "", "client timed out"
    wall = time.perf_counter() - t0
    cpu1 = proc_cpu_s(srv.pid)
    rec: dict = {"rc": rc, "wall_s": round(wall, 4)}
    if sc["client"] == "py" and out.startswith("{"):
        j = json.loads(out.splitlines()[-1])
        rec.update(ok=j["ok"], fail=j["fail"], rate=j["rate"], secs=j["secs"],
                   client_cpu_us=j["client_cpu_us"], errors=j["errors"])
    elif sc["client"] == "smtp-source":
        # smtp-source reports nothing usable: wall clock of the whole run (includes its start-up).
        ok = sc["n"] if rc == 0 else 0
        rec.update(ok=ok, fail=sc["n"] - ok, rate=round(ok / wall, 1), secs=round(wall, 4),
                   errors=[err[-300:]] if (rc or err) else [])
    else:
        rec.update(ok=0, fail=sc["n"], rate=0.0, errors=[(err or out)[-300:]])
    if cpu0 is not None and cpu1 is not None and rec["ok"]:
        rec["server_cpu_us"] = round((cpu1 - cpu0) / rec["ok"] * 1e6, 1)
    srv.acked += rec["ok"]
    if srv.maildir:
        stored = srv.stored - stored0
        rec["stored"] = stored
        if stored != rec["ok"]:
            rec["errors"].append(f"Maildir new/ grew by {stored}, but {rec['ok']} messages got 250")
    return rec


def warm_up(a, srv: Server, pin: list[str]) -> None:
    for sc in ({"client": "py", "sessions": 2, "mode": "reuse", "n": 60},
               {"client": "py", "sessions": 1, "mode": "newconn", "n": 10}):
        rec = measure(a, sc, srv, pin)
        if rec["fail"] or rec["errors"]:
            raise RuntimeError(f"warm-up against {srv.kind} failed: {rec}")


def run_rep(a, rep: int, kinds: list[str], scen: dict, pins, workroot: str, tmpfs_root: str | None,
            out: dict) -> None:
    """One repetition: fresh servers, warm-up, every scenario against every server, stop, check."""
    pin_srv, pin_cli = pins
    workdir = os.path.join(workroot, f"rep{rep + 1}")
    os.makedirs(workdir)
    tmpfs = None
    if tmpfs_root:
        tmpfs = os.path.join(tmpfs_root, f"rep{rep + 1}")
        os.makedirs(tmpfs)
    servers: dict[str, Server] = {}
    la = loadavg()
    create_us = create_cost_us(workdir)
    out["creates"].append(create_us)
    print(f"# rep {rep + 1}/{a.reps} loadavg={la} file-create={create_us}us", flush=True)
    try:
        for k in kinds:
            servers[k] = start_server(k, pin_srv, workdir, tmpfs, a.python, max_seconds=1800)
        for k in kinds:
            warm_up(a, servers[k], pin_cli)
        for si, (sname, sc) in enumerate(scen.items()):
            order = kinds if (rep + si) % 2 == 0 else kinds[::-1]
            for k in order:
                rec = measure(a, sc, servers[k], pin_cli)
                rec.update(rep=rep, scenario=sname, kind=k, loadavg=la, create_us=create_us)
                out["results"].append(rec)
                bad = rec["fail"] or rec["errors"] or rec["rc"]
                if bad:
                    out["problems"].append(f"rep {rep + 1} {sname} {k}: rc={rec['rc']} fail={rec['fail']} "
                                           f"{rec['errors']}")
                print(f"  {sname:6s} {LABEL[k]:13s} {rec['rate']:8.1f} msgs/s  "
                      f"srv={rec.get('server_cpu_us', '-')}us/msg cli={rec.get('client_cpu_us', '-')}us"
                      + (f"  stored={rec['stored']}" if "stored" in rec else "")
                      + ("  ERROR" if bad else ""), flush=True)
    finally:
        for k, srv in servers.items():
            summary = srv.stop()
            chk = {"rep": rep, "kind": k, "acked": srv.acked, "server": summary}
            if k in LAB_KINDS:
                chk["stored"] = count_files(os.path.join(srv.maildir, "new"))
                ok = chk["stored"] == srv.acked and summary.get("envelopes") == srv.acked
            elif k == "sink":
                chk["stored"] = summary.get("messages")
                ok = chk["stored"] == srv.acked
            else:
                ok = True  # smtp-sink counts nothing
            chk["ok"] = ok
            out["checks"].append(chk)
            if not ok:
                out["problems"].append(f"rep {rep + 1} {k}: {srv.acked} messages acknowledged, "
                                       f"{chk.get('stored')} stored ({summary})")
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        if tmpfs:
            shutil.rmtree(tmpfs, ignore_errors=True)


# ---------------------------------------------------------------------------- main
def fmt_rate(s) -> str:
    return f"{s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f})" if s else "-"


def fmt_ratio(s) -> str:
    return f"**{s['median']:.2f}** ({s['min']:.2f}-{s['max']:.2f})" if s else "-"


def fmt_num(s, digits=0) -> str:
    return f"{s['median']:.{digits}f}" if s else "-"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Scenarios and method: see the module docstring and benchmarks/README.md.")
    p.add_argument("--reps", type=int, default=5, help="repetitions (fresh servers each) (default 5)")
    p.add_argument("--messages", type=int, default=800,
                   help="messages per run in scenarios a and b (b: in total) (default 800)")
    p.add_argument("--conn-messages", type=int, default=None,
                   help="messages per run in scenario c (default: MESSAGES/3)")
    p.add_argument("--sessions", type=int, default=20, help="concurrent sessions in scenario b (default 20)")
    p.add_argument("--size", type=int, default=1024, help="message body bytes (default 1024)")
    p.add_argument("--pin", choices=["same", "none", "split"], default="same",
                   help="same: server and client on one CPU (default); none: unpinned; "
                        "split: server CPU 0, client last CPU")
    p.add_argument("--scenarios", default="a,b,c,src", help="comma list of a,b,c,src (default all)")
    p.add_argument("--no-tmpfs", dest="with_tmpfs", action="store_false",
                   help="leave out the 4th server, LabServer(durable=True) with its Maildir on /dev/shm "
                        "(tmpfs: storage almost free, shows what the file system costs)")
    p.add_argument("--postfix", action="store_true",
                   help="also use Postfix's smtp-source (2 more scenarios) and smtp-sink (native ceiling); "
                        "needs /usr/sbin/smtp-source, smtp-sink (apt-get install postfix); ~+40%% time")
    p.add_argument("--quick", action="store_true", help="~30 s smoke run: 2 reps, 250/80 messages")
    p.add_argument("--json", metavar="OUT", help="write all runs and the summary as JSON to OUT")
    p.add_argument("--workdir", default=None,
                   help="where the Maildirs go (default: a temporary folder under $TMPDIR; "
                        "it must be a real disk for durable to mean anything)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (Maildirs, server logs)")
    p.add_argument("--run-seconds", type=float, default=60.0, help="time limit of one client run (default 60)")
    p.add_argument("--python", default=sys.executable, help="python with kit and aiosmtpd (default: this one)")
    a = p.parse_args(argv)
    if a.quick:
        a.reps, a.messages = 2, 250
        a.conn_messages = a.conn_messages or 80
    if a.conn_messages is None:
        a.conn_messages = max(20, a.messages // 3)
    if not (1 <= a.reps <= 50 and 20 <= a.messages <= 100_000 and 1 <= a.conn_messages <= 20_000
            and 1 <= a.sessions <= 200 and 1 <= a.size <= 10_000_000):
        p.error("out of range: reps 1-50, messages 20-100000, conn-messages 1-20000, sessions 1-200")
    a.smtp_source = find_tool("smtp-source") if a.postfix else None
    a.smtp_sink = find_tool("smtp-sink") if a.postfix else None
    if a.postfix and not (a.smtp_source and a.smtp_sink):
        p.error("--postfix: smtp-source/smtp-sink not found (apt-get install postfix, see "
                "/work/shared/bench/setup.sh)")
    if a.with_tmpfs and not os.path.isdir("/dev/shm"):
        a.with_tmpfs = False
        print("# /dev/shm missing: no tmpfs server", file=sys.stderr)
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    pin_srv, pin_cli = pinning(a.pin)
    kinds = (["sink", "lab", "lab-nofsync"] + (["lab-tmpfs"] if a.with_tmpfs else [])
             + (["smtp-sink"] if a.smtp_sink else []))
    tmpfs_root = tempfile.mkdtemp(prefix="kit-throughput-", dir="/dev/shm") if a.with_tmpfs else None
    scen = scenarios(a)
    root = a.workdir or tempfile.gettempdir()
    os.makedirs(root, exist_ok=True)
    workroot = tempfile.mkdtemp(prefix="kit-throughput-", dir=root)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    print(f"# throughput {stamp}: reps={a.reps} messages={a.messages} conn-messages={a.conn_messages} "
          f"sessions={a.sessions} size={a.size} pin={a.pin} (server {' '.join(pin_srv) or '-'}, "
          f"client {' '.join(pin_cli) or '-'}) cpus={os.cpu_count()} maildir fs={fs_type(workroot)} "
          f"smtp-source={'yes' if a.smtp_source else 'no'} smtp-sink={'yes' if a.smtp_sink else 'no'}",
          flush=True)

    out: dict[str, list] = {"results": [], "checks": [], "problems": [], "creates": []}
    results, checks, problems, creates = out["results"], out["checks"], out["problems"], out["creates"]
    t_start = time.monotonic()
    try:
        for rep in range(a.reps):
            try:
                run_rep(a, rep, kinds, scen, (pin_srv, pin_cli), workroot, tmpfs_root, out)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                out["problems"].append(f"rep {rep + 1}: {type(exc).__name__}: {exc}")
                print(f"# rep {rep + 1} aborted: {exc}", file=sys.stderr, flush=True)
                break
    finally:
        if not a.keep:
            shutil.rmtree(workroot, ignore_errors=True)
        if tmpfs_root:
            shutil.rmtree(tmpfs_root, ignore_errors=True)
    elapsed = time.monotonic() - t_start

    # ---------------------------------------------------------------- summary
    def runs(sname, k, rep=None):
        return [r for r in results if r["scenario"] == sname and r["kind"] == k and (rep is None or r["rep"] == rep)]

    def ratios(sname, num, den):
        out = []
        for rep in range(a.reps):
            x, y = runs(sname, num, rep), runs(sname, den, rep)
            if x and y and y[0]["rate"] and x[0]["ok"] and not x[0]["fail"] and not y[0]["fail"]:
                out.append(x[0]["rate"] / y[0]["rate"])
        return summarize(out)

    summary: dict = {}
    for sname in scen:
        row = {}
        for k in kinds:
            rs = [r for r in runs(sname, k) if not r["fail"]]
            row[k] = {"rate": summarize([r["rate"] for r in rs]),
                      "server_cpu_us": summarize([r.get("server_cpu_us") for r in rs]),
                      "client_cpu_us": summarize([r.get("client_cpu_us") for r in rs])}
        row["ratio_durable_sink"] = ratios(sname, "lab", "sink")
        row["ratio_nofsync_sink"] = ratios(sname, "lab-nofsync", "sink")
        row["ratio_durable_nofsync"] = ratios(sname, "lab", "lab-nofsync")
        if a.with_tmpfs:
            row["ratio_tmpfs_sink"] = ratios(sname, "lab-tmpfs", "sink")
        if a.smtp_sink:
            row["ratio_sink_smtpsink"] = ratios(sname, "sink", "smtp-sink")
        summary[sname] = row

    la_all = [r["loadavg"] for r in results] or [-1.0]
    cr = summarize(creates)
    head = (f"throughput {stamp}: reps={a.reps}, messages={a.messages} (c: {a.conn_messages}), "
            f"sessions={a.sessions}, body={a.size} B, pin={a.pin}, cpus={os.cpu_count()}, "
            f"loadavg {min(la_all):.2f}-{max(la_all):.2f}, maildir on {fs_type(workroot)} ({root}), "
            f"file create {cr['median']:.0f} us ({cr['min']:.0f}-{cr['max']:.0f}) CPU, " if cr else "")
    cols = [("sink msgs/s", lambda r: fmt_rate(r["sink"]["rate"])),
            ("lab durable msgs/s", lambda r: fmt_rate(r["lab"]["rate"])),
            ("lab no-fsync msgs/s", lambda r: fmt_rate(r["lab-nofsync"]["rate"])),
            ("ratio durable/sink", lambda r: fmt_ratio(r["ratio_durable_sink"])),
            ("ratio no-fsync/sink", lambda r: fmt_ratio(r["ratio_nofsync_sink"]))]
    if a.with_tmpfs:
        cols += [("lab tmpfs msgs/s", lambda r: fmt_rate(r["lab-tmpfs"]["rate"])),
                 ("ratio tmpfs/sink", lambda r: fmt_ratio(r["ratio_tmpfs_sink"]))]
    if a.smtp_sink:
        cols += [("smtp-sink msgs/s", lambda r: fmt_rate(r["smtp-sink"]["rate"]))]
    lines = [head + f"{elapsed:.0f} s", "",
             "msgs/s median (min-max) over reps; ratios from adjacent runs of the same rep; "
             "target durable/sink >= 0.70", "",
             "| scenario | " + " | ".join(c[0] for c in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for sname, row in summary.items():
        lines.append(f"| {scen[sname]['title']} | " + " | ".join(c[1](row) for c in cols) + " |")
    cost = [("server us/msg sink", lambda r: fmt_num(r["sink"]["server_cpu_us"])),
            ("lab durable", lambda r: fmt_num(r["lab"]["server_cpu_us"])),
            ("lab no-fsync", lambda r: fmt_num(r["lab-nofsync"]["server_cpu_us"]))]
    if a.with_tmpfs:
        cost += [("lab tmpfs", lambda r: fmt_num(r["lab-tmpfs"]["server_cpu_us"]))]
    cost += [("client us/msg (sink run)", lambda r: fmt_num(r["sink"]["client_cpu_us"])),
             ("rate durable/no-fsync", lambda r: fmt_ratio(r["ratio_durable_nofsync"])),
             ("durable extra wall us/msg", lambda r: (
                 f"{1e6 / r['lab']['rate']['median'] - 1e6 / r['lab-nofsync']['rate']['median']:.0f}"
                 if r["lab"]["rate"] and r["lab-nofsync"]["rate"] else "-"))]
    lines += ["", "Cost per message (medians): server CPU us/msg (all server threads, /proc schedstat), "
              "client CPU us/msg; storage cost = durable vs no-fsync", "",
              "| scenario | " + " | ".join(c[0] for c in cost) + " |",
              "|---|" + "---:|" * len(cost)]
    for sname, row in summary.items():
        lines.append(f"| {scen[sname]['title']} | " + " | ".join(c[1](row) for c in cost) + " |")
    met = [sname for sname, row in summary.items()
           if row["ratio_durable_sink"] and row["ratio_durable_sink"]["median"] >= 0.7]
    missed = [sname for sname in summary if sname not in met]
    stored_ok = all(c["ok"] for c in checks)
    acked = sum(c["acked"] for c in checks if c["kind"] in LAB_KINDS)
    lines += ["", f"target durable/sink >= 0.70: met in {', '.join(met) or 'none'}; "
              f"missed in {', '.join(missed) or 'none'}",
              f"storage check: {'OK' if stored_ok else 'FAILED'} -- LabServer Maildirs hold "
              f"{sum(c['stored'] or 0 for c in checks if c['kind'] in LAB_KINDS)} messages in new/ for {acked} "
              f"acknowledged with 250 (incl. warm-up); sink counted "
              f"{sum(c['stored'] or 0 for c in checks if c['kind'] == 'sink')} / "
              f"{sum(c['acked'] for c in checks if c['kind'] == 'sink')}"]
    if problems:
        lines += ["", "PROBLEMS:"] + [f"- {p}" for p in problems[:20]]
    md = "\n".join(lines)
    print("\n" + md, flush=True)
    if a.json:
        meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "pin": a.pin,
                "pin_server": pin_srv, "pin_client": pin_cli, "maildir_fs": fs_type(workroot),
                "elapsed_s": round(elapsed, 1), "stamp": stamp}
        try:
            import aiosmtpd
            meta["aiosmtpd"] = aiosmtpd.__version__
        except ImportError:
            pass
        with open(a.json, "w") as fh:
            json.dump({"args": {k: v for k, v in vars(a).items()}, "meta": meta, "scenarios": scen,
                       "results": results, "checks": checks, "summary": summary, "markdown": md,
                       "problems": problems}, fh, indent=1)
        print(f"# wrote {a.json}", flush=True)
    return 0 if not problems and stored_ok else 1


if __name__ == "__main__":
    sys.exit(main())
