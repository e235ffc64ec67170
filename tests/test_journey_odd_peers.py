"""Issue 15, item 5: the world's MTA against peers that misbehave, each a raw socket peer
(`tiny_peer.TinyPeer`) declared as a foreign MX (`Peer`). Every case ends in logged attempts,
deferrals and a bounce with the reason; never a loop (the number of attempts is the retry
policy's), never a worker error, and each test is bounded in time."""

from __future__ import annotations

import time

import pytest
from tiny_peer import TinyPeer, pop3, rejecting_554

from kit.journey import MailWorld, Peer, read_dsn

RETRY = (0.2, 0.2)  # three tries
TIMEOUT = 1.0  # the MTA's SMTP timeout


CASES = {  # name: (greeting, answer to each line, seconds a connection may last, reason in the reply)
    "hangs": (b"", None, 3.0, "no reply"),  # accepts, never greets
    "closes early": (b"", None, 0.0, "closed the connection"),  # accepts and hangs up at once
    "greets 421": (b"421 4.3.2 mx.odd.example Service not available, closing transmission channel\r\n", None,
                   3.0, "421 4.3.2"),
    "greets 554": (b"554 5.7.1 mx.odd.example No SMTP service here\r\n", rejecting_554, 3.0, "554 5.7.1"),
    # a greeting far beyond the 512 octets of a reply line (RFC 5321 §4.5.3.1.5)
    "overlong lines": (b"220 " + b"x" * 70_000 + b"\r\n", None, 3.0, "longer than 4096 octets"),
    "speaks no SMTP": (b"+OK POP3 server ready\r\n", pop3, 3.0, "+OK POP3"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_odd_peer_ends_in_deferrals_and_a_bounce(case):
    greeting, answer, seconds, reason = CASES[case]
    peer = TinyPeer(greeting, answer, max_connections=10, timeout=seconds)
    started = time.monotonic()
    try:
        with MailWorld(retry=RETRY, timeout=TIMEOUT, peers=[Peer("mx.odd.example", peer.port,
                                                                 domains=("odd.example",))]) as world:
            sent = world.send("alice@uni.example", "someone@odd.example", subject=f"Odd: {case}", body="x")
            assert sent.ok, sent.error
            world.wait_until_idle(timeout=15)
            journey = world.journey(sent)
            attempts = journey.attempts()
            assert world.errors == []
            assert len(attempts) == len(RETRY) + 1 == len(peer.received)  # one per try: never a loop
            assert all(a.peer == "mx.odd.example" and a.outcome == "deferred" and reason in a.reply
                       for a in attempts), [a.reply for a in attempts]
            assert any(e.kind == "gave up" for e in journey.events)
            dsn = next(m for m in world.mailbox("alice@uni.example").messages() if m.envelope.mail_from == "")
            block = read_dsn(dsn.message).recipient("someone@odd.example")
            assert block["Action"] == "failed" and reason in block["Diagnostic-Code"]
            assert journey.dsn_ids == [str(dsn.message["Message-ID"])]
    finally:
        peer.close()
    assert time.monotonic() - started < 20
