"""The journey's pure parts: the local DNS, the queue and its retry policy, DSN building and
reading, header edits, and the notebook-06 exercise's checker. No sockets here."""

from __future__ import annotations

import random

import pytest

from kit.exercises import check
from kit.exercises.answers.journey import mx_order as reference_mx_order
from kit.journey import (
    MX,
    LocalDNS,
    MailQueue,
    NoSuchDomain,
    NullMX,
    QueueEntry,
    RecipientReport,
    RetryPolicy,
    make_dsn,
    read_dsn,
    wants_dsn,
    zone_text,
)
from kit.journey.content import count_received, header_fields, prepend_fields
from kit.journey.queue import DEFERRED, DELIVERED, recipients_from

# -- DNS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dns() -> LocalDNS:
    return LocalDNS.from_texts([
        zone_text("example.org", [(20, "mx2.example.org"), (10, "mx.example.org")]),
        zone_text("uni.example", [(10, "mx.uni.example")], ["smtp.uni.example"]),
        zone_text("nomail.example", [(0, ".")]),
        zone_text("big.example", [(10, "a.big.example"), (10, "b.big.example"), (10, "c.big.example"),
                                  (5, "first.big.example")]),
    ])


def test_zone_text_is_a_zone_file_dnspython_reads():
    text = zone_text("example.org", [(10, "mx.example.org")])
    assert "$ORIGIN example.org." in text and "@\tIN MX\t10 mx.example.org." in text
    assert "mx\tIN A\t127.0.0.1" in text


def test_mx_records_sorted_by_preference(dns):
    assert dns.mx("example.org") == [MX(10, "mx.example.org"), MX(20, "mx2.example.org")]
    assert dns.route("example.org") == [MX(10, "mx.example.org"), MX(20, "mx2.example.org")]
    assert dns.address("mx2.example.org") == "127.0.0.1"
    assert dns.host("example.org").splitlines() == [
        "example.org mail is handled by 10 mx.example.org.",
        "example.org mail is handled by 20 mx2.example.org."]


def test_equal_preferences_are_shuffled_but_stay_behind_better_ones(dns):
    seen = set()
    for seed in range(20):
        dns.rng = random.Random(seed)
        route = [r.host for r in dns.route("big.example")]
        assert route[0] == "first.big.example"
        assert sorted(route[1:]) == ["a.big.example", "b.big.example", "c.big.example"]
        seen.add(tuple(route))
    assert len(seen) > 1  # RFC 5321 §5.1: MUST randomize equal preferences


def test_implicit_mx_null_mx_and_nxdomain(dns):
    assert dns.route("smtp.uni.example") == [MX(0, "smtp.uni.example")]
    with pytest.raises(NullMX) as null:
        dns.route("nomail.example")
    assert null.value.status == "5.1.10"
    with pytest.raises(NoSuchDomain) as nx:
        dns.route("nowhere.test")
    assert nx.value.status == "5.1.2"
    assert dns.host("nowhere.test") == "Host nowhere.test not found: 3(NXDOMAIN)"
    assert "$ORIGIN uni.example." in dns.zone_text("uni.example")


# -- queue ------------------------------------------------------------------------------------


def _entry(qid: str, recipients=("bob@example.org",)) -> QueueEntry:
    return QueueEntry(qid, "alice@uni.example", recipients_from(recipients), b"Subject: x\n\nx\n",
                      f"<{qid}@test>", "x", arrived=0.0)


def test_retry_policy():
    policy = RetryPolicy((1, 2, 4))
    assert policy.max_attempts == 4 and policy.give_up_after == 7
    assert [policy.wait_after(n) for n in (1, 2, 3, 4)] == [1, 2, 4, None]
    assert RetryPolicy.exponential(0.5, 2, 3).schedule == (0.5, 1.0, 2.0)
    with pytest.raises(ValueError):
        RetryPolicy((-1,))


def test_queue_is_fifo_and_schedules_retries():
    queue = MailQueue(RetryPolicy((1, 2)))
    first, second = queue.add(_entry("A"), now=10.0), queue.add(_entry("B"), now=10.5)
    assert queue.due(11.0) == [first, second]
    first.recipients[0].state = DEFERRED
    assert queue.tried(first, now=11.0) == 1.0 and first.next_try == 12.0
    second.recipients[0].state = DELIVERED
    assert queue.tried(second, now=11.0) is None and second.done
    queue.remove(second)
    assert queue.due(11.5) == [] and queue.due(12.0) == [first] and queue.next_due() == 12.0
    assert queue.tried(first, now=12.0) == 2.0
    assert queue.tried(first, now=14.0) is None  # no try left: the MTA gives up
    assert "deferred" in queue.to_text(14.0) and "'x'" in queue.to_text(14.0)
    assert "<table>" in queue.to_html(14.0)


def test_queue_is_bounded():
    queue = MailQueue(max_entries=1)
    queue.add(_entry("A"), 0)
    with pytest.raises(RuntimeError):
        queue.add(_entry("B"), 0)


def test_recipients_from_reads_notify_and_orcpt():
    (r,) = recipients_from(["bob@example.org"], {"bob@example.org": ("NOTIFY=SUCCESS,FAILURE",
                                                                     "ORCPT=rfc822;bob@example.org")})
    assert r.notify == ("SUCCESS", "FAILURE") and r.orcpt == "rfc822;bob@example.org"


