"""Running JupyterHub: start it with the state's configuration, wait until it serves, stop it.

The hub runs in the foreground of ``smtpkit hub start`` (Ctrl-C or SIGTERM stop it and, through
JupyterHub's ``cleanup_servers``, every student's server); ``smtpkit hub stop`` sends SIGTERM
to the process id in the state. JupyterHub's own log goes to ``STATE/hub.log``.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import HubError
from .state import HubState

__all__ = ["launch", "wait_until_serving", "stop", "hub_url"]


def hub_url(ip: str, port: int, tls: bool) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"{'https' if tls else 'http'}://{host}:{port}/"


def launch(state: HubState) -> subprocess.Popen:
    """Start ``jupyterhub`` on the state's configuration (its log: ``STATE/hub.log``)."""
    log = open(state.root / "hub.log", "ab")  # noqa: SIM115 - the child keeps it
    try:
        return subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(state.config_file)],
                                cwd=state.secrets, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 120) -> bool:
    """Poll ``url``hub/health until it answers (True) or the process ends / time runs out."""
    context = ssl._create_unverified_context()  # the hub's own certificate may be self-signed
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}hub/health", timeout=3, context=context) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def stop(state: HubState, timeout: float = 60) -> bool:
    """SIGTERM the running hub of ``state``; True when it was running and has ended."""
    try:
        pid = int(state.pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if b"jupyterhub" not in cmdline:
        raise HubError(f"process {pid} of {state.pid_file} is not a jupyterhub; not stopping it")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}") or _zombie(pid):
            return True
        time.sleep(0.2)
    raise HubError(f"the hub (process {pid}) did not stop within {timeout:.0f} s")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
