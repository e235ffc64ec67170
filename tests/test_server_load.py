"""Concurrency and durability: many clients at once, every message stored exactly once,
each one on disk before its 250 arrives."""

from __future__ import annotations

import smtplib
from concurrent.futures import ThreadPoolExecutor

from kit.server import LabServer


def test_20_clients_at_once_every_message_stored_exactly_once():
    per_client = 5
    with LabServer() as srv:
        def client(n: int) -> list[str]:
            ids = []
            with smtplib.SMTP(srv.host, srv.port, timeout=20) as s:
                for i in range(per_client):
                    msg_id = f"<c{n}-m{i}@load.test>"
                    s.sendmail(f"c{n}@x.test", ["sink@example.test"],
                               f"Message-ID: {msg_id}\r\nSubject: {n}/{i}\r\n\r\nbody {n} {i}\r\n")
                    ids.append(msg_id)
            return ids

        with ThreadPoolExecutor(20) as pool:
            sent = [i for ids in pool.map(client, range(20)) for i in ids]
        stored = [m.message["Message-ID"] for m in srv.mailbox]
        assert len(sent) == 100
        assert sorted(stored) == sorted(sent)
        assert len(set(m.envelope.queue_id for m in srv.mailbox)) == 100
        assert len(srv.transcripts) == 20


def test_message_is_on_disk_before_the_250_arrives(tmp_path):
    """Look at the Maildir the moment smtplib returns, with no waiting at all."""
    with LabServer(maildir=str(tmp_path)) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            for i in range(10):
                s.sendmail("a@x.test", ["b@example.test"], f"Subject: {i}\r\n\r\nx\r\n")
                assert len(list((tmp_path / "new").iterdir())) == i + 1
                assert len((tmp_path / "kit-envelopes.jsonl").read_bytes().splitlines()) == i + 1


def test_wait_for_counts_and_times_out(server):
    import pytest

    with pytest.raises(TimeoutError, match="expected 1 message"):
        server.wait_for(1, timeout=0.2)
    with smtplib.SMTP(server.host, server.port) as s:
        s.sendmail("a@x.test", ["b@example.test"], "Subject: w\r\n\r\nx")
    assert [m.subject for m in server.wait_for(1, timeout=5)] == ["w"]


def test_mailbox_find_and_reset(server):
    with smtplib.SMTP(server.host, server.port) as s:
        s.sendmail("a@x.test", ["b@example.test"], "Subject: alpha\r\n\r\nx")
        s.sendmail("c@x.test", ["d@example.test"], "Subject: beta\r\n\r\nx")
    assert [m.subject for m in server.mailbox.find(subject="alp")] == ["alpha"]
    assert [m.subject for m in server.mailbox.find(sender="c@x.test")] == ["beta"]
    assert [m.subject for m in server.mailbox.find(recipient="b@example.test")] == ["alpha"]
    assert server.mailbox[0].subject == "alpha" and server.mailbox.latest.subject == "beta"
    server.reset()
    assert len(server.mailbox) == 0 and len(server.transcripts) == 0
