"""The mail world on real sockets: delivery through every hop, retries, bounces (RFC 3464 DSNs
read back with the ``email`` package), NOTIFY, relay denial, MX fallback, and a clean stop."""

from __future__ import annotations

import socket
import threading

import pytest

from kit import SMTPSession
from kit.journey import DEFAULT_SITES, MailWorld, Site, read_dsn, start_world, stop_world
from kit.journey.picture import png_bytes
from kit.server import Behaviour, greylist, refuse_connections
from kit.trace import trace

FAST = (0.2, 0.4)  # retry waits in seconds: three tries within 0.6 s


@pytest.fixture(scope="module")
def world():
    with MailWorld(retry=FAST) as w:
        yield w


@pytest.fixture(autouse=True)
def _fresh(request):
    if "world" in request.fixturenames:
        request.getfixturevalue("world").reset()
    yield


def _dsn_for(world: MailWorld, subject: str):
    """The DSN in Alice's mailbox that returns the mail with ``subject``."""
    for stored in world.mailbox("alice@uni.example").messages():
        if stored.envelope.mail_from == "" and subject in stored.message.as_string():
            return stored
    raise AssertionError(f"no DSN about {subject!r} for alice")


def test_delivery_through_every_hop(world):
    sent = world.send("alice@uni.example", "bob@example.org", subject="Hello", body="Hello Bob")
    assert sent.ok and sent.message_id and sent.message_id.endswith("@smtp.uni.example>")
    world.wait_until_idle()
    stored = world.mailbox("bob@example.org").latest
    msg = stored.message
    # The MSA added Date and Message-ID (RFC 6409 §8); the MDA wrote Return-Path and Delivered-To.
    assert msg["Date"] and msg["Message-ID"] == sent.message_id
    assert msg["Return-Path"] == "<alice@uni.example>" and msg["Delivered-To"] == "bob@example.org"
    hops = trace(msg)
    assert [h.by.split()[0] for h in hops] == ["smtp.uni.example", "mx.example.org"]
    assert [h.from_.split()[0] for h in hops] == ["alice-laptop.uni.example", "smtp.uni.example"]
    assert [h.with_ for h in hops] == ["ESMTPSA", "ESMTPS"]  # submission with TLS+AUTH, relay with TLS
    journey = world.journey(sent)
    kinds = [e.kind for e in journey.events]
    assert kinds == ["submitted", "queued", "attempt", "filed"]
    assert journey.attempts()[0].peer == "mx.example.org" and journey.attempts()[0].reply.startswith("250 2.0.0")
    assert journey.delivered_to == ["bob@example.org"]
    assert "the mail" in journey.to_text() and "<table>" in journey._repr_html_()
    assert png_bytes(journey.picture()).startswith(b"\x89PNG")


def test_greylisting_is_retried_after_the_back_off(world):
    world.server("mx.example.org").add_behaviour(greylist("carol@example.org"))
    sent = world.send("alice@uni.example", "carol@example.org", subject="Greylisted", body="x")
    world.wait_until_idle()
    assert world.mailbox("carol@example.org").find(subject="Greylisted")
    attempts = world.journey(sent).attempts()
    assert [a.reply[:3] for a in attempts] == ["451", "250"]
    assert attempts[1].time - attempts[0].time >= FAST[0]
    retry = next(e for e in world.journey(sent).events if e.kind == "retry")
    assert retry.outcome == "deferred" and "try 2 of 3" in retry.note


def test_one_time_451_then_delivery(world):
    world.server("mx.example.org").add_behaviour(
        Behaviour("DOT", "451 4.3.0 Error: queue file write error", times=1))
    sent = world.send("alice@uni.example", "bob@example.org", subject="Disk hiccup", body="x")
    world.wait_until_idle()
    assert [a.reply[:3] for a in world.journey(sent).attempts()] == ["451", "250"]
    assert world.mailbox("bob@example.org").find(subject="Disk hiccup")


