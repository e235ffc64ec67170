"""What happened to each mail: the world's journal of events, and a mail's journey in it.

Every agent writes an `Event` when it acts on a message: the MSA accepted it, the MTA queued
it, tried a mail exchanger (with the replies it got), scheduled a retry, gave up, sent a
bounce; the MDA filed it into a mailbox. Events are keyed by the message's ``Message-ID``,
the one name a message keeps on every hop (each server gives it a new queue ID).
`Journey` is the list of events of one message and of the bounces it caused, as a table.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..i18n import N_, _, ngettext
from .events import KINDS, Event, kind_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Event", "Journal", "Journey", "KINDS"]

#: The journey table's columns (the keys of `Journey.rows`), as its head shows them.
COLUMNS = {"t": N_("t"), "message": N_("message"), "who": N_("who"), "what": N_("what"), "to": N_("to"),
           "recipients": N_("recipients"), "reply": N_("reply"), "note": N_("note")}


class Journal:
    """All events of a world, in order; safe to write from the world's thread and read anywhere."""

    def __init__(self, limit: int = 10_000) -> None:
        self._events: list[Event] = []
        self._limit = limit
        self._cond = threading.Condition()
        #: ENVID (RFC 3461) -> Message-ID of the mail sent with it: a DSN that comes back
        #: from a foreign server names the envelope, not always the message.
        self.envids: dict[str, str] = {}

    def add(self, event: Event) -> Event:
        with self._cond:
            if len(self._events) < self._limit:
                self._events.append(event)
            self._cond.notify_all()
        return event

    def events(self, message_id: str | None = None) -> list[Event]:
        with self._cond:
            return [e for e in self._events if message_id is None or e.message_id == message_id]

    def clear(self) -> None:
        with self._cond:
            self._events.clear()
            self.envids.clear()

    def wait(self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> list[Event]:
        """Block until ``predicate(events)`` holds; TimeoutError after ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._events), timeout):
                raise TimeoutError(_("the awaited event did not happen within {timeout:.1f} s").format(
                    timeout=timeout))
            return list(self._events)

    def __len__(self) -> int:
        return len(self._events)


def _format_recipients(recipients: tuple[str, ...]) -> str:
    return ", ".join(f"<{r}>" for r in recipients)


class Journey:
    """The path of one message, and of the bounces it caused, as events in time order."""

    def __init__(self, message_id: str, events: list[Event], roles: dict[str, str] | None = None) -> None:
        self.message_id = message_id
        self.events = sorted(events, key=lambda e: e.time)
        #: What each host does (for the picture's row labels), e.g. {"mx.example.org": "MX 10"}.
        self.roles = dict(roles or {})

    @classmethod
    def of(cls, journal: Journal, message_id: str, roles: dict[str, str] | None = None) -> Journey:
        """The events of ``message_id`` plus those of every DSN it caused (and theirs)."""
        ids, pending = {message_id}, [message_id]
        everything = journal.events()
        while pending:
            current = pending.pop()
            for event in everything:
                if event.message_id == current and event.kind in ("bounce", "dsn") and event.related and \
                        event.related not in ids:
                    ids.add(event.related)
                    pending.append(event.related)
        chosen = [e for e in everything if e.message_id in ids]
        return cls(message_id, chosen, roles)

    @property
    def start(self) -> float | None:
        return self.events[0].time if self.events else None

    @property
    def dsn_ids(self) -> list[str]:
        return [e.related for e in self.events if e.kind in ("bounce", "dsn") and e.related]

    def attempts(self) -> list[Event]:
        """The SMTP sessions the MTA opened for this message (with their transcripts)."""
        return [e for e in self.events if e.kind == "attempt" and e.message_id == self.message_id]

    @property
    def delivered_to(self) -> list[str]:
        return [r for e in self.events if e.kind == "filed" and e.message_id == self.message_id
                for r in e.recipients]

    @property
    def duration(self) -> float:
        return self.events[-1].time + self.events[-1].duration - self.events[0].time if self.events else 0.0

    def rows(self) -> list[dict[str, Any]]:
        """One dict per event, with the time relative to the first event; the texts in the kit's
        language (the events keep their English ``kind`` and ``note``, which code matches on)."""
        start = self.start or 0.0
        out = []
        for e in self.events:
            out.append({
                "t": f"+{e.time - start:.3f} s",
                "message": _("the bounce") if e.message_id != self.message_id else _("the mail"),
                "who": e.actor, "what": kind_text(e.kind), "to": e.peer or "",
                "recipients": _format_recipients(e.recipients),
                "reply": e.reply or "", "note": _(e.note),
            })
        return out

    def to_text(self) -> str:
        lines = []
        for r in self.rows():
            lines.append(f"{r['t']:>11}  {r['message']:10} {r['who']:<24} {r['what']:<12} {r['to']:<22} "
                         f"{r['recipients']}")
            for key in ("reply", "note"):
                if r[key]:
                    lines.append(f"{'':13}{r[key]}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        colours = {"ok": "#1e7b34", "deferred": "#b36b00", "failed": "#b00020"}
        keys = list(COLUMNS)
        head = "".join(f"<th style='text-align:left'>{html.escape(_(COLUMNS[k]))}</th>" for k in keys)
        body = []
        for event, row in zip(self.events, self.rows(), strict=True):
            colour = colours.get(event.outcome or "", "inherit")
            cells = "".join(f"<td style='text-align:left'>{html.escape(str(row[k]))}</td>" for k in keys)
            body.append(f"<tr style='color:{colour}'>{cells}</tr>")
        count = ngettext("{n} event(s)", "{n} event(s)", len(self.events)).format(n=len(self.events))
        return (f"<div><b>{html.escape(_('Journey of'))}</b> <code>{html.escape(self.message_id)}</code>: "
                f"{html.escape(count)}<table><tr>{head}</tr>{''.join(body)}</table></div>")

    def picture(self) -> Figure:
        """A time line of the journey: who handed the mail to whom, when, with which reply."""
        from .picture import journey_picture

        return journey_picture(self)

    def __repr__(self) -> str:
        return f"<Journey {self.message_id}: {len(self.events)} events>"
