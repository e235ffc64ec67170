"""One Received field at a time: clauses, comments, dates and zones (kit.trace.received/dates)."""

from __future__ import annotations

import dataclasses
import doctest
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kit.trace.dates
import kit.trace.received
from kit.trace import ReceivedField, parse_date, parse_received
from kit.trace.lexer import tokenize, unfold

DATA = Path(__file__).parent / "data" / "received"
UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- clauses (RFC 5321 §4.4) -------------------------------------------------------------

def test_all_clauses_of_the_grammar():
    f = parse_received(
        "from client.example.org (client.example.org [192.0.2.1]) by mx.example.net "
        "via TCP with ESMTPS id 4F3D2 for <bob@example.net>; Tue, 5 Mar 2024 10:30:00 +0000")
    assert f.from_ == "client.example.org (client.example.org [192.0.2.1])"
    assert f.by == "mx.example.net"
    assert f.via == "TCP"
    assert f.with_ == "ESMTPS"
    assert f.id == "4F3D2"
    assert f.for_ == "<bob@example.net>"
    assert f.date == utc(2024, 3, 5, 10, 30)
    assert f.date_text == "Tue, 5 Mar 2024 10:30:00 +0000"
    assert f.zone_known is True
    assert f.comments == ("client.example.org [192.0.2.1]",)
    assert f.extra == ()


def test_keywords_inside_a_comment_are_not_clauses():
    f = parse_received("from a (b by evil with X) by real")
    assert f.from_ == "a (b by evil with X)"
    assert f.by == "real"
    assert f.with_ is None
    assert f.comments == ("b by evil with X",)


def test_nested_comments_and_quoted_pairs_stay_one_comment():
    f = parse_received(r"from a (x (y (z) by q \) with w) for v) by b with SMTP; "
                       "Mon, 1 Jan 2024 00:00:00 +0000")
    assert f.by == "b"
    assert f.with_ == "SMTP"
    assert f.for_ is None
    assert f.comments == (r"x (y (z) by q \) with w) for v",)
    assert f.date == utc(2024, 1, 1)


def test_keywords_are_case_insensitive_and_a_comment_may_touch_them():
    f = parse_received("FROM ca-ex-bridge1.nai.com BY scwsout1.nai.com ; Fri Feb 07 10:18:12 "
                       "2003 -0800")
    assert (f.from_, f.by) == ("ca-ex-bridge1.nai.com", "scwsout1.nai.com")
    assert f.date == utc(2003, 2, 7, 18, 18, 12)
    g = parse_received("from av0001.example (localhost [127.0.0.1])by  host.example (Postfix) "
                       "with ESMTP id 846CF; Mon,  7 Aug 2006 17:48:07 +0200 (MEST)")
    assert g.by == "host.example (Postfix)"
    assert g.date == utc(2006, 8, 7, 15, 48, 7)


def test_from_keeps_only_the_tcp_info_comment():
    f = parse_received(
        "from mail.example.org (mail.example.org [IPv6:2001:db8:1::10])\r\n"
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
        "\t(No client certificate requested)\r\n"
        "\tby mx.example.net (Postfix) with ESMTPS id 4T8hZd0mQbz9sTq\r\n"
        "\tfor <bob@example.net>; Tue,  9 Jan 2024 19:12:04 +0100 (CET)")
    assert f.from_ == "mail.example.org (mail.example.org [IPv6:2001:db8:1::10])"
    assert f.by == "mx.example.net (Postfix)"
    assert f.with_ == "ESMTPS"  # "with cipher" inside the comment is not a clause
    assert f.comments[1] == "using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
    assert f.comments[-1] == "CET"
    assert f.date == utc(2024, 1, 9, 18, 12, 4)


@pytest.mark.parametrize("value, expected", [
    ("from [IPv6:2001:db8::1] by mx.example; Mon, 1 Jan 2024 00:00:00 +0000",
     "[IPv6:2001:db8::1]"),
    ("from x ([IPv6:::1]) by mx.example; Mon, 1 Jan 2024 00:00:00 +0000", "x ([IPv6:::1])"),
    ("from x (2a01:111:f400:7e49::205) by y; Mon, 1 Jan 2024 00:00:00 +0000",
     "x (2a01:111:f400:7e49::205)"),
    ("from [ 192.0.2.1 ] by y; Mon, 1 Jan 2024 00:00:00 +0000", "[ 192.0.2.1 ]"),
])
def test_address_literals(value, expected):
    f = parse_received(value)
    assert f.from_ == expected
    assert f.date == utc(2024, 1, 1)


