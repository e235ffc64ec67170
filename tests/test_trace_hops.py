"""Whole messages: hop order, delays, clock skew, the JSON contract, text/HTML/plot."""

from __future__ import annotations

import email
import io
import json
import subprocess
import sys
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.trace import Hop, Trace, format_delay, hops, trace

DATA = Path(__file__).parent / "data" / "received"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


# Field by field, hop 0 = bottom-most Received field: (from, by, with, id, for, date in UTC).
# Checked by hand against the header text; dates converted with the field's own offset.
CORPUS: dict[str, list[tuple]] = {
    "seed_bielefeld_postfix_dovecot.eml": [
        ("identity (bonnie.TechFak.Uni-Bielefeld.DE [IPv6:2001:638:504:2080::247])",
         "smarthost.TechFak.Uni-Bielefeld.DE (Postfix)", "SMTP", "3489AB000F",
         "<jhuelsmann@techfak.uni-bielefeld.de>", "2014-11-22T19:25:31+00:00"),
        ("smarthost.TechFak.Uni-Bielefeld.DE (smarthost.TechFak.Uni-Bielefeld.DE "
         "[IPv6:2001:638:504:2014:ffff::24])", "mailin.techfak.uni-bielefeld.de (Postfix)",
         "ESMTP", "12A4889D0", "<jhuelsmann@techfak.uni-bielefeld.de>",
         "2014-11-22T19:27:34+00:00"),
        (None, "mailin.techfak.uni-bielefeld.de (Postfix)", None, "1B1AEB9DF", None,
         "2014-11-22T19:27:34+00:00"),
        ("mailin.techfak.uni-bielefeld.de ([2001:638:504:2014:ffff::22])",
         "imap.TechFak.Uni-Bielefeld.DE (Dovecot)", "LMTP", "B6rUDn7jcFRmaAAASiQK0w",
         "<jhuelsmann@imap.techfak.uni-bielefeld.de>", "2014-11-22T19:27:34+00:00"),
    ],
    "spamassassin_nice_001_sendmail_postfix.eml": [
        (None, "milkplus (Postfix, from userid 1000)", None, "D3FDD10B051", None,
         "2001-05-15T21:31:22+00:00"),
        ("milkplus (62-122-4-47.flat.galactica.it [62.122.4.47])",
         "trna.ximian.com (8.9.3/8.9.3)", "ESMTP", "RAA19544", None,
         "2001-05-15T21:31:24+00:00"),
        ("trna.ximian.com (IDENT:nobody@localhost [127.0.0.1])", "trna.ximian.com (8.9.3/8.9.3)",
         "ESMTP", "SAA19408", None, "2001-05-15T22:26:07+00:00"),
        ("trna.ximian.com ([141.154.95.22])", "dogma.slashnull.org (8.9.3/8.9.3)", "ESMTP",
         "AAA30867", "<jm-ximian@jmason.org>", "2001-05-15T23:40:31+00:00"),
        (None, "dogma.slashnull.org (8.9.3/8.9.3)", None, "AAA30873", "jm@netnoteinc.com",
         "2001-05-15T23:40:33+00:00"),
        ("dogma.slashnull.org (dogma.slashnull.org [212.17.35.15])",
         "mail.netnoteinc.com (Postfix)", "ESMTP", "830E5115158", "<jm@netnoteinc.com>",
         "2001-05-15T23:40:33+00:00"),
    ],
    "spamassassin_nice_002_exim_fetchmail.eml": [
        ("144.137.3.98 (SquirrelMail authenticated user jmmail)", "jmason.org", "HTTP", None,
         None, "2001-12-06T09:21:06+00:00"),
        (None, "dogma.slashnull.org (8.11.6/8.11.6)", None, "fB69L7c12619", None,
         "2001-12-06T09:21:07+00:00"),
        ("dogma.slashnull.org ([212.17.35.15])", "usw-sf-list1.sourceforge.net", "esmtp",
         "16BuiR-0003Pd-00", "<spamassassin-talk@lists.sourceforge.net>",
         "2001-12-06T09:21:15+00:00"),
        ("localhost ([127.0.0.1] helo=usw-sf-list1.sourceforge.net)",
         "usw-sf-list1.sourceforge.net", "esmtp", "16BujB-0003YE-00", None,
         "2001-12-06T09:22:01+00:00"),
        ("usw-sf-list1.sourceforge.net (usw-sf-fw2.sourceforge.net [216.136.171.252])",
         "dogma.slashnull.org (8.11.6/8.11.6)", "ESMTP", "fB69MYV12654", "<jm-sa@jmason.org>",
         "2001-12-06T09:22:34+00:00"),
        ("dogma.slashnull.org [212.17.35.15]", "localhost", "IMAP", None, "jm@localhost",
         "2001-12-06T23:47:44+00:00"),
        ("localhost (localhost.localdomain [127.0.0.1])", "stinkpad.jmason.org (Postfix)",
         "ESMTP", "3AF5610710", "<jm@localhost>", "2001-12-06T23:47:43+00:00"),
    ],
    "spamassassin_dmarc_noneok_sendmail_tls.eml": [
        ("dmarc1.spamassassin.org (dmarc1.spamassassin.org [64.142.3.173])",
         "dmarc1.spamassassin.org (8.14.9/8.14.9)", "ESMTP", "13DFe22R006047", None,
         "2021-04-13T15:40:02+00:00"),
    ],
    "mailparser_mail_test_1_qmail_postfix_o365.eml": [
        ("computer_3436 (unknown [43.230.105.145])", "omf06.b.hostedemail.com (Postfix)",
         "ESMTPA", None, "<kinney@noth.com>", "2016-08-22T14:22:52+00:00"),
        ("DM3NAM03FT035.eop-NAM03.prod.protection.outlook.com (2a01:111:f400:7e49::205)",
         "CY4PR0601CA0051.outlook.office365.com (2603:10b6:910:89::28)",
         "Microsoft SMTP Server", "15.20.1185.23", None, "2018-10-01T09:49:21+00:00"),
        ("DM6PR06MB4475.namprd06.prod.outlook.com (2603:10b6:207:3d::31)",
         "BL0PR06MB4465.namprd06.prod.outlook.com", "HTTPS", None, None,
         "2018-10-01T09:49:22+00:00"),
        ("filter.hostedemail.com (10.5.19.248.rfc1918.com [10.5.19.248])",
         "smtprelay06.b.hostedemail.com (Postfix)", "ESMTP", "2CC378D014", "<kinney@noth.com>",
         "2016-08-22T14:22:58+00:00"),
        ("smtprelay0207.b.hostedemail.com (HELO smtprelay.b.hostedemail.com)",
         "smtp.server.net", "SMTP", None, None, "2016-08-22T14:23:01+00:00"),
        (None, None, None, None, None, "2016-08-22T14:23:01+00:00"),
    ],
    "mha_o365_powermta.eml": [
        ("localhost (10.0.22.21)", "vmta6.response.nfcu.org (PowerMTA(TM) v3.5r17)", None,
         "hrakoo0lrlgv", "<sgriffin@outlook.com>", "2018-04-20T21:51:19+00:00"),
        ("vmta6.response.nfcu.org (199.204.166.217)",
         "BN3NAM04FT003.mail.protection.outlook.com (10.152.92.112)", "Microsoft SMTP Server",
         "15.20.696.11", None, "2018-04-21T03:01:32+00:00"),
        ("BN3NAM04FT003.eop-NAM04.prod.protection.outlook.com (10.152.92.53)",
         "BN3NAM04HT205.eop-NAM04.prod.protection.outlook.com (10.152.93.134)",
         "Microsoft SMTP Server", "15.20.696.11", None, "2018-04-21T03:01:32+00:00"),
        ("BN3NAM04HT205.eop-NAM04.prod.protection.outlook.com (2a01:111:e400:c418::34)",
         "SN1PR16MB0494.namprd16.prod.outlook.com", "HTTPS", None, None,
         "2018-04-21T03:01:33+00:00"),
    ],
    "mha_github_sendgrid_no_semicolon.eml": [
        ("smtp.github.com (out-3.smtp.github.com [192.30.252.194])",
         "ismtpd0021p1iad2.sendgrid.net (SG)", "ESMTP", "1dCtTVbKTgGmrXSNolRfbg",
         "<sgriffin@outlook.com>", "2018-04-22T02:54:16.987000+00:00"),
        (None, "filter0652p1las1.sendgrid.net", "SMTP", "filter0652p1las1-5089-5ADBF958-25",
         None, "2018-04-22T02:54:17.028704+00:00"),
        ("o9.sgmail.github.com (167.89.101.2)",
         "CO1NAM03FT028.mail.protection.outlook.com (10.152.80.189)", "Microsoft SMTP Server",
         "15.20.696.11", None, "2018-04-22T02:54:17+00:00"),
        ("CO1NAM03FT028.eop-NAM03.prod.protection.outlook.com (10.152.80.60)",
         "CO1NAM03HT217.eop-NAM03.prod.protection.outlook.com (10.152.81.113)",
         "Microsoft SMTP Server", "15.20.696.11", None, "2018-04-22T02:54:18+00:00"),
        ("CO1NAM03HT217.eop-NAM03.prod.protection.outlook.com (2a01:111:e400:c418::43)",
         "SN1PR16MB0494.namprd16.prod.outlook.com", "HTTPS", None, None,
         "2018-04-22T02:54:19+00:00"),
    ],
    "list_sparclinux_exim_postfix_skew.eml": [
        ("p57bd96d0.dip0.t-ipconnect.de ([87.189.150.208] helo=suse-laptop.fritz.box)",
         "inpost2.zedat.fu-berlin.de (Exim 4.98)", "esmtpsa", "1ubvTa-00000001iiC-4A3T", None,
         "2025-07-16T06:18:47+00:00"),
        ("inpost2.zedat.fu-berlin.de ([130.133.4.69])", "outpost.zedat.fu-berlin.de (Exim 4.98)",
         "esmtps", "1ubvTb-00000003Tv0-0wKq", None, "2025-07-16T06:18:47+00:00"),
        ("outpost1.zedat.fu-berlin.de (outpost1.zedat.fu-berlin.de [130.133.4.66])",
         "smtp.subspace.kernel.org (Postfix)", "ESMTPS", "B0DAA20EB", None,
         "2025-07-16T06:18:56+00:00"),
        ("localhost.localdomain (localhost.localdomain [127.0.0.1])",
         "smtp.subspace.kernel.org (Postfix)", "ESMTP", "BEC72221DB9", None,
         "2025-07-16T06:19:00+00:00"),
        ("smtp.subspace.kernel.org (relay.kernel.org [52.25.139.140])",
         "am.mirrors.kernel.org (Postfix)", "ESMTPS", "92E371C21CC5",
         "<lists+sparclinux@lfdr.de>", "2025-07-16T06:19:23+00:00"),
        ("am.mirrors.kernel.org (am.mirrors.kernel.org [IPv6:2604:1380:4601:e00::3])",
         "mail.lfdr.de (Postfix)", "ESMTPS", "31CABB06DC2", "<lists+sparclinux@lfdr.de>",
         "2025-07-16T06:19:06+00:00"),
    ],
    "list_git_gmail_vger_exim.eml": [
        (None, "pclouds@gmail.com (sSMTP sendmail emulation)", None, None, None,
         "2012-03-04T13:01:19+00:00"),
        ("pclouds@gmail.com ([115.74.34.94])", "mx.google.com", "ESMTPS",
         "j3sm10446585pbb.29.2012.03.04.05.03.22", None, "2012-03-04T13:03:26+00:00"),
        (None, "10.68.134.33", "SMTP", "ph1mr17990726pbb.81.1330866207079", None,
         "2012-03-04T13:03:27+00:00"),
        ("mr.google.com ([10.68.134.33])", "10.68.134.33", "SMTP",
         "ph1mr20759119pbb.81.1330866207117", None, "2012-03-04T13:03:27+00:00"),
        (None, "mail-pw0-f46.google.com", "SMTP", "un15so1801665pbc.19",
         "<git@vger.kernel.org>", "2012-03-04T13:03:27+00:00"),
        ('mail-pw0-f46.google.com ([209.85.160.46]:40475 "EHLO mail-pw0-f46.google.com" '
         "rhost-flags-OK-OK-OK-OK)", "vger.kernel.org", "ESMTP", "S1753864Ab2CDND1", None,
         "2012-03-04T13:03:27+00:00"),
        (None, "vger.kernel.org", None, "S1753989Ab2CDND2", None, "2012-03-04T13:03:28+00:00"),
        ("vger.kernel.org ([209.132.180.67])", "plane.gmane.org", "esmtp", "1S4B64-0003pj-Lt",
         "gcvg-git-2@plane.gmane.org", "2012-03-04T13:03:33+00:00"),
    ],
    "list_linux_mm_gmail_postfix.eml": [
        ("mga07.intel.com (mga07.intel.com. [134.134.136.100])", "mx.google.com", "ESMTPS",
         "n9si146219pll.307.2017.09.27.16.56.22", "<linux-mm@kvack.org>",
         "2017-09-27T23:56:23+00:00"),
        (None, "mail-pg0-f72.google.com", "SMTP", "6so30462492pgh.0", "<linux-mm@kvack.org>",
         "2017-09-27T23:56:24+00:00"),
        ("mail-pg0-f72.google.com (mail-pg0-f72.google.com [74.125.83.72])",
         "kanga.kvack.org (Postfix)", "ESMTP", "21A046B0260", "<linux-mm@kvack.org>",
         "2017-09-27T23:56:24+00:00"),
    ],
    "constructed_dovecot23_lmtp.eml": [
        ("[192.0.2.7] (unknown [192.0.2.7])", "mail.example.org (Postfix)", "ESMTPSA",
         "4T8hZc5yK1z1xnR", "<bob@example.net>", "2024-01-09T18:12:03+00:00"),
        ("mail.example.org (mail.example.org [IPv6:2001:db8:1::10])", "mx.example.net (Postfix)",
         "ESMTPS", "4T8hZd0mQbz9sTq", "<bob@example.net>", "2024-01-09T18:12:04+00:00"),
        ("mx.example.net ([2001:db8::25])", "imap.example.net", "LMTP",
         "2Bq3DZyXnWXKCQAAYKDdqg", "<bob@example.net>", "2024-01-09T18:12:05+00:00"),
    ],
    "constructed_edge_cases_crlf.eml": [
        ("client.example.org (client.example.org [192.0.2.10])", "mx1.example.net (Postfix)",
         "ESMTP", "AAA111", "<x@example.net>", "2024-02-05T10:00:00+00:00"),
        ("mx1.example.net (mx1.example.net [192.0.2.20])", "relay.example.net", "ESMTP",
         "BBB222", '<"odd;local"@example.net>', None),  # zone-less: no UTC date
        ("relay.example.net ([192.0.2.30])", "filter.example.net (comment (nested (deeply)) by "
         "nobody; Tue, 6 Feb 2024 00:00:00 +0000)", "SMTP", "CCC333", None,
         "2024-02-05T10:00:09+00:00"),
        ("filter.example.net", "store.example.net", "LMTP", "DDD444", None, None),
        ("store.example.net (store.example.net [192.0.2.40] (may be forged))",
         "imap.example.net (Mon, 5 Feb 2024 23:59:59 +0000 with X by fake.example)", "LMTP",
         "EEE555", None, "2024-02-05T09:59:58+00:00"),
    ],
}

