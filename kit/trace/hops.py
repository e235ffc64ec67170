"""From a message to its hops: the Received chain in travel order, with delays.

Every server that relays a message prepends one ``Received:`` field (RFC 5321 §4.4), so
the *bottom-most* field was written first. A `Hop` is one field read in travel order:
hop 0 is the origin, the last hop the final receiver.

Delays are differences between the servers' own clocks, so they can be wrong, and the
rules here say how wrong is shown rather than hidden:

* ``delay_seconds`` is this hop's time minus the previous hop's time (None if either is
  unknown); ``delay_from_last_known`` goes back to the last earlier hop that had one.
* A negative delay is kept as it is and flagged ``clock_skew``: never clipped, never made
  absolute, never wrapped around (the ``timedelta.seconds`` bug).
* A time without a known zone is shown, but never used in a difference.
* ``total_delay_seconds`` is last known time minus first known time (may be negative);
  ``sum_positive_delays`` adds only the positive steps.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.policy import compat32
from typing import TYPE_CHECKING, Any

from . import render
from .lexer import normalize_space, to_text, unfold
from .received import ReceivedField, parse_received

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Hop", "MessageLike", "Trace", "hops", "trace"]

MessageLike = Message | bytes | bytearray | str


def _field(name: str) -> property:
    """A read-only shortcut from a hop to the same attribute of its `ReceivedField`."""
    return property(lambda self: getattr(self.received, name),
                    doc=f"Same as ``received.{name}``.")


@dataclass(frozen=True)
class Hop:
    """One relay step: a parsed ``Received:`` field and the delays computed around it."""

    index: int
    received: ReceivedField
    delay_seconds: float | None = None
    delay_from_last_known: float | None = None

    @property
    def clock_skew(self) -> bool:
        """True when this hop claims to be earlier than the one before it."""
        return any(d is not None and d < 0
                   for d in (self.delay_seconds, self.delay_from_last_known))

    @property
    def known_time(self) -> datetime | None:
        """The time in UTC if it has a known zone, else None (usable for differences)."""
        return self.received.date if self.received.zone_known else None

    # The clauses, so that ``hop.by`` reads like the header.
    from_ = _field("from_")
    by = _field("by")
    via = _field("via")
    with_ = _field("with_")
    id = _field("id")
    for_ = _field("for_")
    date = _field("date")
    zone_known = _field("zone_known")
    raw = _field("raw")
    tls = _field("tls")

    def to_dict(self) -> dict[str, Any]:
        """The hop in the ``smtpkit trace --json`` shape (DESIGN.md §4), plus extra keys."""
        return {
            "index": self.index,
            "from": self.from_,
            "by": self.by,
            "with": self.with_,
            "id": self.id,
            "for": self.for_,
            "date": self.known_time.isoformat() if self.known_time else None,
            "delay_seconds": self.delay_seconds,
            "via": self.via,
            "date_text": self.received.date_text,
            "zone_known": self.zone_known,
            "delay_from_last_known_seconds": self.delay_from_last_known,
            "clock_skew": self.clock_skew,
            "tls": self.tls,
            "raw": self.raw,
        }


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()  # signed; never .seconds, never abs()


@dataclass(frozen=True)
class Trace:
    """The Received chain of one message, origin first, and the envelope traces around it.

    ``return_path`` is the top-most ``Return-Path`` (RFC 5321 §4.4: the reverse-path the
    final server saw). ``delivered_to`` and ``x_original_to`` (written by Postfix and
    others at delivery) and ``authentication_results`` (RFC 8601) keep every occurrence,
    top-most first. In a notebook a Trace shows as a table; ``plot()`` draws a timeline.
    """

    hops: tuple[Hop, ...] = ()
    return_path: str | None = None
    delivered_to: tuple[str, ...] = ()
    x_original_to: tuple[str, ...] = ()
    authentication_results: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.hops)

    def __iter__(self) -> Iterator[Hop]:
        return iter(self.hops)

    def __getitem__(self, index: int) -> Hop:
        return self.hops[index]

    @property
    def total_delay_seconds(self) -> float | None:
        """Last known time minus first known time, negative if the clocks say so."""
        known = [h.known_time for h in self.hops if h.known_time is not None]
        return _seconds(known[-1], known[0]) if len(known) >= 2 else None

    @property
    def sum_positive_delays(self) -> float | None:
        """The positive steps between known times, added up (clock skew left out)."""
        steps = [h.delay_from_last_known for h in self.hops
                 if h.delay_from_last_known is not None]
        return sum(s for s in steps if s > 0) if steps else None

    def to_dict(self) -> dict[str, Any]:
        """The ``smtpkit trace --json`` document (DESIGN.md §4), plus extra keys."""
        return {
            "hops": [hop.to_dict() for hop in self.hops],
            "total_delay_seconds": self.total_delay_seconds,
            "sum_positive_delays_seconds": self.sum_positive_delays,
            "return_path": self.return_path,
            "delivered_to": list(self.delivered_to),
            "x_original_to": list(self.x_original_to),
            "authentication_results": list(self.authentication_results),
        }

    def to_json(self, **kwargs: Any) -> str:
        """`to_dict` as JSON; keyword arguments go to `json.dumps` (e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        return render.text_table(self)

    def _repr_html_(self) -> str:
        return render.html_table(self)

    def plot(self) -> Figure:
        """A matplotlib Figure: when each hop stamped the message (needs matplotlib)."""
        return render.plot(self)


def _as_message(message: MessageLike) -> Message:
    if isinstance(message, Message):
        return message
    if isinstance(message, (bytes, bytearray, memoryview)):
        return email.message_from_bytes(bytes(message), policy=compat32)
    if isinstance(message, str):
        return email.message_from_string(message, policy=compat32)
    raise TypeError(f"expected an email.message.Message, bytes or str, not "
                    f"{type(message).__name__}")


def _raw_values(message: Message, name: str) -> list[str]:
    """Every value of header ``name`` as written (still folded), top-most first."""
    return [to_text(value) for key, value in message.raw_items() if key.lower() == name]


def _plain(value: str) -> str:
    return normalize_space(unfold(value))


def _with_delays(fields: list[ReceivedField]) -> tuple[Hop, ...]:
    hops_: list[Hop] = []
    previous: datetime | None = None
    last_known: datetime | None = None
    for index, field in enumerate(fields):
        now = field.date if field.zone_known else None
        hops_.append(Hop(index, field, _seconds(now, previous), _seconds(now, last_known)))
        previous = now
        if now is not None:
            last_known = now
    return tuple(hops_)


def hops(message: MessageLike) -> list[Hop]:
    """The hops of a message, origin first (the bottom-most ``Received:`` is hop 0).

    ``message`` is an `email.message.Message` (any policy), or the message as bytes or
    str (headers alone are enough).
    """
    return list(trace(message).hops)


def trace(message: MessageLike) -> Trace:
    """Trace a message: its hops plus Return-Path, Delivered-To, X-Original-To and
    Authentication-Results. Shows as a table in Jupyter, ``str()`` gives plain text."""
    msg = _as_message(message)
    fields = [parse_received(v) for v in _raw_values(msg, "received")]
    return_paths = [_plain(v) for v in _raw_values(msg, "return-path")]
    return Trace(
        hops=_with_delays(fields[::-1]),
        return_path=return_paths[0] if return_paths else None,
        delivered_to=tuple(_plain(v) for v in _raw_values(msg, "delivered-to")),
        x_original_to=tuple(_plain(v) for v in _raw_values(msg, "x-original-to")),
        authentication_results=tuple(
            _plain(v) for v in _raw_values(msg, "authentication-results")),
    )
