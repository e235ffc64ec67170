"""Exercises of notebook 05 (header tracing): read one ``Received:`` field, then a whole chain.

The contract, kept to plain values so the grader can call across processes:

* ``parse_received(value) -> dict`` with keys ``from``, ``by``, ``with``, ``id``, ``for`` (the
  word after each keyword, outside comments, or None) and ``date`` (the date-time after the
  last ``;`` outside comments, as ISO 8601 in UTC, or None when there is none or it has no
  zone). RFC 5321 §4.4 for the clauses, RFC 5322 §3.2.2 for comments, §3.3/§4.3 for dates.
* ``hops(message_text) -> list[dict]``: one dict per ``Received:`` field in travel order
  (hop 0 = the bottom-most field, the origin) with ``from``, ``by``, ``date`` as above and
  ``delay``: this hop's date minus the previous hop's, in float seconds, None when either is
  unknown; negative delays (clock skew) are kept.

Expected answers come from the grader-only reference solutions (``answers.tracing``): `kit.trace`,
the tested tracer, reduced to this contract; the checkers name the classic mistakes of header
analyzers (CURRICULUM §4): top-down order, delays clipped at zero or wrapped by
``timedelta.seconds``, dates read from comments.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from ..i18n import N_, _
from ._exercise import Exercise
from ._expected import expected as expected_value
from ._registry import register
from ._tests import Outcome, Test, format_call

KEYS = ("from", "by", "with", "id", "for", "date")
HOP_KEYS = ("from", "by", "date", "delay")


def sample(name: str) -> str:
    """A real-world header shipped in ``kit/trace/samples`` (see its SOURCES.md)."""
    return (files("kit.trace") / "samples" / name).read_text(encoding="utf-8")


# -- tracing.parse_received --------------------------------------------------------------------

_UTC = N_("convert to UTC: parsedate_to_datetime(text).astimezone(timezone.utc).isoformat()")

# (name, value, {key: why this key is easy to get wrong})
_FIELDS = [
    (N_("the seed: Postfix, a HELO name and the real host in a comment"),
     "from identity (bonnie.TechFak.Uni-Bielefeld.DE [IPv6:2001:638:504:2080::247])\r\n"
     "  by smarthost.TechFak.Uni-Bielefeld.DE (Postfix) with SMTP id 3489AB000F\r\n"
     "  for <jhuelsmann@techfak.uni-bielefeld.de>; Sat, 22 Nov 2014 20:25:31 +0100 (CET)",
     {"from": N_("the word after 'from' is the name the client gave in HELO: 'identity'; the comment "
                 "after it is what the server saw"),
      "date": (N_("20:25:31 +0100 is 19:25:31 UTC; "), _UTC)}),
    (N_("the seed: Dovecot LMTP"),
     "from mailin.techfak.uni-bielefeld.de ([2001:638:504:2014:ffff::22])\r\n"
     "  by imap.TechFak.Uni-Bielefeld.DE (Dovecot) with LMTP id B6rUDn7jcFRmaAAASiQK0w\r\n"
     "  for <jhuelsmann@imap.techfak.uni-bielefeld.de>; Sat, 22 Nov 2014 20:27:34 +0100",
     {"by": N_("the word after 'by', without the comment '(Dovecot)'")}),
    (N_("no from clause (Postfix re-submitting on one host)"),
     "by mailin.techfak.uni-bielefeld.de (Postfix)\r\n  id 1B1AEB9DF; Sat, 22 Nov 2014 20:27:34 +0100 (CET)",
     {"from": N_("there is no from clause: None"),
      "id": N_("the id ends where the ';' starts"),
      "for": N_("there is no for clause: None")}),
    (N_("Exim: lower-case keywords, nested comments, -0800"),
     "from localhost ([127.0.0.1] helo=usw-sf-list1.sourceforge.net)\r\n"
     "    by usw-sf-list1.sourceforge.net with esmtp (Exim 3.31-VA-mm2 #1 (Debian))\r\n"
     "    id 16BujB-0003YE-00; Thu, 06 Dec 2001 01:22:01 -0800",
     {"with": N_("keep the word as written: 'esmtp'"),
      "id": N_("comments nest (RFC 5322 §3.2.2): '(Exim 3.31-VA-mm2 #1 (Debian))' is one comment, and "
               "the id comes after it"),
      "date": (N_("01:22:01 -0800 is 09:22:01 UTC; "), _UTC)}),
    (N_("keywords inside a comment (Postfix with TLS)"),
     "from mail.example.org (mail.example.org [IPv6:2001:db8:1::10])\r\n"
     "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
     "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
     "\t(No client certificate requested)\r\n"
     "\tby mx.example.net (Postfix) with ESMTPS id 4T8hZd0mQbz9sTq\r\n"
     "\tfor <bob@example.net>; Tue,  9 Jan 2024 19:12:04 +0100 (CET)",
     {"with": N_("'with cipher' sits inside a comment, which is not a clause (RFC 5322 §3.2.2); the with "
                 "clause says ESMTPS"),
      "by": N_("skip every comment before 'by'; comments can span lines")}),
    (N_("qmail: only a comment before the ';'"),
     "(qmail 11769 invoked from network); 22 Aug 2016 14:23:01 -0000",
     {"from": N_("'from network' is inside a comment: there is no from clause"),
      "date": N_("-0000 is Universal Time (RFC 5322 §3.3), but parsedate_to_datetime returns a naive "
                 "datetime for it: treat -0000 as UTC")}),
    (N_("a ';' inside a comment before the date"),
     "from mail.example.net ([192.0.2.46]) by lists.example.org\r\n"
     "\twith ESMTP id S1753864Ab2CDND1 (ORCPT <rfc822;team@lists.example.org>);\r\n"
     "\tSun, 4 Mar 2012 08:03:27 -0500",
     {"date": N_("the first ';' is inside the comment (ORCPT <rfc822;...>); the date follows the last ';' "
                 "outside comments, and 08:03:27 -0500 is 13:03:27 UTC"),
      "id": N_("the id is one word; the comment after it is not part of it")}),
    (N_("two ';': one between the clauses, one before the date"),
     "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org (Postfix) with ESMTP id 4F3D2;\r\n"
     "\tfor <a@example.org>; Tue, 7 Mar 2017 14:29:24 -0800",
     {"date": N_("the date follows the last ';' outside comments: the stamp ends with ';' date-time (RFC "
                 "5321 §4.4), and 14:29:24 -0800 is 22:29:24 UTC"),
      "for": N_("a ';' may stand between clauses; only the last ';' ends them, and the date follows it "
                "(RFC 5321 §4.4): the for clause comes after the first ';'"),
      "id": N_("the id ends where the ';' starts")}),
    (N_("a date inside a comment, no ';'"),
     "from relay.example.net (relay.example.net [192.0.2.30] Mon, 5 Feb 2024 23:59:59 +0000)\r\n"
     "\tby mx.example.org with SMTP id CCC333",
     {"date": N_("the only date is inside a comment, and there is no ';': the date is None")}),
    (N_("a date without a zone"),
     "from mx1.example.net (mx1.example.net [192.0.2.20])\r\n"
     "\tby relay.example.net with ESMTP id BBB222\r\n"
     "\tfor <x@example.net>; Mon, 5 Feb 2024 10:00:05",
     {"date": N_("a date without a zone cannot be placed in time: return None, never guess UTC or local "
                 "time (parsedate_to_datetime gives a naive datetime)")}),
    (N_("a named zone, GMT"),
     "from usw-sf-list1.sourceforge.net (usw-sf-fw2.sourceforge.net\r\n"
     "    [216.136.171.252]) by dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id\r\n"
     "    fB69MYV12654 for <jm-sa@jmason.org>; Thu, 6 Dec 2001 09:22:34 GMT",
     {"date": N_("GMT is an obsolete but well-defined zone name (RFC 5322 §4.3): UTC"),
      "by": N_("a comment can be folded over two lines; 'by' comes after it")}),
    (N_("upper-case keywords and a for without brackets"),
     "FROM client.example.org ([192.0.2.10]) BY mx.example.org WITH ESMTP ID 42\r\n"
     " FOR bob@example.org; Tue, 12 Mar 2024 10:15:02 +0100",
     {"for": N_("keywords are case-insensitive; keep the value as written: 'bob@example.org'"),
      "from": N_("keywords are case-insensitive: FROM is from")}),
]


def _field_test(name: str, value: str, why: dict[str, str]) -> Test:
    expected = expected_value("tracing.parse_received", name, value)

    def judge(call) -> Outcome:
        shown = format_call(call.__name__, (value,))
        got = call(value)
        if type(got) is not dict:
            return Outcome(False, _("return a dict with the keys {map}").format(
                map=', '.join(map(repr, KEYS))), shown, expected, got)
        missing = [k for k in KEYS if k not in got]
        if missing:
            return Outcome(False, _("missing key {missing!r}; use exactly {map} (None for a clause that "
                                    "is not there)").format(
                missing=missing[0], map=', '.join(map(repr, KEYS))), shown, expected, got)
        extra = [k for k in got if k not in KEYS]
        if extra:
            return Outcome(False, _("unexpected key {extra!r}").format(extra=extra[0]), shown, expected, got)
        for key in KEYS:
            e, g = expected[key], got[key]
            if e == g and type(e) is type(g):
                continue
            if g is not None and type(g) is not str:
                message = _("{key!r}: return a str or None, got {name}").format(key=key, name=type(g).__name__)
            else:
                message = _("{key!r}: expected {e!r}, got {g!r}").format(key=key, e=e, g=g)
                if e is not None and g is not None and key != "date" and e.lower() == g.lower():
                    message += _("; keep the value as written, letter case included")
                elif key in why:
                    parts = why[key] if isinstance(why[key], tuple) else (why[key],)
                    message += "; " + "".join(_(part) for part in parts)
                elif key == "date" and e is not None and g is not None:
                    message += _("; write it as ISO 8601 in UTC, e.g. '2014-11-22T19:25:31+00:00'")
            return Outcome(False, message, shown, expected, got)
        return Outcome(True, "", shown, expected, got)

    return Test(name, 1, judge)


PARSE_RECEIVED = register(Exercise(
    id="tracing.parse_received",
    title=N_("Read one Received field"),
    function="parse_received",
    hint=N_("First drop the comments: everything in parentheses, which nest. Then split at the last "
            "';': the date comes after it (email.utils.parsedate_to_datetime; None if it fails or "
            "has no zone; -0000 is UTC). Before it, look for the keywords from, by, with, id, for in "
            "any letter case and take the word after each."),
    tests=tuple(_field_test(*case) for case in _FIELDS),
))

# -- tracing.hops ----------------------------------------------------------------------------

SEED_MESSAGE = (
    "Return-Path: <a1@ausgedacht.de>\n"
    "Delivered-To: <jhuelsmann@imap.techfak.uni-bielefeld.de>\n"
    "Received: from mailin.techfak.uni-bielefeld.de ([2001:638:504:2014:ffff::22])\n"
    "  by imap.TechFak.Uni-Bielefeld.DE (Dovecot) with LMTP id B6rUDn7jcFRmaAAASiQK0w\n"
    "  for <jhuelsmann@imap.techfak.uni-bielefeld.de>; Sat, 22 Nov 2014 20:27:34 +0100\n"
    "Received: by mailin.techfak.uni-bielefeld.de (Postfix)\n"
    "  id 1B1AEB9DF; Sat, 22 Nov 2014 20:27:34 +0100 (CET)\n"
    "Delivered-To: jhuelsmann@techfak.uni-bielefeld.de\n"
    "Received: from smarthost.TechFak.Uni-Bielefeld.DE (smarthost.TechFak.Uni-Bielefeld.DE "
    "[IPv6:2001:638:504:2014:ffff::24])\n"
    "  by mailin.techfak.uni-bielefeld.de (Postfix) with ESMTP id 12A4889D0\n"
    "  for <jhuelsmann@techfak.uni-bielefeld.de>; Sat, 22 Nov 2014 20:27:34 +0100 (CET)\n"
    "Received: from identity (bonnie.TechFak.Uni-Bielefeld.DE [IPv6:2001:638:504:2080::247])\n"
    "  by smarthost.TechFak.Uni-Bielefeld.DE (Postfix) with SMTP id 3489AB000F\n"
    "  for <jhuelsmann@techfak.uni-bielefeld.de>; Sat, 22 Nov 2014 20:25:31 +0100 (CET)\n"
    "From: <not_exists@ausgedacht.de>\n"
    "To: <not_exists2@ausgedacht.de>\n"
    "Subject: Betreff\n"
    "Message-ID: <000000@techfak.uni-bielefeld.de>\n"
    "In-Reply-To: <134535224@example.com>\n"
    "Date: Sat, 22 Nov 2014 20:25:31 +0100 (CET)\n"
    "\n"
    "hallo das hier ist jetzt nicht mehr header sondern der text der auch in der email steht.\n"
)

_SKEWED_CHAIN = (
    "Return-Path: <alice@example.test>\r\n"
    "Received: from mx.example.org (localhost [127.0.0.1])\r\n"
    "\tby mda.example.org (smtpkit) with ESMTP id 3C5A1B2D4E\r\n"
    "\tfor <bob@example.org>; Tue, 12 Mar 2024 10:15:09 +0100\r\n"
    "Received: from msa.example.test (localhost [127.0.0.1])\r\n"
    "\tby mx.example.org (smtpkit) with ESMTP id 9F8E7D6C5B\r\n"
    "\tfor <bob@example.org>; Tue, 12 Mar 2024 09:14:58 +0000\r\n"
    "Received: from laptop.example.test (localhost [127.0.0.1])\r\n"
    "\tby msa.example.test (smtpkit) with ESMTPSA id 0A1B2C3D4E\r\n"
    "\tfor <bob@example.org>; Tue, 12 Mar 2024 10:15:02 +0100\r\n"
    "From: alice@example.test\r\n"
    "To: bob@example.org\r\n"
    "Subject: the MX's clock is slow\r\n"
    "Date: Tue, 12 Mar 2024 10:15:01 +0100\r\n"
    "\r\n"
    "Hi Bob!\r\n"
)

_NO_DATE_AND_COMMENTS = (
    "Received: from filter.example.org (localhost [127.0.0.1])\n"
    "\tby mx.example.org (Postfix) with ESMTP id 4QXyZ12abc\n"
    "\tfor <bob@example.org>; Mon, 5 Feb 2024 10:00:09 +0000\n"
    "Received: from mx.example.org by filter.example.org with LMTP id DDD444\n"
    "\t(queued Mon, 5 Feb 2024 10:00:03 +0000)\n"
    "Received: from relay.example.net (relay.example.net [192.0.2.30])\n"
    "\t(checked Mon, 5 Feb 2024 23:59:59 +0000 with nothing by nobody)\n"
    "\tby mx.example.org (Postfix) with ESMTP id AAA111\n"
    "\tfor <bob@example.org>; Mon, 5 Feb 2024 10:00:00 +0000\n"
    "Subject: a hop without a date, a date in a comment\n"
    "\n"
    "(body)\n"
)

_HOP_CASES = [
    (N_("the seed's message (four fields)"), SEED_MESSAGE, {}),
    (N_("your chain, with a slow clock at the MX"), _SKEWED_CHAIN, {}),
    (N_("a hop without a date; a date inside a comment"), _NO_DATE_AND_COMMENTS, {}),
    (N_("SpamAssassin's sample: seven MTAs, 14 hours, a real -1 s skew"),
     "spamassassin_nice_002_exim_fetchmail.eml", {"sample": True}),
]


def _hop_problem(i: int, key: str, e: Any, g: Any, all_expected: list[dict]) -> str:
    where = _("hop {i} {key!r}").format(i=i, key=key)
    if key == "delay":
        if type(e) is float and type(g) is int and e == g:
            return _("{where}: return float seconds, e.g. (later - earlier).total_seconds()").format(where=where)
        if e is None:
            return (_("{where}: expected None, got {g!r}: the delay is unknown when this hop's or the previous "
                       "hop's date is unknown").format(
                           where=where, g=g) if i else _("{where}: hop 0 has no previous hop: None").format(
                               where=where))
        if isinstance(e, float) and e < 0 and isinstance(g, (int, float)) and not isinstance(g, bool):
            if g == 0:
                return (_("{where}: expected {e!r}, got 0: this hop's clock is behind the previous one (clock "
                           "skew); keep negative delays as they are, never clip them to 0").format(where=where, e=e))
            if g == -e:
                return _("{where}: expected {e!r}, got {g!r}: keep the sign, never abs() a delay").format(
                    where=where, e=e, g=g)
            if g == e + 86400:
                return (_("{where}: expected {e!r}, got {g!r}: timedelta.seconds wraps negative differences around "
                           "a day; use .total_seconds()").format(where=where, e=e, g=g))
        if g is None:
            return _("{where}: expected {e!r}, got None: both dates are known, so the delay is too").format(
                where=where, e=e)
        return _("{where}: expected {e!r}, got {g!r} (this hop's date minus the previous hop's, in "
                  "seconds)").format(where=where, e=e, g=g)
    if key == "date" and e is None and g is not None:
        return (_("{where}: expected None, got {g!r}: a date counts only after the ';' outside comments; "
                   "this field has none").format(where=where, g=g))
    return _("{where}: expected {e!r}, got {g!r}").format(where=where, e=e, g=g)


def _hops_test(name: str, text: str, options: dict) -> Test:
    message = sample(text) if options.get("sample") else text
    expected = expected_value("tracing.hops", name, message)

    def judge(call) -> Outcome:
        shown = format_call(call.__name__, (message if len(message) < 200 else message[:200] + "...",))
        got = call(message)
        if type(got) is not list or any(type(h) is not dict for h in got):
            return Outcome(False, _("return a list of dicts, one per Received field"), shown, expected, got)
        if len(got) != len(expected):
            return Outcome(False, _("one hop per Received field: expected {n_expected}, got {n_got}").format(
                n_expected=len(expected), n_got=len(got)),
                           shown, expected, got)
        for hop in got:
            if set(hop) != set(HOP_KEYS):
                return Outcome(False, _("each hop is a dict with exactly the keys {map}").format(
                    map=', '.join(map(repr, HOP_KEYS))),
                               shown, expected, got)
        order = [(h["from"], h["by"], h["date"]) for h in got]
        expected_order = [(h["from"], h["by"], h["date"]) for h in expected]
        if order != expected_order and order == expected_order[::-1]:
            return Outcome(False, _("your hops are top-down: every server adds its Received field on top "
                                    "(RFC 5321 §4.4), so hop 0, the origin, is the bottom-most field"),
                           shown, expected, got)
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            for key in HOP_KEYS:
                if e[key] != g[key] or type(e[key]) is not type(g[key]):
                    return Outcome(False, _hop_problem(i, key, e[key], g[key], expected), shown, expected, got)
        return Outcome(True, "", shown, expected, got)

    return Test(name, 1, judge)


HOPS = register(Exercise(
    id="tracing.hops",
    title=N_("A message's hops, with delays"),
    function="hops",
    hint=N_("Get every Received field with email.message_from_string(text).get_all('Received'), "
            "reverse the list (the bottom-most field is hop 0), parse each with your parse_received, "
            "and for each hop after the first subtract the previous hop's date: "
            "datetime.fromisoformat(b) - datetime.fromisoformat(a), then .total_seconds(). Keep "
            "negative results; None if a date is missing."),
    tests=tuple(_hops_test(*case) for case in _HOP_CASES),
))
