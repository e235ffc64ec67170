"""The classroom dashboard in a real Jupyter kernel: it redraws by itself while no cell runs.

The presenter starts the room and shows the dashboard in one cell; the students' sessions
then arrive while the kernel is idle. The widget's updates must reach the front end anyway:
here they are read off the kernel's IOPub channel as ipywidgets ``comm_msg`` updates, the
messages JupyterLab renders.
"""

from __future__ import annotations

import queue
import re
import smtplib
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipywidgets")

START = """
from kit.classroom import start_room
room = start_room(port=0, minutes=2)
board = room.dashboard(interval=0.2)
display(board)
print(room.port)
"""


def run_cell(kc, code: str, timeout: float = 30) -> list[dict]:
    """Execute ``code``; the IOPub messages of that execution, until the kernel is idle again."""
    msg_id = kc.execute(code)
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
    raise TimeoutError(f"cell did not finish in {timeout} s: {code!r}")


@pytest.mark.timeout(120)
def test_the_dashboard_redraws_live_while_the_kernel_is_idle():
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        messages = run_cell(kc, START)
        errors = [m for m in messages if m["msg_type"] == "error"]
        assert not errors, errors[0]["content"]
        port = int(next(m["content"]["text"] for m in messages if m["msg_type"] == "stream").strip())
        shown = [m for m in messages if m["msg_type"] == "display_data"]
        assert "application/vnd.jupyter.widget-view+json" in shown[0]["content"]["data"]

        with smtplib.SMTP("127.0.0.1", port, local_hostname="kernel-student", timeout=10) as client:
            client.sendmail("me@class.test", ["you@class.test"], "Subject: live\r\n\r\nhi\r\n")

        deadline = time.monotonic() + 20
        seen = None
        while time.monotonic() < deadline and seen is None:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            state = msg["content"].get("data", {}).get("state", {}) if msg["msg_type"] == "comm_msg" else {}
            value = state.get("value", "")
            if "kernel-student" in value and "&#9993; 1" in value:  # the session, its mail counted
                seen = value
        assert seen is not None, "the dashboard did not redraw while the kernel was idle"
        assert re.search(r"1\. kernel-student", seen)  # first to deliver

        messages = run_cell(kc, "from kit.classroom import stop_room\nstop_room()\nroom.running")
        result = next(m for m in messages if m["msg_type"] == "execute_result")
        assert result["content"]["data"]["text/plain"] == "False"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
