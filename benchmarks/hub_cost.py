#!/usr/bin/env python3
"""What one student costs on `smtpkit hub`, and how many fit on a 2-core, 24 GB machine.

Starts the real hub (``python -m kit hub start``, as root) for STUDENTS students on loopback,
logs each one in with Chromium (Playwright), one after the other, and measures per student:

- start: seconds from "Sign in" until their lab shows 00_start_here with an idle kernel
  (spawning the Jupyter server, loading JupyterLab, starting the kernel);
- run: seconds and CPU seconds (all the student's processes) to run every cell of notebook 00
  (a lab server, a mail, the check cells);
- memory: PSS (proportional set size: shared libraries split between the processes that map
  them, so the sum over students is what the machine really gives) of the student's Jupyter
  server and of their kernel (which holds the lab server), from /proc/PID/smaps_rollup, after
  the run; RSS beside it for comparison;
- the hub itself (jupyterhub + configurable-http-proxy + idle culler), PSS.

Then it estimates the class size of a 2-core, 24 GB machine: memory = (24 GB - 2 GB for the
system - the hub) / per-student PSS (and against the --memory limit each student is given);
CPU = how many notebook-00 runs the two cores finish per minute, i.e. how many students can
press "Run All" in the same minute. Everything is stopped and the accounts are removed at the end.

    sudo .venv/bin/python benchmarks/hub_cost.py [--students 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hub_driver import ALL_RUN, CHROMIUM, CHROMIUM_ARGS, KERNEL_IDLE, PANEL, RUN_ALL, login, running_hub  # noqa: E402

MACHINE_GB, SYSTEM_GB, CORES = 24, 2, 2


def _memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of ``pid`` in kB."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def _processes(uid: int) -> list[tuple[int, str]]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    out.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
            except OSError:
                continue
    return out


def _cpu_seconds(uid: int) -> float:
    total = 0
    for pid, _ in _processes(uid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _student_memory(uid: int) -> dict[str, float]:
    parts = {"server_pss_mb": 0.0, "kernel_pss_mb": 0.0, "server_rss_mb": 0.0, "kernel_rss_mb": 0.0}
    for pid, cmd in _processes(uid):
        pss, rss = _memory(pid)
        kind = "kernel" if "ipykernel" in cmd else "server"
        parts[f"{kind}_pss_mb"] += pss / 1024
        parts[f"{kind}_rss_mb"] += rss / 1024
    return {k: round(v, 1) for k, v in parts.items()}


def _hub_memory(hub_pid: int) -> float:
    pids, todo = [], [hub_pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            continue
    return round(sum(_memory(p)[0] for p in pids if os.stat(f"/proc/{p}").st_uid == 0) / 1024, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--memory", type=int, default=1024, help="--memory of each student (MB)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("hub_cost: run as root (the hub creates accounts)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    prefix = f"hc{os.getpid() % 10000}-"
    short = [f"s{n}" for n in range(1, args.students + 1)]
    names = [prefix + name for name in short]
    results: dict = {"students": {}}
    with running_hub("\n".join(short) + "\n", prefix, memory_mb=args.memory) as hub:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for account in names:
                uid = pwd.getpwnam(account).pw_uid
                context, page = login(browser, hub["url"], account, hub["passwords"][account], 180_000)
                began = time.monotonic()
                page.click("#login_submit")
                page.wait_for_selector(f"{PANEL} .jp-CodeCell")
                page.wait_for_function(KERNEL_IDLE)
                start = time.monotonic() - began
                idle_memory = _student_memory(uid)
                cpu_before, began = _cpu_seconds(uid), time.monotonic()
                page.evaluate(RUN_ALL)
                page.wait_for_function(ALL_RUN)
                run, cpu = time.monotonic() - began, _cpu_seconds(uid) - cpu_before
                time.sleep(2)
                results["students"][account] = {"start_s": round(start, 2), "run00_s": round(run, 2),
                                                "run00_cpu_s": round(cpu, 2), "before_run": idle_memory,
                                                **_student_memory(uid)}
                print(account, json.dumps(results["students"][account]), flush=True)
                context.close()
            browser.close()
        results["hub_pss_mb"] = _hub_memory(int((hub["state"] / "hub.pid").read_text()))
    students = list(results["students"].values())
    per = sorted(s["server_pss_mb"] + s["kernel_pss_mb"] for s in students)
    median = per[len(per) // 2]
    cpu = sorted(s["run00_cpu_s"] for s in students)[len(students) // 2]
    usable = (MACHINE_GB - SYSTEM_GB) * 1024 - results["hub_pss_mb"]
    results["estimate"] = {
        "per_student_pss_mb": round(median, 1),
        "students_by_memory_in_use": int(usable // median),
        "students_by_memory_limit": int(usable // args.memory),
        "run00_cpu_s": cpu,
        "notebook00_runs_per_minute_on_2_cores": round(CORES * 60 / cpu, 1) if cpu else None,
    }
    print(json.dumps(results["estimate"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
