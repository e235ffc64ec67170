"""Delivery status notifications (DSN): the "bounce" an MTA sends back to the sender.

A DSN is an ordinary mail with a machine-readable part (RFC 3464), sent with the null
reverse-path ``MAIL FROM:<>`` so that it can never cause another bounce (RFC 5321 §4.5.5,
§6.1). Its ``Content-Type`` is ``multipart/report; report-type=delivery-status`` (RFC 6522)
with three parts:

1. ``text/plain``: what happened, for a person;
2. ``message/delivery-status``: one block of per-message fields (``Reporting-MTA``,
   ``Arrival-Date``, ...) and one block per recipient (``Final-Recipient``, ``Action``,
   ``Status``, ``Remote-MTA``, ``Diagnostic-Code``, ...), RFC 3464 §2.2, §2.3;
3. the returned message: ``message/rfc822`` (all of it) or ``text/rfc822-headers`` (only
   the header), as the sender asked with ``RET=FULL`` or ``RET=HDRS`` (RFC 3461 §4.3).

Whether a DSN is sent at all follows the recipient's ``NOTIFY`` (RFC 3461 §4.1): see
`wants_dsn`.
"""

from __future__ import annotations

import email.policy
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid

__all__ = ["RecipientReport", "DSN", "make_dsn", "read_dsn", "wants_dsn", "ACTIONS"]

#: RFC 3464 §2.3.3 action values.
ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")

_SUBJECTS = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
    "delivered": "Successful Mail Delivery Report",
}


def wants_dsn(notify: tuple[str, ...] | None, action: str) -> bool:
    """Does a recipient with this RFC 3461 NOTIFY want a DSN for ``action``?

    NOTIFY absent: a DSN for failures only (§4.1 lets an MTA add delay notices; this one does
    not). ``NEVER``: no DSN at all. Otherwise exactly the events listed: SUCCESS, FAILURE,
    DELAY.
    """
    event = {"failed": "FAILURE", "delayed": "DELAY", "delivered": "SUCCESS", "relayed": "SUCCESS",
             "expanded": "SUCCESS"}[action]
    if notify is None:
        return event == "FAILURE"
    return event in notify and "NEVER" not in notify


@dataclass(frozen=True)
class RecipientReport:
    """The per-recipient fields of a DSN (RFC 3464 §2.3)."""

    recipient: str
    action: str
    status: str
    remote_mta: str | None = None
    diagnostic: str | None = None  # e.g. "smtp; 550 5.1.1 <bob@example.org>: ..."
    original_recipient: str | None = None  # the ORCPT value, e.g. "rfc822;bob@example.org"
    last_attempt: float | None = None
    will_retry_until: float | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")


def _date(when: float) -> str:
    return format_datetime(datetime.fromtimestamp(when).astimezone())


def _fields(pairs: Iterable[tuple[str, str | None]]) -> Message:
    block = Message()
    for name, value in pairs:
        if value:
            block[name] = value
    return block


