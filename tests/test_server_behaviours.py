"""Deterministic faults: each behaviour does what it says, for whom it says, and no more."""

from __future__ import annotations

import smtplib
import time

import pytest
from smtp_raw import RawClient

from kit.server import (
    Behaviour,
    LabServer,
    delay_reply,
    disconnect_after,
    greylist,
    mailbox_full,
    refuse_connections,
    unknown_user,
)


def _session(srv: LabServer) -> RawClient:
    c = RawClient(srv.host, srv.port)
    c.reply()
    c.cmd("EHLO me")
    return c


def test_unknown_user_only_for_that_recipient():
    with LabServer(behaviours=[unknown_user("ghost@example.test")]) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            refused = s.sendmail("a@x.test", ["ghost@example.test", "bob@example.test"], "Subject: x\r\n\r\nx")
        code, text = refused["ghost@example.test"]
        assert code == 550 and text.startswith(b"5.1.1 <ghost@example.test>: Recipient address rejected")
        assert srv.mailbox.latest.envelope.rcpt_tos == ("bob@example.test",)


def test_mailbox_full_is_temporary():
    with LabServer(behaviours=[mailbox_full("full@example.test")]) as srv:
        c = _session(srv)
        c.cmd("MAIL FROM:<a@x.test>")
        assert c.cmd("RCPT TO:<full@example.test>") == "452 4.2.2 <full@example.test>: Mailbox full"
        assert c.cmd("RCPT TO:<ok@example.test>") == "250 2.1.5 Ok"


def test_greylisting_refuses_the_first_attempt_only():
    with LabServer(behaviours=[greylist()]) as srv:
        c = _session(srv)
        c.cmd("MAIL FROM:<a@x.test>")
        first = c.cmd("RCPT TO:<b@example.test>")
        assert first.startswith("451 4.7.1 <b@example.test>: Recipient address rejected: Greylisted")
        assert c.cmd("RCPT TO:<b@example.test>") == "250 2.1.5 Ok"  # the retry passes
        assert c.cmd("RCPT TO:<c@example.test>").startswith("451 4.7.1")  # a new triple is greylisted
        c.cmd("RSET")
        c.cmd("MAIL FROM:<other@x.test>")
        assert c.cmd("RCPT TO:<b@example.test>").startswith("451 4.7.1")  # new sender: new triple


def test_421_at_greeting():
    with LabServer(behaviours=[refuse_connections()]) as srv:
        c = RawClient(srv.host, srv.port)
        assert c.reply() == "421 4.3.2 lab.example.test Service not available, closing transmission channel"
        assert c.closed()
        with pytest.raises(smtplib.SMTPConnectError):
            smtplib.SMTP(srv.host, srv.port)


def test_only_the_first_session():
    with LabServer(behaviours=[Behaviour("CONNECT", "421 4.3.2 busy", session=1)]) as srv:
        assert RawClient(srv.host, srv.port).reply() == "421 4.3.2 busy"
        assert RawClient(srv.host, srv.port).reply().startswith("220 ")


def test_delay_reply():
    with LabServer(behaviours=[delay_reply("MAIL", 0.6)]) as srv:
        c = _session(srv)
        started = time.monotonic()
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Ok"
        assert time.monotonic() - started >= 0.55
        started = time.monotonic()
        c.cmd("RCPT TO:<b@example.test>")
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("stage", ["MAIL", "RCPT"])
def test_disconnect_after_a_stage(stage):
    with LabServer(behaviours=[disconnect_after(stage)]) as srv:
        c = _session(srv)
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Ok"
        if stage == "RCPT":
            assert c.cmd("RCPT TO:<b@example.test>") == "250 2.1.5 Ok"
        assert c.closed()
        assert "dropped the connection after " + stage in srv.transcripts.last.to_text()


def test_disconnect_after_data_comes_after_354_before_the_message():
    with LabServer(behaviours=[disconnect_after("DATA")]) as srv:
        c = _session(srv)
        c.cmd("MAIL FROM:<a@x.test>")
        c.cmd("RCPT TO:<b@example.test>")
        assert c.cmd("DATA").startswith("354")
        assert c.closed()
        assert len(srv.mailbox) == 0


def test_reject_after_the_dot_stores_nothing():
    rule = Behaviour("DOT", "554 5.7.1 Message refused: content policy")
    with LabServer(behaviours=[rule]) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s, pytest.raises(smtplib.SMTPDataError) as info:
            s.sendmail("a@x.test", ["b@example.test"], "Subject: x\r\n\r\nx")
        assert info.value.smtp_code == 554
        assert len(srv.mailbox) == 0


def test_disconnect_after_dot_keeps_the_accepted_message():
    with LabServer(behaviours=[disconnect_after("DOT")]) as srv:
        c = _session(srv)
        c.cmd("MAIL FROM:<a@x.test>")
        c.cmd("RCPT TO:<b@example.test>")
        c.cmd("DATA")
        c.send("Subject: kept\r\n\r\nx\r\n.\r\n")
        assert c.reply().startswith("250 2.0.0")
        assert c.closed()
        assert srv.mailbox.latest.subject == "kept"


def test_rule_for_one_sender_and_times_limit():
    rule = Behaviour("MAIL", "550 5.7.1 <{sender}>: Sender blocked", sender="spam@x.test", times=1)
    with LabServer(behaviours=[rule]) as srv:
        c = _session(srv)
        assert c.cmd("MAIL FROM:<ok@x.test>") == "250 2.1.0 Ok"
        c.cmd("RSET")
        assert c.cmd("MAIL FROM:<spam@x.test>") == "550 5.7.1 <spam@x.test>: Sender blocked"
        assert c.cmd("MAIL FROM:<spam@x.test>") == "250 2.1.0 Ok"  # used up


def test_behaviours_can_be_added_and_cleared_while_running(server):
    server.add_behaviour(unknown_user("x@example.test"))
    c = _session(server)
    c.cmd("MAIL FROM:<a@x.test>")
    assert c.cmd("RCPT TO:<x@example.test>").startswith("550")
    server.behaviours.clear()
    assert c.cmd("RCPT TO:<x@example.test>") == "250 2.1.5 Ok"


@pytest.mark.parametrize("kwargs", [dict(stage="NOPE"), dict(stage="RCPT", reply="hello"),
                                    dict(stage="MAIL", delay=-1), dict(stage="HELO", recipient="a@b.test")])
def test_bad_rules_are_refused_clearly(kwargs):
    with pytest.raises(ValueError):
        Behaviour(**kwargs)