# delay_seconds per hop, then total_delay_seconds and sum_positive_delays.
DELAYS: dict[str, tuple[list, float | None, float | None]] = {
    "seed_bielefeld_postfix_dovecot.eml": ([None, 123.0, 0.0, 0.0], 123.0, 123.0),
    "spamassassin_nice_001_sendmail_postfix.eml":
        ([None, 2.0, 3283.0, 4464.0, 2.0, 0.0], 7751.0, 7751.0),
    "spamassassin_nice_002_exim_fetchmail.eml":
        ([None, 1.0, 8.0, 46.0, 33.0, 51910.0, -1.0], 51997.0, 51998.0),
    "spamassassin_dmarc_noneok_sendmail_tls.eml": ([None], None, None),
    "mailparser_mail_test_1_qmail_postfix_o365.eml":
        ([None, 66511589.0, 1.0, -66511584.0, 3.0, 0.0], 9.0, 66511593.0),
    # MHA's own test expects 310 min 13 s, 0 s, 1 s and a total of 310 min 14 s
    "mha_o365_powermta.eml": ([None, 18613.0, 0.0, 1.0], 18614.0, 18614.0),
    "mha_github_sendgrid_no_semicolon.eml":
        ([None, 0.041704, -0.028704, 1.0, 1.0], 2.013, 2.041704),
    "list_sparclinux_exim_postfix_skew.eml":
        ([None, 0.0, 9.0, 4.0, 23.0, -17.0], 19.0, 36.0),
    "list_git_gmail_vger_exim.eml": ([None, 127.0, 1.0, 0.0, 0.0, 0.0, 1.0, 5.0], 134.0, 134.0),
    "list_linux_mm_gmail_postfix.eml": ([None, 1.0, 0.0], 1.0, 1.0),
    "constructed_dovecot23_lmtp.eml": ([None, 1.0, 1.0], 2.0, 2.0),
    "constructed_edge_cases_crlf.eml": ([None, None, None, None, None], -2.0, 9.0),
}


