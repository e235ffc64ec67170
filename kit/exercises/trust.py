"""Exercises of notebook 08 (trust and limits): a queue's retry policy, the forged hop in a
Received chain, and the spoofed message that DMARC would catch.

All three are pure functions on plain values. The expected answers come from the grader-only
reference solutions (``answers.trust``), built on the kit's tested pieces (`kit.trace` for the
chain, `kit.trust.dmarc` for alignment) or on the rule stated in the notebook (the retry
schedule), and each checker names the classic mistake
it sees: retrying a 5yz, never giving up, trusting the chain from the bottom, matching
From: against MAIL FROM instead of asking SPF and DKIM.
"""

from __future__ import annotations

from pathlib import Path

from ..i18n import N_, _
from ._exercise import Exercise
from ._expected import expected
from ._registry import register
from ._tests import Case
from ._values import explained
from .tracing import SEED_MESSAGE

__all__ = ["FIRST_WAIT", "MAX_WAIT", "MAX_ATTEMPTS", "SKEW_SECONDS", "RETRY_POLICY", "FORGED_HOP", "SPOOFED",
           "chain"]

# -- trust.retry_policy -----------------------------------------------------------------------

#: RFC 5321 §4.5.4.1: "the retry interval SHOULD be at least 30 minutes".
FIRST_WAIT = 30 * 60
MAX_WAIT = 4 * 60 * 60
#: §4.5.4.1: "the give-up time generally needs to be at least 4-5 days". With waits of 30 min, 1 h,
#: 2 h and then 4 h, the waits before try 34 add up to 5 days 3.5 hours (444600 s).
MAX_ATTEMPTS = 34


RETRY_CASES = (
    (N_("250 after the first try"), 250, 1, N_("2yz: the next server took responsibility; nothing left to do")),
    (N_("451 greylisting, first try"), 451, 1, N_("4yz: keep the mail and wait 30 minutes (RFC 5321 §4.5.4.1)")),
    (N_("421 at the second try"), 421, 2, N_("after the second failed try wait twice as long: 3600 seconds")),
    (N_("452 at the third try"), 452, 3, N_("back-off: 1800, 3600, 7200, ... seconds")),
    (N_("450 at the fifth try: the cap"), 450, 5, N_("never wait longer than 4 hours (14400 seconds)")),
    (N_("451 at the sixth try: too early to give up"), 451, 6,
     N_("after 6 tries the mail has waited only 11.5 hours, and RFC 5321 §4.5.4.1 wants a "
        "give-up time of at least 4-5 days: wait 14400 seconds and try again")),
    (N_("421 at try 33: one more to go"), 421, MAX_ATTEMPTS - 1,
     N_("try {max_attempts} is not the last one: wait 14400 seconds; try {max_attempts2} is the "
        "last", max_attempts=MAX_ATTEMPTS - 1, max_attempts2=MAX_ATTEMPTS)),
    (N_("451 at the last try"), 451, MAX_ATTEMPTS,
     N_("try {max_attempts} was the last one, after more than 5 days of waiting: give up and "
        "bounce", max_attempts=MAX_ATTEMPTS)),
    (N_("550 at the first try"), 550, 1, N_("5yz is permanent: do not try again, bounce at once (RFC 5321 §4.2.1)")),
    (N_("554 at the third try"), 554, 3, N_("5yz is permanent whenever it comes: bounce")),
    (N_("a code only its first digit tells: 471"), 471, 1, N_("unknown codes are read by their first "
                                                              "digit (§4.2): 4 = retry")),
)


def _retry_test(name: str, code: int, attempt: int, why: str) -> Case:
    answer = expected("trust.retry_policy", name, code, attempt)

    def diagnosis(got) -> str:
        if type(answer) is int and type(got) is float and got == answer:
            return _("return the wait as an int number of seconds")
        return _(why)

    return Case(name, (code, attempt), answer, compare=explained(diagnosis))


