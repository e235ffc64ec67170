"""The lab server talks like Postfix, as the seed's live demo shows, checked with the
standard library's smtplib (an independent client) and with raw sockets."""

from __future__ import annotations

import email.utils
import smtplib
from email.message import EmailMessage

import pytest

from kit.server import LabServer

SEED_MESSAGE = (
    "From: <not_exists@ausgedacht.de>\r\nTo: <not_exists2@ausgedacht.de>\r\nSubject: Betreff\r\n"
    "Message-ID: <0000000@techfak.uni-bielefeld.de>\r\nIn-Reply-To: <123456@example.com>\r\n\r\n"
    "Hier ist Platz fuer den Inhalt der Mail.\r\n"
)


def test_seed_telnet_session_gets_postfix_replies(raw):
    c = raw()
    assert c.reply() == "220 lab.example.test ESMTP smtpkit"
    assert c.cmd("HELO identity") == "250 lab.example.test"
    assert c.cmd("MAIL FROM:<a1@ausgedacht.de>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<jhuelsmann@example.test>") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
    c.send(SEED_MESSAGE + ".\r\n")
    final = c.reply()
    assert final.startswith("250 2.0.0 Ok: queued as ")
    queue_id = final.rsplit(" ", 1)[1]
    assert len(queue_id) == 10 and queue_id == queue_id.upper()
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    assert c.closed()


def test_ehlo_advertises_extensions(raw):
    c = raw()
    c.reply()
    lines = c.cmd("EHLO client.test").split("\n")
    assert lines[0] == "250-lab.example.test"
    keywords = [ln[4:].split()[0] for ln in lines[1:]]
    for kw in ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "HELP", "VRFY"):
        assert kw in keywords
    assert "SIZE 10485760" in "\n".join(lines)
    assert lines[-1].startswith("250 ") and all(ln.startswith("250-") for ln in lines[:-1])


def test_smtplib_delivers_with_received_and_return_path(server):
    with smtplib.SMTP(server.host, server.port, local_hostname="me.client.test") as s:
        refused = s.sendmail("alice@sender.test", ["bob@example.test"], "Subject: hi\r\n\r\nhello\r\n")
    assert refused == {}
    msgs = server.mailbox.messages()  # no wait: stored before the 250 came back
    assert len(msgs) == 1
    m = msgs[0]
    assert m.message["Return-Path"] == "<alice@sender.test>"
    received = m.message["Received"]
    assert received.startswith("from me.client.test (localhost [127.0.0.1])")
    assert "by lab.example.test (smtpkit) with ESMTP id " + m.envelope.queue_id in received
    assert "for <bob@example.test>;" in received
    date = email.utils.parsedate_to_datetime(received.rsplit(";", 1)[1].strip())
    assert date.tzinfo is not None
    assert m.envelope.mail_from == "alice@sender.test"
    assert m.envelope.rcpt_tos == ("bob@example.test",)
    assert m.envelope.helo == "me.client.test"
    assert m.envelope.peer.startswith("127.0.0.1:")
    assert m.message.get_content() == "hello\n"