def test_unknown_user_bounces_with_a_dsn(world):
    sent = world.send("alice@uni.example", "bobb@example.org", subject="Typo", body="x", envid="ENV-1")
    world.wait_until_idle()
    dsn_msg = _dsn_for(world, "Typo")
    assert dsn_msg.envelope.mail_from == ""  # MAIL FROM:<> (RFC 5321 §4.5.5)
    dsn = read_dsn(dsn_msg.message)
    assert dsn.message.get_content_type() == "multipart/report"
    assert dsn.per_message["Reporting-MTA"] == "dns; smtp.uni.example"
    assert dsn.per_message["Original-Envelope-Id"] == "ENV-1"
    block = dsn.recipient("bobb@example.org")
    assert block["Action"] == "failed" and block["Status"] == "5.1.1"
    assert block["Diagnostic-Code"].startswith("smtp; 550 5.1.1 <bobb@example.org>")
    # The bounce itself has a trace: made on smtp.uni.example, received by mx.uni.example.
    assert [h.by.split()[0] for h in trace(dsn_msg.message)] == ["smtp.uni.example", "mx.uni.example"]
    journey = world.journey(sent)
    assert journey.dsn_ids == [str(dsn_msg.message["Message-ID"])]
    assert [e.kind for e in journey.events if e.message_id != sent.message_id] == ["queued", "attempt", "filed"]


def test_giving_up_after_the_last_retry(world):
    world.server("mx.example.org").add_behaviour(
        Behaviour("RCPT", "452 4.2.2 <{recipient}>: Mailbox full", recipient="carol@example.org"))
    sent = world.send("alice@uni.example", "carol@example.org", subject="Full", body="x")
    world.wait_until_idle()
    journey = world.journey(sent)
    assert len(journey.attempts()) == 3 and any(e.kind == "gave up" for e in journey.events)
    block = read_dsn(_dsn_for(world, "Full").message).recipient("carol@example.org")
    assert block["Action"] == "failed" and block["Status"] == "4.2.2"  # a persistent transient failure


def test_notify_never_success_and_delay(world):
    world.send("alice@uni.example", "nobody@example.org", subject="Never", body="x", notify="NEVER")
    ok = world.send("alice@uni.example", "bob@example.org", subject="Tell me", body="x", notify="SUCCESS")
    world.server("mx.example.org").add_behaviour(greylist("carol@example.org"))
    late = world.send("alice@uni.example", "carol@example.org", subject="Late", body="x",
                      notify="DELAY,FAILURE", ret="HDRS")
    assert late.ok
    world.wait_until_idle()
    boxes = world.mailbox("alice@uni.example").messages()
    assert not any("Never" in m.message.as_string() for m in boxes)
    success = read_dsn(_dsn_for(world, "Tell me").message)
    assert success.recipient("bob@example.org")["Action"] == "delivered"
    assert success.per_message["Reporting-MTA"] == "dns; mx.example.org"  # the final MTA reports delivery
    assert success.recipient("bob@example.org")["Original-Recipient"] == "rfc822;bob@example.org"
    delayed = read_dsn(_dsn_for(world, "Late").message)
    assert delayed.recipient("carol@example.org")["Action"] == "delayed"
    assert "Will-Retry-Until" in delayed.recipient("carol@example.org")
    assert delayed.returned_type == "text/rfc822-headers"  # RET=HDRS
    assert world.mailbox("carol@example.org").find(subject="Late")
    assert any(e.kind == "no dsn" for e in world.journal.events())
    assert world.journey(ok).delivered_to == ["bob@example.org"]


def test_a_bounce_is_never_bounced(world):
    # ghost@uni.example has no mailbox: the DSN to it is refused, and that is the end (§4.5.5).
    sent = world.send("ghost@uni.example", "bobb@example.org", subject="Ghost", body="x", password="wonderland")
    assert not sent.ok  # the MSA knows its users
    sent = world.send("alice@uni.example", "bobb@example.org", subject="Ghost",
                      message=b"From: ghost@uni.example\r\nSubject: Ghost\r\n\r\nx\r\n")
    world.wait_until_idle()
    assert sent.ok and world.journey(sent).dsn_ids  # the header From does not matter; the envelope does


def test_null_mx_and_unknown_domain_bounce_at_once(world):
    a = world.send("alice@uni.example", "x@nomail.example", subject="NullMX", body="x")
    b = world.send("alice@uni.example", "x@nowhere.test", subject="NXDOMAIN", body="x")
    world.wait_until_idle()
    assert read_dsn(_dsn_for(world, "NullMX").message).recipient("x@nomail.example")["Status"] == "5.1.10"
    assert read_dsn(_dsn_for(world, "NXDOMAIN").message).recipient("x@nowhere.test")["Status"] == "5.1.2"
    assert len(world.journey(a).attempts()) == 1 and len(world.journey(b).attempts()) == 1


