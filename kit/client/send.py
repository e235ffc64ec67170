"""`send_mail`: the common case in one call, with everything that happened kept."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ..protocol import Reply
from ..transcript import Transcript
from .session import SMTPClientError, SMTPSession


def compose(sender: str, recipients: list[str], subject: str = "", body: str = "",
            *, domain: str | None = None) -> EmailMessage:
    """A minimal RFC 5322 message: From, To, Subject, Date and Message-ID (§3.6)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=domain or sender.rpartition("@")[2] or None)
    msg.set_content(body or "")
    return msg


@dataclass
class SendResult:
    """What became of a message: per-recipient replies, the final reply, the transcript.

    Every recipient ends in exactly one of ``accepted`` (RCPT got 2yz), ``refused`` (RCPT got
    4yz/5yz: a reply about *that* recipient) and ``not_tried`` (the dialogue ended before the
    server said anything about it: a refused greeting or MAIL, a ``421`` that closed the
    session, a lost connection). ``error`` says why the message was not accepted, in the
    server's words with its enhanced status code where it gave one.
    """

    accepted: dict[str, Reply] = field(default_factory=dict)
    refused: dict[str, Reply] = field(default_factory=dict)
    final: Reply | None = None
    error: str | None = None
    transcript: Transcript | None = None
    not_tried: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the server took responsibility for the message (2yz after the dot)."""
        return self.final is not None and self.final.is_positive

    @property
    def queue_id(self) -> str | None:
        if self.ok and "queued as " in self.final.text:
            return self.final.text.rsplit("queued as ", 1)[1].split()[0]
        return None

    def __str__(self) -> str:
        return self.transcript.to_text() if self.transcript else repr(self)

    def _repr_html_(self) -> str:
        verdict = "accepted" if self.ok else f"not accepted{': ' + self.error if self.error else ''}"
        return f"<div><b>{verdict}</b></div>" + (self.transcript._repr_html_() if self.transcript else "")


class _Stop(Exception):
    """The dialogue ends here; the message is the error to report."""


def _quit_quietly(session: SMTPSession) -> None:
    """QUIT if the connection is still open (RFC 5321 §4.1.1.10); whatever happens then
    cannot change the outcome, so it must not hide the reason the dialogue ended."""
    if session.connected:
        try:
            session.quit()
        except SMTPClientError:
            pass


def _go_on(session: SMTPSession, reply: Reply, command: str) -> Reply:
    """``reply`` unless the server closed the connection after it (a 421, §3.8)."""
    if not session.connected:
        raise _Stop(f"the server closed the connection: {reply.summary} (in reply to {command})")
    return reply


def send_mail(host: str, port: int, sender: str, recipients: list[str] | str,
              message: str | bytes | EmailMessage | None = None, *, subject: str = "", body: str = "",
              ehlo_name: str = "client.example.test", timeout: float = 10.0,
              starttls: bool | ssl.SSLContext = False, auth: tuple[str, str] | None = None,
              implicit_tls: ssl.SSLContext | None = None) -> SendResult:
    """Send one message: EHLO (HELO if refused), MAIL, one RCPT per recipient, DATA, QUIT.

    ``starttls`` (True or an ``ssl.SSLContext``) upgrades to TLS first (RFC 3207) and
    ``auth=(user, password)`` logs in with AUTH PLAIN (RFC 4954) if the server offers it (else
    the result says so and nothing is sent); ``implicit_tls`` (a context) speaks TLS from the
    first byte instead, as on port 465 (RFC 8314 §3).
    Recipients the server refuses are skipped (RFC 5321 §3.3: the transaction goes on for
    the others); with none accepted the client sends RSET instead of DATA. A ``421`` ends the
    dialogue (§3.8): it is the error, not a recipient's refusal, and the recipients not yet
    named are ``not_tried``. Never raises for a refusal, a lost connection or a peer that
    does not speak SMTP: look at the result.
    """
    if isinstance(recipients, str):
        recipients = [recipients]
    if message is None:
        message = compose(sender, recipients, subject, body)
    result = SendResult()
    session = SMTPSession(host, port, timeout=timeout, connect=False, implicit_tls=implicit_tls)
    result.transcript = session.transcript
    try:
        _dialogue(session, result, sender, recipients, message, ehlo_name, starttls, auth)
    except _Stop as stop:
        result.error = str(stop)
        _quit_quietly(session)  # also after a 554 greeting: the client sends QUIT (§3.1)
    except SMTPClientError as exc:
        result.error = str(exc)
    finally:
        session.close()
        named = {**result.accepted, **result.refused}
        result.not_tried = [r for r in dict.fromkeys(recipients) if r not in named]
    return result


def _dialogue(session: SMTPSession, result: SendResult, sender: str, recipients: list[str],
              message: str | bytes | EmailMessage, ehlo_name: str, starttls: bool | ssl.SSLContext,
              auth: tuple[str, str] | None) -> None:
    greeting = session.connect()
    if not greeting.is_positive:
        raise _Stop(f"greeting refused: {greeting.summary}")
    if not _go_on(session, session.ehlo(ehlo_name), "EHLO").is_positive:
        reply = _go_on(session, session.helo(ehlo_name), "HELO")
        if not reply.is_positive:
            raise _Stop(f"HELO refused: {reply.summary}")
    if starttls:
        context = starttls if isinstance(starttls, ssl.SSLContext) else None
        reply = _go_on(session, session.starttls(context), "STARTTLS")
        if reply.code != 220:
            raise _Stop(f"STARTTLS refused: {reply.summary}")
        _go_on(session, session.ehlo(ehlo_name), "EHLO")
    if auth is not None:
        offered = session.extensions.extensions.get("AUTH") if session.extensions else None
        if offered is None:
            later = "" if session.tls else "; many servers offer it only after STARTTLS"
            raise _Stop(f"AUTH not offered: the server's EHLO reply has no AUTH line (RFC 4954 §3){later}")
        if "PLAIN" not in (m.upper() for m in offered):
            raise _Stop(f"AUTH PLAIN not offered (the server offers AUTH {' '.join(offered)})")
        reply = _go_on(session, session.auth(*auth), "AUTH")
        if reply.code != 235:
            raise _Stop(f"AUTH refused: {reply.summary}")
    reply = _go_on(session, session.mail(sender), "MAIL FROM")
    if not reply.is_positive:
        raise _Stop(f"MAIL refused: {reply.summary}")
    for rcpt in recipients:
        reply = _go_on(session, session.rcpt(rcpt), f"RCPT TO:<{rcpt}>")
        (result.accepted if reply.is_positive else result.refused)[rcpt] = reply
    if not result.accepted:
        session.rset()
        raise _Stop("no recipient accepted")
    result.final = session.data(message)
    if not result.final.is_positive:
        _go_on(session, result.final, "DATA")
        result.error = f"message refused: {result.final.summary}"
    _quit_quietly(session)
