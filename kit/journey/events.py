"""An `Event`: one thing an agent of the mail world did with a message (the journal's rows).

A leaf module: the journal, the agents and the pictures all read it, it reads none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..i18n import N_, _

if TYPE_CHECKING:
    from ..transcript import Transcript

__all__ = ["Event", "KINDS", "kind_text"]

#: What an event can say happened. Recorded in English, the words code and checkers match on
#: (``world.wait_for("retry")``); `kind_text` shows them in the kit's language.
KINDS = (N_("submitted"), N_("queued"), N_("attempt"), N_("retry"), N_("gave up"), N_("filed"), N_("unknown user"),
         N_("bounce"), N_("dsn"), N_("no dsn"), N_("error"))


def kind_text(kind: str) -> str:
    """An event's kind as people read it (the recorded English word stays the event's ``kind``)."""
    return _(kind) if kind in KINDS else kind


@dataclass(frozen=True)
class Event:
    """One thing an agent did with a message. ``time`` is epoch seconds."""

    time: float
    message_id: str
    kind: str
    actor: str
    peer: str | None = None
    recipients: tuple[str, ...] = ()
    reply: str | None = None
    outcome: str | None = None  # "ok", "deferred", "failed" (or None for bookkeeping events)
    note: str = ""
    duration: float = 0.0
    related: str | None = None  # the DSN's Message-ID on a "bounce"; the original's on a "dsn"
    subject: str = ""
    #: The host a message came through, when the actor is not a server (the MDA's MX).
    via: str | None = None
    transcript: Transcript | None = field(default=None, compare=False, repr=False)
    #: The queue ID the server gave the message (on "submitted"): the mail's name there.
    queue_id: str | None = None