def test_relay_denied_and_submission_needs_auth(world):
    mx = world.server("mx.example.org")
    with SMTPSession(mx.host, mx.port) as s:
        s.ehlo("mallory.example")
        s.mail("mallory@example.net")
        reply = s.rcpt("victim@uni.example")
    assert reply.code == 554 and reply.enhanced == "5.7.1" and "Relay access denied" in reply.text
    msa = world.server("smtp.uni.example")
    with SMTPSession(msa.host, msa.port) as s:
        s.ehlo("mallory.example")
        reply = s.mail("mallory@example.net")
    assert reply.code == 530  # RFC 4954 §6: authentication required
    bad = world.send("alice@uni.example", "bob@example.org", subject="x", body="x", password="wrong")
    assert not bad.ok and "AUTH refused: 535" in bad.error
    sent = [line for line in bad.transcript.client_lines() if line.split()[:1] in (["MAIL"], ["RCPT"], ["DATA"])]
    assert sent == []  # a refused login ends the submission


def test_fallback_to_the_second_mx(world):
    world.server("mx.example.org").add_behaviour(refuse_connections())
    sent = world.send("alice@uni.example", "bob@example.org", subject="Via backup", body="x")
    world.wait_until_idle()
    attempts = world.journey(sent).attempts()
    assert [(a.peer, a.reply[:3]) for a in attempts] == [("mx.example.org", "421"), ("mx2.example.org", "250")]
    stored = world.mailbox("bob@example.org").find(subject="Via backup")[0]
    assert [h.by.split()[0] for h in trace(stored.message)][-1] == "mx2.example.org"


def test_all_mx_down_is_deferred_not_failed(world):
    for name in ("mx.example.org", "mx2.example.org"):
        world.server(name).add_behaviour(Behaviour("CONNECT", "421 4.3.2 {host} busy", disconnect=True, times=1))
    sent = world.send("alice@uni.example", "bob@example.org", subject="Busy", body="x")
    world.wait_until_idle()
    attempts = world.journey(sent).attempts()
    assert [a.peer for a in attempts] == ["mx.example.org", "mx2.example.org", "mx.example.org"]
    assert attempts[-1].outcome == "ok"


def test_world_picture_and_table(world):
    assert png_bytes(world.picture()).startswith(b"\x89PNG")
    html = world._repr_html_()
    assert "smtp.uni.example" in html and "MX (preference 20)" in html and "587" in html
    assert "queue" in world.queue._repr_html_() or "empty" in world.queue._repr_html_()


def test_mda_bounces_when_the_mx_accepts_anyone():
    sites = (DEFAULT_SITES[0], Site("example.org", ("bob",), ((10, "mx.example.org"),), verify_recipients=False))
    with MailWorld(sites, retry=FAST, tls=False) as world:
        sent = world.send("alice@uni.example", "carol@example.org", subject="Catch-all", body="x")
        world.wait_until_idle()
        kinds = [e.kind for e in world.journey(sent).events if e.message_id == sent.message_id]
        assert kinds[:4] == ["submitted", "queued", "attempt", "unknown user"]
        dsn = read_dsn(_dsn_for(world, "Catch-all").message)
        assert dsn.per_message["Reporting-MTA"] == "dns; mx.example.org"
        block = dsn.recipient("carol@example.org")
        assert block["Status"] == "5.1.1" and block["Diagnostic-Code"].startswith("X-smtpkit; unknown user")
        # Without TLS the trace says ESMTPA and ESMTP.
        stored = _dsn_for(world, "Catch-all")
        assert [h.with_ for h in trace(stored.message)][-1] == "ESMTP"


def _refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_clean_stop_and_rerunnable_start():
    before = {t.ident for t in threading.enumerate()}
    world = start_world(retry=FAST)
    assert start_world(retry=FAST) is world  # a re-run cell reuses the running world
    ports = dict(world.ports)
    root = world._root
    sent = world.send("alice@uni.example", "bob@example.org", subject="Bye", body="x")
    world.wait_until_idle()
    assert sent.ok
    other = start_world(retry=(0.1,))  # other settings: the old world is stopped first
    assert other is not world and not world.running
    stop_world()
    assert not other.running and not root.exists()
    assert all(_refused(p) for p in ports.values())
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leftover == []


