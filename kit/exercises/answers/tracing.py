"""Reference solutions of notebook 05 (header tracing): `kit.trace`, the tested tracer, reduced to
the exercises' plain contract (see `kit.exercises.tracing`)."""

from __future__ import annotations

from typing import Any

from ...trace import parse_received as _parse_received
from ...trace import trace as _trace

__all__ = ["parse_received", "hops"]


def _word(text: str | None) -> str | None:
    words = (text or "").replace("(", " (").split()
    return words[0] if words else None


def _iso(hop_or_field: Any) -> str | None:
    when = hop_or_field.date
    return when.isoformat() if when is not None and hop_or_field.zone_known else None


def parse_received(value: str) -> dict:
    f = _parse_received(value)
    return {"from": _word(f.from_), "by": _word(f.by), "with": _word(f.with_), "id": f.id,
            "for": f.for_, "date": _iso(f)}


def hops(message_text: str) -> list[dict]:
    return [{"from": _word(h.from_), "by": _word(h.by), "date": _iso(h), "delay": h.delay_seconds}
            for h in _trace(message_text)]
