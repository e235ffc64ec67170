"""The room's records as JSON and back, for the control socket (`kit.classroom.control`).

Pure functions, no I/O: `smtpkit classroom` sends its `RoomSnapshot` and `RoomStatus` this way
to the presenter's kernel, and the kernel sends `Behaviour` rules back. Loading rebuilds the
same frozen records (tuples, not lists), so a view cannot tell a remote room from a local one;
a field of the wrong shape raises `WireError`, never a half-built record.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..server import Behaviour
from .model import Exchange, Mail, Mistake, Place, RoomSnapshot, RoomStatus, SessionView

__all__ = ["WireError", "dump", "load_snapshot", "load_status", "load_behaviour"]


class WireError(ValueError):
    """A message on the control socket does not describe what it claims to."""


def dump(record: Any) -> dict:
    """A record (snapshot, status, behaviour) as plain JSON-able data."""
    return dataclasses.asdict(record)


def _build(cls: type, data: Any, **nested: Any) -> Any:
    if not isinstance(data, dict):
        raise WireError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise WireError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    try:
        return cls(**{**data, **{k: v(data[k]) for k, v in nested.items() if k in data}})
    except (TypeError, ValueError, KeyError) as exc:
        raise WireError(f"{cls.__name__}: {exc}") from None


def _many(cls: type, **nested: Any):
    def load(items: Any) -> tuple:
        if not isinstance(items, list):
            raise WireError(f"{cls.__name__}: expected a list")
        return tuple(_build(cls, item, **nested) for item in items)
    return load


def _strings(items: Any) -> tuple[str, ...]:
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise WireError("expected a list of strings")
    return tuple(items)


def load_snapshot(data: Any) -> RoomSnapshot:
    session = _many(SessionView, exchanges=_many(Exchange), notes=_strings)
    return _build(RoomSnapshot, data, sessions=session, mails=_many(Mail, recipients=_strings),
                  mistakes=_many(Mistake), board=_many(Place), notes=_strings)


def _pairs(items: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
        raise WireError("refusals: expected [reason, count] pairs")
    return tuple((str(reason), int(count)) for reason, count in items)


def load_status(data: Any) -> RoomStatus:
    return _build(RoomStatus, data, behaviours=_strings, refusals=_pairs)


def load_behaviour(data: Any) -> Behaviour:
    """A rule as the presenter made it; `Behaviour` checks it as it would in the kernel."""
    return _build(Behaviour, data)
