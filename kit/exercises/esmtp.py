"""Exercises of notebook 07 (ESMTP): read an EHLO reply, build an AUTH PLAIN token, and send
a mail the way a submission client must: STARTTLS, EHLO again, AUTH, then the mail.

``parse_ehlo`` and ``auth_plain`` are pure functions, compared with the values of the grader-only
reference solutions (`kit.protocol` and the RFC 4616 format); ``secure_send`` is judged on the
wire like ``dialogue.send_mail_raw``: a lab server owned by the judge, with TLS and required
AUTH, records what really happened.
"""

from __future__ import annotations

import base64
import binascii

from ..i18n import N_, _
from ..server import LabServer
from ..server.smtp import TLS_ABORTED_NOTE, TLS_STARTED_NOTE
from ._errors import NotAttempted, StudentError, TimeLimitExceeded
from ._exercise import Exercise
from ._expected import expected
from ._registry import register
from ._tests import Case, Outcome, Test, format_call
from ._values import explained
from ._wire import all_exchanges, verb

__all__ = ["PARSE_EHLO", "AUTH_PLAIN", "SECURE_SEND"]


# -- esmtp.parse_ehlo ---------------------------------------------------------------------------

EHLO_SAMPLES = (
    (N_("the lab server's reply"), [
        "250-lab.example.test", "250-PIPELINING", "250-SIZE 10485760", "250-VRFY", "250-STARTTLS",
        "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 HELP"]),
    (N_("after STARTTLS: AUTH with two mechanisms"), [
        "250-lab.example.test", "250-PIPELINING", "250-SIZE 10485760", "250-AUTH LOGIN PLAIN",
        "250-ENHANCEDSTATUSCODES", "250 8BITMIME"]),
    (N_("a Postfix-like reply with CHUNKING"), [
        "250-mx.example.org", "250-PIPELINING", "250-SIZE 10240000", "250-ETRN", "250-STARTTLS",
        "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING"]),
    (N_("keywords in lower case"), [
        "250-mx.example.net Hello client.example.test [127.0.0.1]", "250-size 52428800", "250-8bitmime",
        "250-auth PLAIN", "250 starttls"]),
    (N_("a one-line reply: no extensions"), ["250 tiny.example.test"]),
)


def _ehlo_diagnosis(lines: list[str], expected: dict, got: object) -> str:
    if type(got) is not dict:
        return _("return a dict: keyword -> list of parameters")
    keys = [k for k in got if type(k) is str]
    if any(k[:4] in ("250-", "250 ") for k in keys):
        return _("cut the reply code and the '-' or space after it: the keyword starts at the 5th "
                  "character")
    first = lines[0][4:].split()[0] if lines[0][4:].split() else ""
    if first and any(k.upper() == first.upper() for k in keys):
        return (_("the first line is the server's name and greeting, not an extension: skip it (RFC 5321 "
                   "§4.1.1.1)"))
    if any(k != k.upper() for k in keys):
        return _("keywords are case-insensitive; upper-case them so that 'size' and 'SIZE' are the same "
                  "key (§2.2.2)")
    for key, params in expected.items():
        value = got.get(key)
        if type(value) is str:
            return _("the parameters must be a list of words, e.g. {key!r}: {params!r}, not one string").format(
                key=key, params=params)
        if params and value == []:
            return _("keep the parameters after the keyword: {key} {params} -> {key!r}: {params2!r}").format(
                key=key, params=' '.join(params), params2=params)
    return _("one key per extension line, upper case, with the words after the keyword as a list")


def _ehlo_test(name: str, lines: list[str]) -> Case:
    answer = expected("esmtp.parse_ehlo", name, lines)
    return Case(name, (lines,), answer, compare=explained(lambda got: _ehlo_diagnosis(lines, answer, got)))


