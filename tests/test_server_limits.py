"""Limits of RFC 5321 §4.5.3: over each one the standard reply, the session or server goes
on, and nothing already accepted is lost."""

from __future__ import annotations

import smtplib
import time

import pytest
from smtp_raw import RawClient

from kit.server import LabServer


def _ready(c: RawClient) -> None:
    c.reply()
    c.cmd("EHLO me")


def test_command_line_over_512_octets_gets_500_and_session_continues(raw):
    c = raw()
    _ready(c)
    ok_line = "NOOP " + "x" * (510 - 5)  # 510 + CRLF = 512, the limit
    assert c.cmd(ok_line) == "250 2.0.0 Ok"
    assert c.cmd("NOOP " + "x" * 600).startswith("500 5.5.2 Error: command line too long")
    assert c.cmd("NOOP " + "x" * 100_000).startswith("500 5.5.2")
    assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_text_line_over_1000_octets_is_refused_and_nothing_stored(raw, server):
    c = raw()
    _ready(c)
    c.cmd("MAIL FROM:<a@x.test>")
    c.cmd("RCPT TO:<b@example.test>")
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: long\r\n\r\n" + "y" * 1200 + "\r\n.\r\n")
    assert c.reply().startswith("500 5.5.2 Error: text line too long")
    assert len(server.mailbox) == 0
    # the session goes on and a good message still gets through
    c.cmd("MAIL FROM:<a@x.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send("Subject: ok\r\n\r\n" + "y" * 998 + "\r\n.\r\n")
    assert c.reply().startswith("250 2.0.0")
    assert len(server.mailbox) == 1


def test_size_parameter_and_oversized_data():
    with LabServer(max_message_size=2000) as srv:
        c = RawClient(srv.host, srv.port)
        _ready(c)
        assert "250-SIZE 2000" in c.cmd("EHLO me")
        assert c.cmd("MAIL FROM:<a@x.test> SIZE=5000") == "552 5.3.4 Error: message file too big"
        assert c.cmd("MAIL FROM:<a@x.test> SIZE=100") == "250 2.1.0 Ok"
        c.cmd("RCPT TO:<b@example.test>")
        c.cmd("DATA")
        c.send(("z" * 70 + "\r\n") * 100 + ".\r\n")
        assert c.reply() == "552 5.3.4 Error: message file too big"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        c.close()
        # with smtplib the SIZE parameter is refused at MAIL
        with smtplib.SMTP(srv.host, srv.port) as s, pytest.raises(smtplib.SMTPSenderRefused) as info:
            s.sendmail("a@x.test", ["b@example.test"], "x" * 5000)
        assert info.value.smtp_code == 552
        assert len(srv.mailbox) == 0


def test_at_least_100_recipients_by_default_then_452(raw, server):
    c = raw()
    _ready(c)
    c.cmd("MAIL FROM:<a@x.test>")
    for i in range(100):
        assert c.cmd(f"RCPT TO:<u{i}@example.test>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<u100@example.test>") == "452 4.5.3 Error: too many recipients"
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: many\r\n\r\nx\r\n.\r\n")
    assert c.reply().startswith("250 ")
    assert len(server.mailbox.latest.envelope.rcpt_tos) == 100


def test_configured_recipient_limit():
    with LabServer(max_recipients=2) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            refused = s.sendmail("a@x.test", ["a@example.test", "b@example.test", "c@example.test"], "S: x\r\n\r\nx")
        assert refused == {"c@example.test": (452, b"4.5.3 Error: too many recipients")}


def test_idle_timeout_says_421_and_closes():
    with LabServer(idle_timeout=0.5) as srv:
        c = RawClient(srv.host, srv.port)
        c.reply()
        started = time.monotonic()
        assert c.reply() == "421 4.4.2 lab.example.test Error: timeout exceeded"
        assert c.closed()
        assert 0.4 < time.monotonic() - started < 5
        # the server keeps serving others
        with smtplib.SMTP(srv.host, srv.port) as s:
            assert s.noop()[0] == 250


def test_max_concurrent_sessions():
    with LabServer(max_sessions=2) as srv:
        a, b = RawClient(srv.host, srv.port), RawClient(srv.host, srv.port)
        assert a.reply().startswith("220") and b.reply().startswith("220")
        third = RawClient(srv.host, srv.port)
        assert third.reply() == "421 4.7.0 lab.example.test Error: too many connections"
        assert third.closed()
        a.cmd("QUIT")
        a.closed()
        deadline = time.monotonic() + 5
        while srv.active_sessions > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        fourth = RawClient(srv.host, srv.port)
        assert fourth.reply().startswith("220")
        for c in (a, b, third, fourth):
            c.close()


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r"])
def test_only_crlf_dot_crlf_ends_data(raw, server, fake_end):
    """SMTP smuggling (2023): a bare-LF end of data must not end the message."""
    c = raw()
    _ready(c)
    c.cmd("MAIL FROM:<a@x.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send(b"Subject: smuggle\r\n\r\nfirst" + fake_end + b"MAIL FROM:<evil@x.test>\r\n")
    c.sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        c.line()  # no reply yet: still in DATA
    c.sock.settimeout(5)
    c.send(b"\r\n.\r\n")
    assert c.reply().startswith("250 2.0.0")
    assert len(server.mailbox) == 1
    assert b"MAIL FROM:<evil@x.test>" in server.mailbox.raw(server.mailbox.keys()[0])


def test_garbage_bytes_and_empty_lines(raw):
    c = raw()
    _ready(c)
    assert c.cmd("").startswith("500 5.5.2")
    c.send(b"\xff\xfe\x00\x01\r\n")
    assert c.reply().startswith("500 5.5.2")
    assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_too_many_unknown_commands_closes_with_421_but_server_serves_on(raw, server):
    c = raw()
    _ready(c)
    replies = [c.cmd(f"BOGUS{i}") for i in range(5)]
    assert replies[:4] == ["500 5.5.2 Error: command not recognized"] * 4
    assert replies[4].startswith("421 4.7.0")
    assert c.closed()
    with smtplib.SMTP(server.host, server.port) as s:
        assert s.noop()[0] == 250


def test_client_vanishing_mid_data_loses_nothing_already_accepted(raw, server):
    with smtplib.SMTP(server.host, server.port) as s:
        s.sendmail("a@x.test", ["b@example.test"], "Subject: first\r\n\r\nx\r\n")
    c = raw()
    _ready(c)
    c.cmd("MAIL FROM:<a@x.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send("Subject: half\r\n\r\nhalf a mess")
    c.close()
    time.sleep(0.2)
    assert [m.subject for m in server.mailbox] == ["first"]
    with smtplib.SMTP(server.host, server.port) as s:
        s.sendmail("a@x.test", ["b@example.test"], "Subject: third\r\n\r\nx\r\n")
    assert [m.subject for m in server.mailbox] == ["first", "third"]


def test_bare_lf_commands_are_served_but_noted_in_the_transcript(raw, server):
    c = raw()
    c.reply()
    c.send("HELO lazy\n")
    assert c.reply() == "250 lab.example.test"
    text = server.transcripts.last.to_text()
    assert " -> HELO lazy\n=== the line above ended in a bare LF" in text
