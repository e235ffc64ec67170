"""Memory stays flat: a lab server keeps the transcripts of the last N sessions only.

Not timed; the RSS figures come from ``benchmarks/memory.py``.
"""

from __future__ import annotations

import time

import pytest
from smtp_raw import RawClient

from kit.server import LabServer
from kit.transcript import Transcript, Transcripts


def _session(server: LabServer, n: int) -> str:
    """One HELO..QUIT session on a real socket; returns the client's address as the server
    records it (its peer)."""
    c = RawClient(server.host, server.port)
    try:
        assert c.reply().startswith("220")
        assert c.cmd(f"HELO client{n}.example").startswith("250")
        assert c.cmd("QUIT").startswith("221")
        host, port = c.sock.getsockname()[:2]
        return f"{host}:{port}"
    finally:
        c.sock.close()


def test_keep_sessions_keeps_exactly_the_last_n():
    deadline = time.monotonic() + 60
    with LabServer(keep_sessions=50) as server:
        peers = []
        for n in range(200):
            assert time.monotonic() < deadline, "200 sessions took over 60 s"
            peers.append(_session(server, n))
        server.wait_idle()
        kept = list(server.transcripts)
        assert len(kept) == len(server.transcripts) == 50
        assert server.transcripts.forgotten == 150
        # exactly the last 50 sessions, oldest first; the first 150 are gone
        assert [t.peer for t in kept] == peers[-50:]
        assert not {t.peer for t in kept} & set(peers[:150])
        assert f"HELO client{199}.example" in server.transcripts.last.client_lines()
        assert f"HELO client{150}.example" in server.transcripts[0].client_lines()
        ids = [t.session_id for t in kept]
        assert ids == list(range(ids[0], ids[0] + 50))
        assert "150 older forgotten" in repr(server.transcripts)
        # nothing else per session is left behind once the sessions are over
        assert server.active_sessions == 0
        assert server._state._told == {}


def test_listeners_see_every_session_even_those_forgotten():
    seen: set[int] = set()
    with LabServer(keep_sessions=3, on_line=lambda t, d, text: seen.add(t.session_id)) as server:
        for n in range(10):
            _session(server, n)
        server.wait_idle()
        assert len(seen) == 10
        assert len(server.transcripts) == 3
        assert server._state._told == {}


def test_default_keeps_every_session_a_notebook_makes():
    with LabServer() as server:
        assert server.config.keep_sessions >= 10_000
        for n in range(30):
            _session(server, n)
        server.wait_idle()
        assert len(server.transcripts) == 30 and server.transcripts.forgotten == 0


def test_keep_none_keeps_all_and_reset_clears():
    with LabServer(keep_sessions=None) as server:
        for n in range(5):
            _session(server, n)
        server.wait_idle()
        assert len(server.transcripts) == 5
        server.reset()
        assert len(server.transcripts) == 0 and server.transcripts.last is None


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_bound_is_refused(bad):
    with pytest.raises(ValueError, match="keep_sessions"):
        LabServer(keep_sessions=bad)
    with pytest.raises(ValueError, match="keep"):
        Transcripts(keep=bad)


def test_transcripts_bound_alone():
    ts = Transcripts(keep=2)
    items = [Transcript(peer=f"p{i}") for i in range(5)]
    for t in items:
        ts.append(t)
    assert list(ts) == items[-2:] and ts.last is items[-1] and ts[0] is items[3]
    assert ts.forgotten == 3
    ts.clear()
    assert len(ts) == 0 and ts.forgotten == 0


def test_a_huge_command_line_is_counted_not_kept():
    """One 4 MB line (refused with 500) must not cost the transcript 4 MB; the server keeps
    serving the session and its replies are all recorded."""
    from kit.server.smtp import COMMAND_BYTES_KEPT

    with LabServer() as server:
        c = RawClient(server.host, server.port)
        try:
            assert c.reply().startswith("220")
            assert c.cmd("EHLO big.example").startswith("250")
            c.sock.sendall(b"NOOP " + b"A" * (4 * 1024 * 1024) + b"\r\n")
            assert c.reply().startswith("500")
            assert c.cmd("NOOP").startswith("250")
            assert c.cmd("QUIT").startswith("221")
        finally:
            c.sock.close()
        server.wait_idle()
        transcript = server.transcripts[-1]
        client_text = sum(len(line.text) for line in transcript.lines if line.direction == "client")
        assert client_text <= COMMAND_BYTES_KEPT
        server_lines = [line.text for line in transcript.lines if line.direction == "server"]
        assert server_lines[-1].startswith("221") and any(t.startswith("500") for t in server_lines)
