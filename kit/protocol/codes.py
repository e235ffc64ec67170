"""What a reply code means, digit by digit (RFC 5321 §4.2.1-§4.2.3), and enhanced status
codes (RFC 3463, registry RFC 5248).

The client "MUST determine its actions only by the reply code, not by the text" (§4.2.1),
and must handle an unknown code by its first digit. `explain` does exactly that reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_, _

FIRST_DIGIT = {
    1: N_("Positive preliminary: not part of SMTP. RFC 821 listed 1yz, but RFC 5321 §4.2.1 notes "
          "that FTP's 1yz codes are not part of the SMTP model, and §4.2 says servers MUST NOT "
          "send them; a client SHOULD treat one as a fatal error."),
    2: N_("Positive completion: the requested action has been successfully completed."),
    3: N_("Positive intermediate: accepted, but the server waits for more (e.g. 354 after DATA)."),
    4: N_("Transient negative completion: not done this time, but the error is temporary; the "
          "client SHOULD try again later."),
    5: N_("Permanent negative completion: not done, and the client SHOULD NOT repeat the exact "
          "request."),
}
SECOND_DIGIT = {
    0: N_("Syntax: syntax errors, or commands that fit no other category."),
    1: N_("Information: replies to requests for information, such as status or help."),
    2: N_("Connections: the transmission channel."),
    3: N_("Unspecified."),
    4: N_("Unspecified."),
    5: N_("Mail system: the status of the receiver mail system for the requested transfer."),
}

# (meaning, RFC and section, where it occurs)
KNOWN_CODES: dict[int, tuple[str, str, str]] = {
    211: (N_("System status, or system help reply"), "RFC 5321 §4.2.2", N_("HELP")),
    214: (N_("Help message"), "RFC 5321 §4.2.2", N_("HELP")),
    220: (N_("<domain> Service ready"), "RFC 5321 §4.2.2", N_("greeting on connect; STARTTLS (RFC 3207)")),
    221: (N_("<domain> Service closing transmission channel"), "RFC 5321 §4.2.2", N_("QUIT")),
    235: (N_("Authentication succeeded"), "RFC 4954 §6", N_("AUTH")),
    250: (N_("Requested mail action okay, completed"), "RFC 5321 §4.2.2",
          N_("EHLO, HELO, MAIL, RCPT, after the final dot, RSET, NOOP, VRFY")),
    251: (N_("User not local; will forward to <forward-path>"), "RFC 5321 §4.2.2", N_("RCPT, VRFY")),
    252: (N_("Cannot VRFY user, but will accept message and attempt delivery"), "RFC 5321 §4.2.2", N_("VRFY")),
    334: (N_("Server challenge (base64)"), "RFC 4954 §4", N_("AUTH")),
    354: (N_("Start mail input; end with <CRLF>.<CRLF>"), "RFC 5321 §4.2.2", N_("DATA")),
    421: (N_("<domain> Service not available, closing transmission channel"), "RFC 5321 §4.2.2",
          N_("any command, or the greeting; also idle timeouts and shutdown")),
    432: (N_("A password transition is needed"), "RFC 4954 §6", N_("AUTH")),
    450: (N_("Requested mail action not taken: mailbox unavailable (e.g. busy or temporarily blocked)"),
          "RFC 5321 §4.2.2", N_("RCPT, MAIL")),
    451: (N_("Requested action aborted: local error in processing"), "RFC 5321 §4.2.2",
          N_("MAIL, RCPT, after the final dot; greylisting")),
    452: (N_("Requested action not taken: insufficient system storage"), "RFC 5321 §4.2.2",
          N_("MAIL, RCPT, after the dot; too many recipients (§4.5.3.1.10)")),
    454: (N_("TLS not available / temporary authentication failure"), "RFC 3207 §4, RFC 4954 §6",
          N_("STARTTLS, AUTH")),
    455: (N_("Server unable to accommodate parameters"), "RFC 5321 §4.2.2", N_("MAIL, RCPT")),
    500: (N_("Syntax error, command unrecognized (also: command line too long)"), "RFC 5321 §4.2.2",
          N_("any command")),
    501: (N_("Syntax error in parameters or arguments"), "RFC 5321 §4.2.2", N_("any command with arguments")),
    502: (N_("Command not implemented"), "RFC 5321 §4.2.2", N_("e.g. EXPN when switched off (§4.2.4)")),
    503: (N_("Bad sequence of commands"), "RFC 5321 §4.2.2", N_("e.g. RCPT before MAIL, DATA before RCPT")),
    504: (N_("Command parameter not implemented"), "RFC 5321 §4.2.2", N_("e.g. AUTH with an unknown mechanism")),
    521: (N_("Host does not accept mail"), "RFC 7504 §3", N_("greeting")),
    530: (N_("Must issue a STARTTLS command first / Authentication required"), "RFC 3207 §4, RFC 4954 §6",
          N_("MAIL and others")),
    534: (N_("Authentication mechanism is too weak"), "RFC 4954 §6", N_("AUTH")),
    535: (N_("Authentication credentials invalid"), "RFC 4954 §6", N_("AUTH")),
    538: (N_("Encryption required for requested authentication mechanism"), "RFC 4954 §6", N_("AUTH")),
    550: (N_("Requested action not taken: mailbox unavailable (not found, no access, or policy)"),
          "RFC 5321 §4.2.2", N_("RCPT, MAIL, VRFY")),
    551: (N_("User not local; please try <forward-path>"), "RFC 5321 §4.2.2", N_("RCPT")),
    552: (N_("Requested mail action aborted: exceeded storage allocation"), "RFC 5321 §4.2.2",
          N_("MAIL (SIZE=), after the dot")),
    553: (N_("Requested action not taken: mailbox name not allowed (e.g. syntax)"), "RFC 5321 §4.2.2",
          N_("MAIL, RCPT")),
    554: (N_("Transaction failed (or, at connection time, No SMTP service here)"), "RFC 5321 §4.2.2",
          N_("greeting, after the dot, RCPT (relay denied)")),
    555: (N_("MAIL FROM/RCPT TO parameters not recognized or not implemented"), "RFC 5321 §4.2.2",
          N_("MAIL, RCPT")),
    556: (N_("Domain does not accept mail"), "RFC 7504 §3", N_("RCPT")),
}

ENHANCED_CLASS = {2: N_("Success"), 4: N_("Persistent transient failure"), 5: N_("Permanent failure")}
ENHANCED_SUBJECT = {
    0: N_("Other or undefined status"), 1: N_("Addressing status"), 2: N_("Mailbox status"),
    3: N_("Mail system status"), 4: N_("Network and routing status"), 5: N_("Mail delivery protocol status"),
    6: N_("Message content or media status"), 7: N_("Security or policy status"),
}
# RFC 3463 §3 details (subject, detail) -> meaning; the ones a course meets.
ENHANCED_DETAIL = {
    (0, 0): N_("Other undefined status"),
    (1, 0): N_("Other address status"), (1, 1): N_("Bad destination mailbox address"),
    (1, 2): N_("Bad destination system address"), (1, 3): N_("Bad destination mailbox address syntax"),
    (1, 5): N_("Destination address valid"), (1, 6): N_("Destination mailbox has moved"),
    (1, 7): N_("Bad sender's mailbox address syntax"), (1, 8): N_("Bad sender's system address"),
    (2, 0): N_("Other or undefined mailbox status"), (2, 1): N_("Mailbox disabled, not accepting messages"),
    (2, 2): N_("Mailbox full"), (2, 3): N_("Message length exceeds administrative limit"),
    (3, 0): N_("Other or undefined mail system status"), (3, 1): N_("Mail system full"),
    (3, 2): N_("System not accepting network messages"), (3, 4): N_("Message too big for system"),
    (4, 1): N_("No answer from host"), (4, 2): N_("Bad connection"), (4, 4): N_("Unable to route"),
    (4, 6): N_("Routing loop detected"), (4, 7): N_("Delivery time expired"),
    (5, 0): N_("Other or undefined protocol status"), (5, 1): N_("Invalid command"),
    (5, 2): N_("Syntax error"), (5, 3): N_("Too many recipients"), (5, 4): N_("Invalid command arguments"),
    (5, 5): N_("Wrong protocol version"),
    (6, 0): N_("Other or undefined media error"), (6, 3): N_("Conversion required but not supported"),
    (7, 0): N_("Other or undefined security status"), (7, 1): N_("Delivery not authorized, message refused"),
    (7, 8): N_("Authentication credentials invalid (RFC 4954)"), (7, 11): N_("Encryption required (RFC 4954)"),
}


@dataclass(frozen=True)
class CodeExplanation:
    """A reply code read digit by digit, with the RFC's words where the code is known."""

    code: int
    first: str
    second: str
    third: str
    meaning: str | None
    source: str | None
    occurs: str | None
    valid_in_smtp: bool

    def __str__(self) -> str:
        lines = [f"{self.code}: {self.meaning or _('not a code the RFCs define')}"]
        if self.source:
            lines.append(_("  source: {source}; occurs: {occurs}").format(source=self.source, occurs=self.occurs))
        lines += [f"  {self.code // 100}yz  {self.first}", f"  x{self.code // 10 % 10}z  {self.second}",
                  f"  xy{self.code % 10}  {self.third}"]
        return "\n".join(lines)