def test_every_sample_is_checked_and_documented():
    files = sorted(p.name for p in DATA.glob("*.eml"))
    assert files == sorted(CORPUS) == sorted(DELAYS)
    sources = (DATA / "SOURCES.md").read_text("utf-8")
    for name in files:
        assert f"`{name}`" in sources, f"{name} is not described in SOURCES.md"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_field_by_field(name):
    got = [(h.from_, h.by, h.with_, h.id, h.for_,
            h.known_time.isoformat() if h.known_time else None) for h in hops(load(name))]
    assert got == CORPUS[name]


@pytest.mark.parametrize("name", sorted(DELAYS))
def test_corpus_delays(name):
    result = trace(load(name))
    delays, total, positive = DELAYS[name]
    assert [h.delay_seconds for h in result] == pytest.approx(delays)
    assert [h.index for h in result] == list(range(len(delays)))
    assert result.total_delay_seconds == pytest.approx(total)
    assert result.sum_positive_delays == pytest.approx(positive)


# --- clock skew, unknown zones, missing dates -------------------------------------------

def test_negative_delays_are_kept_and_flagged():
    result = trace(load("list_sparclinux_exim_postfix_skew.eml"))
    assert [h.clock_skew for h in result] == [False] * 5 + [True]
    assert result[5].delay_seconds == -17.0
    assert result[5].delay_from_last_known == -17.0
    # the total is last minus first (19 s), not the sum of steps (36 s)
    assert (result.total_delay_seconds, result.sum_positive_delays) == (19.0, 36.0)


