"""STARTTLS (RFC 3207), AUTH (RFC 4954) and DSN parameters (RFC 3461), with smtplib,
swaks and our client; certificates are made at run time."""

from __future__ import annotations

import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys

import pytest

from kit import SMTPSession, send_mail
from kit.server import LabServer

USERS = {"alice": "s3cret"}


@pytest.fixture
def tls_server():
    with LabServer(tls=True, auth=USERS) as srv:
        yield srv


def test_starttls_then_auth_with_smtplib(tls_server):
    srv = tls_server
    with smtplib.SMTP(srv.host, srv.port) as s:
        s.ehlo("me")
        assert s.has_extn("starttls") and not s.has_extn("auth")
        assert s.starttls(context=srv.client_tls_context())[0] == 220
        s.ehlo("me")
        assert not s.has_extn("starttls") and s.has_extn("auth")
        assert s.login("alice", "s3cret")[0] == 235
        s.sendmail("alice@example.test", ["bob@example.test"], "Subject: secure\r\n\r\nx")
    m = srv.mailbox.latest
    assert " with ESMTPSA id " in m.message["Received"]
    assert "TLS started (TLSv1" in srv.transcripts.last.to_text()
    assert "<-  220 2.0.0 Ready to start TLS" in srv.transcripts.last.to_text()


def test_tls_without_auth_is_esmtps(tls_server):
    context = tls_server.client_tls_context()
    r = send_mail(tls_server.host, tls_server.port, "a@x.test", "b@example.test", starttls=context)
    assert r.ok
    assert " with ESMTPS id " in tls_server.mailbox.latest.message["Received"]


def test_certificate_is_verified_not_blindly_trusted(tls_server):
    with SMTPSession(tls_server.host, tls_server.port) as s:
        s.ehlo()
        with pytest.raises(Exception, match="TLS handshake failed"):
            s.starttls(ssl.create_default_context())  # the system CAs do not know our lab CA


def test_auth_is_refused_before_tls_and_with_bad_credentials(tls_server):
    with SMTPSession(tls_server.host, tls_server.port) as s:
        s.ehlo()
        assert s.auth("alice", "s3cret").code == 538
        s.starttls(tls_server.client_tls_context())
        s.ehlo()
        bad = s.auth("alice", "wrong")
        assert (bad.code, bad.enhanced) == (535, "5.7.8")
        assert s.auth("mallory", "s3cret").code == 535
        assert s.auth("alice", "s3cret", "LOGIN").code == 235
        assert s.auth("alice", "s3cret").code == 503  # already authenticated


def test_auth_login_challenges(tls_server):
    with SMTPSession(tls_server.host, tls_server.port) as s:
        s.ehlo()
        s.starttls(tls_server.client_tls_context())
        s.ehlo()
        reply = s.command("AUTH LOGIN")
        assert reply.code == 334 and reply.text == "VXNlcm5hbWU6"  # base64 of "Username:"


def test_submission_server_requires_auth():
    with LabServer(tls=True, auth=USERS, require_auth=True) as srv:
        r = send_mail(srv.host, srv.port, "a@x.test", "b@example.test", starttls=srv.client_tls_context())
        assert not r.ok and r.error.startswith("MAIL refused: 530")
        r = send_mail(srv.host, srv.port, "a@x.test", "b@example.test", starttls=srv.client_tls_context(),
                      auth=("alice", "s3cret"))
        assert r.ok


def test_auth_without_tls_for_teaching():
    with LabServer(auth=USERS, auth_require_tls=False) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            s.ehlo("me")
            assert s.has_extn("auth")
            assert s.login("alice", "s3cret")[0] == 235
        assert "AUTH PLAIN AGFsaWNlAHMzY3JldA==" in srv.transcripts.last.to_text()  # readable by anyone