RETRY_POLICY = register(Exercise(
    id="trust.retry_policy",
    title=N_("A queue's retry policy"),
    function="retry_policy",
    hint=N_("Decide by the first digit of the code: 2 -> 'delivered'; 5 -> 'bounce'; 4 -> wait "
            "{first_wait} * 2**(attempt - 1) seconds, at most {max_wait}, unless attempt is "
            "{max_attempts} (the last try, after more than 5 days of waiting): then 'bounce'.",
             first_wait=FIRST_WAIT, max_wait=MAX_WAIT, max_attempts=MAX_ATTEMPTS),
    tests=tuple(_retry_test(*case) for case in RETRY_CASES),
))


# -- trust.forged_hop ---------------------------------------------------------------------------

def chain(*fields: str, body: str = "Hello.\r\n") -> str:
    """A message whose header holds ``fields`` as Received fields (top first), then From etc."""
    head = "".join(f"Received: {f}\r\n" for f in fields)
    return (head + "From: Bank <service@bank.example>\r\nTo: bob@example.org\r\nSubject: Your account\r\n"
            "Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\n" + body)


_TOP = ("from mail.attacker.example (unknown [203.0.113.66]) by mx.example.org (smtpkit) with ESMTP id 1A; "
        "Sat, 28 Nov 2026 12:05:00 +0000")
_FAKE_BANK = ("from office.bank.example ([198.51.100.10]) by smtp.bank.example with ESMTPSA id 7B; "
              "Sat, 28 Nov 2026 12:01:00 +0000")
_FAKE_ORIGIN = ("from pc17.home.example ([10.0.0.17]) by smtp.isp.example with SMTP id 6C; "
                "Sat, 28 Nov 2026 12:00:00 +0000")
_SAMPLES = Path(__file__).resolve().parents[1] / "trace" / "samples"


def _sample(name: str) -> str:
    return (_SAMPLES / name).read_text(encoding="utf-8")


