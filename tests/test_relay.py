"""`kit.client.relay.forward`: a chain of lab servers driven from the client side."""

from __future__ import annotations

import email
import email.policy

import pytest

from kit.client import send_mail
from kit.client.relay import FALLBACK_HELO, forward
from kit.protocol.header import has_return_path
from kit.server import LabServer
from kit.trace import trace

NAMES = ("msa.example.test", "mx.example.org", "mda.example.org")


@pytest.fixture
def chain():
    # the first two pass mail on (relays: no Return-Path), the last one makes the final delivery
    servers = [LabServer(hostname=name, domains=["example.org"], durable=False,
                         final_delivery=name == NAMES[-1]).start() for name in NAMES]
    yield servers
    for server in servers:
        server.stop()


def raw_latest(server: LabServer) -> bytes:
    return server.mailbox.raw(server.mailbox.latest.key)


def header_names(content: bytes) -> list[str]:
    msg = email.message_from_bytes(content, policy=email.policy.compat32)
    return [k.lower() for k in msg.keys()]


def test_three_servers_make_three_hops(chain):
    msa, mx, mda = chain
    sent = send_mail(msa.host, msa.port, "alice@example.test", ["bob@example.org"], subject="Chain",
                     body="Hello Bob.\n", ehlo_name="laptop.example.test")
    assert sent.ok
    assert forward(msa.mailbox.latest, mx.host, mx.port).ok
    assert forward(mx.mailbox.latest, mda.host, mda.port).ok
    final = mda.mailbox.latest
    hops = list(trace(final.message))
    assert [h.by.split()[0] for h in hops] == list(NAMES)
    # by default each hop says EHLO with the name of the server that held the message
    assert [h.from_.split()[0] for h in hops] == ["laptop.example.test", "msa.example.test", "mx.example.org"]
    assert all(h.delay_seconds is not None and h.delay_seconds >= 0 for h in hops[1:])
    assert final.envelope.mail_from == "alice@example.test"
    assert list(final.envelope.rcpt_tos) == ["bob@example.org"]
    assert final.envelope.helo == "mx.example.org"


def test_relays_write_no_return_path_and_the_rest_is_kept_byte_for_byte(chain):
    msa, mx, mda = chain
    body = "Line one.\n.A line that starts with a dot.\nReturn-Path: <in the body stays>\nGrüße\n"
    assert send_mail(msa.host, msa.port, "alice@example.test", ["bob@example.org"], subject="Bytes",
                     body=body).ok
    before = raw_latest(msa)
    assert "return-path" not in header_names(before)  # a relay: no Return-Path
    assert forward(msa.mailbox.latest, mx.host, mx.port).ok
    after = raw_latest(mx)
    assert "return-path" not in header_names(after)
    # mx's own trace field, then exactly what msa stored
    assert after.startswith(b"Received:")
    assert after[after.index(b"\nReceived:") + 1:] == before
    assert forward(mx.mailbox.latest, mda.host, mda.port).ok
    final = raw_latest(mda)
    assert header_names(final)[:4] == ["return-path", "received", "received", "received"]
    assert b"Return-Path: <in the body stays>" in final
    assert "Grüße" in mda.mailbox.latest.message.get_content()


def test_a_finally_delivered_message_is_refused(chain):
    msa, mx, mda = chain
    assert send_mail(mda.host, mda.port, "alice@example.test", ["bob@example.org"], body="x\n").ok
    delivered = mda.mailbox.latest
    assert has_return_path(mda.mailbox.raw(delivered.key))
    with pytest.raises(ValueError, match="final_delivery=False"):
        forward(delivered, mx.host, mx.port)
    assert len(list(mx.mailbox)) == 0  # nothing was sent


def test_envelope_is_kept_several_recipients_and_a_null_sender(chain):
    msa, mx, _ = chain
    rcpts = ["bob@example.org", "carol@example.org"]
    assert send_mail(msa.host, msa.port, "", rcpts, subject="Bounce", body="It bounced.\n").ok
    result = forward(msa.mailbox.latest, mx.host, mx.port)
    assert result.ok
    assert "MAIL FROM:<>" in result.transcript.to_text()
    env = mx.mailbox.latest.envelope
    assert env.mail_from == "" and list(env.rcpt_tos) == rcpts
    assert forward(mx.mailbox.latest, chain[2].host, chain[2].port).ok
    assert chain[2].mailbox.latest["Return-Path"] == "<>"


def test_overrides_and_plain_messages(chain):
    msa, mx, _ = chain
    assert send_mail(msa.host, msa.port, "alice@example.test", ["bob@example.org", "carol@example.org"],
                     subject="Expand", body="x\n").ok
    result = forward(msa.mailbox.latest, mx.host, mx.port, helo="relay.example.net",
                     mail_from="list-bounces@example.org", rcpt_tos=["dave@example.org"])
    assert result.ok
    env = mx.mailbox.latest.envelope
    assert (env.helo, env.mail_from, list(env.rcpt_tos)) == (
        "relay.example.net", "list-bounces@example.org", ["dave@example.org"])

    plain = b"From: a@example.test\r\nSubject: plain\r\n\r\nbody\r\n"
    with pytest.raises(ValueError, match="envelope"):
        forward(plain, mx.host, mx.port)
    result = forward(plain, mx.host, mx.port, mail_from="a@example.test", rcpt_tos=["bob@example.org"])
    assert result.ok and mx.mailbox.latest.envelope.helo == FALLBACK_HELO  # no Received to name us
    message = email.message_from_bytes(plain, policy=email.policy.default)
    assert forward(message, mx.host, mx.port, mail_from="a@example.test", rcpt_tos=["bob@example.org"]).ok
    with pytest.raises(TypeError):
        forward(42, mx.host, mx.port, mail_from="", rcpt_tos=["bob@example.org"])


def test_a_refusal_is_reported_not_raised(chain):
    msa, mx, _ = chain
    assert send_mail(msa.host, msa.port, "alice@example.test", ["bob@example.org"], body="x\n").ok
    result = forward(msa.mailbox.latest, mx.host, mx.port, rcpt_tos=["bob@elsewhere.test"])
    assert not result.ok and "bob@elsewhere.test" in result.refused
    assert result.refused["bob@elsewhere.test"].code == 554  # relaying denied


def test_forward_to_nobody_reports_the_connection_error(chain):
    msa = chain[0]
    assert send_mail(msa.host, msa.port, "alice@example.test", ["bob@example.org"], body="x\n").ok
    port = chain[1].port
    chain[1].stop()
    result = forward(msa.mailbox.latest, "127.0.0.1", port, timeout=2)
    assert not result.ok and result.error


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_has_return_path(eol):
    assert has_return_path(eol.join([b"Received: x", b"return-path : <a@b>", b"Subject: s", b"", b""]))
    assert has_return_path(eol.join([b"Return-Path:", b"  <alice@example.test>", b"", b""]))
    assert not has_return_path(eol.join([b"Subject: s", b"", b"Return-Path: <in the body>", b""]))
    assert not has_return_path(eol.join([b"X-Return-Path: <a@b>", b"", b""]))
    assert not has_return_path(b"")
