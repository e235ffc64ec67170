"""Exercises of notebook 03 (reply codes): read a reply, classify its code, decide to retry.

Expected answers come from the grader-only reference solutions (``answers.replies``), built on
`kit.protocol`, the tested core, so the checker and the lab server agree with the RFC text the
notebook quotes (RFC 5321 §4.2, §4.2.1); the student release ships only the values.
"""

from __future__ import annotations

from ..i18n import N_, _
from ._exercise import Exercise
from ._expected import expected
from ._registry import register
from ._tests import Case
from ._values import explained

_PARSE_SAMPLES = [
    (N_("a one-line reply"), ["250 2.1.5 Ok"]),
    (N_("a reply without an enhanced code"), ["354 End data with <CR><LF>.<CR><LF>"]),
    (N_("a multi-line EHLO reply"), ["250-lab.example.test", "250-PIPELINING", "250-SIZE 10485760", "250 HELP"]),
    (N_("a multi-line reply with enhanced codes"), ["452-4.2.2 Mailbox full", "452 4.2.2 Try again later"]),
    (N_("a greeting"), ["220 smarthost.example.test ESMTP Postfix"]),
    (N_("digits that are not an enhanced code"), ["250 1.2 things"]),
    (N_("an enhanced code whose class does not match"), ["250 5.1.1 odd"]),
    # RFC 3463 §2: subject and detail have one to three digits each (RFC 4954's 5.7.11, RFC 7505's 5.1.10)
    (N_("a two-digit detail"), ["538 5.7.11 Encryption required for requested authentication mechanism"]),
    (N_("two-digit details on every line"), ["550-5.1.10 Recipient address example.org has null MX",
                                          "550 5.1.10 See RFC 7505"]),
]


def _parse_diagnosis(lines: list[str]):
    """Name the classic mistake: an enhanced code read with one digit per number (\\d\\.\\d\\.\\d)."""
    code = lines[0][4:].split(" ", 1)[0]
    numbers = code.split(".")
    multi_digit = len(numbers) == 3 and any(len(n) > 1 for n in numbers)

    def why(got) -> str | None:
        if not multi_digit or type(got) is not dict or got.get("enhanced") == code:
            return None
        return (_("the enhanced code is {code}, not {get!r}: subject and detail have one to three digits "
                   "each (RFC 3463 §2), so a pattern like \\d\\.\\d\\.\\d stops too early").format(
                       code=code, get=got.get('enhanced')))

    return why


PARSE_REPLY = register(Exercise(
    id="replies.parse_reply",
    title=N_("Parse a reply into code, enhanced status and text"),
    function="parse_reply",
    hint=N_("Every line starts with the same three digits; '-' after them means more lines follow, a "
            "space means the last line (RFC 5321 §4.2.1). An enhanced code (RFC 3463) such as 2.1.5 "
            "comes first in the text, and its first digit equals the reply's first digit; its "
            "subject and detail have one to three digits each (5.7.11)."),
    tests=tuple(Case(name, (lines,), expected("replies.parse_reply", name, lines),
                     compare=explained(_parse_diagnosis(lines)))
                for name, lines in _PARSE_SAMPLES),
))

_CODES = [(250, N_("250: OK")), (354, N_("354: after DATA")), (221, N_("221: QUIT")), (421, N_("421: "
                                                                                               "service "
                                                                                               "not "
                                                                                               "available")),
          (451, N_("451: local error, e.g. greylisting")), (452, N_("452: insufficient system storage")),
          (550, N_("550: mailbox unavailable")), (554, N_("554: transaction failed")),
          (150, N_("150: 1yz is not part of SMTP")), (620, N_("620: no such class"))]

CLASSIFY = register(Exercise(
    id="replies.classify",
    title=N_("Classify a reply code by its first digit"),
    function="classify",
    hint=N_("Return 'positive completion' (2yz), 'positive intermediate' (3yz), 'transient negative' "
            "(4yz), 'permanent negative' (5yz), or 'invalid' for anything else: RFC 5321 §4.2.1 has "
            "no 1yz in SMTP."),
    tests=tuple(Case(label, (code,), expected("replies.classify", label, code)) for code, label in _CODES),
))

_RETRY = [
    (N_("451 greylisting"), "451 4.7.1 <b@example.test>: Recipient address rejected: Greylisted"),
    (N_("452 4.2.2, a full mailbox reported as temporary"), "452 4.2.2 Mailbox full"),
    (N_("421 closing"), "421 4.3.2 Service not available, closing transmission channel"),
    (N_("550 unknown user"), "550 5.1.1 <x@example.test>: Recipient address rejected: User unknown"),
    (N_("554 says 'try again' but is permanent"), "554 5.7.1 Rejected, try again later"),
    (N_("250 success"), "250 2.0.0 Ok: queued as 34B9A8000F"),
    (N_("a multi-line 4yz reply"), "452-4.2.2 Mailbox full\n452 4.2.2 Please try again later"),
    (N_("a 4yz reply with a 5.x.x-looking text"), "450 mailbox busy 5.0.0"),
]

SHOULD_RETRY = register(Exercise(
    id="replies.should_retry",
    title=N_("Should the client try again later?"),
    function="should_retry",
    hint=N_("Decide by the reply code alone, never by its text (RFC 5321 §4.2.1): 4yz means try "
            "again later, 5yz means do not repeat the same request, 2yz means it worked."),
    tests=tuple(Case(name, (reply,), expected("replies.should_retry", name, reply)) for name, reply in _RETRY),
))
