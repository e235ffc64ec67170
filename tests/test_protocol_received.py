"""Unit tests for kit.protocol.received: WITH protocol names (RFC 3848, RFC 6531) and the Received
trace field (RFC 5321 §4.4)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from kit.protocol import Address, address_literal, format_received, with_protocol

# IANA "Mail Transmission Types" (WITH protocol types)
IANA_WITH = {
    "SMTP", "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA",
    "LMTP", "LMTPA", "LMTPS", "LMTPSA",
    "UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA",
    "UTF8LMTP", "UTF8LMTPA", "UTF8LMTPS", "UTF8LMTPSA",
}


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, "ESMTP"),
    ({"esmtp": False}, "SMTP"),
    ({"tls": True}, "ESMTPS"),
    ({"auth": True}, "ESMTPA"),
    ({"tls": True, "auth": True}, "ESMTPSA"),
    ({"esmtp": False, "tls": True}, "ESMTPS"),     # TLS and AUTH need EHLO anyway
    ({"esmtp": False, "auth": True}, "ESMTPA"),
    ({"lmtp": True}, "LMTP"),
    ({"lmtp": True, "tls": True}, "LMTPS"),
    ({"lmtp": True, "auth": True}, "LMTPA"),
    ({"lmtp": True, "tls": True, "auth": True}, "LMTPSA"),
    ({"utf8": True}, "UTF8SMTP"),
    ({"utf8": True, "tls": True}, "UTF8SMTPS"),
    ({"utf8": True, "auth": True}, "UTF8SMTPA"),
    ({"utf8": True, "tls": True, "auth": True}, "UTF8SMTPSA"),
    ({"utf8": True, "lmtp": True}, "UTF8LMTP"),
    ({"utf8": True, "lmtp": True, "tls": True, "auth": True}, "UTF8LMTPSA"),
])
def test_with_protocol(kwargs, expected):
    assert with_protocol(**kwargs) == expected


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=5)))
def test_with_protocol_every_combination_is_registered(flags):
    esmtp, tls, auth, lmtp, utf8 = flags
    value = with_protocol(esmtp=esmtp, tls=tls, auth=auth, lmtp=lmtp, utf8=utf8)
    assert value in IANA_WITH
    assert value.endswith("SA") == (tls and auth)
    assert ("LMTP" in value) == lmtp
    assert value.startswith("UTF8") == utf8
    suffix = value.removeprefix("UTF8").removeprefix("E").removeprefix("SMTP").removeprefix("LMTP")
    assert suffix == ("S" if tls else "") + ("A" if auth else "")


@pytest.mark.parametrize(("ip", "literal"), [
    ("127.0.0.1", "[127.0.0.1]"),
    ("192.0.2.1", "[192.0.2.1]"),
    ("::1", "[IPv6:::1]"),
    ("2001:DB8:0:0:0:0:0:1", "[IPv6:2001:db8::1]"),
    ("fe80::1%eth0", "[IPv6:fe80::1]"),
])
def test_address_literal(ip, literal):
    assert address_literal(ip) == literal
    assert Address("postmaster", literal).domain == literal  # our own parser accepts it


@pytest.mark.parametrize("bad", ["", "localhost", "300.1.1.1", "1.2.3", "::g"])
def test_address_literal_refuses_non_ips(bad):
    with pytest.raises(ValueError):
        address_literal(bad)


WHEN = datetime(2024, 3, 5, 14, 7, 9, tzinfo=timezone(timedelta(hours=1)))


def test_format_received_full():
    value = format_received(helo="client.example.test", peer_ip="192.0.2.7", peer_name="host7.example.test",
                            by="mail.example.test", with_="ESMTPS", id="4F2A1B", for_="bob@example.test", date=WHEN)
    assert value == ("from client.example.test (host7.example.test [192.0.2.7])\n"
                     "\tby mail.example.test (smtpkit) with ESMTPS id 4F2A1B\n"
                     "\tfor <bob@example.test>; Tue, 05 Mar 2024 14:07:09 +0100")


def test_format_received_minimal():
    value = format_received(helo=None, peer_ip="::1", by="mx.example", with_="SMTP", date=WHEN)
    assert value == "from unknown ([IPv6:::1])\n\tby mx.example (smtpkit) with SMTP; Tue, 05 Mar 2024 14:07:09 +0100"
    assert "for <" not in value and " id " not in value


def test_format_received_parts():
    value = format_received(helo="[192.0.2.9]", peer_ip="192.0.2.9", by="mx.example", with_="ESMTPSA",
                            id="Q1", software="lab", date=WHEN)
    assert value.startswith("from [192.0.2.9] ([192.0.2.9])\n\t")
    assert "by mx.example (lab) with ESMTPSA id Q1;" in value
    assert "for <" not in value


def test_format_received_for_only_when_given():
    with_for = format_received(helo="c", peer_ip="127.0.0.1", by="mx", with_="ESMTP", for_="a@example.test",
                               date=WHEN)
    assert "\n\tfor <a@example.test>; " in with_for
    without = format_received(helo="c", peer_ip="127.0.0.1", by="mx", with_="ESMTP", for_=None, date=WHEN)
    assert "for" not in without.replace("from", "")


def test_format_received_date_round_trips():
    value = format_received(helo="c", peer_ip="127.0.0.1", by="mx", with_="ESMTP", date=WHEN)
    _, _, date_text = value.rpartition("; ")
    assert parsedate_to_datetime(date_text) == WHEN
    assert date_text.endswith("+0100")


def test_format_received_default_date_is_now_with_numeric_zone():
    before = datetime.now().astimezone()
    value = format_received(helo="c", peer_ip="127.0.0.1", by="mx", with_="ESMTP")
    after = datetime.now().astimezone()
    _, sep, date_text = value.rpartition("; ")
    assert sep == "; "
    assert re.search(r" [+-]\d{4}\Z", date_text), date_text
    assert not date_text.endswith("-0000")  # -0000 would mean "zone unknown" (RFC 5322 §3.3)
    when = parsedate_to_datetime(date_text)
    assert when.tzinfo is not None
    assert before.replace(microsecond=0) <= when <= after


def test_format_received_lines_are_folded_with_tab():
    value = format_received(helo="c", peer_ip="127.0.0.1", by="mx", with_="ESMTP", id="X", for_="a@b.example",
                            date=WHEN)
    lines = value.split("\n")
    assert len(lines) == 3
    assert all(line.startswith("\t") for line in lines[1:])
    assert "\r" not in value
