"""Checkers of notebook 07 (ESMTP) accept the solution and reject plausible wrong answers."""

from __future__ import annotations

import base64
import ssl

import pytest

from kit.client import SMTPClientError, SMTPSession
from kit.exercises import check


def verdict(exercise_id: str, answer) -> tuple[str, list[str]]:
    result = check(exercise_id, answer, display=False)
    return result.status, [t.message for t in result.tests if not t.passed]


# -- esmtp.parse_ehlo ----------------------------------------------------------------------------

def parse_ehlo_ok(lines):
    out = {}
    for line in lines[1:]:
        words = line[4:].split()
        if words:
            out[words[0].upper()] = words[1:]
    return out


def test_parse_ehlo_accepts_the_solution():
    assert verdict("esmtp.parse_ehlo", parse_ehlo_ok)[0] == "passed"


@pytest.mark.parametrize("wrong, says", [
    (lambda lines: {ln.split()[0].upper(): ln.split()[1:] for ln in lines[1:]}, "cut the reply code"),
    (lambda lines: {ln[4:].split()[0].upper(): [] for ln in lines[1:]}, "keep the parameters"),
    (lambda lines: {ln[4:].split()[0].upper(): ln[4:].split()[1:] for ln in lines}, "the first line"),
    (lambda lines: {ln[4:].split()[0]: ln[4:].split()[1:] for ln in lines[1:]}, "case-insensitive"),
    (lambda lines: {ln[4:].split()[0].upper(): " ".join(ln[4:].split()[1:]) for ln in lines[1:]}, "list of words"),
])
def test_parse_ehlo_rejects(wrong, says):
    status, messages = verdict("esmtp.parse_ehlo", wrong)
    assert status in ("partial", "failed")
    assert any(says in m for m in messages), messages


# -- esmtp.auth_plain ----------------------------------------------------------------------------

def auth_plain_ok(user, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


def test_auth_plain_accepts_the_solution():
    assert verdict("esmtp.auth_plain", auth_plain_ok)[0] == "passed"


@pytest.mark.parametrize("wrong, says", [
    (lambda u, p, authzid="": base64.b64encode(f"{u}\0{p}".encode()).decode(), "starts with the authorization"),
    (lambda u, p, authzid="": base64.b64encode(f"{u}:{p}".encode()).decode(), "HTTP Basic"),
    (lambda u, p, authzid="": base64.b64encode(f"\0{u}\0{p}".encode()).decode(), "before the first NUL"),
    (lambda u, p, authzid="": base64.b64encode(f"{authzid}\0{u}\0{p}".encode("latin-1")).decode(), "UTF-8"),
    (lambda u, p, authzid="": "AUTH PLAIN " + auth_plain_ok(u, p, authzid), "only the token"),
    (lambda u, p, authzid="": f"\0{u}\0{p}", "not base64"),
])
def test_auth_plain_rejects(wrong, says):
    status, messages = verdict("esmtp.auth_plain", wrong)
    assert status in ("partial", "failed")
    assert any(says in m for m in messages), messages


# -- esmtp.secure_send ---------------------------------------------------------------------------

def make_secure_send(tls=True, ehlo_again=True, login=True, verify=True):
    def secure_send(host, port, ca_pem, user, password, sender, recipients, message):
        if verify:
            context = ssl.create_default_context(cadata=ca_pem)
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        with SMTPSession(host, port, timeout=4) as s:
            s.ehlo("client.example.test")
            if tls:
                s.starttls(context)
                if ehlo_again:
                    s.ehlo("client.example.test")
            if login:
                s.auth(user, password)
            s.mail(sender)
            for r in recipients:
                s.rcpt(r)
            final = s.data(message)
        return str(final)
    return secure_send


def test_secure_send_accepts_the_solution():
    assert verdict("esmtp.secure_send", make_secure_send()) == ("passed", [])


@pytest.mark.parametrize("options, says", [
    ({"tls": False}, "AUTH before STARTTLS"),
    ({"ehlo_again": False}, "say EHLO again"),
    ({"login": False}, "never logged in"),
    ({"verify": False}, "keep certificate checks on"),
])
def test_secure_send_rejects(options, says):
    status, messages = verdict("esmtp.secure_send", make_secure_send(**options))
    assert status in ("partial", "failed")
    assert any(says in m for m in messages), messages


def _until_starttls(host, port):
    """A raw client that says EHLO and STARTTLS and reads the 220: (socket, reader)."""
    import socket

    sock = socket.create_connection((host, port), timeout=4)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"EHLO client.example.test\r\n")
    while f.readline()[3:4] == b"-":
        pass
    sock.sendall(b"STARTTLS\r\n")
    assert f.readline().startswith(b"220")
    return sock, f


