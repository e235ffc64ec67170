"""Interoperability with swaks, an independent SMTP client written in Perl."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (apt-get install swaks)")


def swaks(server, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    cmd = ["swaks", "--server", f"{server.host}:{server.port}", "--from", "alice@sender.test",
           "--helo", "client.example.test", "--timeout", "10", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_plain_send(server):
    run = swaks(server, "--to", "bob@example.test", "--h-Subject", "plain", "--body", "hello plain")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "<-  250 2.1.0 Ok" in run.stdout and "<-  250 2.1.5 Ok" in run.stdout
    assert "<-  250 2.0.0 Ok: queued as " in run.stdout
    m = server.mailbox.latest
    assert m.subject == "plain" and m.message.get_content().strip() == "hello plain"
    assert m.message["Received"].startswith("from client.example.test (localhost [127.0.0.1])")


def test_really_pipelined(server):
    run = swaks(server, "--to", "bob@example.test", "--pipeline", "--h-Subject", "pipelined")
    assert run.returncode == 0, run.stdout
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith((" -> ", "<- "))]
    i = next(n for n, ln in enumerate(lines) if ln.startswith(" -> MAIL FROM"))
    # MAIL, RCPT and DATA went out together before the first reply came back (RFC 2920)
    assert lines[i + 1].startswith(" -> RCPT TO") and lines[i + 2].startswith(" -> DATA")
    assert server.mailbox.latest.subject == "pipelined"


def test_eight_bit_body(server):
    body = "Grüße aus Köln — 8-bit body\n"
    run = swaks(server, "--to", "bob@example.test", "--h-Subject", "8bit", "--add-header", "MIME-Version: 1.0",
                "--add-header", "Content-Type: text/plain; charset=utf-8",
                "--add-header", "Content-Transfer-Encoding: 8bit", "--body", body)
    assert run.returncode == 0, run.stdout
    assert server.mailbox.latest.message.get_content().rstrip("\n") == body.rstrip("\n")  # swaks adds blank lines


def test_quit_after_rcpt_stores_nothing(server):
    run = swaks(server, "--to", "bob@example.test", "--quit-after", "RCPT")
    assert run.returncode == 0, run.stdout
    assert len(server.mailbox) == 0
    assert server.transcripts.last.client_lines()[-1] == "QUIT"
    assert "221 2.0.0 Bye" in server.transcripts.last.server_lines()


def test_relay_refused_exit_code(server):
    run = swaks(server, "--to", "victim@elsewhere.test")
    assert run.returncode == 24  # swaks: no recipient accepted
    assert "554 5.7.1 <victim@elsewhere.test>: Relay access denied" in run.stdout
    assert len(server.mailbox) == 0
