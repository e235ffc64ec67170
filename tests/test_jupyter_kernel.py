"""The lab server inside a real Jupyter kernel (nbclient): it starts from one line beside
the kernel's own event loop, re-running the cell reuses it, and its threads never print
into the notebook."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    "from kit import send_mail\nfrom kit.server import start_lab\nserver = start_lab()\nserver.port > 0",
    "r = send_mail(server.host, server.port, 'a@x.test', 'b@example.test', subject='nb')\nr.ok",
    "start_lab() is server",
    # noise from other sessions while no cell of ours is waiting for it
    "import socket\ns = socket.create_connection((server.host, server.port))\n"
    "s.sendall(b'FOO\\r\\nBAR\\r\\nBAZ\\r\\nQUX\\r\\nQUUX\\r\\nEHLO x\\r\\nMAIL FROM:<bad\\r\\n')\n1 + 1",
    "import time\ntime.sleep(0.5)\nlen(server.mailbox)",
    "server.transcripts[0]",
    "from kit.server import stop_lab\nstop_lab()\nserver.running",
]


@pytest.mark.timeout(180)
def test_lab_server_in_a_kernel():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    # outputs late on a busy machine are waited for (nbclient's default gives up after 4 s, silently)
    NotebookClient(nb, timeout=60, kernel_name="python3", iopub_timeout=60, raise_on_iopub_timeout=True).execute()
    outputs = [cell.outputs for cell in nb.cells]
    streams = [o for cell_out in outputs for o in cell_out if o.output_type == "stream"]
    assert streams == [], f"something printed into the notebook: {streams}"
    results = [next((o for o in out if o.output_type == "execute_result"), None) for out in outputs]
    texts = [r["data"]["text/plain"] if r else None for r in results]
    assert texts[:5] == ["True", "True", "True", "2", "1"]
    assert "text/html" in results[5]["data"] and "250 2.0.0 Ok: queued as" in results[5]["data"]["text/html"]
    assert texts[6] == "False"