def test_a_multi_year_skew_is_not_wrapped_into_a_day():
    result = trace(load("mailparser_mail_test_1_qmail_postfix_o365.eml"))
    assert result[3].delay_seconds == -66511584.0  # -769 days: timedelta.seconds would lie
    assert result[3].clock_skew
    assert format_delay(result[3].delay_seconds) == "-769 d 19 h"


def test_zone_less_and_dateless_hops_break_the_chain_but_not_the_last_known_delay():
    result = trace(load("constructed_edge_cases_crlf.eml"))
    zone_less, after, dateless, skewed = result[1], result[2], result[3], result[4]
    assert zone_less.zone_known is False
    assert zone_less.date is not None and zone_less.date.tzinfo is None
    assert (zone_less.delay_seconds, zone_less.delay_from_last_known) == (None, None)
    assert after.delay_seconds is None               # its predecessor's zone is unknown
    assert after.delay_from_last_known == 9.0         # hop 0 -> hop 2
    assert (dateless.date, dateless.received.date_text) == (None, None)
    assert skewed.delay_seconds is None
    assert skewed.delay_from_last_known == -11.0     # hop 2 -> hop 4
    assert [h.clock_skew for h in result] == [False, False, False, False, True]


def test_envelope_headers():
    seed = trace(load("seed_bielefeld_postfix_dovecot.eml"))
    assert seed.return_path == "<a1@ausgedacht.de>"
    assert seed.delivered_to == ("<jhuelsmann@imap.techfak.uni-bielefeld.de>",
                                 "jhuelsmann@techfak.uni-bielefeld.de")
    assert seed.x_original_to == ()
    lists = trace(load("list_sparclinux_exim_postfix_skew.eml"))
    assert lists.x_original_to == ("lists+sparclinux@lfdr.de", "sparclinux@vger.kernel.org")
    assert len(lists.authentication_results) == 4
    assert lists.authentication_results[0].startswith(
        'smtp.subspace.kernel.org; dkim=fail reason="signature verification failed"')


