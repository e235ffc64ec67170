"""`send_mail`: the common case in one call, with everything that happened kept."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ..protocol import Reply
from ..transcript import Transcript
from .session import SMTPClientError, SMTPSession, message_bytes


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
    #: ESMTP parameters left out because the server did not offer their extension (e.g.
    #: ``NOTIFY`` without ``DSN``: RFC 3461 §5.3 lets the mail go on without them).
    unsent_params: list[str] = field(default_factory=list)

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


@dataclass(frozen=True)
class Parameters:
    """The ESMTP parameters of MAIL and RCPT that `send_mail` can add.

    RFC 3461 (DSN): ``ret`` (``FULL``/``HDRS``), ``envid``, ``notify`` (e.g.
    ``"SUCCESS,FAILURE"`` or ``"NEVER"``, for every recipient) and ``orcpt`` (True: each
    recipient's own address as ``rfc822;addr``). RFC 1870: ``size`` (True: the message's
    octets). RFC 6152: ``body`` (``8BITMIME``). RFC 6531: ``smtputf8``.
    """

    ret: str | None = None
    envid: str | None = None
    notify: str | None = None
    orcpt: bool = False
    size: bool | int = False
    body: str | None = None
    smtputf8: bool = False

    def mail(self, message: str | bytes | EmailMessage,
             offered: Callable[[str], bool]) -> tuple[dict[str, str | None], list[str]]:
        """MAIL parameters to send, and those left out (their extension not offered)."""
        wanted: list[tuple[str, str, str | None]] = []
        if self.size:
            octets = len(message_bytes(message)) if self.size is True else int(self.size)
            wanted.append(("SIZE", "SIZE", str(octets)))
        if self.body:
            wanted.append(("8BITMIME", "BODY", self.body.upper()))
        if self.smtputf8:
            wanted.append(("SMTPUTF8", "SMTPUTF8", None))
        wanted += [("DSN", k, v) for k, v in (("RET", self.ret), ("ENVID", self.envid)) if v]
        return _split(wanted, offered)

    def rcpt(self, recipient: str, offered: Callable[[str], bool]) -> tuple[dict[str, str | None], list[str]]:
        wanted = [("DSN", k, v) for k, v in (("NOTIFY", self.notify),
                                              ("ORCPT", f"rfc822;{recipient}" if self.orcpt else None)) if v]
        return _split(wanted, offered)


def _split(wanted: list[tuple[str, str, str | None]], offered: Callable[[str], bool]):
    send = {name: value for ext, name, value in wanted if offered(ext)}
    return send, [name for ext, name, _ in wanted if not offered(ext)]


def send_mail(host: str, port: int, sender: str, recipients: list[str] | str,
              message: str | bytes | EmailMessage | None = None, *, subject: str = "", body: str = "",
              ehlo_name: str = "client.example.test", timeout: float = 10.0,
              starttls: bool | ssl.SSLContext = False, auth: tuple[str, str] | None = None,
              implicit_tls: ssl.SSLContext | None = None, ret: str | None = None, envid: str | None = None,
              notify: str | None = None, orcpt: bool = False, size: bool | int = False,
              body_type: str | None = None, smtputf8: bool = False) -> SendResult:
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

    MAIL and RCPT parameters (see `Parameters`): ``ret``, ``envid``, ``notify``, ``orcpt``
    (DSN, RFC 3461), ``size`` (RFC 1870), ``body_type`` (``BODY=8BITMIME``, RFC 6152),
    ``smtputf8`` (RFC 6531). A parameter is sent only if the server's EHLO reply offers its
    extension; one not offered is listed in ``result.unsent_params``, except SMTPUTF8 and
    8BITMIME: a message that needs them is not sent to a server without them (the error says so).
    """
    if isinstance(recipients, str):
        recipients = [recipients]
    if message is None:
        message = compose(sender, recipients, subject, body)
    params = Parameters(ret, envid, notify, orcpt, size, body_type, smtputf8)
    result = SendResult()
    session = SMTPSession(host, port, timeout=timeout, connect=False, implicit_tls=implicit_tls)
    result.transcript = session.transcript
    try:
        _dialogue(session, result, sender, recipients, message, ehlo_name, starttls, auth, params)
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
              auth: tuple[str, str] | None, params: Parameters = Parameters()) -> None:
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
    ext = session.extensions

    def offered(keyword: str) -> bool:
        return ext is not None and ext.supports(keyword)

    mail_params, unsent = params.mail(message, offered)
    needed = [p for p in unsent if p in ("SMTPUTF8", "BODY")]
    if needed:
        raise _Stop(f"the server does not offer {' and '.join(needed)} (its EHLO reply), "
                    "which this message needs (RFC 6531 §3.2, RFC 6152 §3)")
    result.unsent_params += unsent
    reply = _go_on(session, session.mail(sender, **mail_params), "MAIL FROM")
    if not reply.is_positive:
        raise _Stop(f"MAIL refused: {reply.summary}")
    for rcpt in recipients:
        rcpt_params, unsent = params.rcpt(rcpt, offered)
        result.unsent_params += [p for p in unsent if p not in result.unsent_params]
        reply = _go_on(session, session.rcpt(rcpt, **rcpt_params), f"RCPT TO:<{rcpt}>")
        (result.accepted if reply.is_positive else result.refused)[rcpt] = reply
    if not result.accepted:
        session.rset()
        raise _Stop("no recipient accepted")
    result.final = session.data(message)
    if not result.final.is_positive:
        _go_on(session, result.final, "DATA")
        result.error = f"message refused: {result.final.summary}"
    _quit_quietly(session)
