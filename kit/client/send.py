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
    """What became of a message: per-recipient replies, the final reply, the transcript."""

    accepted: dict[str, Reply] = field(default_factory=dict)
    refused: dict[str, Reply] = field(default_factory=dict)
    final: Reply | None = None
    error: str | None = None
    transcript: Transcript | None = None

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


def send_mail(host: str, port: int, sender: str, recipients: list[str] | str,
              message: str | bytes | EmailMessage | None = None, *, subject: str = "", body: str = "",
              ehlo_name: str = "client.example.test", timeout: float = 10.0,
              starttls: bool | ssl.SSLContext = False, auth: tuple[str, str] | None = None,
              implicit_tls: ssl.SSLContext | None = None) -> SendResult:
    """Send one message: EHLO (HELO if refused), MAIL, one RCPT per recipient, DATA, QUIT.

    ``starttls`` (True or an ``ssl.SSLContext``) upgrades to TLS first (RFC 3207) and
    ``auth=(user, password)`` logs in with AUTH PLAIN (RFC 4954); ``implicit_tls`` (a context)
    speaks TLS from the first byte instead, as on port 465 (RFC 8314 §3).
    Recipients the server refuses are skipped (RFC 5321 §3.3: the transaction goes on for
    the others); with none accepted the client sends RSET instead of DATA. Never raises for
    a refusal or a lost connection: look at the result.
    """
    if isinstance(recipients, str):
        recipients = [recipients]
    if message is None:
        message = compose(sender, recipients, subject, body)
    result = SendResult()
    session = SMTPSession(host, port, timeout=timeout, connect=False, implicit_tls=implicit_tls)
    result.transcript = session.transcript
    try:
        greeting = session.connect()
        if not greeting.is_positive:
            result.error = f"greeting refused: {greeting.code} {greeting.text}"
            return result
        if not session.ehlo(ehlo_name).is_positive:
            session.helo(ehlo_name)
        if starttls:
            context = starttls if isinstance(starttls, ssl.SSLContext) else None
            reply = session.starttls(context)
            if reply.code != 220:
                result.error = f"STARTTLS refused: {reply.code} {reply.text}"
                session.quit()
                return result
            session.ehlo(ehlo_name)
        if auth is not None:
            reply = session.auth(*auth)
            if reply.code != 235:
                result.error = f"AUTH refused: {reply.code} {reply.text}"
                session.quit()
                return result
        reply = session.mail(sender)
        if not reply.is_positive:
            result.error = f"MAIL refused: {reply.code} {reply.text}"
            session.quit()
            return result
        for rcpt in recipients:
            reply = session.rcpt(rcpt)
            (result.accepted if reply.is_positive else result.refused)[rcpt] = reply
        if not result.accepted:
            result.error = "no recipient accepted"
            session.rset()
            session.quit()
            return result
        result.final = session.data(message)
        if not result.final.is_positive:
            result.error = f"message refused: {result.final.code} {result.final.text}"
        session.quit()
    except SMTPClientError as exc:
        result.error = str(exc)
    finally:
        session.close()
    return result