PARSE_EHLO = register(Exercise(
    id="esmtp.parse_ehlo",
    title=N_("Read the extensions from an EHLO reply"),
    function="parse_ehlo",
    hint=N_("Skip the first line (the server's name). From every other line cut the '250-' or '250 "
            "', split the rest into words: the first word, upper-cased, is the keyword, the others "
            "its parameters (RFC 5321 §4.1.1.1, §2.2.2)."),
    tests=tuple(_ehlo_test(name, lines) for name, lines in EHLO_SAMPLES),
))


# -- esmtp.auth_plain ---------------------------------------------------------------------------

AUTH_SAMPLES = (
    (N_("alice's token"), ("alice", "wonderland"), {}),
    (N_("another user"), ("bob", "s3cret!"), {}),
    (N_("a password with a colon"), ("carol", "a:b:c"), {}),
    (N_("a password with non-ASCII letters (UTF-8)"), ("dave", "pässwörd"), {}),
    (N_("with an authorization identity"), ("admin", "hunter2"), {"authzid": "alice"}),
)


def _auth_diagnosis(args: tuple, kwargs: dict, got: object) -> str:
    if type(got) is not str:
        return _("return the token as a str (base64 text), e.g. base64.b64encode(raw).decode()")
    user, password = args
    authzid = kwargs.get("authzid", "")
    if got.startswith("AUTH"):
        return _("return only the token; the client puts 'AUTH PLAIN ' in front of it")
    try:
        raw = base64.b64decode(got, validate=True)
    except (binascii.Error, ValueError):
        return _("that is not base64: encode the bytes with base64.b64encode")
    if raw == f"{user}:{password}".encode():
        return _("user:password is HTTP Basic's format; PLAIN wants authzid NUL user NUL password (RFC "
                  "4616 §2)")
    if raw == f"{user}\0{password}".encode():
        return _("the token starts with the authorization identity and a NUL, even when it is empty: "
                  "\\0user\\0password")
    if authzid and raw == f"\0{user}\0{password}".encode():
        return _("put the authorization identity (authzid) before the first NUL: authzid\\0user\\0password")
    if raw == f"{authzid}\0{user}\0{password}".encode("latin-1", "replace"):
        return _("encode the text as UTF-8 before base64 (RFC 4616 §2)")
    if raw.replace(b"\0", b"") == f"{authzid}{user}{password}".encode() and raw.count(b"\0") != 2:
        return _("exactly two NUL bytes: authzid NUL user NUL password")
    return _("base64 of authzid + '\\0' + user + '\\0' + password, encoded as UTF-8 (RFC 4616 §2)")


def _auth_test(name: str, args: tuple, kwargs: dict) -> Case:
    return Case(name, args, expected("esmtp.auth_plain", name, *args, **kwargs), kwargs=kwargs,
                compare=explained(lambda got: _auth_diagnosis(args, kwargs, got)))


AUTH_PLAIN = register(Exercise(
    id="esmtp.auth_plain",
    title=N_("Build an AUTH PLAIN token"),
    function="auth_plain",
    hint=N_("RFC 4616 §2: the message is authzid, a NUL byte, the user, a NUL byte, the password, in "
            "UTF-8; the token is its base64 (RFC 4954 §4). With no authzid the token starts with a "
            "NUL."),
    tests=tuple(_auth_test(*sample) for sample in AUTH_SAMPLES),
))


# -- esmtp.secure_send --------------------------------------------------------------------------

SENDER = "alice@example.test"
USERS = {"alice": "wonderland"}


def _secure_server(**settings) -> LabServer:
    return LabServer(domains=["example.test"], hostname="lab.example.test", durable=False, tls=True,
                     auth=USERS, require_auth=True, **settings)


def _message(recipients: list[str], subject: str) -> str:
    return f"From: {SENDER}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\nSent over TLS, logged in.\r\n"


