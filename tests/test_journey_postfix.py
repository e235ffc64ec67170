"""Issue 15, item 6: the mail world with a real Postfix (a private instance on 127.0.0.1,
`kit.journey.postfix.PostfixPeer`): world -> Postfix as MX (plain and STARTTLS), Postfix ->
world relaying in, a Postfix refusal (unknown user) becoming the world's RFC 3464 DSN, and
Postfix's own DSN linked into the journey. Skipped, with the reason, where Postfix can't run."""

from __future__ import annotations

import pytest

from kit import send_mail
from kit.client import compose
from kit.journey import MailWorld, read_dsn
from kit.journey.postfix import PostfixPeer, free_port, unavailable
from kit.trace import trace

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))

FAST = (0.5, 1.0)


@pytest.fixture(scope="module")
def back_port():
    return free_port()


@pytest.fixture(scope="module")
def postfix(back_port):
    # STARTTLS offered; unknown users refused at RCPT; mail for uni.example relayed to the
    # world's MX on its fixed port (that is how Postfix's DSNs come back).
    with PostfixPeer(tls=True, strict_users=True, relay_port=back_port, relay_domains=("uni.example",)) as peer:
        yield peer


@pytest.fixture(scope="module")
def world(postfix, back_port):
    with MailWorld(retry=FAST, peers=[postfix.peer()], ports={"mx.uni.example": back_port}) as w:
        yield w


def _received_by_postfix(message) -> str:
    hop = next(h for h in trace(message).hops if (h.by or "").startswith("mx.postfix.test"))
    return hop.with_ or ""


def test_world_to_postfix_with_starttls(world, postfix):
    before = len(postfix.messages("bob"))
    sent = world.send("alice@uni.example", "bob@postfix.test", subject="To Postfix, TLS", body="x")
    world.wait_until_idle()
    attempt = world.journey(sent).attempts()[0]
    assert attempt.peer == "mx.postfix.test" and attempt.outcome == "ok", attempt.reply
    assert "-> STARTTLS" in attempt.transcript.to_text()
    got = postfix.wait_for(before + 1, "bob")[-1]
    assert got["Message-ID"] == sent.message_id
    assert _received_by_postfix(got) == "ESMTPS"  # Postfix says the hop was encrypted


def test_world_to_postfix_plain(postfix):
    with MailWorld(retry=FAST, tls=False, peers=[postfix.peer()]) as plain:
        before = len(postfix.messages("alice"))
        sent = plain.send("alice@uni.example", "alice@postfix.test", subject="To Postfix, plain", body="x")
        plain.wait_until_idle()
        attempt = plain.journey(sent).attempts()[0]
        assert attempt.outcome == "ok" and "-> STARTTLS" not in attempt.transcript.to_text()  # offered, not used
        got = postfix.wait_for(before + 1, "alice")[-1]
        assert got["Message-ID"] == sent.message_id and _received_by_postfix(got) == "ESMTP"


def test_postfix_relays_into_the_world(world, postfix):
    message = compose("bob@postfix.test", ["alice@uni.example"], "From Postfix", "relayed in")
    result = send_mail("127.0.0.1", postfix.port, "bob@postfix.test", ["alice@uni.example"], message,
                       ehlo_name="laptop.postfix.test")
    assert result.ok, result.error
    filed = world.wait_for("filed", str(message["Message-ID"]), timeout=30)  # Postfix relays, the MDA files
    assert filed.via == "mx.uni.example" and filed.peer == "alice@uni.example"
    stored = world.mailbox("alice@uni.example").find(subject="From Postfix")[0]
    assert stored["Return-Path"] == "<bob@postfix.test>"
    bys = [(h.by or "").split()[0] for h in trace(stored.message).hops]
    assert bys == ["mx.postfix.test", "mx.uni.example"]  # Postfix's hop, then the world's MX


def test_postfix_refuses_an_unknown_user_and_the_world_bounces(world):
    sent = world.send("alice@uni.example", "nobody@postfix.test", subject="Nobody at Postfix", body="x")
    world.wait_until_idle()
    attempt = world.journey(sent).attempts()[0]
    assert attempt.reply.startswith("550 5.1.1") and attempt.outcome == "failed"
    world.wait_for("filed", world.journey(sent).dsn_ids[0], timeout=10)
    dsn = next(m for m in world.mailbox("alice@uni.example").messages()
               if m.envelope.mail_from == "" and "Nobody at Postfix" in m.message.as_string())
    block = read_dsn(dsn.message).recipient("nobody@postfix.test")
    assert block["Action"] == "failed" and block["Status"] == "5.1.1"
    assert block["Remote-MTA"] == "dns; mx.postfix.test" and block["Diagnostic-Code"].startswith("smtp; 550 5.1.1")


def test_postfix_dsn_is_linked_in_the_journey(world, postfix):
    sent = world.send("alice@uni.example", "bob@postfix.test", subject="Tell me, Postfix", body="x",
                      notify="SUCCESS,FAILURE", envid="PF-15")
    world.wait_for("dsn", sent, timeout=30)  # Postfix delivers, then reports (RFC 3461)
    world.wait_until_idle()
    journey = world.journey(sent)
    link = next(e for e in journey.events if e.kind == "dsn")
    assert link.actor == "mx.postfix.test" and "delivered 2.0.0" in link.note
    assert link.recipients == ("bob@postfix.test",)
    stored = next(m for m in world.mailbox("alice@uni.example").messages()
                  if str(m.message["Message-ID"]) == link.related)
    report = read_dsn(stored.message)
    assert report.per_message["Original-Envelope-Id"] == "PF-15"
    assert report.per_message["Reporting-MTA"] == "dns; mx.postfix.test"
    assert [e.kind for e in journey.events if e.message_id == link.related] == ["filed"]