#: (name, message, why it is wrong, {a wrong index: what that index gets wrong}).
FORGED_CASES = (
    (N_("an honest chain"), chain(
        "from mx2.example.org ([192.0.2.26]) by imap.example.org with LMTP id 9Z; Sat, 28 Nov 2026 12:00:09 +0000",
        "from smtp.uni.example ([192.0.2.5]) by mx2.example.org with ESMTPS id 8Y; Sat, 28 Nov 2026 12:00:05 +0000",
        "from laptop.uni.example ([10.1.2.3]) by smtp.uni.example with ESMTPSA id 7X; Sat, 28 Nov 2026 12:00:01 +0000"),
     N_("every hop's by is the next hop's from, and the times go forward: nothing looks forged, "
        "return None"), {}),
    (N_("a fake hop under the real one"), chain(_TOP, _FAKE_BANK),
     N_("hop 1 (mx.example.org) received the mail from mail.attacker.example, but hop 0 claims "
        "it ended at smtp.bank.example: hop 0 was written by the sender and is forged"), {}),
    (N_("two fake hops"), chain(_TOP, _FAKE_BANK, _FAKE_ORIGIN),
     N_("read from the top (your own server) down: the first link that breaks is between hops 1 "
        "and 2, so hop 1 and everything below it is the sender's invention; return 1, not 0 (the "
        "break lower down only shows the forger was careless)"), {}),
    (N_("names match but time runs backwards"), chain(
        "from relay.example.net ([192.0.2.80]) by mx.example.org with ESMTPS id 3C; Sat, 28 Nov 2026 12:00:00 +0000",
        "from smtp.example.net ([192.0.2.81]) by relay.example.net with ESMTP id 2B; Sat, 28 Nov 2026 14:00:00 +0000",
        "from client.example.net ([192.0.2.82]) by smtp.example.net with ESMTPSA id 1A; "
        "Sat, 28 Nov 2026 11:59:00 +0000"),
     N_("hop 1 claims 14:00, but the next server got the mail at 12:00: a date two hours "
        "backwards breaks the link too; return 1"), {}),
    (N_("names differ only in letter case"), chain(
        "from MX.Example.ORG ([192.0.2.25]) by imap.example.org with LMTP id 5E; Sat, 28 Nov 2026 12:00:02 +0000",
        "from smtp.uni.example ([192.0.2.5]) by mx.example.org with ESMTPS id 4D; Sat, 28 Nov 2026 12:00:01 +0000"),
     N_("host names are case-insensitive (RFC 5321 §2.4): MX.Example.ORG is mx.example.org; "
        "return None"), {}),
    (N_("a comment that says 'by' does not count"), chain(
        "from gw.example.org (relayed by spoof.example) by mx.example.org with ESMTP id 6F; "
        "Sat, 28 Nov 2026 12:00:03 +0000",
        "from smtp.uni.example ([192.0.2.5]) by gw.example.org with ESMTP id 5E; Sat, 28 Nov 2026 12:00:01 +0000"),
     N_("words inside (comments) are not clauses (RFC 5322 §3.2.2): the by of the top hop is "
        "mx.example.org and the chain is intact; return None"), {}),
    (N_("the seed's message: Postfix hands the mail to itself"), SEED_MESSAGE,
     N_("an honest chain: return None"), {
         1: N_("hop 2, 'Received: by mailin.techfak.uni-bielefeld.de (Postfix) id ...', has no from "
               "clause: a program on that host (here Postfix itself, after a filter) handed the mail "
               "on. The chain goes on on that host: the link holds")}),
    (N_("one second of clock skew and local hand-overs (SpamAssassin's sample)"),
     _sample("spamassassin_nice_002_exim_fetchmail.eml"), N_("an honest chain: return None"), {
         5: N_("hop 6 is dated 1 second before hop 5: honest clocks disagree by seconds (notebook 05). "
               "Only a hop dated more than 10 minutes before the one below breaks the link"),
         2: N_("hop 3 came from 127.0.0.1, a loopback address, and was written by the same host as hop "
               "2 (usw-sf-list1.sourceforge.net): a hand-over inside one machine"),
         0: N_("hop 1 has no from clause ('(from apache@localhost)' is a comment): a local program "
               "handed the mail in, and the link holds")}),
    (N_("one host, two names (PowerMTA to Exchange Online)"), _sample("mha_o365_powermta.eml"),
     N_("an honest chain: return None"), {
         1: N_("BN3NAM04FT003.mail.protection.outlook.com (the by of hop 1) and "
               "BN3NAM04FT003.eop-NAM04.prod.protection.outlook.com (the from of hop 2) share their "
               "last two labels, outlook.com: one organisation's host under two names")}),
    (N_("a by that is an address"), chain(
        "from relay.example.net ([192.0.2.80]) by mx.example.org with ESMTPS id 3C; Sat, 28 Nov 2026 12:00:02 +0000",
        "from client.example.net ([192.0.2.82]) by 192.0.2.80 with ESMTP id 2B; Sat, 28 Nov 2026 12:00:01 +0000"),
     N_("hop 0 names its host by address, 192.0.2.80: the very address mx.example.org saw "
        "relay.example.net connect from (in the comment after the name); the link holds, return "
        "None"), {}),
    (N_("a client that calls itself localhost"), chain(
        "from localhost (unknown [203.0.113.66]) by mx.example.org (smtpkit) with ESMTP id 1A; "
        "Sat, 28 Nov 2026 12:05:00 +0000", _FAKE_BANK),
     N_("'localhost' is only the name the client gave in HELO; the address mx.example.org saw, "
        "203.0.113.66, is no loopback address, and hop 0 claims smtp.bank.example: hop 0 is the "
        "sender's; return 0"), {}),
)


def _forged_test(name: str, message: str, why: str, by_index: dict[int, str]) -> Case:
    def diagnosis(got) -> str:
        if got is not None and type(got) is not int:
            return _("return the hop's index as an int (0 = the bottom-most field), or None")
        return _(by_index.get(got, why))

    return Case(name, (message,), expected("trust.forged_hop", name, message), compare=explained(diagnosis),
                label=f"forged_hop(<message with {message.count('Received:')} Received fields>)")