def test_no_auth_offered_without_users(server):
    with SMTPSession(server.host, server.port) as s:
        s.ehlo()
        assert not s.extensions.supports("AUTH") and not s.extensions.supports("STARTTLS")
        # Not offered, never will be on this server: permanent (as Postfix says), not 454 "try later".
        reply = s.starttls()
        assert (reply.code, reply.enhanced) == (502, "5.5.1")


def test_dsn_parameters_are_accepted_and_kept(server):
    with SMTPSession(server.host, server.port) as s:
        s.ehlo()
        assert s.extensions.supports("DSN")
        assert s.mail("a@x.test", RET="HDRS", ENVID="QQ314159").code == 250
        assert s.rcpt("b@example.test", NOTIFY="SUCCESS,FAILURE", ORCPT="rfc822;b@example.test").code == 250
        assert s.data("Subject: dsn\n\nx").code == 250
        assert s.rcpt("c@example.test", NOTIFY="MAYBE").code == 503  # no MAIL now; syntax checked after
        s.mail("a@x.test")
        assert s.rcpt("c@example.test", NOTIFY="MAYBE").code == 501
        assert s.rcpt("c@example.test", ORCPT="nosemicolon").code == 501
    env = server.mailbox.latest.envelope
    assert "RET=HDRS" in env.mail_options and "ENVID=QQ314159" in env.mail_options
    assert env.rcpt_options["b@example.test"] == ("NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;b@example.test")


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_tls_auth(tls_server, mech):
    run = subprocess.run(["swaks", "--server", f"{tls_server.host}:{tls_server.port}", "--to", "bob@example.test",
                          "--tls", "--auth", mech, "--auth-user", "alice", "--auth-password", "s3cret"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout
    assert "<~  235 2.7.0 Authentication successful" in run.stdout
    assert " with ESMTPSA id " in tls_server.mailbox.latest.message["Received"]


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks_bad_password(tls_server):
    run = subprocess.run(["swaks", "--server", f"{tls_server.host}:{tls_server.port}", "--to", "bob@example.test",
                          "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 28  # swaks: AUTH failed
    assert "535 5.7.8" in run.stdout


def test_cli_serve_tls_auth_and_send(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "kit", "serve", "--tls", "--auth", "alice:s3cret",
                             "--maildir", str(tmp_path / "D")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        ca = None
        for _ in range(5):
            line = proc.stderr.readline()
            if line.startswith("CA certificate "):
                ca = line.split(" ", 2)[2].strip()
                break
        assert ca and ca.endswith(".pem")
        run = subprocess.run([sys.executable, "-m", "kit", "send", "--port", str(port), "--from", "alice@example.test",
                              "--to", "bob@example.test", "--tls", "--cafile", ca, "--auth", "alice:s3cret"],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr + run.stdout
        assert "<-  235 2.7.0 Authentication successful" in run.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert len(list((tmp_path / "D" / "new").iterdir())) == 1


def test_submission_server_adds_missing_date_and_message_id():
    with LabServer(submission=True, hostname="msa.example.test") as srv:
        send_mail(srv.host, srv.port, "a@x.test", "b@example.test", "Subject: bare\r\n\r\nno date, no id\r\n")
        m = srv.mailbox.latest.message
        assert m["Date"] and m["Message-ID"].endswith("@msa.example.test>")
        send_mail(srv.host, srv.port, "a@x.test", "b@example.test",
                  "Subject: full\r\nDate: Sat, 22 Nov 2014 20:25:31 +0100\r\nMessage-ID: <1@x.test>\r\n\r\nx\r\n")
        m = srv.mailbox.latest.message
        assert m["Message-ID"] == "<1@x.test>" and m["Date"] == "Sat, 22 Nov 2014 20:25:31 +0100"
        assert len(m.get_all("Date")) == 1


def test_relay_authenticated_lets_only_logged_in_users_relay():
    with LabServer(tls=True, auth=USERS, relay_authenticated=True, users=["bob"]) as srv:
        context = srv.client_tls_context()
        with smtplib.SMTP(srv.host, srv.port) as s:  # a stranger: still no open relay
            s.ehlo("me")
            s.starttls(context=context)
            s.ehlo("me")
            s.mail("x@elsewhere.test")
            assert s.rcpt("victim@far.test")[0] == 554
        with smtplib.SMTP(srv.host, srv.port) as s:
            s.ehlo("me")
            s.starttls(context=context)
            s.ehlo("me")
            s.login("alice", "s3cret")
            s.mail("alice@example.test")
            assert s.rcpt("friend@far.test")[0] == 250  # the MSA's job (RFC 6409 §4.3)
            assert s.rcpt("nobody@example.test")[0] == 550  # own domain: users are still checked
            assert s.rcpt("bob@example.test")[0] == 250


@pytest.fixture
def implicit_server():
    with LabServer(implicit_tls=True, auth=USERS) as srv:
        yield srv


def test_implicit_tls_with_smtplib(implicit_server):
    srv = implicit_server
    with smtplib.SMTP_SSL(srv.host, srv.port, context=srv.client_tls_context()) as s:
        s.ehlo("me")
        assert not s.has_extn("starttls")  # already protected: nothing to upgrade (RFC 8314 §3)
        assert s.has_extn("auth")
        assert s.login("alice", "s3cret")[0] == 235
        s.sendmail("alice@example.test", ["bob@example.test"], "Subject: 465\r\n\r\nx")
    assert " with ESMTPSA id " in srv.mailbox.latest.message["Received"]
    assert "TLS from the first byte (TLSv1" in srv.transcripts.last.to_text()


def test_implicit_tls_with_our_client_checks_the_certificate(implicit_server):
    srv = implicit_server
    with SMTPSession(srv.host, srv.port, implicit_tls=srv.client_tls_context()) as s:
        assert s.tls and s.greeting.code == 220
        assert "STARTTLS" not in s.ehlo("me").text
        assert s.auth("alice", "s3cret").code == 235
    with pytest.raises(Exception, match="TLS handshake failed"):
        SMTPSession(srv.host, srv.port, implicit_tls=ssl.create_default_context())
    with socket.create_connection((srv.host, srv.port), timeout=5) as raw:  # plain text gets no greeting
        raw.sendall(b"EHLO me\r\n")
        raw.settimeout(5)
        assert b"250" not in raw.recv(1024)
    srv.wait_idle(5)
    with SMTPSession(srv.host, srv.port, implicit_tls=srv.client_tls_context()) as s:
        assert s.noop().code == 250  # the server goes on serving


def test_tls_and_implicit_tls_exclude_each_other():
    with pytest.raises(ValueError, match="exclude each other"):
        LabServer(tls=True, implicit_tls=True)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks_tls_on_connect(implicit_server):
    srv = implicit_server
    run = subprocess.run(["swaks", "--server", f"{srv.host}:{srv.port}", "--to", "bob@example.test", "--tlsc",
                          "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "s3cret"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout
    assert " with ESMTPSA id " in srv.mailbox.latest.message["Received"]


def test_cli_tls_on_connect(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "kit", "serve", "--tls-on-connect", "--auth", "alice:s3cret",
                             "--maildir", str(tmp_path / "D"), "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        ca = next(line.split(" ", 2)[2].strip() for line in iter(proc.stderr.readline, "")
                  if line.startswith("CA certificate "))
        run = subprocess.run([sys.executable, "-m", "kit", "send", "--port", str(port), "--from", "alice@example.test",
                              "--to", "bob@example.test", "--tls-on-connect", "--cafile", ca, "--auth",
                              "alice:s3cret"], capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr + run.stdout
        assert "TLS from the first byte" in run.stdout.splitlines()[1]  # before the greeting
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    both = subprocess.run([sys.executable, "-m", "kit", "serve", "--tls", "--tls-on-connect"],
                          capture_output=True, text=True, timeout=30)
    assert both.returncode == 2 and "exclude each other" in both.stderr