# --- inputs -----------------------------------------------------------------------------

def test_bytes_str_and_both_message_policies_give_the_same_hops():
    data = load("seed_bielefeld_postfix_dovecot.eml")
    expected = [h.to_dict() for h in hops(data)]
    inputs = [data.decode("utf-8"), email.message_from_bytes(data),
              email.message_from_bytes(data, policy=default_policy)]
    for message in inputs:
        assert [h.to_dict() for h in hops(message)] == expected


def test_a_message_built_in_python():
    msg = EmailMessage()
    msg["Received"] = "from b.example by c.example with ESMTP; Mon, 1 Jan 2024 00:00:09 +0000"
    msg["Received"] = "from a.example by b.example with SMTP; Mon, 1 Jan 2024 00:00:00 +0000"
    result = trace(msg)
    # the first field added is the top-most one, so it is the last hop
    assert [h.by for h in result] == ["b.example", "c.example"]
    assert result[1].delay_seconds == 9.0


def test_a_message_without_received_fields():
    result = trace(b"Subject: hello\r\n\r\nbody\r\n")
    assert len(result) == 0
    assert result.total_delay_seconds is None and result.sum_positive_delays is None
    assert result.to_dict()["hops"] == []
    assert "no Received fields" in str(result)
    assert "<table" in result._repr_html_()


