"""The dashboard for a console (`smtpkit classroom`): a line per thing that happens, and a
summary board. Student text arrives already made `visible` by the model, so no escape
sequence a student typed reaches the terminal; the only ANSI codes are our colours, and
only when the output is a terminal.
"""

from __future__ import annotations

from .model import Event, RoomSnapshot, RoomStatus

_ANSI = {2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m", 0: "\x1b[90m"}
_RESET = "\x1b[0m"


def _paint(text: str, reply_class: int, colour: bool) -> str:
    return f"{_ANSI.get(reply_class, '')}{text}{_RESET}" if colour else text


def format_event(event: Event, *, colour: bool = False) -> str:
    """One line for one event, e.g. ``[#3 alice-laptop] MAIL FROM:<a@class.test> -> 250 2.1.0 Ok``."""
    tag = f"[#{event.session_id} {event.who}]" if event.session_id else "[room]"
    if event.kind == "exchange" and event.exchange is not None:
        ex = event.exchange
        said = "" if ex.verb in ("(connect)", "(unasked)") else f"{ex.command} -> "
        return f"{tag} {said}{_paint(ex.reply, ex.reply_class, colour)}"
    if event.kind == "open":
        return f"{tag} connected from {event.text}"
    if event.kind == "close":
        return f"{tag} closed"
    if event.kind == "mail":
        return f"{tag} *** mail delivered: {event.text}"
    return f"{tag} === {event.text}"


def render_text(snapshot: RoomSnapshot, status: RoomStatus | None = None) -> str:
    """The summary board as plain text (at the end of a class, or on demand)."""
    out = []
    if status is not None:
        out.append(f"smtpkit classroom on {status.host}:{status.port}, mail for @{status.domain}"
                   + ("" if status.running else " (stopped)"))
    out.append(f"{snapshot.total_sessions} sessions ({snapshot.active_sessions} open), {snapshot.total_mails} mails")
    if status is not None and status.refusals:
        out.append("refused: " + "; ".join(f"{reason} x{n}" for reason, n in status.refusals))
    out.append("first to deliver:")
    out += [f"  {p.rank:2}. {p.who}  ({p.seconds:.0f} s)" for p in snapshot.board] or ["  nobody yet"]
    out.append("most common mistakes:")
    out += [f"  {m.count:4}x {m.code or '':3} {m.enhanced:7} {m.verb:10} {m.reply}" for m in snapshot.mistakes[:8]] \
        or ["  none"]
    return "\n".join(out)