def test_folded_lines_are_unfolded_crlf_and_lf():
    crlf = "from a\r\n by b\r\n\twith SMTP; Mon, 1 Jan\r\n 2024 00:00:00\r\n +0100"
    lf = crlf.replace("\r\n", "\n")
    for value in (crlf, lf):
        f = parse_received(value)
        assert (f.from_, f.by, f.with_) == ("a", "b", "SMTP")
        assert f.date == utc(2023, 12, 31, 23)
        assert f.raw == value  # raw is kept exactly as given
    assert unfold("a\r\n b\n\tc\r\nd") == "a b\tc\r\nd"  # a break before non-WSP stays


def test_field_name_prefix_is_ignored():
    f = parse_received("Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000")
    assert (f.from_, f.by) == ("a", "b")


def test_date_after_first_top_level_semicolon_not_the_one_in_a_comment():
    f = parse_received("(majordomo@vger.kernel.org) by vger.kernel.org via listexpand\n"
                       "\tid S1753989Ab2CDND2 convert rfc822-to-quoted-printable (ORCPT\n"
                       "\t<rfc822;gcvg-git-2@m.gmane.org>); Sun, 4 Mar 2012 08:03:28 -0500")
    assert f.from_ is None
    assert f.by == "vger.kernel.org"
    assert f.via == "listexpand"
    assert f.id == "S1753989Ab2CDND2"
    assert f.extra == (("convert", "rfc822-to-quoted-printable"),)
    assert f.date == utc(2012, 3, 4, 13, 3, 28)


def test_semicolon_inside_a_quoted_string_is_not_the_separator():
    f = parse_received('from a by b with ESMTP id X for <"odd;local"@example.net>; '
                       "Mon, 5 Feb 2024 10:00:05 +0000")
    assert f.for_ == '<"odd;local"@example.net>'
    assert f.date == utc(2024, 2, 5, 10, 0, 5)


def test_repeated_and_additional_clauses_go_to_extra():
    ibm = parse_received(
        "from localhost by e06smtp10.uk.ibm.com with IBM ESMTP SMTP Gateway: Authorized Use "
        "Only! Violators will be prosecuted for <lina@example.it> from <nic@example.com>; "
        "Wed, 8 Mar 2017 16:46:25 -0000")
    assert ibm.from_ == "localhost"
    assert ibm.for_ == "<lina@example.it>"
    assert ibm.with_.startswith("IBM ESMTP SMTP Gateway:")
    assert ibm.extra == (("from", "<nic@example.com>"),)
    exim = parse_received("from inpost2.example ([130.133.4.69]) by outpost.example (Exim 4.98)"
                          " with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (envelope-from "
                          "<a@example.de>) id 1ubvTb-00000003Tv0-0wKq; "
                          "Wed, 16 Jul 2025 08:18:47 +0200")
    assert exim.with_ == "esmtps"
    assert exim.id == "1ubvTb-00000003Tv0-0wKq"
    assert exim.extra == (("tls", "TLS_AES_256_GCM_SHA384"),)
    assert "envelope-from <a@example.de>" in exim.comments
    prefix = parse_received("test; Sat, 21 Apr 2018 03:01:01 +0000")
    assert prefix.extra == (("", "test"),)
    assert prefix.date == utc(2018, 4, 21, 3, 1, 1)


def test_qmail_and_postfix_local_forms():
    qmail = parse_received("(qmail 11769 invoked from network); 22 Aug 2016 14:23:01 -0000")
    assert (qmail.from_, qmail.by) == (None, None)  # "from" sits inside the comment
    assert qmail.comments == ("qmail 11769 invoked from network",)
    assert qmail.date == utc(2016, 8, 22, 14, 23, 1)
    postfix = parse_received("by example.com (Postfix, from userid 1001)\n"
                             " id 1234ABCD; Thu, 21 Aug 2014 12:12:48 +0200 (CEST)")
    assert postfix.by == "example.com (Postfix, from userid 1001)"
    assert postfix.id == "1234ABCD"
    assert postfix.from_ is None
    assert postfix.date == utc(2014, 8, 21, 10, 12, 48)  # MHA: dateNum 1408615968000


def test_exchange_with_and_via_keep_several_words():
    f = parse_received(
        "from DM3NAM03FT035.eop-NAM03.prod.protection.outlook.com\n (2a01:111:f400:7e49::205) "
        "by CY4PR0601CA0051.outlook.office365.com\n (2603:10b6:910:89::28) with Microsoft SMTP"
        " Server (version=TLS1_2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384) id "
        "15.20.1185.23 via Frontend\n Transport; Mon, 1 Oct 2018 09:49:21 +0000")
    assert f.with_ == "Microsoft SMTP Server"
    assert f.via == "Frontend Transport"
    assert f.id == "15.20.1185.23"
    assert f.by == "CY4PR0601CA0051.outlook.office365.com (2603:10b6:910:89::28)"


