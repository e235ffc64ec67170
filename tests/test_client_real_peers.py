"""The client and the lab server against peers that are not polite (issue 13): a 421 that
ends the session, a peer that does not speak SMTP, a 554 greeting, AUTH where none is
offered, and the lab server's own answers to AUTH PLAIN's authorization identity and to
STARTTLS on an implicit-TLS listener. Real sockets on 127.0.0.1 only; independent clients
(smtplib, raw sockets) where the server is the thing tested."""

from __future__ import annotations

import base64
import smtplib
import subprocess
import sys

import pytest
from tiny_peer import TinyPeer, pop3, postfix_error_limit, rejecting_554

from kit import SMTPSession, send_mail
from kit.client import SMTPClientError
from kit.server import Behaviour, LabServer

SMTPKIT = [sys.executable, "-m", "kit"]
FOUR = ["ok1@example.test", "bad1@example.test", "bad2@example.test", "ok2@example.test"]


# -- 1. a 421 ends the session; its cause stays visible ------------------------------------------
def test_421_at_mail_is_the_error_not_a_later_disconnect():
    rule = Behaviour("MAIL", "421 4.3.2 {host} System busy", disconnect=True)
    with LabServer(behaviours=[rule]) as srv:
        result = send_mail(srv.host, srv.port, "a@x.test", ["b@example.test"], subject="busy")
    assert not result.ok
    assert "421 4.3.2" in result.error and "System busy" in result.error, result.error
    assert result.not_tried == ["b@example.test"] and not result.accepted and not result.refused