def test_a_peer_that_does_not_speak_smtp_defers_then_bounces(world):
    # Both MX hosts "answer" like a POP3 server (issue 13): each try is logged as deferred,
    # the retry policy runs its course, the sender gets a bounce, and the worker never spins.
    from tiny_peer import TinyPeer, pop3

    saved = dict(world.ports)
    errors_before = len(world.errors)
    with TinyPeer(b"+OK POP3 server ready\r\n", pop3, max_connections=12) as peer:
        world.ports["mx.example.org"] = world.ports["mx2.example.org"] = peer.port
        try:
            sent = world.send("alice@uni.example", "bob@example.org", subject="POP3 peer", body="x")
            world.wait_until_idle(timeout=15)
        finally:
            world.ports.update(saved)
    assert len(world.errors) == errors_before, world.errors[errors_before:]
    journey = world.journey(sent)
    attempts = journey.attempts()
    assert [a.peer for a in attempts] == ["mx.example.org", "mx2.example.org"] * 3
    assert all(a.outcome == "deferred" and "not SMTP" in a.reply and "+OK POP3" in a.reply for a in attempts)
    assert any(e.kind == "gave up" for e in journey.events)
    block = read_dsn(_dsn_for(world, "POP3 peer").message).recipient("bob@example.org")
    assert block["Action"] == "failed"


def test_a_421_from_the_msa_is_the_reported_cause(world):
    msa = world.server("smtp.uni.example")
    msa.add_behaviour(Behaviour("RCPT", "421 4.3.2 {host} System busy", disconnect=True, times=1))
    sub = world.send("alice@uni.example", ["bob@example.org", "carol@example.org"], subject="Busy MSA", body="x")
    assert not sub.ok and "421 4.3.2" in sub.error and "System busy" in sub.error, sub.error
    assert not sub.refused and not sub.accepted  # the 421 is nobody's refusal
    assert sub.not_tried == ["bob@example.org", "carol@example.org"]
    msa.add_behaviour(Behaviour("MAIL", "421 4.3.2 {host} System busy", disconnect=True, times=1))
    sub = world.send("alice@uni.example", "bob@example.org", subject="Busy MSA", body="x")
    assert "421 4.3.2" in sub.error and "not connected" not in sub.error, sub.error


def test_the_mta_says_quit_after_a_554_greeting(world):
    # RFC 5321 §3.1: a server that greets with 554 waits for QUIT; the MTA sends it, then tries
    # the next MX.
    from tiny_peer import TinyPeer, rejecting_554

    saved = dict(world.ports)
    with TinyPeer(b"554 5.7.1 mx.example.org No SMTP service here\r\n", rejecting_554, max_connections=3) as peer:
        world.ports["mx.example.org"] = peer.port
        try:
            sent = world.send("alice@uni.example", "bob@example.org", subject="554 first", body="x")
            world.wait_until_idle(timeout=15)
        finally:
            world.ports.update(saved)
        peer.close()
    assert peer.received == [["QUIT"]]
    attempts = world.journey(sent).attempts()
    assert [(a.peer, a.reply[:9]) for a in attempts] == [("mx.example.org", "554 5.7.1"),
                                                         ("mx2.example.org", "250 2.0.0")]


def test_pictures_are_legible_on_a_projector(world):
    """At least 12 px text: drawn at DISPLAY_DPI and shown at that size (not shrunk to the
    notebook's width)."""
    from matplotlib.text import Text

    from kit.journey.picture import DISPLAY_DPI

    sent = world.send("alice@uni.example", "bob@example.org", subject="Legible", body="Big enough")
    world.wait_until_idle()
    for figure in (world.picture(), world.journey(sent).picture()):
        data, metadata = figure._repr_png_()
        assert data.startswith(b"\x89PNG") and metadata == {"unconfined": True}
        sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_text().strip()]
        assert sizes and min(sizes) * DISPLAY_DPI / 72 >= 12, min(sizes)