# --- missing or odd dates ---------------------------------------------------------------

@pytest.mark.parametrize("value, when, date_text, by", [
    # SendGrid, MHA issue #63 / mail-parser issue #71: no ";", ISO date, Go's "m=" suffix
    ("by filter0948p1iad2.sendgrid.net with SMTP id\n filter0948p1iad2-19514-5EEA473C-34 "
     "2020-06-17 16:39:24.757045452 +0000 UTC\n m=+349867.495769315",
     utc(2020, 6, 17, 16, 39, 24, 757045),
     "2020-06-17 16:39:24.757045452 +0000 UTC m=+349867.495769315",
     "filter0948p1iad2.sendgrid.net"),
    ("from smtp.github.com (out-8.smtp.github.com [192.30.252.199])\n by "
     "ismtpd0003p1iad2.sendgrid.net (SG) with ESMTP id gDQRSEGgSqCsi9tFtF1Vtg\n"
     " Mon, 26 Mar 2018 13:35:36.102 +0000 (UTC)",
     utc(2018, 3, 26, 13, 35, 36, 102000), "Mon, 26 Mar 2018 13:35:36.102 +0000 (UTC)",
     "ismtpd0003p1iad2.sendgrid.net (SG)"),
    ("Sun, 22 Apr 2018 02:54:19\n +0000", utc(2018, 4, 22, 2, 54, 19),
     "Sun, 22 Apr 2018 02:54:19 +0000", None),
    ("from x by y with SMTP 22 Aug 2016 14:23:01 -0000", utc(2016, 8, 22, 14, 23, 1),
     "22 Aug 2016 14:23:01 -0000", "y"),
])
def test_missing_semicolon_falls_back_to_a_date_like_tail(value, when, date_text, by):
    f = parse_received(value)
    assert f.date == when
    assert f.date_text == date_text
    assert f.by == by
    assert f.zone_known is True


def test_missing_semicolon_without_a_date_keeps_every_clause():
    f = parse_received("by mail.example with SMTP id Monday-batch-2024-01-01 for <a@example>")
    assert f.by == "mail.example"
    assert f.id == "Monday-batch-2024-01-01"
    assert f.for_ == "<a@example>"
    assert (f.date, f.date_text, f.zone_known) == (None, None, False)


def test_a_date_only_inside_a_comment_is_not_the_date():
    f = parse_received("from a (Mon, 1 Jan 2024 00:00:00 +0000) by b with SMTP id X")
    assert (f.date, f.date_text) == (None, None)
    assert f.id == "X"
    g = parse_received("from a by b (comment; Tue, 6 Feb 2024 00:00:00 +0000) with SMTP id C "
                       "Mon, 5 Feb 2024 10:00:09 +0000")
    assert g.date == utc(2024, 2, 5, 10, 0, 9)
    assert g.id == "C"


def test_no_date_at_all():
    f = parse_received("from server040.webpack.hosteurope.de ([80.237.130.48]:52313) by "
                       "vps832469583.serverpool.info with esmtps "
                       "(TLS-1.0:DHE_RSA_3DES_EDE_CBC_SHA:24) (Exim 4.50) id 1GzVLs-0002Oz-7b")
    assert (f.date, f.date_text, f.zone_known) == (None, None, False)
    assert f.id == "1GzVLs-0002Oz-7b"
    assert f.with_ == "esmtps"


@pytest.mark.parametrize("tail", [
    "; 22 Apr 2018",                              # a day without a time (MHA "broke3")
    "; Mon, 32 Jan 2024 00:00:00 +0000",          # no such day
    "; Mon, 1 Jan 2024 25:00:00 +0000",           # no such hour
    "; Mon, 1 Jan 99999 00:00:00 +0000",          # beyond datetime
    "; yesterday, around noon",
    ";",
])
def test_malformed_dates_give_none_but_keep_the_text(tail):
    f = parse_received("from a by b" + tail)
    assert f.date is None
    assert f.zone_known is False
    assert f.date_text == (tail[1:].strip() or None)
    assert (f.from_, f.by) == ("a", "b")


# --- zones (RFC 5322 §3.3, §4.3) --------------------------------------------------------