def test_smtpkit_send_reports_the_421():
    rule = Behaviour("MAIL", "421 4.3.2 {host} System busy", disconnect=True)
    with LabServer(behaviours=[rule]) as srv:
        run = subprocess.run([*SMTPKIT, "send", "--port", str(srv.port), "--from", "a@x.test", "--to",
                              "b@example.test"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "421 4.3.2" in run.stderr and "not connected" not in run.stderr, run.stderr


def test_error_limit_421_every_recipient_in_exactly_one_list():
    # Postfix with smtpd_hard_error_limit=2: after the second 550 it says 421 at once and hangs up.
    with TinyPeer(b"220 mx.example.test ESMTP Postfix\r\n",
                  postfix_error_limit(2, refuse=("bad1@example.test", "bad2@example.test"))) as peer:
        result = send_mail(peer.host, peer.port, "a@x.test", FOUR, subject="four")
    assert not result.ok
    assert list(result.accepted) == ["ok1@example.test"]
    assert list(result.refused) == ["bad1@example.test", "bad2@example.test"]
    assert all(r.code == 550 for r in result.refused.values())  # the 421 is nobody's refusal
    assert result.not_tried == ["ok2@example.test"]
    lists = [*result.accepted, *result.refused, *result.not_tried]
    assert sorted(lists) == sorted(FOUR)  # each recipient exactly once
    assert "421 4.7.0" in result.error and "too many errors" in result.error


def test_session_says_why_it_is_not_connected_after_421():
    rule = Behaviour("MAIL", "421 4.3.2 {host} System busy", disconnect=True)
    with LabServer(behaviours=[rule]) as srv:
        s = SMTPSession(srv.host, srv.port)
        s.ehlo()
        assert s.mail("a@x.test").code == 421 and not s.connected
        with pytest.raises(Exception, match="421 4.3.2"):
            s.rcpt("b@example.test")


def test_521_greeting_is_the_error_even_when_the_server_hangs_up():
    # RFC 7504 §3: a host that takes no mail may greet with 521 and close at once.
    with TinyPeer(b"521 5.3.2 mx.example.test does not accept mail\r\n") as peer:
        result = send_mail(peer.host, peer.port, "a@x.test", ["b@example.test"], subject="x", timeout=5)
    assert not result.ok and result.not_tried == ["b@example.test"]
    assert result.error == "greeting refused: 521 5.3.2 mx.example.test does not accept mail", result.error


# -- 2. a peer that does not speak SMTP ------------------------------------------------------------
def test_pop3_peer_gives_a_clear_error_result():
    with TinyPeer(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", pop3) as peer:
        result = send_mail(peer.host, peer.port, "a@x.test", ["b@example.test"], subject="x", timeout=5)
    assert not result.ok
    assert "not SMTP" in result.error and "+OK POP3 server ready" in result.error, result.error
    assert "+OK POP3 server ready" in result.transcript.to_text()  # recorded as received


def test_smtpkit_send_to_pop3_is_one_line_no_traceback():
    with TinyPeer(b"+OK POP3 server ready\r\n", pop3) as peer:
        run = subprocess.run([*SMTPKIT, "send", "--port", str(peer.port), "--from", "a@x.test", "--to",
                              "b@example.test", "--timeout", "5"], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("smtpkit send: ") and "not SMTP" in errors[0], run.stderr


def test_garbage_in_the_middle_of_a_session_is_an_error_result():
    def answer(line: str, state: dict) -> tuple[bytes, bool]:
        if line.upper().startswith("EHLO"):
            return b"250-mx.example.test\r\n250 8BITMIME\r\n", False
        return b"HTTP/1.1 400 Bad Request\r\n", False

    with TinyPeer(b"220 mx.example.test ESMTP\r\n", answer) as peer:
        result = send_mail(peer.host, peer.port, "a@x.test", ["b@example.test"], subject="x", timeout=5)
    assert not result.ok and "not SMTP" in result.error and "HTTP/1.1 400" in result.error
    assert result.not_tried == ["b@example.test"]


def test_a_good_reply_before_the_garbage_is_not_lost():
    with TinyPeer(b"220 mx.example.test ESMTP\r\n+OK POP3 server ready\r\n", pop3) as peer:
        s = SMTPSession(peer.host, peer.port, timeout=5)
        assert s.greeting.code == 220  # the reply that came first in the same packet
        with pytest.raises(ValueError, match="not SMTP"):  # SMTPProtocolError is a RemoteProtocolError
            s.ehlo("me")
        assert not s.connected
        with pytest.raises(SMTPClientError, match="not SMTP"):  # and says so again if asked
            s.noop()
        s.close()
    assert s.transcript.server_lines() == ["220 mx.example.test ESMTP", "+OK POP3 server ready"]


# -- 5. a 554 greeting gets a QUIT; AUTH only when offered; summaries keep enhanced codes -------------
def test_554_greeting_then_quit():
    with TinyPeer(b"554 5.7.1 mx.example.test No SMTP service here\r\n", rejecting_554) as peer:
        result = send_mail(peer.host, peer.port, "a@x.test", ["b@example.test"], subject="x", timeout=5)
        peer.close()
    assert not result.ok and "554 5.7.1" in result.error
    assert peer.received == [["QUIT"]]  # RFC 5321 §3.1: the client sends QUIT, then hangs up


def test_no_auth_when_the_server_does_not_offer_it(server):
    result = send_mail(server.host, server.port, "a@x.test", ["b@example.test"], subject="x",
                       auth=("alice", "s3cret"))
    assert not result.ok and "AUTH" in result.error and "not" in result.error
    assert not any(line.startswith("AUTH") for line in result.transcript.client_lines())
    assert "QUIT" in result.transcript.client_lines()


def test_error_summaries_keep_the_enhanced_code(server):
    server.add_behaviour(Behaviour("MAIL", "550 5.7.1 <{sender}>: Sender address rejected: Access denied"))
    result = send_mail(server.host, server.port, "a@x.test", ["b@example.test"], subject="x")
    assert "550 5.7.1 <a@x.test>: Sender address rejected" in result.error, result.error


def test_smtpkit_send_refused_recipient_keeps_the_enhanced_code():
    with LabServer(users=["bob"]) as srv:
        run = subprocess.run([*SMTPKIT, "send", "--port", str(srv.port), "--from", "a@x.test", "--to",
                              "bob@example.test", "--to", "nobody@example.test"],
                             capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    assert "refused nobody@example.test: 550 5.1.1 " in run.stderr, run.stderr


# -- 4. AUTH PLAIN honours the authorization identity (RFC 4616 §2) ---------------------------------
def _plain(authzid: str, authcid: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


@pytest.fixture
def auth_server():
    with LabServer(implicit_tls=True, auth={"alice": "s3cret", "bob": "b0b"}) as srv:
        yield srv


def _auth_reply(srv: LabServer, token: str) -> tuple[int, bytes]:
    with smtplib.SMTP_SSL(srv.host, srv.port, context=srv.client_tls_context(), timeout=10) as s:
        s.ehlo("me")
        return s.docmd("AUTH", f"PLAIN {token}")


def test_auth_plain_honours_the_authorization_identity(auth_server):
    code, text = _auth_reply(auth_server, _plain("bob", "alice", "s3cret"))
    assert code == 535 and text.startswith(b"5.7.8"), (code, text)  # alice may not act as bob
    assert _auth_reply(auth_server, _plain("", "alice", "s3cret"))[0] == 235  # derived from alice
    assert _auth_reply(auth_server, _plain("alice", "alice", "s3cret"))[0] == 235  # alice as herself


def test_auth_plain_act_as_when_configured():
    with LabServer(implicit_tls=True, auth={"alice": "s3cret", "bob": "b0b"},
                   auth_act_as={"alice": ["bob"]}) as srv:
        assert _auth_reply(srv, _plain("bob", "alice", "s3cret"))[0] == 235
        assert _auth_reply(srv, _plain("alice", "bob", "b0b"))[0] == 535  # not the other way round
        assert _auth_reply(srv, _plain("bob", "alice", "wrong"))[0] == 535


# -- 5. STARTTLS where TLS is already on is a permanent refusal ----------------------------------------
def test_starttls_on_implicit_tls_is_permanent(auth_server):
    srv = auth_server
    with smtplib.SMTP_SSL(srv.host, srv.port, context=srv.client_tls_context(), timeout=10) as s:
        s.ehlo("me")
        code, text = s.docmd("STARTTLS")
        assert code == 503 and text.startswith(b"5.5.1"), (code, text)
        assert s.noop()[0] == 250  # the session goes on


def test_second_starttls_is_permanent():
    with LabServer(tls=True) as srv:
        with smtplib.SMTP(srv.host, srv.port, timeout=10) as s:
            s.starttls(context=srv.client_tls_context())
            s.ehlo("me")
            code, text = s.docmd("STARTTLS")
            assert code == 503 and text.startswith(b"5.5.1"), (code, text)


def test_starttls_where_not_offered_at_all(server, raw):
    c = raw()
    c.reply()
    c.cmd("EHLO me")
    reply = c.cmd("STARTTLS")
    assert reply[0] == "5", reply  # never a 4yz "try later" for something that never comes