def _order_problem(server: LabServer) -> str:
    """What the transcript shows about the order STARTTLS -> EHLO -> AUTH -> MAIL, or ''."""
    t = server.transcripts.last
    if t is None:
        return _("your function never connected to the server")
    client = [c.upper() for c in t.client_lines()]
    verbs = [c.split()[0] if c.split() else "" for c in client]
    if "STARTTLS" not in verbs:
        if "AUTH" in verbs:
            return (_("you sent AUTH before STARTTLS: the password would travel in clear text, so the server "
                       "refused with 538 (RFC 4954 §4, RFC 3207)"))
        return _("your client never sent STARTTLS (RFC 3207); this server requires TLS before AUTH")
    tls_at = verbs.index("STARTTLS")
    after = verbs[tls_at + 1:]
    if "AUTH" not in after:
        return _("after STARTTLS your client never logged in with AUTH; the server answers MAIL with 530 "
                  "(RFC 4954 §6)")
    auth_at = after.index("AUTH")
    if "EHLO" not in after[:auth_at]:
        return (_("after the TLS handshake the server forgets everything: say EHLO again before AUTH (RFC "
                   "3207 §4.2); the server answered 503"))
    if "MAIL" in after[:auth_at]:
        return _("MAIL came before AUTH: log in first (RFC 4954 §6: 530 Authentication required)")
    return ""


def _send_test(name: str, points: float, recipients: list[str]) -> Test:
    message = _message(recipients, name)

    def judge(call) -> Outcome:
        with _secure_server() as server:
            args = (server.host, server.port, server.ca_pem, "alice", USERS["alice"], SENDER, recipients, message)
            shown = format_call(call.__name__, ("HOST", "PORT", "CA_PEM", "alice", USERS["alice"], SENDER,
                                                recipients, "MESSAGE"))
            try:
                got = call(*args)
            except NotAttempted:
                raise
            except StudentError as exc:
                why = _order_problem(server)
                if why:
                    exc.args = (_("{value}. On the wire: {why}").format(
                        value=exc.args[0] if exc.args else exc, why=why),)
                raise
            server.wait_idle(2.0)
            why = _order_problem(server)
            stored = server.mailbox.messages()
            if why or len(stored) != 1:
                return Outcome(False, why or _("the server stored {n_stored} messages, expected 1").format(
                    n_stored=len(stored)), shown,
                               _("1 message, sent with ESMTPSA"), _("{n_stored} message(s)").format(
                                   n_stored=len(stored)))
            env = stored[0].envelope
            if env.protocol != "ESMTPSA":
                return Outcome(False, _("the Received field says 'with {protocol}'; over TLS and logged "
                                        "in it must say ESMTPSA (RFC 3848)").format(
                                            protocol=env.protocol), shown, _("ESMTPSA"), env.protocol)
            if env.mail_from != SENDER or list(env.rcpt_tos) != recipients:
                return Outcome(False, _("MAIL FROM:<sender>, then one RCPT TO:<...> per recipient, in order"), shown,
                               {"mail_from": SENDER, "rcpt_tos": recipients},
                               {"mail_from": env.mail_from, "rcpt_tos": list(env.rcpt_tos)})
            final = [r for r in server.transcripts.last.replies() if r.code != 221][-1]
            expected = final.wire_lines()[-1]
            if type(got) is not str or got.strip() != expected:
                return Outcome(False, _("return the server's reply to the final dot, as one line of text"), shown,
                               expected, got)
            return Outcome(True, "", shown, expected, got)

    return Test(name, points, judge)


#: Commands that must never follow a refused certificate, neither in clear text nor over TLS.
_AFTER_TLS_ONLY = ("AUTH", "MAIL", "RCPT", "DATA", "BDAT")