@pytest.mark.parametrize("text, when", [
    ("Sat, 22 Nov 2014 20:27:34 +0100 (CET)", utc(2014, 11, 22, 19, 27, 34)),
    ("Fri, 07 Dec 2001 10:47:44 +1100 (EST)", utc(2001, 12, 6, 23, 47, 44)),  # number wins
    ("17 Jan 2011 08:23:27 -0800 PST", utc(2011, 1, 17, 16, 23, 27)),
    ("Thu, 6 Dec 2001 09:21:06 -0000 (GMT)", utc(2001, 12, 6, 9, 21, 6)),  # -0000 is UT
    ("Thu, 6 Dec 2001 09:21:07 GMT", utc(2001, 12, 6, 9, 21, 7)),
    ("Thu, 6 Dec 2001 09:21:07 UT", utc(2001, 12, 6, 9, 21, 7)),
    ("Thu, 6 Dec 2001 09:21:07 UTC", utc(2001, 12, 6, 9, 21, 7)),
    ("Thu, 6 Dec 2001 09:21:07 Z", utc(2001, 12, 6, 9, 21, 7)),
    ("Wed, 12 Feb 2003 14:22:21 EST", utc(2003, 2, 12, 19, 22, 21)),
    ("Wed, 12 Feb 2003 14:22:21 EDT", utc(2003, 2, 12, 18, 22, 21)),
    ("Wed, 12 Feb 2003 14:22:21 PST", utc(2003, 2, 12, 22, 22, 21)),
    ("Wed, 12 Feb 2003 14:22:21 pdt", utc(2003, 2, 12, 21, 22, 21)),
    ("Mon, 1 Jan 2024 00:00:00 +01:00", utc(2023, 12, 31, 23)),
    ("Mon, 1 Jan 2024 00:00 +0530", utc(2023, 12, 31, 18, 30)),
    ("Saturday, 21 Apr 2018 03:01:02 +0000", utc(2018, 4, 21, 3, 1, 2)),
    ("Apr 21 2018 3:01:05 +0000", utc(2018, 4, 21, 3, 1, 5)),
    ("Wed, 26 Mar 03 20:43:24 -0600", utc(2003, 3, 27, 2, 43, 24)),  # obs-year 03 = 2003
    ("Fri, 1 Oct 99 12:00:00 +0000", utc(1999, 10, 1, 12)),          # obs-year 99 = 1999
    ("2018-04-22 02:54:17.028704749 +0000 UTC", utc(2018, 4, 22, 2, 54, 17, 28704)),
    ("2018-04-22T02:54:17 -0200", utc(2018, 4, 22, 4, 54, 17)),
])
def test_dates_with_a_known_zone_are_utc(text, when):
    stamp = parse_date(text)
    assert stamp.zone_known is True
    assert stamp.when == when
    assert stamp.when.tzinfo is UTC


@pytest.mark.parametrize("text, wall", [
    ("30 Apr 2003 15:06:29", datetime(2003, 4, 30, 15, 6, 29)),
    ("Sun Nov 13 14:50:12 2005", datetime(2005, 11, 13, 14, 50, 12)),
    ("Mon, 1 Jan 2024 00:00:00 CET", datetime(2024, 1, 1)),      # not an RFC 5322 zone
    ("Mon, 1 Jan 2024 00:00:00 A", datetime(2024, 1, 1)),        # military: meaning unknown
    ("Mon, 1 Jan 2024 00:00:00 +9999", datetime(2024, 1, 1)),    # not a real offset
    ("Mon, 1 Jan 2024 00:00:00 (UTC)", datetime(2024, 1, 1)),    # a comment is no zone
    ("2018-4-20 11:01:08 PM", datetime(2018, 4, 20, 23, 1, 8)),
])
def test_dates_without_a_known_zone_are_kept_naive_and_flagged(text, wall):
    stamp = parse_date(text)
    assert stamp.zone_known is False
    assert stamp.when == wall
    assert stamp.when.tzinfo is None


def test_zone_less_field_is_flagged_not_guessed():
    f = parse_received("from mtsbp606.email-info.net (x@64.253.199.166) by "
                       "kde.informatik.uni-kl.de with SMTP; 30 Apr 2003 15:06:29")
    assert f.zone_known is False
    assert f.date == datetime(2003, 4, 30, 15, 6, 29)


@pytest.mark.parametrize("text", [None, "", "   ", "garbage", "2018-04-22", "(Mon, 1 Jan 2024)"])
def test_unreadable_dates(text):
    assert parse_date(text) == (None, False)


# --- the real-world corpus of single fields -----------------------------------------------