def glossed(meaning: str) -> str:
    """The RFC's text for a code as it stands (it is what servers say on the wire), followed by
    its translation in parentheses when the kit speaks another language."""
    translated = _(meaning)
    return meaning if translated == meaning else f"{meaning} („{translated}“)"


def explain(code: int | str) -> CodeExplanation:
    """Explain a three-digit reply code by its digits (§4.2.1) and, if known, §4.2.2's text."""
    text = str(code).strip()
    digits = text[:3]
    if not (len(digits) == 3 and digits.isdigit() and (len(text) == 3 or text[3] in " -")):
        raise ValueError(_("{code!r} is not a three-digit reply code").format(code=code))
    value = int(digits)
    if not 100 <= value <= 599 or value % 100 // 10 > 5:
        raise ValueError(_("{value} is not a reply code: first digit 2-5 (1 in RFC 821), second 0-5 "
                           "(RFC 5321 §4.2)").format(value=value))
    known = KNOWN_CODES.get(value)
    return CodeExplanation(
        code=value,
        first=_(FIRST_DIGIT[value // 100]),
        second=_(SECOND_DIGIT[value // 10 % 10]),
        third=_("Refines the meaning within the category (finer gradation, §4.2.1)."),
        meaning=glossed(known[0]) if known else None,
        source=known[1] if known else None,
        occurs=_(known[2]) if known else None,
        valid_in_smtp=value // 100 in (2, 3, 4, 5),
    )


def explain_enhanced(status: str) -> str:
    """``"5.1.1"`` -> ``"Permanent failure / Addressing status / Bad destination mailbox address"``."""
    try:
        cls, subject, detail = (int(p) for p in status.split("."))
    except ValueError:
        raise ValueError(_("{status!r} is not class.subject.detail (RFC 3463 §2)").format(status=status)) from None
    if cls not in ENHANCED_CLASS or subject not in ENHANCED_SUBJECT:
        raise ValueError(_("{status!r}: class must be 2, 4 or 5 and subject 0-7 (RFC 3463 §2)").format(status=status))
    parts = [_(ENHANCED_CLASS[cls]), _(ENHANCED_SUBJECT[subject])]
    parts.append(_(ENHANCED_DETAIL.get((subject, detail), N_("detail not in the registry excerpt"))))
    return " / ".join(parts)


#: Default enhanced status for a bare reply code, used by the lab server on replies that
#: do not bring their own (RFC 3463 codes; RFC 2034 wants one on every 2/4/5yz reply except
#: the greeting and the replies to HELO and EHLO).
DEFAULT_ENHANCED = {
    211: "2.0.0", 214: "2.0.0", 221: "2.0.0", 235: "2.7.0", 250: "2.0.0", 251: "2.1.5",
    252: "2.0.0", 220: "2.0.0",
    421: "4.3.0", 450: "4.2.0", 451: "4.3.0", 452: "4.3.1", 454: "4.7.0", 455: "4.5.4",
    500: "5.5.2", 501: "5.5.4", 502: "5.5.1", 503: "5.5.1", 504: "5.5.4", 530: "5.7.0",
    534: "5.7.9", 535: "5.7.8", 538: "5.7.11", 550: "5.1.1", 551: "5.1.6", 552: "5.3.4",
    553: "5.1.3", 554: "5.0.0", 555: "5.5.4",
}
