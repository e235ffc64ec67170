"""Driving a real ``smtpkit hub`` from outside, for tests/test_hub.py and benchmarks/hub_cost.py.

``running_hub`` starts the command (as root) for a class list on a free loopback port, reads the
passwords it prints, and at the end (also on failure) stops it and removes the accounts, saying
which accounts are left if any. ``login`` fills the hub's sign-in form in a fresh browser
context. The JavaScript snippets read JupyterLab's state through ``window.jupyterapp`` (the hub
starts labs with ``expose_app_in_browser``), from the notebook's model, since JupyterLab 4
draws only the cells in view.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SMTPKIT_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The students' Python environment, built by the first hub start and reused.
ENV = Path(os.environ.get("SMTPKIT_HUB_TEST_ENV", "/var/tmp/smtpkit-hub-env"))
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""
RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
ALL_RUN = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const code = w.content.widgets.filter(c => c.model.type === 'code');
  return w.sessionContext.session.kernel.status === 'idle' && code.every(c => c.model.executionCount !== null);
}"""
OUTPUTS = """() => {
  const out = [];
  for (const c of window.jupyterapp.shell.currentWidget.content.widgets) {
    if (c.model.type !== 'code') continue;
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'stream') out.push((o.name === 'stderr' ? 'STDERR: ' : '') + o.text);
      else if (o.output_type === 'error') out.push('ERROR: ' + o.ename + ': ' + o.evalue);
      else if (o.data) out.push(o.data['text/plain'] || '', o.data['text/html'] || '');
    }
  }
  return out.join('\\n');
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kit(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m kit ARGS`` from the project's root."""
    return subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


class Output:
    """The lines a process prints, read by a thread, waited for with a deadline."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float, process: subprocess.Popen) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                found = re.search(pattern, line)
                if found:
                    return found
            if process.poll() is not None and not self._thread.is_alive():
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r}; got:\n" + "\n".join(self.lines[-40:]))


@contextmanager
def running_hub(classlist: str, prefix: str, memory_mb: int = 1536, start_timeout: float = 900,
                extra: tuple[str, ...] = ()) -> Iterator[dict]:
    """A hub for ``classlist`` (its text), ``extra`` arguments added to ``hub start``; yields url,
    state, base, passwords, output, process.
    Stopped and its accounts removed afterwards; AssertionError naming accounts left behind."""
    # The hub refuses to start while students could read the instructor's solutions: closed
    # for the hub's lifetime, as an instructor would (`chmod -R o-rwx`), and opened again after.
    secrets = [ROOT / "solutions", ROOT / "kit" / "exercises" / "answers"]
    modes = {p: p.stat().st_mode & 0o777 for p in secrets if p.exists()}
    for path in modes:
        os.chmod(path, modes[path] & ~0o007)
    base = Path(tempfile.mkdtemp(prefix="smtpkit-hubtest-", dir="/tmp"))
    os.chmod(base, 0o755)  # the students' homes lie below it
    state = base / "state"
    (base / "class.csv").write_text(classlist, encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kit", "hub", "start", str(base / "class.csv"), "--state", str(state),
         "--homes", str(base / "homes"), "--port", str(port), "--prefix", prefix, "--student-env", str(ENV),
         "--memory", str(memory_mb), *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(process.stdout)
    made: list[str] = []
    try:
        url = output.wait_for(r"ready: (\S+) ", start_timeout, process).group(1)
        passwords = dict(m.groups() for line in output.lines
                         if (m := re.match(rf"^\s+({re.escape(prefix)}[\w-]+)\s+(\S+)\s", line)))
        made = sorted(passwords)
        yield {"url": url, "state": state, "base": base, "passwords": passwords,
               "output": output, "process": process}
    finally:
        stopped = kit("hub", "stop", "--state", str(state), timeout=120)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        removed = kit("hub", "remove-accounts", "--yes", "--state", str(state), timeout=120)
        made = made or [line.split()[0] for line in output.lines if line.startswith(f"    {prefix}")]
        leftover = []
        for name in made:
            try:
                pwd.getpwnam(name)
                leftover.append(name)
            except KeyError:
                pass
        shutil.rmtree(base, ignore_errors=True)
        for path, mode in modes.items():
            os.chmod(path, mode)
        assert not leftover, (f"accounts left: {leftover}\n" + stopped.stdout + stopped.stderr
                              + removed.stdout + removed.stderr)


def login(browser, url: str, account: str, password: str, timeout_ms: int = 120_000):
    """A fresh browser context on the hub's sign-in page, the form filled (not yet sent)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    page.goto(url + "hub/login")
    page.fill("#username_input", account)
    page.fill("#password_input", password)
    return context, page