STALWART = json.loads((DATA / "stalwart_received_fields.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", STALWART, ids=[c["header"][:40] for c in STALWART])
def test_stalwart_corpus_field_by_field(case):
    f = parse_received(case["header"])
    got = {
        "from": f.from_, "by": f.by, "via": f.via, "with": f.with_, "id": f.id, "for": f.for_,
        "date": f.date.isoformat() if f.date else None, "zone_known": f.zone_known,
    }
    assert got == case["expected"]


def test_stalwart_corpus_is_the_documented_size():
    assert len(STALWART) == 33
    assert "stalwart_received_fields.json" in (DATA / "SOURCES.md").read_text("utf-8")


# --- the value class, the lexer, the docstrings ------------------------------------------

def test_received_field_is_frozen_and_keeps_raw():
    f = parse_received("from a by b")
    assert isinstance(f, ReceivedField)
    assert f.raw == "from a by b"
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.by = "c"  # type: ignore[misc]


def test_tokenizer_kinds():
    kinds = [(t.kind, t.text) for t in tokenize('a (b (c)) "d;e" [f g] ; h')]
    assert kinds == [("word", "a"), ("comment", "(b (c))"), ("quoted", '"d;e"'),
                     ("word", "[f g]"), ("semicolon", ";"), ("word", "h")]


def test_unclosed_comment_runs_to_the_end():
    f = parse_received("from a (b by c; Mon, 1 Jan 2024 00:00:00 +0000")
    assert f.from_ == "a (b by c; Mon, 1 Jan 2024 00:00:00 +0000"
    assert (f.by, f.date) == (None, None)


def test_bytes_and_none_and_bad_utf8_are_accepted():
    assert parse_received(b"from a by b").by == "b"
    assert parse_received(None) == ReceivedField()  # type: ignore[arg-type]
    assert parse_received(b"from \xff by b").from_ == "\ufffd"
    assert parse_received("from \udcff by b").from_ == "\ufffd"


def test_round_trip_with_the_kit_writer():
    received = pytest.importorskip("kit.protocol.received")
    value = received.format_received(
        helo="client.example", peer_ip="2001:db8::7", peer_name="host.example",
        by="lab.example", with_="ESMTPSA", id="ABC123", for_="bob@example.net",
        date=datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC))
    f = parse_received(value)
    assert f.from_ == "client.example (host.example [IPv6:2001:db8::7])"
    assert f.by.split()[0] == "lab.example"
    assert (f.with_, f.id, f.for_) == ("ESMTPSA", "ABC123", "<bob@example.net>")
    assert f.date == utc(2024, 5, 1, 12)


@pytest.mark.parametrize("module", [kit.trace.received, kit.trace.dates])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


# --- never raises (hypothesis) ----------------------------------------------------------

_PIECES = st.sampled_from([
    "from", "by", "via", "with", "id", "for", "tls", "FROM", "By", ";", ";", "(", ")", "(",
    '"', "[", "]", "<", ">", "\r\n ", "\n\t", "\r\n", " ", "  ", "\\", ",",
    "mx.example.net", "[192.0.2.1]", "[IPv6:2001:db8::1]", "2001:db8::25", "(Postfix)",
    "(qmail 1 invoked from network)", "(a (nested (comment)) by x)", '"quoted;string"',
    "ESMTPS", "Microsoft SMTP Server", "<bob@example.net>", "1GzVLs-0002Oz-7b",
    "Mon,", "Sun", "22", "Nov", "2014", "03", "20:27:34", "20:27:34.123456789", "99:99:99",
    "+0100", "-0000", "+01:00", "-9999", "(CET)", "GMT", "UT", "EST", "Z", "A", "UTC",
    "2018-04-22", "02:54:17.028704749", "m=+1.5", "PM", "\x00", "\udcff", "\u00e9",
])


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_received_never_raises_on_any_text(value):
    f = parse_received(value)
    assert isinstance(f, ReceivedField)
    assert f.date is None or isinstance(f.date, datetime)
    assert f.zone_known is (f.date is not None and f.date.tzinfo is not None)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40).map(" ".join))
def test_parse_received_never_raises_on_header_like_text(value):
    f = parse_received(value)
    for clause in (f.from_, f.by, f.via, f.with_, f.id, f.for_):
        assert clause is None or (clause == clause.strip() and clause)
    if f.zone_known:
        assert f.date.tzinfo is UTC


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12).map(" ".join) | st.text())
def test_parse_date_never_raises(text):
    stamp = parse_date(text)
    assert stamp.when is None or stamp.zone_known == (stamp.when.tzinfo is not None)


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_parse_received_never_raises_on_bytes(data):
    assert isinstance(parse_received(data), ReceivedField)