def test_wrong_input_type_is_a_clear_error():
    with pytest.raises(TypeError, match="Message, bytes or str"):
        trace(42)  # type: ignore[arg-type]


def test_kit_trace_is_callable_from_the_top_level():
    import kit
    from kit import trace as top_level

    assert len(top_level(load("mha_o365_powermta.eml"))) == 4
    assert len(kit.trace(load("mha_o365_powermta.eml"))) == 4


def test_importing_kit_trace_pulls_in_no_jupyter_and_no_matplotlib():
    code = ("import sys, kit.trace; from kit import trace; print(sorted({m.split('.')[0] "
            "for m in sys.modules} & {'matplotlib', 'IPython', 'ipywidgets', 'ipykernel'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# --- the JSON contract (DESIGN.md §4) ---------------------------------------------------

CONTRACT_HOP_KEYS = {"index", "from", "by", "with", "id", "for", "date", "delay_seconds"}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_json_contract(name):
    document = json.loads(trace(load(name)).to_json())
    assert "total_delay_seconds" in document
    assert isinstance(document["total_delay_seconds"], (float, type(None)))
    for i, hop in enumerate(document["hops"]):
        assert CONTRACT_HOP_KEYS <= hop.keys()
        assert hop["index"] == i
        for key in ("from", "by", "with", "id", "for", "date"):
            assert isinstance(hop[key], (str, type(None)))
        assert isinstance(hop["delay_seconds"], (float, type(None)))
        if hop["date"] is not None:
            assert hop["date"].endswith("+00:00")


def test_json_values():
    document = trace(load("constructed_edge_cases_crlf.eml")).to_dict()
    first, zone_less, _, _, skewed = document["hops"]
    assert first["date"] == "2024-02-05T10:00:00+00:00"
    assert zone_less["date"] is None and zone_less["zone_known"] is False
    assert zone_less["date_text"] == "Mon, 5 Feb 2024 10:00:05"
    assert skewed["delay_seconds"] is None
    assert skewed["delay_from_last_known_seconds"] == -11.0
    assert skewed["clock_skew"] is True
    assert skewed["raw"].startswith("from store.example.net")
    assert document["total_delay_seconds"] == -2.0
    assert document["sum_positive_delays_seconds"] == 9.0
    assert document["return_path"] == "<x@example.org>"


# --- presentation -----------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (None, "?"), (0.0, "0 s"), (5.0, "5 s"), (-17.0, "-17 s"), (123.0, "2 min 3 s"),
    (3600.0, "1 h"), (18614.0, "5 h 10 min"), (0.041704, "0.042 s"), (-0.028704, "-0.029 s"),
    (90061.0, "1 d 1 h"),
])
def test_format_delay(seconds, text):
    assert format_delay(seconds) == text