def test_received_with_is_smtp_after_helo_and_no_for_with_two_recipients(raw, server):
    c = raw()
    c.reply()
    c.cmd("HELO old.client")
    c.cmd("MAIL FROM:<a@x.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("RCPT TO:<c@example.test>")
    c.cmd("DATA")
    c.send("Subject: two\r\n\r\nbody\r\n.\r\n")
    assert c.reply().startswith("250 ")
    m = server.mailbox.latest
    assert " with SMTP id " in m.message["Received"]
    assert "for <" not in m.message["Received"]
    assert m.envelope.rcpt_tos == ("b@example.test", "c@example.test")


def test_null_sender_is_accepted_for_bounces(server):
    with smtplib.SMTP(server.host, server.port) as s:
        s.ehlo("me")
        assert s.mail("<>")[0] == 250
        assert s.rcpt("bob@example.test")[0] == 250
        assert s.data(b"Subject: bounce\r\n\r\nx\r\n")[0] == 250
    m = server.mailbox.latest
    assert m.message["Return-Path"] == "<>"
    assert m.envelope.mail_from == ""


def test_relaying_is_refused(server):
    with smtplib.SMTP(server.host, server.port) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            s.sendmail("a@example.test", ["victim@elsewhere.test"], "Subject: spam\r\n\r\nx\r\n")
    code, text = info.value.recipients["victim@elsewhere.test"]
    assert code == 554 and text.startswith(b"5.7.1 ") and b"Relay access denied" in text
    assert len(server.mailbox) == 0


def test_one_refused_recipient_does_not_stop_the_others(server):
    with smtplib.SMTP(server.host, server.port) as s:
        refused = s.sendmail("a@x.test", ["bob@example.test", "eve@other.test"], "Subject: s\r\n\r\nx\r\n")
    assert list(refused) == ["eve@other.test"]
    assert server.mailbox.latest.envelope.rcpt_tos == ("bob@example.test",)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("FOO bar", "500 5.5.2 Error: command not recognized"),
        ("MAIL TO:<a@b.test>", "501 5.5.4 Syntax: MAIL FROM:<address>"),
        ("MAIL FROM:a@b.test", "501 5.1.3 Bad address syntax"),
        ("RCPT TO:<b@example.test>", "503 5.5.1 Error: need MAIL command"),
        ("DATA", "503 5.5.1 Error: need RCPT command"),
        ("NOOP", "250 2.0.0 Ok"),
        ("RSET", "250 2.0.0 Ok"),
        ("EXPN staff", "502 5.5.1 Error: command not implemented"),
        ("HELO", "501 5.5.4 Syntax: HELO hostname"),
    ],
)
def test_mistakes_earn_the_right_reply_and_the_session_goes_on(raw, line, expected):
    c = raw()
    c.reply()
    c.cmd("EHLO me")
    assert c.cmd(line).startswith(expected)
    assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_mail_before_helo_is_a_bad_sequence(raw):
    c = raw()
    c.reply()
    assert c.cmd("MAIL FROM:<a@b.test>") == "503 5.5.1 Error: send HELO/EHLO first"


def test_nested_mail_and_rset(raw):
    c = raw()
    c.reply()
    c.cmd("EHLO me")
    assert c.cmd("MAIL FROM:<a@b.test>") == "250 2.1.0 Ok"
    assert c.cmd("MAIL FROM:<a@b.test>") == "503 5.5.1 Error: nested MAIL command"
    assert c.cmd("RCPT TO:<b@example.test>") == "250 2.1.5 Ok"
    assert c.cmd("DATA now") == "501 5.5.4 Syntax: DATA"
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
    assert c.cmd("MAIL FROM:<a@b.test>") == "250 2.1.0 Ok"


def test_lowercase_commands_are_accepted(raw):
    c = raw()
    c.reply()
    assert c.cmd("ehlo me").startswith("250-")
    assert c.cmd("mail from:<a@b.test>") == "250 2.1.0 Ok"


def test_help(raw):
    c = raw()
    c.reply()
    text = c.cmd("HELP")
    assert text.startswith("214-2.0.0 Commands: ") and "MAIL" in text and "AUTH" not in text
    assert c.cmd("HELP mail") == "214 2.0.0 Syntax: MAIL FROM:<address>"
    assert c.cmd("HELP bogus").startswith("504 5.5.4")