# -- DSN ------------------------------------------------------------------------------------------


def test_wants_dsn_follows_rfc3461_notify():
    assert wants_dsn(None, "failed") and not wants_dsn(None, "delivered") and not wants_dsn(None, "delayed")
    assert not wants_dsn(("NEVER",), "failed")
    assert wants_dsn(("SUCCESS",), "delivered") and not wants_dsn(("SUCCESS",), "failed")
    assert wants_dsn(("FAILURE", "DELAY"), "delayed")


ORIGINAL = b"From: alice@uni.example\r\nTo: bobb@example.org\r\nSubject: Typo\r\n\r\nHello\r\n"


def test_make_dsn_is_a_multipart_report_that_read_dsn_reads():
    report = RecipientReport("bobb@example.org", "failed", "5.1.1", "mx.example.org",
                             "smtp; 550 5.1.1 <bobb@example.org>: User unknown", "rfc822;bobb@example.org", 100.0)
    dsn = make_dsn(reporting_mta="smtp.uni.example", sender="alice@uni.example", reports=[report],
                   original=ORIGINAL, arrival=99.0, envid="E1", received_from_mta="laptop.uni.example")
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    assert dsn["Auto-Submitted"] == "auto-replied" and "MAILER-DAEMON@smtp.uni.example" in dsn["From"]
    parsed = read_dsn(dsn.as_bytes())
    assert parsed.per_message["Reporting-MTA"] == "dns; smtp.uni.example"
    assert parsed.per_message["Original-Envelope-Id"] == "E1"
    block = parsed.recipient("bobb@example.org")
    assert block["Action"] == "failed" and block["Status"] == "5.1.1"
    assert block["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert block["Remote-MTA"] == "dns; mx.example.org"
    assert parsed.returned_type == "message/rfc822"  # failures return the whole message by default
    assert "<bobb@example.org>: host mx.example.org said: 550 5.1.1" in parsed.human


def test_ret_hdrs_returns_only_the_header_and_actions_cannot_mix():
    report = RecipientReport("bob@example.org", "delivered", "2.0.0")
    dsn = make_dsn(reporting_mta="mx.example.org", sender="a@uni.example", reports=[report], original=ORIGINAL,
                   arrival=0.0, ret="HDRS")
    parsed = read_dsn(dsn)
    assert parsed.returned_type == "text/rfc822-headers" and parsed.message["Subject"] == \
        "Successful Mail Delivery Report"
    with pytest.raises(ValueError):
        make_dsn(reporting_mta="m", sender="a@b", original=ORIGINAL, arrival=0.0,
                 reports=[report, RecipientReport("c@d", "failed", "5.0.0")])
    with pytest.raises(ValueError):
        read_dsn(ORIGINAL)


# -- header edits -------------------------------------------------------------------------------


def test_content_helpers():
    raw = b"Return-Path: <a@b>\nReceived: from x\n\tby y; date\nSubject: S\nMessage-ID: <1@b>\n\nReturn-Path: body\n"
    assert count_received(raw) == 1
    assert header_fields(raw)["Message-ID"] == "<1@b>" and header_fields(raw)["Subject"] == "S"
    assert prepend_fields(b"A: 1\r\n\r\n", [("Delivered-To", "bob@example.org")]) == \
        b"Delivered-To: bob@example.org\r\nA: 1\r\n\r\n"


# -- the exercise ---------------------------------------------------------------------------------


def _status(answer) -> tuple[str, list[str]]:
    result = check("journey.mx_order", answer, display=False)
    return result.status, [t.name for t in result.tests if not t.passed]


def test_mx_order_checker_accepts_the_reference_and_any_tie_order():
    assert _status(reference_mx_order)[0] == "passed"

    def ties_reversed(domain, records):
        return [h for _p, h in sorted(records, key=lambda r: (r[0], [-ord(c) for c in r[1]]))] \
            if records and all(h != "." for _p, h in records) else reference_mx_order(domain, records)

    assert _status(ties_reversed)[0] == "passed"


def test_mx_order_checker_rejects_plausible_mistakes():
    assert _status(lambda d, r: [h for _p, h in r])[0] == "partial"  # the order given
    status, failed = _status(lambda d, r: [h for _p, h in sorted(r, key=lambda x: x[1])])
    assert "sort by preference, not by name" in failed
    status, failed = _status(lambda d, r: [h for _p, h in sorted(r, key=lambda x: str(x[0]))])
    assert "numbers, not text" in failed
    status, failed = _status(lambda d, r: [h for _p, h in sorted(r, reverse=True)])
    assert "lowest preference first" in failed
    status, failed = _status(lambda d, r: [h for _p, h in sorted(r)])
    assert status == "partial" and set(failed) == {"no MX record: the implicit MX", "null MX: nothing to try"}
    assert _status(lambda d, r: ",".join(h for _p, h in sorted(r)))[0] == "failed"



def test_a_full_queue_still_takes_a_dsn():
    import dataclasses

    from kit.journey.queue import QueueFull

    queue = MailQueue(max_entries=1)
    queue.add(_entry("A1"), 0.0)
    with pytest.raises(QueueFull):
        queue.add(_entry("A2"), 0.0)
    queue.add(dataclasses.replace(_entry("A3"), sender=""), 0.0)  # a DSN about mail already taken
    assert len(queue) == 2