def test_text_table():
    text = str(trace(load("list_sparclinux_exim_postfix_skew.eml")))
    lines = text.splitlines()
    assert lines[0].split() == ["hop", "delay", "time", "(UTC)", "from", "by", "with", "tls"]
    assert lines[6].startswith("5    -17 s (clock skew)  2025-07-16 06:19:06")
    assert "total delay: 19 s" in text and "sum of positive delays: 36 s" in text
    assert "X-Original-To: sparclinux@vger.kernel.org" in text
    edge = str(trace(load("constructed_edge_cases_crlf.eml")))
    assert "2024-02-05 10:00:05 (zone unknown)" in edge
    assert "(no date)" in edge
    assert "-11 s since hop 2 (clock skew)" in edge
    qmail = str(trace(load("mailparser_mail_test_1_qmail_postfix_o365.eml")))
    assert "(qmail 11769 invoked from network)" in qmail


def test_html_table_marks_skew_and_escapes_header_text():
    html = trace(load("list_sparclinux_exim_postfix_skew.eml"))._repr_html_()
    assert html.count("<tr title=") == 6
    assert html.count("clock skew") == 1
    assert "background:#fdd" in html
    evil = (b"Received: from x (<script>alert(1)</script>) by \"><img src=x onerror=1> "
            b"with <b>SMTP</b>; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Return-Path: <a&b@example.org>\r\n\r\n")
    html = trace(evil)._repr_html_()
    for raw in ("<script>", "<img", "<b>", "&b@"):
        assert raw not in html
    assert "&lt;script&gt;" in html and "&amp;b@" in html and "&quot;&gt;&lt;img" in html


def test_plot_is_a_figure_with_the_skew_in_red():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = trace(load("list_sparclinux_exim_postfix_skew.eml")).plot()
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    colors = [line.get_color() for line in ax.get_lines()]
    assert len(colors) == 5  # one segment between each pair of known times
    assert colors.count("tab:red") == 1 and colors[-1] == "tab:red"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "0 inpost2.zedat.fu-berlin.de"
    assert any("clock skew" in t.get_text() for t in ax.texts)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_plot_without_usable_times():
    pytest.importorskip("matplotlib")
    fig = trace(b"Received: from a by b; 30 Apr 2003 15:06:29\r\n\r\n").plot()
    (ax,) = fig.axes
    assert ax.get_lines() == []
    assert [t.get_text() for t in ax.texts] == ["no time stamp with a known zone"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 b (no usable time)"]


# --- never raises (hypothesis) ----------------------------------------------------------

_HEADER_LINES = st.lists(
    st.sampled_from([
        b"Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000",
        b"Received: from b.example by c.example; Mon, 1 Jan 2024 00:00:01 -0000",
        b"Received: by x; 30 Apr 2003 15:06:29", b"Received: (qmail 1 invoked by uid 0)",
        b"Received: from (x by y; Mon, 1 Jan 2024", b"Received:", b" folded; continuation",
        b"Return-Path: <a@b>", b"Delivered-To: x", b"X-Original-To: y",
        b"Authentication-Results: z; spf=pass", b"Received: \xff\xfe <\x00>",
    ]) | st.binary(max_size=60), max_size=12)


@settings(max_examples=150, deadline=None)
@given(_HEADER_LINES)
def test_trace_never_raises_and_always_renders(lines):
    result = trace(b"\r\n".join(lines) + b"\r\n\r\nbody")
    assert isinstance(result, Trace)
    assert all(isinstance(h, Hop) for h in result)
    json.loads(result.to_json())
    assert str(result)
    assert result._repr_html_().startswith('<div class="smtpkit-trace">')