def test_vrfy_known_unknown_and_switched_off():
    with LabServer(domains=["example.test"], users=["bob"]) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            assert s.verify("bob@example.test") == (250, b"2.0.0 <bob@example.test>")
            assert s.verify("bob") == (250, b"2.0.0 <bob@example.test>")
            code, text = s.verify("mallory@example.test")
            assert code == 550 and text.startswith(b"5.1.1 ")
            s.ehlo("me")
            s.mail("a@x.test")
            code, text = s.rcpt("mallory@example.test")
            assert code == 550 and text.startswith(b"5.1.1 ")
            assert s.rcpt("postmaster@example.test")[0] == 250  # RFC 5321 §4.5.1
    with LabServer(domains=["example.test"], users=["bob"], vrfy=False) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            assert s.verify("mallory@example.test")[0] == 252
            assert "vrfy" not in s.ehlo_resp.decode().lower() if s.ehlo("me") else True


def test_expn_when_enabled():
    with LabServer(domains=["example.test"], users=["bob"], expn=True) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            assert s.expn("bob")[0] == 250
            assert s.expn("nobody")[0] == 550


def test_pipelined_commands_get_all_replies_in_order(raw):
    c = raw()
    c.reply()
    c.cmd("EHLO me")
    c.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<z@nowhere.test>\r\n"
           "RCPT TO:<c@example.test>\r\nDATA\r\n")
    replies = [c.reply() for _ in range(5)]
    assert [r[:3] for r in replies] == ["250", "250", "554", "250", "354"]
    c.send("Subject: p\r\n\r\nx\r\n.\r\nQUIT\r\n")
    assert c.reply().startswith("250 2.0.0 Ok: queued as")
    assert c.reply() == "221 2.0.0 Bye"


def test_eight_bit_and_utf8_addresses(server):
    msg = EmailMessage()
    msg["From"] = "jürgen@example.test"
    msg["To"] = "zoë@example.test"
    msg["Subject"] = "Grüße"
    msg.set_content("Schöne Grüße, ça va?", cte="8bit")
    with smtplib.SMTP(server.host, server.port) as s:
        s.send_message(msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    m = server.mailbox.latest
    assert m.envelope.rcpt_tos == ("zoë@example.test",)
    assert "with UTF8SMTP id" in m.message["Received"]
    assert "Schöne Grüße" in m.message.get_content()


def test_utf8_address_without_smtputf8_is_refused(raw):
    c = raw()
    c.reply()
    c.cmd("EHLO me")
    assert c.cmd("MAIL FROM:<jürgen@example.test>").startswith("553 5.6.7")


def test_unknown_mail_parameter(raw):
    c = raw()
    c.reply()
    c.cmd("EHLO me")
    assert c.cmd("MAIL FROM:<a@x.test> FOO=bar").startswith("555 5.5.4")
    assert c.cmd("MAIL FROM:<a@x.test> BODY=BINARYMIME").startswith("501 5.5.4")


def test_dot_stuffed_lines_are_unstuffed(server):
    with smtplib.SMTP(server.host, server.port) as s:
        s.sendmail("a@x.test", ["b@example.test"], "Subject: dots\r\n\r\n.leading\r\n..two\r\n.\r\nend\r\n")
    body = server.mailbox.latest.message.get_content()
    assert body == ".leading\n..two\n.\nend\n"


def test_bare_postmaster_is_accepted(raw, server):
    """RFC 5321 §4.5.1: every server MUST accept RCPT TO:<Postmaster> without a domain."""
    c = raw()
    c.reply()
    c.cmd("HELO me")
    c.cmd("MAIL FROM:<a@x.test>")
    assert c.cmd("RCPT TO:<Postmaster>") == "250 2.1.5 Ok"
    c.cmd("DATA")
    c.send("Subject: hi postmaster\r\n\r\nx\r\n.\r\n")
    assert c.reply().startswith("250 ")
    assert server.mailbox.latest.envelope.rcpt_tos == ("Postmaster",)


def test_vrfy_with_angle_brackets():
    with LabServer(users=["bob"]) as srv, smtplib.SMTP(srv.host, srv.port) as s:
        assert s.docmd("VRFY <bob@example.test>") == (250, b"2.0.0 <bob@example.test>")
