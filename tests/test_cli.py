"""The command line end to end: `smtpkit serve` in a subprocess, `smtpkit send` and swaks
against it, signals, and clear errors (exit 2) for bad arguments."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SMTPKIT = [sys.executable, "-m", "kit"]


class Serve:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([*SMTPKIT, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        first = self.proc.stdout.readline()
        assert first.startswith("listening on 127.0.0.1:"), first + self.proc.stderr.read()
        self.port = int(first.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=15)
        return self.proc.returncode, out


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(*args: str) -> Serve:
        s = Serve(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def _messages(maildir: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((maildir / "new").iterdir())]


def test_serve_then_send(serve, tmp_path):
    md = tmp_path / "D"
    s = serve("--maildir", str(md), "--domain", "example.test")
    run = subprocess.run([*SMTPKIT, "send", "--port", str(s.port), "--from", "a@x.test", "--to", "bob@example.test",
                          "--subject", "from the cli", "--body", "hi"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "<-  250 2.0.0 Ok: queued as" in run.stdout
    refused = subprocess.run([*SMTPKIT, "send", "--port", str(s.port), "--from", "a@x.test", "--to",
                              "x@elsewhere.test"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1 and "Relay access denied" in refused.stdout
    code, out = s.stop()
    assert code == 0
    assert "[1]  -> MAIL FROM:<a@x.test>" in out and "[1] <-  250 2.1.5 Ok" in out
    msgs = _messages(md)
    assert [m["Subject"] for m in msgs] == ["from the cli"]


def test_send_body_from_stdin(serve, tmp_path):
    s = serve("--maildir", str(tmp_path / "D"))
    run = subprocess.run([*SMTPKIT, "send", "--port", str(s.port), "--from", "a@x.test", "--to", "b@example.test",
                          "--body", "-"], input="line one\n.line two\n", capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    s.stop()
    assert _messages(tmp_path / "D")[0].get_content() == "line one\n.line two\n"


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_done_when_scenario_with_swaks(serve, tmp_path):
    """The issue's check: serve --maildir D --domain example.test; swaks delivers into D."""
    md = tmp_path / "D"
    s = serve("--maildir", str(md), "--domain", "example.test")
    run = subprocess.run(["swaks", "--server", f"127.0.0.1:{s.port}", "--to", "bob@example.test"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout
    for expected in ("<-  250 2.1.0 Ok", "<-  250 2.1.5 Ok", "<-  354 End data with <CR><LF>.<CR><LF>",
                     "<-  250 2.0.0 Ok: queued as", "<-  221 2.0.0 Bye"):
        assert expected in run.stdout
    relay = subprocess.run(["swaks", "--server", f"127.0.0.1:{s.port}", "--to", "bob@other.test"],
                           capture_output=True, text=True, timeout=30)
    assert relay.returncode != 0 and "554 5.7.1" in relay.stdout
    assert s.stop()[0] == 0
    (msg,) = _messages(md)
    assert msg["Received"].startswith("from ") and "by lab.example.test (smtpkit) with ESMTP id" in msg["Received"]
    assert msg["Return-Path"]


def test_ctrl_c_exits_zero(serve):
    s = serve()
    assert s.stop(signal.SIGINT)[0] == 0


def test_port_in_use_is_a_clear_error(serve):
    s = serve()
    run = subprocess.run([*SMTPKIT, "serve", "--port", str(s.port)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and "cannot listen on 127.0.0.1:" in run.stderr


@pytest.mark.parametrize("args", [
    ["serve", "--port", "70000"], ["serve", "--port", "abc"], ["serve", "--domain", "not a domain"],
    ["serve", "--max-recipients", "0"], ["serve", "--host", "not-an-ip"], ["send", "--port", "25"],
    ["send", "--port", "25", "--from", "nobody", "--to", "b@example.test"], ["bogus"], [],
])
def test_bad_arguments_exit_2_with_a_message(args):
    run = subprocess.run([*SMTPKIT, *args], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert "error" in run.stderr.lower()
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", ["serve", "send"])
def test_help(command):
    run = subprocess.run([*SMTPKIT, command, "--help"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and "usage: smtpkit " + command in run.stdout


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("smtpkit")
    if not exe.exists():
        pytest.skip("smtpkit console script not installed in this environment")
    run = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and run.stdout.startswith("smtpkit ")


def test_serve_maildir_is_durable_before_each_reply(serve, tmp_path):
    md = tmp_path / "D"
    s = serve("--maildir", str(md))
    for i in range(3):
        subprocess.run([*SMTPKIT, "send", "--port", str(s.port), "--from", "a@x.test", "--to", "b@example.test",
                        "--subject", str(i)], capture_output=True, timeout=30, check=True)
        assert len(os.listdir(md / "new")) == i + 1
    s.stop()
    time.sleep(0)