def _human_text(reporting_mta: str, reports: list[RecipientReport]) -> str:
    # Mail content, not the kit talking: this part goes out in the DSN and stays English in every
    # language of the kit, as Postfix's own bounce text does (its template is English unless the
    # postmaster writes another); the notebooks explain it in the student's language.
    action = reports[0].action
    lines = [f"This is the mail system at host {reporting_mta}.", ""]
    if action == "failed":
        lines += ["Your message could not be delivered to one or more recipients.",
                  "It is returned below, after the delivery report.", ""]
    elif action == "delayed":
        lines += ["Your message could not be delivered yet. It stays in the queue and",
                  "the mail system keeps trying; you need not send it again.", ""]
    else:
        lines += ["Your message was delivered to the recipients below.", ""]
    for r in reports:
        said = r.diagnostic.partition(";")[2].strip() if r.diagnostic else r.status
        where = f"host {r.remote_mta} said: " if r.remote_mta else ""
        lines.append(textwrap.fill(f"<{r.recipient}>: {where}{said}", width=72, subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines) + "\n"


def make_dsn(*, reporting_mta: str, sender: str, reports: list[RecipientReport], original: bytes,
             arrival: float, envid: str | None = None, ret: str | None = None,
             received_from_mta: str | None = None, now: float | None = None,
             boundary: str | None = None) -> EmailMessage:
    """A delivery status notification to ``sender`` about ``original`` (RFC 3464).

    All ``reports`` must share one action (failed, delayed or delivered). ``ret`` is the
    sender's RET: HDRS returns the header only; FULL (and, for failures, no RET) the whole
    message.
    """
    if not reports:
        raise ValueError("a DSN reports on at least one recipient")
    action = reports[0].action
    if any(r.action != action for r in reports):
        raise ValueError("one DSN per action: split failed, delayed and delivered recipients")
    now = now if now is not None else arrival
    dsn = EmailMessage()
    dsn["From"] = f"Mail Delivery System <MAILER-DAEMON@{reporting_mta}>"
    dsn["To"] = sender
    dsn["Subject"] = _SUBJECTS.get(action, "Delivery Status Notification")
    dsn["Date"] = _date(now)
    dsn["Message-ID"] = make_msgid(domain=reporting_mta)
    dsn["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5: a machine wrote this
    dsn.set_type("multipart/report")
    dsn.set_param("report-type", "delivery-status")
    if boundary:
        dsn.set_boundary(boundary)

    human = EmailMessage()
    human.set_content(_human_text(reporting_mta, reports))
    human["Content-Description"] = "Notification"
    del human["MIME-Version"]

    status = EmailMessage()
    status["Content-Description"] = "Delivery report"
    status["Content-Type"] = "message/delivery-status"
    blocks = [_fields([
        ("Original-Envelope-Id", envid),
        ("Reporting-MTA", f"dns; {reporting_mta}"),
        ("Received-From-MTA", f"dns; {received_from_mta}" if received_from_mta else None),
        ("Arrival-Date", _date(arrival)),
    ])]
    for r in reports:
        blocks.append(_fields([
            ("Original-Recipient", r.original_recipient),
            ("Final-Recipient", f"rfc822; {r.recipient}"),
            ("Action", r.action),
            ("Status", r.status),
            ("Remote-MTA", f"dns; {r.remote_mta}" if r.remote_mta else None),
            ("Diagnostic-Code", r.diagnostic),
            ("Last-Attempt-Date", _date(r.last_attempt) if r.last_attempt else None),
            ("Will-Retry-Until", _date(r.will_retry_until) if r.will_retry_until else None),
        ]))
    status.set_payload(blocks)

    full = (ret or "").upper() == "FULL" or (action == "failed" and (ret or "").upper() != "HDRS")
    returned = EmailMessage()
    if full:
        returned["Content-Description"] = "Undelivered Message" if action == "failed" else "Message"
        returned["Content-Type"] = "message/rfc822"
        returned.set_payload([BytesParser(policy=email.policy.default).parsebytes(original)])
    else:
        returned["Content-Description"] = "Message headers"
        returned["Content-Type"] = "text/rfc822-headers"
        head = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
        returned.set_payload(head + "\n")
    for part in (human, status, returned):
        dsn.attach(part)
    return dsn


@dataclass(frozen=True)
class DSN:
    """A DSN read back: per-message fields, one dict per recipient, and the returned part."""

    message: EmailMessage
    per_message: dict[str, str]
    recipients: list[dict[str, str]]
    human: str
    returned_type: str | None

    @property
    def returned_message_id(self) -> str | None:
        """The Message-ID of the message the DSN returns (whole, or its header only), which
        names the mail it reports on (RFC 3462/6522 third part)."""
        for part in self.message.iter_parts():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()
                found = inner[0].get("Message-ID") if inner else None
            elif part.get_content_type() == "text/rfc822-headers":
                head = part.get_payload(decode=True) or b""
                found = BytesParser(policy=email.policy.default).parsebytes(head, headersonly=True).get("Message-ID")
            else:
                continue
            return str(found).strip() if found else None
        return None

    def recipient(self, address: str) -> dict[str, str] | None:
        """The block whose Final-Recipient is ``address`` (case-insensitive)."""
        for block in self.recipients:
            if block.get("Final-Recipient", "").partition(";")[2].strip().lower() == address.lower():
                return block
        return None


def read_dsn(message: Message | bytes) -> DSN:
    """Parse a DSN with the ``email`` package; ValueError if it is not one (RFC 3464)."""
    if isinstance(message, (bytes, bytearray)):
        message = BytesParser(policy=email.policy.default).parsebytes(bytes(message))
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != "delivery-status":
        raise ValueError(f"not a DSN: {message.get_content_type()} "
                         f"report-type={message.get_param('report-type')}")
    parts = list(message.iter_parts())
    status = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
    if status is None:
        raise ValueError("a DSN needs a message/delivery-status part")
    blocks = [{k: str(v) for k, v in block.items()} for block in status.get_payload()]
    human = parts[0].get_content() if parts and parts[0].get_content_type() == "text/plain" else ""
    returned = next((p.get_content_type() for p in parts
                     if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None)
    return DSN(message, blocks[0] if blocks else {}, blocks[1:], human, returned)
