"""Exercises of notebook 02 (the SMTP dialogue), judged on the wire.

A protocol exercise is judged by what a lab server, owned by the judge, actually received
and replied: the student's function is called with that server's address, and the
transcript and the Maildir are the truth, not what the function claims. When a call
fails or hangs, the transcript usually says why (bare LF line ends, no final dot, a
missing QUIT), and that diagnosis is added to the feedback.

``send_mail_raw`` talks to its server through a `PiecesRelay` (``_pieces``), which greets over
several lines and sends every reply in pieces, as busy servers and networks do: a client with one
``recv()`` per reply is caught there (notebook 02 teaches that bug), and the relay also sees a
bare LF inside the message data, which the transcript does not flag.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

from ..i18n import N_, _, ngettext
from ..server import LabServer, mailbox_full, unknown_user
from ..server.controller import own_sockets
from ..transcript import BARE_LF_NOTE
from ._errors import CallError, NotAttempted
from ._exercise import Exercise
from ._expected import expected
from ._pieces import PiecesRelay
from ._registry import register
from ._tests import Case, Outcome, Test, format_call
from ._wire import all_exchanges, exchanges, rcpt_address, verb

SENDER = "alice@example.test"


@contextmanager
def judge_server(**settings):
    """A fresh lab server for one test; judge side, loopback, no durability needed."""
    with LabServer(domains=["example.test"], durable=False, **settings) as server:
        yield server


@contextmanager
def relayed_server(**settings):
    """A judge server behind a `PiecesRelay` (replies in pieces, a multi-line greeting): yields
    ``(server, relay)``; the student's code connects to the relay. The server listens on the
    judge's own loopback (no socket provider), where the relay reaches it; the relay listens
    where the student's code runs (under the grader, the kernel's private loopback)."""
    with ExitStack() as stack:
        with own_sockets():
            server = stack.enter_context(judge_server(**settings))
        relay = stack.enter_context(PiecesRelay(server.host, server.port))
        yield server, relay


def early_note(relay: PiecesRelay | None) -> str:
    """What a client that reads one ``recv()`` per reply did, in a sentence, or ''."""
    if relay is None or not relay.early:
        return ""
    return (_("your client sent {early!r} before the whole reply had arrived: one recv() is not one "
               "reply. A reply may come in several pieces and span several lines (220-... then 220 "
               "...); read until you have a whole line with a space after the code (RFC 5321 §4.2.1)").format(
                   early=relay.early[0]))


def diagnose(server: LabServer, relay: PiecesRelay | None = None) -> str:
    """What the transcript (and the relay) shows went wrong, in a sentence, or ''."""
    early = early_note(relay)
    if early:
        return early
    t = server.transcripts.last
    if t is None:
        return _("your function never connected to the server")
    text = t.to_text()
    client = [c.upper() for c in t.client_lines()]
    if BARE_LF_NOTE in text or (relay is not None and relay.bare_lf):
        return (_("your lines end in \\n alone; every SMTP line must end in \\r\\n (RFC 5321 §2.3.8), the "
                   "lines of the message too: turn its \\n line ends into \\r\\n before you send it"))
    if not any(c.startswith(("HELO", "EHLO")) for c in client):
        return _("your client never introduced itself with HELO or EHLO")
    if not any(c.startswith("MAIL FROM:") for c in client):
        return _("your client never sent MAIL FROM:<...>")
    if "DATA" not in client:
        return _("your client never sent DATA")
    if "." not in t.client_lines():
        return _("the server is still waiting for the end of the data: a line with a single dot, \\r\\n.\\r\\n")
    return ""


def _call_and_diagnose(call, server: LabServer, *args, relay: PiecesRelay | None = None):
    try:
        return call(*args)
    except NotAttempted:
        raise  # a stub: nothing on the wire to explain
    except CallError as exc:
        why = diagnose(server, relay)
        if why:
            exc.args = (_("{value}. On the wire: {why}").format(value=exc.args[0] if exc.args else exc, why=why),)
        raise


def _message(subject: str, body: str, to: list[str]) -> str:
    return f"From: {SENDER}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n\r\n{body}"


def _wire_test(name: str, points: float, recipients: list[str], subject: str, body: str,
               newline: str = "\r\n") -> Test:
    """The whole dialogue through a `PiecesRelay`; ``newline="\\n"`` hands over a message with bare
    LF line ends, which the client must send as CRLF (the statement promises either)."""
    message = _message(subject, body, recipients).replace("\r\n", newline)

    def judge(call) -> Outcome:
        with relayed_server() as (server, relay):
            args = (relay.host, relay.port, SENDER, recipients, message)
            shown = format_call(call.__name__, ("HOST", "PORT", SENDER, recipients, message))
            got = _call_and_diagnose(call, server, *args, relay=relay)
            relay.wait_idle(0.5)
            early = early_note(relay)
            if early:
                return Outcome(False, early, shown, _("whole replies read before the next command"),
                               _("{early!r} sent early").format(early=relay.early[0]))
            stored = server.mailbox.messages()
            why = diagnose(server)
            if len(stored) != 1:
                return Outcome(False, _("the server stored {n_stored} messages, expected 1").format(
                    n_stored=len(stored))
                               + (f": {why}" if why else ""), shown, _("1 message"), _("{n_stored} messages").format(
                                   n_stored=len(stored)))
            env = stored[0].envelope
            if env.mail_from != SENDER:
                return Outcome(False, _("MAIL FROM carried the wrong sender"), shown, SENDER, env.mail_from)
            if list(env.rcpt_tos) != recipients:
                return Outcome(False, _("send one RCPT TO:<...> per recipient, in order"), shown, recipients,
                               list(env.rcpt_tos))
            if BARE_LF_NOTE in server.transcripts.last.to_text() or relay.bare_lf:
                told = (_(" The message you were given has \\n line ends: turn every line end into \\r\\n before you "
                           "send it.") if newline == "\n" else "")
                return Outcome(False, _("end every line with \\r\\n, not \\n (RFC 5321 §2.3.8).") + told, shown,
                               _("CRLF line ends"), _("bare LF"))
            stored_body = stored[0].message.get_payload(decode=True).decode("utf-8", "replace")
            expected_body = body.replace("\r\n", "\n")
            if stored_body.rstrip("\n") != expected_body.rstrip("\n"):
                hint = (_("lines that start with '.' must be sent with the dot doubled (RFC 5321 §4.5.2)")
                        if "\n." in "\n" + expected_body else _("the body arrived changed"))
                return Outcome(False, hint, shown, expected_body, stored_body)
            final = [r for r in server.transcripts.last.replies() if r.code != 221][-1]
            expected_final = final.wire_lines()[-1]
            if type(got) is not str or got.strip() != expected_final:
                return Outcome(False, _("return the server's reply to the final dot, as one line of text"),
                               shown, expected_final, got)
            return Outcome(True, "", shown, expected_final, got)

    return Test(name, points, judge)


#: The dialogue a session must have completed before its QUIT: (what, test on the command, reply class).
_WHOLE_DIALOGUE = (
    (N_("HELO or EHLO"), lambda c: verb(c) in ("HELO", "EHLO"), 2),
    ("MAIL FROM:<...>", lambda c: verb(c) == "MAIL", 2),
    ("RCPT TO:<...>", lambda c: verb(c) == "RCPT", 2),
    (N_("the message, accepted: DATA, the text and a line with a single dot (or BDAT ... LAST)"),
     lambda c: c == "." or (verb(c) == "BDAT" and c.upper().split()[-1] == "LAST"), 2),
)


def _dialogue_before_quit(pairs: list[tuple[str, int | None]]) -> str:
    """What of the whole dialogue is missing before the last command, or '' (RFC 5321 §3.3)."""
    position = 0
    for what, is_it, reply_class in _WHOLE_DIALOGUE:
        found = next((i for i in range(position, len(pairs) - 1)
                      if is_it(pairs[i][0]) and (pairs[i][1] or 0) // 100 == reply_class), None)
        if found is None:
            return what
        position = found + 1
    return ""


def _quit_test() -> Test:
    """QUIT after the whole dialogue: a connect-and-QUIT earns nothing here."""

    def judge(call) -> Outcome:
        with relayed_server() as (server, relay):
            _call_and_diagnose(call, server, relay.host, relay.port, SENDER, ["bob@example.test"],
                               _message("bye", "Bye.\r\n", ["bob@example.test"]), relay=relay)
            relay.wait_idle(0.5)
            last = server.transcripts.last
            pairs = exchanges(last) if last else []
            commands = [c.upper() for c, _ in pairs]
            shown = _("the last command")
            if not commands or commands[-1] != "QUIT":
                return Outcome(False, _("end the session with QUIT and read the 221 reply (RFC 5321 §4.1.1.10)"),
                               shown, _("QUIT"), commands[-1] if commands else None)
            missing = _dialogue_before_quit(pairs)
            if missing or len(server.mailbox.messages()) != 1:
                why = diagnose(server, relay) or _("{what} was missing or refused").format(
                    what=_(missing) if missing else _("the message"))
                return Outcome(False, _("QUIT ends a session that did its work: HELO/EHLO, MAIL FROM, "
                                        "RCPT TO, DATA and the message, then QUIT (RFC 5321 §3.3); before "
                                        "your QUIT: {why}").format(why=why),
                               shown, _("the whole dialogue, then QUIT"), [verb(c) or c for c in commands])
            return Outcome(True, "", shown, _("QUIT"), _("QUIT"))

    return Test(N_("ends with QUIT"), 1, judge)


SEND_MAIL_RAW = register(Exercise(
    id="dialogue.send_mail_raw",
    title=N_("Send a mail over a raw socket"),
    function="send_mail_raw",
    hint=N_("Connect with socket.create_connection((host, port)); read the 220 greeting; send HELO, "
            "MAIL FROM:<...>, one RCPT TO:<...> per recipient and DATA, each ending in \\r\\n and each "
            "followed by reading the whole reply (lines until one with a space after the code: a "
            "reply may arrive in pieces and span lines); send the message with \\r\\n line ends and "
            "leading dots doubled, then \\r\\n.\\r\\n; return the reply to the dot; QUIT."),
    time_limit=5.0,
    tests=(
        _wire_test(N_("one recipient"), 2, ["bob@example.test"], "Hello", "Hi Bob!\r\nSee you.\r\n"),
        _wire_test(N_("two recipients"), 1, ["bob@example.test", "carol@example.test"], "Both", "Hi both.\r\n"),
        _wire_test(N_("lines that start with a dot"), 2, ["bob@example.test"], "Dots",
                   ".hidden line\r\n..two dots\r\n.\r\nafter a lone dot\r\n"),
        _wire_test(N_("a message with \\n line ends"), 1, ["bob@example.test"], "Plain",
                   "Written with \\n only.\r\n.and a dot\r\n", newline="\n"),
        _quit_test(),
    ),
))

_STUFF = [
    (N_("no dots at all"), "Hello\r\nWorld\r\n"),
    (N_("a line that starts with a dot"), "Hello\r\n.hidden\r\n"),
    (N_("the first line starts with a dot"), ".first\r\nsecond\r\n"),
    (N_("a line that is only a dot"), "before\r\n.\r\nafter\r\n"),
    (N_("two leading dots"), "..two\r\n"),
    (N_("dots inside lines stay"), "a.b.c\r\nend.\r\n"),
    (N_("an empty message"), ""),
    # Transparency only: a lone LF is not a line end in SMTP and stays as it is. This is also where
    # ready-made stuffers that convert line ends (smtplib.quotedata) give themselves away.
    (N_("nothing else changes: a lone \\n stays"), "one\ntwo\r\n.three\r\n"),
]

DOT_STUFF = register(Exercise(
    id="dialogue.dot_stuff",
    title=N_("Dot-stuffing"),
    function="dot_stuff",
    hint=N_("RFC 5321 §4.5.2: before sending, add one extra '.' at the start of every line that "
            "starts with '.', the first line included. Nothing else changes."),
    tests=tuple(Case(name, (text,), expected("dialogue.dot_stuff", name, text)) for name, text in _STUFF),
))


def _messages(n: int) -> str:
    return ngettext("{n} message", "{n} messages", n).format(n=n)


#: Replies about a command's syntax or order rather than its recipient (RFC 5321 §4.2.2), or none.
_NOT_ABOUT_RECIPIENT = (None, 500, 501, 502, 503, 504)


def _many_test(name: str, points: float, recipients: list[str], refuse: list, delivered: list[str]) -> Test:
    message = _message("Many", "To many people.\r\n", recipients)

    def judge(call) -> Outcome:
        with judge_server(behaviours=refuse) as server:
            shown = format_call(call.__name__, ("HOST", "PORT", SENDER, recipients, "MESSAGE"))
            got = _call_and_diagnose(call, server, server.host, server.port, SENDER, recipients, message)
            expected = {"accepted": delivered, "refused": [r for r in recipients if r not in delivered]}
            if type(got) is not dict or set(got) != {"accepted", "refused"}:
                return Outcome(False, _("return {'accepted': [...], 'refused': [...]}"), shown, expected, got)
            pairs = all_exchanges(server.transcripts)
            answered = {rcpt_address(c): code for c, code in pairs if rcpt_address(c) is not None}
            unasked = [r for r in recipients if r.lower() not in answered]
            if unasked:
                why = diagnose(server) if not pairs else ""
                stopped = any((code or 0) // 100 != 2 for code in answered.values())
                return Outcome(False, (_("a refused recipient must not stop the mail to the others: ")
                                       if stopped else _("the server's answer is the truth: "))
                               + _("send RCPT TO:<...> for every recipient and report what the server answered "
                                   "(RFC 5321 §3.3); there was no RCPT TO for {unasked}").format(
                                       unasked=", ".join(unasked))
                               + (f" ({why})" if why else ""), shown, expected,
                               _("no RCPT TO on the wire") if len(unasked) == len(recipients) else got)
            # 500-504 answer the command's syntax or order (§4.2.2), not the recipient; a 503 is
            # what RCPT TO gets without an accepted MAIL FROM first
            malformed = {r: answered[r.lower()] for r in recipients if answered[r.lower()] in _NOT_ABOUT_RECIPIENT}
            on_wire = {"accepted": [r for r in recipients if (answered[r.lower()] or 0) // 100 == 2],
                       "refused": [r for r in recipients if (answered[r.lower()] or 0) // 100 != 2]}
            if malformed or on_wire != expected:
                return Outcome(False, _("send MAIL FROM:<sender> first and accepted, then RCPT TO:<...> "
                                        "for each recipient (RFC 5321 §3.3); the server answered your "
                                        "RCPT TOs differently than it answers them in a proper transaction"),
                               shown, expected,
                               {r: _("{code} to RCPT TO").format(code=code) for r, code in malformed.items()}
                               or on_wire)
            stored = server.mailbox.messages()
            client = [verb(c) for c, _ in pairs]
            transactions = sum(1 for c, code in pairs if verb(c) == "MAIL" and (code or 0) // 100 == 2)
            if transactions > 1 or len(stored) > 1:
                return Outcome(False, _("send the message once, in one transaction: one MAIL FROM, a RCPT "
                                        "TO for every recipient, then one DATA; the server delivers a "
                                        "copy to each accepted recipient (RFC 5321 §3.3). You started "
                                        "{transactions} transactions and the server stored {count}").format(
                                             transactions=transactions, count=_messages(len(stored))), shown,
                               _("1 transaction, 1 message") if delivered else _("1 transaction, no message"),
                               _("{transactions} transactions, {count}").format(
                                   transactions=transactions, count=_messages(len(stored))))
            if not delivered:
                if "DATA" in client:
                    return Outcome(False, _("no recipient was accepted, so there is nothing to send: do "
                                            "not send DATA; RSET or QUIT instead (RFC 5321 §3.3)"),
                                   shown, _("no DATA"), _("DATA sent"))
            elif len(stored) != 1 or list(stored[0].envelope.rcpt_tos) != delivered:
                return Outcome(False, _("a refused recipient must not stop the mail to the others: go on "
                                        "with DATA for those accepted (RFC 5321 §3.3)"), shown,
                               _("one message for {delivered}").format(
                                   delivered=delivered), _("{n_stored} message(s) stored").format(n_stored=len(stored)))
            if got != expected:
                return Outcome(False, _("report each recipient as the server answered its RCPT TO"), shown, expected,
                               got)
            return Outcome(True, "", shown, expected, got)

    return Test(name, points, judge)


SEND_TO_MANY = register(Exercise(
    id="dialogue.send_to_many",
    title=N_("One of several recipients is refused"),
    function="send_to_many",
    hint=N_("Send RCPT TO for every recipient and remember each reply. If at least one was accepted "
            "(2yz), send DATA and the message: it goes to those accepted. If none was, do not send "
            "DATA."),
    tests=(
        _many_test(N_("one unknown user among three"), 2,
                   ["bob@example.test", "ghost@example.test", "carol@example.test"],
                   [unknown_user("ghost@example.test")], ["bob@example.test", "carol@example.test"]),
        _many_test(N_("a full mailbox is refused too (for now)"), 1, ["full@example.test", "bob@example.test"],
                   [mailbox_full("full@example.test")], ["bob@example.test"]),
        _many_test(N_("nobody accepted"), 1, ["ghost@example.test", "x@elsewhere.test"],
                   [unknown_user("ghost@example.test")], []),
    ),
))
