"""``smtpkit trace FILE [--json]`` (kit.trace.command), in process and as a subprocess."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kit.trace import command

DATA = Path(__file__).parent / "data" / "received"
SKEW = DATA / "list_sparclinux_exim_postfix_skew.eml"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="smtpkit trace")
    command.configure(parser)
    return parser.parse_args(argv)


def test_configure_adds_file_and_json():
    args = parse([str(SKEW), "--json"])
    assert (args.file, args.json) == (str(SKEW), True)
    assert parse(["-"]).json is False


def test_missing_file_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse([])
    assert exit_info.value.code == 2
    assert "FILE" in capsys.readouterr().err


def test_text_output(capsys):
    assert command.run(parse([str(SKEW)])) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["hop", "delay"]
    assert "-17 s (clock skew)" in out
    assert "total delay: 19 s" in out


def test_json_output(capsys):
    assert command.run(parse([str(SKEW), "--json"])) == 0
    document = json.loads(capsys.readouterr().out)
    assert [h["index"] for h in document["hops"]] == [0, 1, 2, 3, 4, 5]
    assert document["hops"][5]["delay_seconds"] == -17.0
    assert document["hops"][5]["by"] == "mail.lfdr.de (Postfix)"
    assert document["hops"][0]["date"] == "2025-07-16T06:18:47+00:00"
    assert document["total_delay_seconds"] == 19.0


def test_stdin(monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(SKEW.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert command.run(parse(["-", "--json"])) == 0
    assert len(json.loads(capsys.readouterr().out)["hops"]) == 6


@pytest.mark.parametrize("make", [
    lambda tmp: tmp / "does-not-exist.eml",
    lambda tmp: tmp,  # a directory
])
def test_unreadable_file_exits_2_with_a_message(tmp_path, capsys, make):
    path = make(tmp_path)
    assert command.run(parse([str(path)])) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"smtpkit trace: cannot read {path}: ")


def run_module(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], input=stdin, capture_output=True,
                          timeout=120)


def test_module_entry_point_with_stdin():
    done = run_module("kit.trace.command", "-", "--json", stdin=SKEW.read_bytes())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hops"][5]["clock_skew"] is True


def test_module_entry_point_unreadable_file(tmp_path):
    done = run_module("kit.trace.command", str(tmp_path / "nope.eml"))
    assert done.returncode == 2
    assert b"cannot read" in done.stderr


def _smtpkit_has_trace() -> str | None:
    """Why ``python -m kit trace`` cannot be tested yet, or None when it can."""
    spec = importlib.util.find_spec("kit.cli")
    if spec is None or spec.origin is None:
        return "kit.cli does not exist yet: `smtpkit trace` is wired up outside kit/trace"
    if "trace" not in Path(spec.origin).read_text("utf-8"):
        return "kit.cli exists but does not mention the trace command yet"
    return None


@pytest.mark.skipif(_smtpkit_has_trace() is not None, reason=str(_smtpkit_has_trace()))
def test_python_dash_m_kit_trace():
    done = run_module("kit", "trace", str(SKEW), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_delay_seconds"] == 19.0
    text = run_module("kit", "trace", str(SKEW))
    assert b"-17 s (clock skew)" in text.stdout
    missing = run_module("kit", "trace", str(DATA / "no-such-file.eml"))
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr


ONE_HOP = (b"Received: from client.example.test (client.example.test [127.0.0.1])\r\n"
           b"\tby lab.example.test (smtpkit) with ESMTP id ABC123\r\n"
           b"\tfor <bob@example.test>; Thu, 03 Dec 2026 22:00:00 +0000\r\n"
           b"From: alice@example.test\r\nSubject: one hop\r\n\r\nhello\r\n")


def test_a_one_hop_summary_says_what_it_knows(tmp_path):
    path = tmp_path / "one.eml"
    path.write_bytes(ONE_HOP)
    run = subprocess.run([sys.executable, "-m", "kit", "trace", str(path)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "?" not in run.stdout.splitlines()[-1]
    assert "one known time (2026-12-03 22:00:00 +0000, hop 0)" in run.stdout
    assert "one Received field" in run.stdout
