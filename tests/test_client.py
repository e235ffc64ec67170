"""The kit's client against the lab server: replies parsed, transcripts recorded, nothing hidden."""

from __future__ import annotations

import threading

import pytest
from smtp_raw import RawClient  # noqa: F401  (shared helper module must import cleanly)

from kit import SMTPSession, send_mail
from kit.client import SMTPDisconnected, SMTPTimeout, compose
from kit.server import Behaviour, LabServer, disconnect_after


def test_session_step_by_step(server):
    with SMTPSession(server.host, server.port) as s:
        assert s.greeting.code == 220
        reply = s.ehlo("me.test")
        assert reply.code == 250 and s.extensions.supports("pipelining")
        assert s.extensions.size_limit == 10 * 1024 * 1024
        assert (s.mail("a@x.test").code, s.mail("a@x.test").code) == (250, 503)
        assert s.rset().enhanced == "2.0.0"
        assert s.mail("a@x.test").enhanced == "2.1.0"
        assert s.rcpt("b@example.test").enhanced == "2.1.5"
        final = s.data("Subject: step\n\n.hidden dot\nend")
        assert final.code == 250 and final.text.startswith("Ok: queued as")
        assert s.noop().code == 250
        assert s.vrfy("b@example.test").code == 252
        assert s.help().code == 214
    assert not s.connected
    text = s.transcript.to_text()
    assert " -> ..hidden dot" in text  # dot-stuffed on the wire
    assert "<-  221 2.0.0 Bye" in text
    assert server.mailbox.latest.message.get_content() == ".hidden dot\nend\n"


def test_telnet_replay_with_send_raw(server):
    with SMTPSession(server.host, server.port) as s:
        assert s.send_raw("HELO identity").code == 250
        assert s.send_raw("MAIL FROM:<a1@ausgedacht.de>").text == "Ok"
        assert s.send_raw("RCPT TO:<jhuelsmann@example.test>").enhanced == "2.1.5"
        assert s.send_raw("DATA").code == 354
        assert s.send_raw("Subject: Betreff") is None
        assert s.send_raw("") is None
        assert s.send_raw("Hier ist Platz.") is None
        assert s.send_raw(".").code == 250
        assert s.send_raw("QUIT").code == 221
    assert server.mailbox.latest.subject == "Betreff"
    with pytest.raises(ValueError):
        SMTPSession(server.host, server.port).send_raw("NOOP\r\nQUIT")


def test_pipeline(server):
    with SMTPSession(server.host, server.port) as s:
        s.ehlo()
        replies = s.pipeline(["MAIL FROM:<a@x.test>", "RCPT TO:<b@example.test>", "RCPT TO:<c@far.test>", "DATA"])
        assert [r.code for r in replies] == [250, 250, 554, 354]
        assert s.send_raw(".").code == 250


def test_refusals_are_returned_not_raised(server):
    with SMTPSession(server.host, server.port) as s:
        s.ehlo()
        s.mail("a@x.test")
        r = s.rcpt("z@elsewhere.test")
        assert r.is_permanent and r.enhanced == "5.7.1"
        assert s.data("x").code == 503


def test_send_mail_common_case_and_partial_refusal(server):
    result = send_mail(server.host, server.port, "a@x.test", ["b@example.test", "c@far.test"],
                       subject="Hello", body="Hi there")
    assert result.ok and result.error is None
    assert list(result.accepted) == ["b@example.test"]
    assert result.refused["c@far.test"].code == 554
    assert result.queue_id == server.mailbox.latest.envelope.queue_id
    stored = server.mailbox.latest.message
    assert stored["Subject"] == "Hello" and stored["Message-ID"] and stored["Date"]


def test_send_mail_no_recipient_accepted_sends_rset_not_data(server):
    result = send_mail(server.host, server.port, "a@x.test", "c@far.test", subject="x")
    assert not result.ok and result.error == "no recipient accepted"
    assert "RSET" in result.transcript.client_lines()
    assert "DATA" not in result.transcript.client_lines()


def test_send_mail_falls_back_to_helo_when_ehlo_is_refused():
    rule = Behaviour("EHLO", "502 5.5.1 Error: command not implemented")
    with LabServer(behaviours=[rule]) as srv:
        result = send_mail(srv.host, srv.port, "a@x.test", "b@example.test", subject="old")
        assert result.ok
        assert " with SMTP id " in srv.mailbox.latest.message["Received"]


def test_server_hangs_up(server):
    server.add_behaviour(disconnect_after("MAIL"))
    result = send_mail(server.host, server.port, "a@x.test", "b@example.test", subject="x")
    assert not result.ok and "closed the connection" in result.error
    s = SMTPSession(server.host, server.port)
    s.ehlo()
    s.mail("a@x.test")
    with pytest.raises(SMTPDisconnected):
        s.rcpt("b@example.test")


def test_timeout_when_the_server_is_silent():
    with LabServer(behaviours=[Behaviour("NOOP", delay=2.0)]) as srv:
        s = SMTPSession(srv.host, srv.port, timeout=0.3)
        with pytest.raises(SMTPTimeout):
            s.noop()
        s.close()


def test_connection_refused_is_reported():
    with LabServer() as srv:
        port = srv.port
    result = send_mail("127.0.0.1", port, "a@x.test", "b@example.test")
    assert not result.ok and result.error


def test_compose_has_the_fields_rfc_5322_requires():
    msg = compose("a@x.test", ["b@example.test"], "S", "B")
    assert msg["From"] == "a@x.test" and msg["Date"] and msg["Message-ID"].endswith("@x.test>")


def test_transcript_is_safe_to_read_while_sessions_run(server):
    errors = []

    def reader():
        try:
            for _ in range(200):
                str(server.transcripts)
                server.transcripts._repr_html_()
        except Exception as exc:  # pragma: no cover - the failure we look for
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(10):
        send_mail(server.host, server.port, "a@x.test", "b@example.test", subject=str(i))
    t.join()
    assert errors == []


def test_send_raw_quit_closes_and_wait_idle(server):
    s = SMTPSession(server.host, server.port)
    assert s.send_raw("QUIT").code == 221
    assert not s.connected
    server.wait_idle()
    assert server.transcripts.last.lines[-1].text == "connection closed"
