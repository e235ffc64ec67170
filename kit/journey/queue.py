"""The MTA's queue: mail waits here, first in first out, until it is delivered or given up.

Store-and-forward means a server that answered ``250`` is responsible for the mail
(RFC 5321 §6.1). When the next hop answers 4yz or cannot be reached, the mail stays in the
queue and is tried again later; RFC 5321 §4.5.4.1 asks for at least 30 minutes between
tries and a give-up time of at least 4-5 days. A `RetryPolicy` is that schedule, in seconds
for teaching: ``RetryPolicy((1, 2, 4))`` tries at once, then 1 s, 2 s and 4 s after each
failure, and gives up after the fourth try.

Nothing here does I/O or reads a clock: times are passed in, so the queue is easy to test
and to show. `MailQueue.due(now)` hands out the entries whose time has come, oldest first.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..i18n import N_, _, ngettext

__all__ = ["RetryPolicy", "Recipient", "QueueEntry", "MailQueue", "QueueFull", "PENDING", "DEFERRED",
           "DELIVERED", "FAILED", "recipients_from"]

#: A recipient's state: English words code compares; ``_(state)`` shows one in the kit's language.
PENDING, DEFERRED, DELIVERED, FAILED = N_("pending"), N_("deferred"), N_("delivered"), N_("failed")
#: The queue table's columns (the keys of `MailQueue.rows`), as its head shows them.
COLUMNS = {"subject": N_("subject"), "from": N_("from"), "to": N_("to"), "state": N_("state"), "tries": N_("tries"),
           "next try": N_("next try"), "last reply": N_("last reply")}


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait after each failed try; after the last wait, one more try, then give up.

    ``RetryPolicy((1, 2, 4))``: 4 tries at t = 0, 1, 3 and 7 s. A real MTA uses minutes and
    days: Postfix starts at 5 minutes, doubles up to about an hour and gives up after 5 days.
    """

    schedule: tuple[float, ...] = (1.0, 2.0, 4.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", tuple(float(s) for s in self.schedule))
        if any(s < 0 for s in self.schedule):
            raise ValueError(_("waits must be >= 0 seconds"))
        if len(self.schedule) > 20:
            raise ValueError(_("at most 20 retries: the world is bounded"))

    @classmethod
    def exponential(cls, first: float = 1.0, factor: float = 2.0, retries: int = 3) -> RetryPolicy:
        """``first``, ``first*factor``, ... (``retries`` waits): exponential back-off."""
        return cls(tuple(first * factor ** i for i in range(retries)))

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def wait_after(self, attempts: int) -> float | None:
        """The wait after the ``attempts``-th failed try, or None: give up (no try left)."""
        if attempts < 1:
            raise ValueError("attempts counts tries made, from 1")
        return self.schedule[attempts - 1] if attempts <= len(self.schedule) else None

    @property
    def give_up_after(self) -> float:
        """Seconds from the first try to the last one."""
        return sum(self.schedule)


@dataclass
class Recipient:
    """One RCPT of a queued message and what became of it so far."""

    address: str
    #: RFC 3461 NOTIFY values as given (e.g. ``("FAILURE", "DELAY")``), or None when absent.
    notify: tuple[str, ...] | None = None
    #: RFC 3461 ORCPT, e.g. ``rfc822;bob@example.org``.
    orcpt: str | None = None
    state: str = PENDING
    #: The last reply (wire text) or a local diagnostic, and the host that gave it.
    reply: str | None = None
    status: str | None = None
    remote: str | None = None
    diagnostic_type: str = "smtp"
    #: A DSN (or the decision to send none) has been made for the final state / for a delay.
    reported: bool = False
    delay_notified: bool = False

    @property
    def open(self) -> bool:
        return self.state in (PENDING, DEFERRED)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


@dataclass
class QueueEntry:
    """A message in the queue: envelope, content, and its tries so far."""

    queue_id: str
    sender: str  # "" is the null reverse-path <> (RFC 5321 §4.5.5)
    recipients: list[Recipient]
    content: bytes
    message_id: str
    subject: str
    arrived: float
    received_from: str = ""  # who handed it to us (its EHLO name)
    ret: str | None = None  # RFC 3461 RET=FULL|HDRS
    envid: str | None = None  # RFC 3461 ENVID
    attempts: int = 0
    next_try: float = 0.0
    last_try: float | None = None
    history: list = field(default_factory=list)

    def open_recipients(self) -> list[Recipient]:
        return [r for r in self.recipients if r.open]

    @property
    def done(self) -> bool:
        return not self.open_recipients()

    @property
    def state(self) -> str:
        states = {r.state for r in self.recipients}
        for state in (PENDING, DEFERRED):
            if state in states:
                return state
        return FAILED if states == {FAILED} else DELIVERED


class QueueFull(RuntimeError):
    pass


class MailQueue:
    """Entries in arrival order; `due` hands out those whose next try has come (FIFO)."""

    def __init__(self, policy: RetryPolicy | None = None, *, max_entries: int = 200) -> None:
        self.policy = policy or RetryPolicy()
        self.max_entries = max_entries
        self._entries: list[QueueEntry] = []

    def add(self, entry: QueueEntry, now: float) -> QueueEntry:
        """Queue ``entry``; `QueueFull` at ``max_entries``, except for a DSN (null sender): it
        reports on mail already accepted, so refusing it would lose that report."""
        if entry.sender and len(self._entries) >= self.max_entries:
            raise QueueFull(_("the queue holds {n} messages already").format(n=self.max_entries))
        entry.next_try = now
        self._entries.append(entry)
        return entry

    def due(self, now: float) -> list[QueueEntry]:
        """Entries to try now, oldest first."""
        return [e for e in self._entries if e.next_try <= now and not e.done]

    def tried(self, entry: QueueEntry, now: float) -> float | None:
        """Count a try. With recipients still open, schedule the next try and return the wait;
        return None when there is no try left (the caller bounces) or nothing is open."""
        entry.attempts += 1
        entry.last_try = now
        if entry.done:
            return None
        wait = self.policy.wait_after(entry.attempts)
        if wait is not None:
            entry.next_try = now + wait
        return wait

    def remove(self, entry: QueueEntry) -> None:
        if entry in self._entries:
            self._entries.remove(entry)

    def next_due(self) -> float | None:
        times = [e.next_try for e in self._entries if not e.done]
        return min(times) if times else None

    def find(self, message_id: str) -> QueueEntry | None:
        return next((e for e in self._entries if e.message_id == message_id), None)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[QueueEntry]:
        return iter(list(self._entries))

    # -- showing -----------------------------------------------------------------------
    def rows(self, now: float) -> list[dict]:
        """One dict per entry: what ``mailq`` shows, without the random queue ID (the state in the
        kit's language)."""
        out = []
        for e in self._entries:
            wait = e.next_try - now
            out.append({
                "subject": e.subject, "from": f"<{e.sender}>", "to": ", ".join(r.address for r in e.open_recipients()),
                "state": _(e.state), "tries": e.attempts,
                "next try": f"in {max(wait, 0.0):.3f} s" if not e.done else "",
                "last reply": next((r.reply for r in e.open_recipients() if r.reply), "") or "",
            })
        return out

    def to_text(self, now: float) -> str:
        rows = self.rows(now)
        if not rows:
            return _("Mail queue is empty")
        tries = _("tries={tries}")
        return "\n".join(f"{r['state']:9} {tries.format(tries=r['tries'])} {r['next try']:>14}  {r['from']} -> "
                         f"{r['to']}  {r['subject']!r}" + (f"\n{'':10}{r['last reply']}" if r["last reply"] else "")
                         for r in rows)

    def to_html(self, now: float, title: str = N_("queue")) -> str:
        rows = self.rows(now)
        title = _(title)
        if not rows:
            return f"<div><b>{html.escape(title)}</b>: {html.escape(_('empty'))}</div>"
        keys = list(rows[0])
        head = "".join(f"<th style='text-align:left'>{html.escape(_(COLUMNS.get(k, k)))}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(r[k]))}</td>"
                                        for k in keys) + "</tr>" for r in rows)
        count = ngettext("{n} message(s), oldest first", "{n} message(s), oldest first", len(rows)).format(
            n=len(rows))
        return (f"<div><b>{html.escape(title)}</b>: {html.escape(count)}"
                f"<table><tr>{head}</tr>{body}</table></div>")


def recipients_from(addresses: Iterable[str], options: dict[str, Iterable[str]] | None = None) -> list[Recipient]:
    """`Recipient` objects from RCPT addresses and their ESMTP parameters (NOTIFY, ORCPT)."""
    options = options or {}
    out = []
    for address in addresses:
        notify = orcpt = None
        for option in options.get(address, ()):
            key, _, value = option.partition("=")
            if key.upper() == "NOTIFY":
                notify = tuple(v.upper() for v in value.split(",") if v)
            elif key.upper() == "ORCPT":
                orcpt = value
        out.append(Recipient(address, notify=notify, orcpt=orcpt))
    return out