#: Clock skew tolerated between two honest hops (a heuristic: NTP keeps clocks within seconds).
SKEW_SECONDS = 10 * 60

FORGED_HOP = register(Exercise(
    id="trust.forged_hop",
    title=N_("Find the forged hop in a Received chain"),
    function="forged_hop",
    hint=N_("Use kit.trace: hops = list(trace(message)), hop 0 at the bottom. Walk from the top "
            "down: for each pair (below, above) the link holds if above.from_ is None (a local "
            "hand-over), or below.by names the host of above.from_ (the first word in any letter "
            "case, the same last two labels, or the address in above.from_'s comment), or, when that "
            "address is 127.0.0.1 or ::1, the host of above.by. It breaks anyway if "
            "above.delay_seconds < -{skew_seconds}. Return the index of the first 'below' whose link "
            "breaks, else None.", skew_seconds=SKEW_SECONDS),
    tests=tuple(_forged_test(*case) for case in FORGED_CASES),
))


# -- trust.spoofed ------------------------------------------------------------------------------

SPOOF_CASES = (
    (N_("everything from the bank"), {"header_from": "service@bank.example", "mail_from": "service@bank.example",
                                  "spf": "pass", "dkim": [{"d": "bank.example", "result": "pass"}]},
     N_("SPF passed for bank.example, the From: domain: not spoofed")),
    (N_("SPF passes, but for the attacker's domain"), {
        "header_from": "service@bank.example", "mail_from": "bounce@attacker.example", "spf": "pass", "dkim": []},
     N_("SPF vouches only for attacker.example, not for the bank.example a reader sees in From:: "
        "alignment fails, so the message is spoofed")),
    (N_("a valid DKIM signature from the wrong domain"), {
        "header_from": "service@bank.example", "mail_from": "x@attacker.example", "spf": "fail",
        "dkim": [{"d": "attacker.example", "result": "pass"}]},
     N_("a signature that verifies proves only that attacker.example signed; d= must align with "
        "From: (RFC 7489 §3.1.1)")),
    (N_("a mailing service: envelope differs, DKIM aligns"), {
        "header_from": "news@shop.example", "mail_from": "bounces-4711@mailer.example", "spf": "pass",
        "dkim": [{"d": "shop.example", "result": "pass"}]},
     N_("MAIL FROM and From: may differ for honest reasons (bounce handling); the DKIM signature "
        "of shop.example aligns and passes: not spoofed")),
    (N_("a subdomain in the envelope: relaxed alignment"), {
        "header_from": "alice@uni.example", "mail_from": "alice@mail.uni.example", "spf": "pass", "dkim": []},
     N_("relaxed alignment (the default) compares organizational domains: mail.uni.example "
        "aligns with uni.example; not spoofed")),
    (N_("the aligned signature does not verify"), {
        "header_from": "service@bank.example", "mail_from": "service@bank.example", "spf": "softfail",
        "dkim": [{"d": "bank.example", "result": "fail"}]},
     N_("an aligned domain counts only if its check passed: SPF softfail and a broken signature "
        "vouch for nothing")),
)


def _spoof_test(name: str, facts: dict, why: str) -> Case:
    return Case(name, (facts,), expected("trust.spoofed", name, facts),
                compare=explained(lambda got: _(why) if type(got) is bool else _("return True (spoofed) or False")))


SPOOFED = register(Exercise(
    id="trust.spoofed",
    title=N_("Spot the spoofed message (DMARC alignment)"),
    function="spoofed",
    hint=N_("The message is fine when SPF is 'pass' and the MAIL FROM domain aligns with the From: "
            "domain, or when some DKIM signature has result 'pass' and its d= aligns with the From: "
            "domain. Aligned = same last two labels (relaxed, RFC 7489 §3.1). Otherwise return True."),
    tests=tuple(_spoof_test(*case) for case in SPOOF_CASES),
))