def _impostor_test() -> Test:
    """A server whose certificate the given CA did not sign: the client must start the TLS
    handshake, refuse the certificate (the server sees the client's TLS alert), and send nothing
    more: no AUTH, no MAIL, no RCPT, no DATA, in clear text or otherwise. A client that sends
    STARTTLS and hangs up has checked nothing and earns nothing."""
    expected = _("STARTTLS, a TLS handshake the client aborts, then nothing more")

    def judge(call) -> Outcome:
        with _secure_server() as other, _secure_server() as impostor:
            recipients = ["bob@example.test"]
            args = (impostor.host, impostor.port, other.ca_pem, "alice", USERS["alice"], SENDER, recipients,
                    _message(recipients, "impostor"))
            shown = format_call(call.__name__, ("HOST", "PORT", "CA_PEM of another server", "alice",
                                                USERS["alice"], SENDER, recipients, "MESSAGE"))
            try:
                got = call(*args)
            except (NotAttempted, TimeLimitExceeded):
                raise
            except StudentError:
                got = _("raised an error")
            try:
                impostor.wait_idle(2.0)  # the server notes the handshake's end before the session ends
            except TimeoutError:
                pass  # a connection left open: judge what the transcript holds so far
            pairs = all_exchanges(impostor.transcripts)
            verbs = [verb(c) for c, _ in pairs]
            notes = [ln.text for t in impostor.transcripts for ln in t.lines if ln.direction == "info"]
            if "STARTTLS" not in verbs:
                return Outcome(False, _("your client never asked this server for STARTTLS, so the "
                                        "certificate check was never tried"), shown, expected, _("no STARTTLS"))
            sent = [v for v in verbs if v in _AFTER_TLS_ONLY]
            if "AUTH" in sent or impostor.mailbox.messages():
                return Outcome(False, _("this server's certificate is not signed by the CA you were "
                                        "given, yet your client sent the password: load ca_pem into the "
                                        "SSL context and keep certificate checks on "
                                        "(ssl.create_default_context(cadata=ca_pem))"), shown,
                               _("TLS handshake fails, no AUTH"), _("AUTH sent"))
            if sent:
                return Outcome(False, _("your client sent {sent} to a server whose certificate it could "
                                        "not verify: stop there and QUIT; never fall back to clear text "
                                        "or carry on (RFC 3207 §4.1)").format(
                                             sent=sent[0]),
                               shown, expected, _("{sent} sent").format(sent=sent[0]))
            if any(n.startswith(TLS_STARTED_NOTE) for n in notes):
                return Outcome(False, _("your client completed the TLS handshake with a server whose "
                                        "certificate the CA you were given did not sign: keep certificate "
                                        "checks on (ssl.create_default_context(cadata=ca_pem))"), shown, expected,
                               _("handshake completed"))
            if not any(n.startswith(TLS_ABORTED_NOTE) for n in notes):
                return Outcome(False, _("after STARTTLS your client never tried the TLS handshake (the "
                                        "server saw no TLS alert from it), so no certificate was checked: "
                                        "wrap the connection with the SSL context "
                                        "(session.starttls(context) or context.wrap_socket) and let the "
                                        "check fail"), shown, expected,
                               _("STARTTLS, then no handshake"))
            if type(got) is str and got.strip()[:1] == "2":
                return Outcome(False, _("the handshake with this server must fail, so no mail can have "
                                        "been sent; yet your function reports success: return the "
                                        "server's real reply, or let the error propagate"), shown,
                               _("an error (TLS handshake failed)"), got)
            return Outcome(True, "", shown, _("an error (TLS handshake failed)"), got)

    return Test(N_("refuses a server with an unknown certificate"), 1, judge)


SECURE_SEND = register(Exercise(
    id="esmtp.secure_send",
    title=N_("Submit a mail over STARTTLS with AUTH"),
    function="secure_send",
    hint=N_("SMTPSession(host, port); ehlo(); starttls(ssl.create_default_context(cadata=ca_pem)); "
            "ehlo() again (RFC 3207 §4.2); auth(user, password); mail(); one rcpt() per recipient; "
            "data(message); quit(); return the final reply as text, e.g. '250 2.0.0 Ok: queued as "
            "...'."),
    time_limit=10.0,
    tests=(
        _send_test(N_("one recipient"), 2, ["bob@example.test"]),
        _send_test(N_("two recipients"), 1, ["bob@example.test", "carol@example.test"]),
        _impostor_test(),
    ),
))
