"""Exercises of notebook 04 (message format): build a valid message; compare envelope and header.

``message.build_message`` is judged the way a receiver would judge the text: parsed with
Python's ``email`` package against RFC 5322 (CRLF lines, the required Date and From fields
of §3.6, a well-formed and unique Message-ID per §3.6.4, MIME per RFC 2045 for non-ASCII
text), then sent to a lab server owned by the judge, which must accept and store it.

``message.disagreements`` compares the SMTP envelope (RFC 5321 §2.3.1, §3.3) with the
header section (RFC 5322 §3.6.2, §3.6.3): the two are written by different people and can
say different things, legitimately (Bcc, mailing lists, bounces) or not (spoofing, §7.1).
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timezone
from email.utils import getaddresses, parsedate_to_datetime

from ..client import send_mail
from ..i18n import N_, _
from ..server.controller import sockets_from
from ._exercise import Exercise
from ._expected import expected as expected_value
from ._registry import register
from ._tests import Outcome, Test, format_call

SENDER = "alice@example.test"

# -- message.build_message ---------------------------------------------------------------------

_MSG_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_MAX_LINE = 998  # RFC 5322 §2.1.1, without the CRLF
_DATE_WINDOW = 24 * 3600  # the Date says when the message was written: now, give or take a day


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _addresses(msg: email.message.Message, name: str) -> list[str]:
    values = [str(v) for v in msg.get_all(name, [])]
    return [addr for _, addr in getaddresses(values) if addr]


def _body_text(msg: email.message.EmailMessage) -> str | None:
    part = msg.get_body(("plain",)) if msg.is_multipart() else msg
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeError, KeyError, AttributeError):
        return None


def problems_of(text: str, sender: str, recipients: list[str], subject: str, body: str,
                *, now: float | None = None) -> str | None:
    """The first thing wrong with ``text`` as the message asked for, or None.

    Shared by the checker and the tests; each message names the rule and its RFC section.
    """
    if type(text) is not str:
        return _("return the whole message as one str (header fields, an empty line, the body)")
    if re.search(r"(?<!\r)\n", text) or re.search(r"\r(?!\n)", text):
        return (_("every line must end in \\r\\n (CRLF), RFC 5322 §2.1; "
                   "msg.as_string(policy=email.policy.SMTP) writes CRLF"))
    if "\r\n\r\n" not in text:
        return _("an empty line must separate the header section from the body (RFC 5322 §2.1)")
    head, _sep, raw_body = text.partition("\r\n\r\n")
    if not head.isascii():
        return (_("header fields must be US-ASCII (RFC 5322 §2.2): put non-ASCII text in RFC 2047 encoded "
                   "words; EmailMessage does this when you assign msg['Subject'] = ..."))
    if any(len(line) > _MAX_LINE for line in text.split("\r\n")):
        return _("a line is longer than 998 characters (RFC 5322 §2.1.1)")
    msg = email.message_from_string(text, policy=email.policy.default)

    dates = msg.get_all("Date", [])
    if len(dates) != 1:
        return (_("RFC 5322 §3.6 requires exactly one Date: field, found {n_dates}; "
                   "email.utils.format_datetime(datetime.now().astimezone()) writes one").format(n_dates=len(dates)))
    try:
        when = parsedate_to_datetime(str(dates[0]))
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None or when.tzinfo is None:
        return (_("Date: {dates!r} is not an RFC 5322 date-time with a zone, such as 'Tue, 12 Mar 2024 "
                   "10:15:02 +0100' (§3.3); use email.utils.format_datetime").format(dates=str(dates[0])))
    reference = datetime.now(timezone.utc).timestamp() if now is None else now
    if abs(when.timestamp() - reference) > _DATE_WINDOW:
        return _("Date: {dates!r} is not now: the Date is when the message was written (§3.6.1)").format(
            dates=str(dates[0]))

    froms = msg.get_all("From", [])
    if len(froms) != 1:
        return _("RFC 5322 §3.6 requires exactly one From: field, found {n_froms}").format(n_froms=len(froms))
    if [a.lower() for a in _addresses(msg, "From")] != [sender.lower()]:
        return _("From: must name the sender {sender!r} (§3.6.2), got {froms!r}").format(
            sender=sender, froms=str(froms[0]))

    ids = msg.get_all("Message-ID", [])
    if len(ids) != 1:
        return (_("every message SHOULD have one Message-ID: field (§3.6.4), and this exercise requires "
                   "it; found {n_ids}; email.utils.make_msgid() makes one").format(n_ids=len(ids)))
    if not _MSG_ID.fullmatch(str(ids[0]).strip()):
        return (_("Message-ID: {ids!r} is not a msg-id: it must look like <unique-part@domain>, angle "
                   "brackets included (§3.6.4)").format(ids=str(ids[0])))

    to = [a.lower() for a in _addresses(msg, "To")]
    if to != [r.lower() for r in recipients]:
        return _("To: must list the recipients {recipients} in order (§3.6.3), got {addresses}").format(
            recipients=recipients, addresses=_addresses(msg, 'To'))
    subjects = msg.get_all("Subject", [])
    if len(subjects) != 1 or str(subjects[0]) != subject:
        got = str(subjects[0]) if subjects else None
        return _("Subject: should be {subject!r} (after decoding), got {got!r}").format(subject=subject, got=got)

    if not body.isascii():
        if msg.get("MIME-Version") is None:
            return _("non-ASCII text needs MIME: a MIME-Version: 1.0 field (RFC 2045 §4)")
        part = msg.get_body(("plain",)) if msg.is_multipart() else msg
        if part is None or part.get_param("charset") is None:
            return (_("non-ASCII text needs its charset declared: Content-Type: text/plain; charset=utf-8 (RFC "
                       "2046 §4.1.2)"))
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        if not raw_body.isascii() and cte not in ("8bit", "binary"):
            return (_("the body holds 8-bit characters but says Content-Transfer-Encoding: {cte} (RFC 2045 §6: "
                       "7bit is the default); declare 8bit, or better encode it as quoted-printable or base64").format(
                           cte=cte))
    got_body = _body_text(msg)
    if got_body is None or _lf(got_body).rstrip("\n") != _lf(body).rstrip("\n"):
        return (_("the body does not read back as the text given: expected {lf!r}, got {got_body!r} (after "
                   "decoding its transfer encoding)").format(lf=_lf(body), got_body=got_body))
    return None


def _build_test(name: str, points: float, recipients: list[str], subject: str, body: str) -> Test:
    args = (SENDER, recipients, subject, body)

    def judge(call) -> Outcome:
        shown = format_call(call.__name__, args)
        got = call(*args)
        problem = problems_of(got, *args)
        return Outcome(problem is None, problem or "", shown, _("a valid RFC 5322 message"),
                       got if problem else "valid")

    return Test(name, points, judge)


def _unique_test() -> Test:
    args = (SENDER, ["bob@example.test"], "Twice", "Same text, two messages.\n")

    def judge(call) -> Outcome:
        shown = _("two calls of {format_call}").format(format_call=format_call(call.__name__, args))
        first, second = call(*args), call(*args)
        for text in (first, second):
            problem = problems_of(text, *args)
            if problem:
                return Outcome(False, problem, shown, _("two valid messages"), text)
        ids = [str(email.message_from_string(t, policy=email.policy.default)["Message-ID"]) for t in (first, second)]
        ok = ids[0] != ids[1]
        return Outcome(ok, "" if ok else _("each message needs its own Message-ID, unique world-wide (RFC "
                                           "5322 §3.6.4): make a new one per call with "
                                           "email.utils.make_msgid()"),
                       shown, _("two different Message-IDs"), ids)

    return Test(N_("every message gets its own Message-ID"), 1, judge)


def _server_test() -> Test:
    from .dialogue import judge_server

    recipients = ["bob@example.test", "carol@example.test"]
    args = (SENDER, recipients, "Over the wire", "Line one.\n.Line two starts with a dot.\n")

    def judge(call) -> Outcome:
        shown = format_call(call.__name__, args)
        text = call(*args)
        problem = problems_of(text, *args)
        if problem:
            return Outcome(False, problem, shown, _("a valid message"), text)
        # the judge itself sends the student's message: the server is the judge's, not the kernel's
        with sockets_from(None), judge_server() as server:
            result = send_mail(server.host, server.port, SENDER, recipients, text)
            if not result.ok:
                return Outcome(False, _("the lab server did not accept it: {error}").format(
                    error=result.error), shown, _("250"), result.error)
            stored = server.wait_for(1)[0].message
        sent = email.message_from_string(text, policy=email.policy.default)
        for name in ("From", "To", "Subject", "Date", "Message-ID"):
            if str(stored[name]) != str(sent[name]):
                return Outcome(False, _("{name}: arrived changed").format(
                    name=name), shown, str(sent[name]), str(stored[name]))
        if _lf(_body_text(stored) or "").rstrip("\n") != _lf(args[3]).rstrip("\n"):
            return Outcome(False, _("the body arrived changed"), shown, args[3], _body_text(stored))
        return Outcome(True, "", shown, _("stored unchanged"), _("stored unchanged"))

    return Test(N_("a lab server accepts and stores it unchanged"), 1, judge)


BUILD_MESSAGE = register(Exercise(
    id="message.build_message",
    title=N_("Build a valid message"),
    function="build_message",
    hint=N_("Use email.message.EmailMessage: set From, To (', '.join(recipients)), Subject, Date "
            "(email.utils.format_datetime(datetime.now().astimezone())) and Message-ID "
            "(email.utils.make_msgid(domain=...)), then msg.set_content(body) and return "
            "msg.as_string(policy=email.policy.SMTP), which ends every line in CRLF."),
    time_limit=10.0,
    tests=(
        _build_test(N_("a plain message"), 2, ["bob@example.test"], "Hello", "Hi Bob!\nSee you on Monday.\n"),
        _build_test(N_("two recipients"), 1, ["bob@example.test", "carol@example.test"], "Both", "Hi both.\n"),
        _unique_test(),
        _build_test(N_("non-ASCII subject and body (MIME)"), 2, ["bob@example.test"], "Grüße aus Bielefeld",
                    "Schöne Grüße, Jürgen!\n"),
        _server_test(),
    ),
))

# -- message.disagreements ---------------------------------------------------------------------


SEED_HEADER = (
    "From: <not_exists@ausgedacht.de>\r\n"
    "To: <not_exists2@ausgedacht.de>\r\n"
    "Subject: Betreff\r\n"
    "Message-ID: <0000000@techfak.uni-bielefeld.de>\r\n"
    "In-Reply_to: <123456@example.com>\r\n"
)

# (name, envelope, header text, why each expected item is there, why an item must not be there)
_DISAGREE = [
    (N_("everything agrees (display names are not addresses)"),
     {"mail_from": "alice@example.test", "rcpt_tos": ["bob@example.test"]},
     "From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: Hi\r\n",
     "", N_("compare addresses only: 'Alice Example <alice@example.test>' is the address "
            "alice@example.test")),
    (N_("a Bcc recipient"),
     {"mail_from": "alice@example.test", "rcpt_tos": ["bob@example.test", "carol@example.test", "dave@example.test"]},
     "From: alice@example.test\r\nTo: bob@example.test\r\nCc: carol@example.test\r\nSubject: Minutes\r\n",
     N_("dave is in RCPT TO but in neither To nor Cc: a blind copy (RFC 5322 §3.6.3, RFC 5321 "
        "§7.2)"),
     N_("Cc recipients are in the header too: compare RCPT TO with To and Cc together")),
    (N_("the seed's telnet session"),
     {"mail_from": "a1@ausgedacht.de", "rcpt_tos": ["jhuelsmann@techfak.uni-bielefeld.de"]},
     SEED_HEADER,
     N_("in the seed, MAIL FROM, RCPT TO, From: and To: name four different addresses"), ""),
    (N_("letter case does not matter"),
     {"mail_from": "Alice@Example.TEST", "rcpt_tos": ["BOB@example.test"]},
     "From: alice@example.test\r\nTo: Bob <bob@EXAMPLE.test>\r\n",
     "", N_("compare addresses case-insensitively (and report them in lower case)")),
    (N_("a display name with a comma"),
     {"mail_from": "alice@example.test", "rcpt_tos": ["john@example.test", "mary@example.test"]},
     'From: alice@example.test\r\nTo: "Doe, John" <john@example.test>, Mary <mary@example.test>\r\n',
     "", N_("a comma inside a quoted display name does not separate addresses: use "
            "email.utils.getaddresses")),
    (N_("a folded To field"),
     {"mail_from": "alice@example.test", "rcpt_tos": ["bob@example.test", "carol@example.test"]},
     "From: alice@example.test\r\nTo: bob@example.test,\r\n carol@example.test\r\nSubject: Folded\r\n",
     "", N_("a line that starts with white space continues the field above (RFC 5322 §2.2.3)")),
    ("undisclosed recipients",
     {"mail_from": "alice@example.test", "rcpt_tos": ["bob@example.test", "carol@example.test"]},
     "From: alice@example.test\r\nTo: undisclosed-recipients:;\r\n",
     N_("'undisclosed-recipients:;' is an empty group (RFC 5322 §3.4): every envelope recipient "
        "is blind"),
     N_("an empty group contains no address")),
    (N_("a bounce has an empty envelope sender"),
     {"mail_from": "", "rcpt_tos": ["alice@example.test"]},
     "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nTo: alice@example.test\r\n",
     N_("a bounce is sent with MAIL FROM:<> (RFC 5321 §4.5.5), so it never matches From:"), ""),
    (N_("a mailing list"),
     {"mail_from": "list-bounces@lists.example.test", "rcpt_tos": ["dave@example.test"]},
     "From: Alice <alice@example.test>\r\nTo: team@lists.example.test\r\nSubject: [team] News\r\n",
     N_("a list server re-sends with its own envelope: its bounce address, one member as "
        "recipient, while the header keeps the author and the list address"), ""),
]


def _disagree_test(name: str, envelope: dict, header: str, why: str, why_not: str) -> Test:
    expected = expected_value("message.disagreements", name, envelope, header)

    def judge(call) -> Outcome:
        shown = format_call(call.__name__, (envelope, header))
        got = call(envelope, header)
        if type(got) is not list or any(type(x) is not str for x in got):
            return Outcome(False, _("return a list of str such as ['From', 'envelope only: dave@example.test']"),
                           shown, expected, got)
        if got == expected:
            return Outcome(True, "", shown, expected, got)
        missing = [x for x in expected if x not in got]
        extra = [x for x in got if x not in expected]
        if not missing and not extra:
            message = _("right items; return them sorted, e.g. sorted(items)") if sorted(got) == expected \
                else _("each item only once")
        elif missing:
            message = _("missing {item!r}").format(item=missing[0]) + (f": {_(why)}" if why else "")
        else:
            message = _("{extra!r} should not be there").format(extra=extra[0]) + (f": {_(why_not)}" if why_not else "")
        return Outcome(False, message, shown, expected, got)

    return Test(name, 1, judge)


DISAGREEMENTS = register(Exercise(
    id="message.disagreements",
    title=N_("Where do the envelope and the header disagree?"),
    function="disagreements",
    hint=N_("Parse the header with email.message_from_string; get the addresses with "
            "email.utils.getaddresses(msg.get_all('To', []) + msg.get_all('Cc', [])) and drop empty "
            "ones; lower-case everything; then compare sets: RCPT TO minus header, header minus RCPT "
            "TO, and From's address against MAIL FROM. Return sorted(items)."),
    tests=tuple(_disagree_test(*case) for case in _DISAGREE),
))