def starttls_then_hang_up(host, port, ca_pem, user, password, sender, recipients, message):
    """Asks for STARTTLS and hangs up: it never looks at a certificate."""
    sock, _ = _until_starttls(host, port)
    sock.close()
    raise ConnectionError("certificate refused")  # a claim, not a check


def handshake_without_checks_then_quit(host, port, ca_pem, user, password, sender, recipients, message):
    """Completes the handshake with checks off, then leaves: it trusted the impostor's certificate."""
    sock, _ = _until_starttls(host, port)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.wrap_socket(sock, server_hostname=host).close()
    raise ConnectionError("certificate refused")


def falls_back_to_clear_text(host, port, ca_pem, user, password, sender, recipients, message):
    """Checks the certificate properly, then sends the mail without TLS anyway."""
    try:
        return make_secure_send()(host, port, ca_pem, user, password, sender, recipients, message)
    except Exception:  # the handshake failed, as it should
        with SMTPSession(host, port, timeout=4) as s:
            s.ehlo("client.example.test")
            s.mail(sender)
            return "failed"


@pytest.mark.parametrize(("wrong", "says"), [
    (starttls_then_hang_up, "never tried the TLS handshake"),
    (handshake_without_checks_then_quit, "completed the TLS handshake"),
    (falls_back_to_clear_text, "sent MAIL to a server whose certificate it could not verify"),
])
def test_refusing_the_certificate_needs_a_handshake_the_client_aborts(wrong, says):
    result = check("esmtp.secure_send", wrong, display=False)
    impostor = next(t for t in result.tests if t.name == "refuses a server with an unknown certificate")
    assert not impostor.passed and says in impostor.message, impostor.message
    right = check("esmtp.secure_send", make_secure_send(), display=False)
    assert next(t for t in right.tests if t.name == impostor.name).passed


def test_the_server_notes_how_a_starttls_handshake_ended():
    """The evidence the judge reads: the client's TLS alert, or a hang-up without one."""
    from kit.server import LabServer
    from kit.server.smtp import TLS_ABORTED_NOTE

    with LabServer(tls=True) as server, LabServer(tls=True) as other:
        with pytest.raises(SMTPClientError, match="CERTIFICATE_VERIFY_FAILED"):
            with SMTPSession(server.host, server.port) as s:
                s.ehlo("client.example.test")
                s.starttls(ssl.create_default_context(cadata=other.ca_pem))
        server.wait_idle(2.0)
        notes = [ln.text for ln in server.transcripts.last.lines if ln.direction == "info"]
        assert f"{TLS_ABORTED_NOTE} with the alert 'unknown ca' (RFC 8446 §6.2)" in notes
        _until_starttls(server.host, server.port)[0].close()
        server.wait_idle(2.0)
        notes = [ln.text for ln in server.transcripts.last.lines if ln.direction == "info"]
        assert not any(n.startswith(TLS_ABORTED_NOTE) for n in notes)
        assert any("without a TLS alert" in n for n in notes)


def test_secure_send_that_lies_earns_nothing_for_the_mail():
    status, messages = verdict("esmtp.secure_send", lambda *args: "250 2.0.0 Ok: queued as 0000000000")
    assert status == "failed"
    assert any("never connected" in m for m in messages)


@pytest.mark.parametrize("exercise_id", ["esmtp.parse_ehlo", "esmtp.auth_plain", "esmtp.secure_send"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args, **kwargs):
        raise NotImplementedError("TODO")
    assert check(exercise_id, stub, display=False).status == "not attempted"


def test_secure_send_that_always_raises_earns_nothing():
    def broken(*args):
        raise OSError("no route")
    result = check("esmtp.secure_send", broken, display=False)
    assert result.status in ("failed", "error")
    assert result.points == 0, [(t.name, t.points) for t in result.tests]


def test_the_ca_travels_as_text():
    from kit.server import LabServer

    with LabServer(tls=True) as server:
        assert server.ca_pem.startswith("-----BEGIN CERTIFICATE-----")
        context = ssl.create_default_context(cadata=server.ca_pem)
        with SMTPSession(server.host, server.port) as s:
            s.ehlo("me")
            assert s.starttls(context).code == 220
