"""The dashboard as HTML: one self-contained ``<div>`` with inline styles (no script, no
external CSS), so it renders the same in JupyterLab, in an ipywidgets ``HTML`` and in a
Reveal.js slide. Replies are coloured by their first digit as everywhere in the kit
(`kit.ui.sequence.REPLY_COLOURS`, RFC 5321 §4.2.1). Every text that came from a student was
made `visible` and cut by the model; here it is also HTML-escaped, quotes included.
"""

from __future__ import annotations

import re
import time
from html import escape

from ..ui.sequence import CLIENT_COLOUR, NOTE_COLOUR, REPLY_COLOURS
from .model import Exchange, RoomSnapshot, RoomStatus, SessionView

#: Text size on the projector: the deck asks for at least 24 px (issue 17). Every text of the
#: dashboard has this size; the defaults below fit a 1280x720 slide without scrolling.
FONT_PX = 24
#: Characters of a command or reply shown on one line of the board (the model keeps 120).
SHOWN = 56
#: One line, cut with an ellipsis when too wide: the board never wraps or grows sideways.
_ROW = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"
#: A list of families: browsers shrink ``monospace`` alone to their 13 px default.
MONO = "ui-monospace,Menlo,Consolas,monospace"


_MODEL_CUT = re.compile(r"… \[([\d,]+) chars\]$")


def _cut(text: str, size: int = SHOWN) -> str:
    """``text`` in at most ``size`` characters; what the model cut keeps its length, shortly:
    ``EHLO AAAAAAA… [10M chars]``."""
    if len(text) <= size:
        return text
    found = _MODEL_CUT.search(text)
    if found is None:
        return text[: size - 1] + "…"
    length = int(found.group(1).replace(",", ""))
    short = f"{length / 1e6:.3g}M" if length >= 1e6 else f"{length / 1e3:.3g}k" if length >= 1e3 else str(length)
    tail = f"… [{short} chars]"
    return text[: max(size - len(tail), 1)] + tail


def _e(text: str) -> str:
    return escape(text, quote=True)


def _exchange(ex: Exchange) -> str:
    colour = REPLY_COLOURS.get(ex.reply_class, NOTE_COLOUR)
    command = "" if ex.verb in ("(connect)", "(unasked)") else (
        f'<span style="color:{CLIENT_COLOUR}">&rarr; {_e(_cut(ex.command, SHOWN // 2))}</span> ')
    reply = "" if ex.code is None else f'<span style="color:{colour}">&larr; {_e(_cut(ex.reply, SHOWN // 2))}</span>'
    return (f'<div class="kit-classroom-exchange kit-classroom-reply-{ex.reply_class}yz" '
            f'style="{_ROW}">{command}{reply}</div>')


def _session(s: SessionView, lines: int) -> str:
    state = "open" if s.ended is None else "closed"
    mails = f" &middot; &#9993; {s.mails}" if s.mails else ""
    head = (f'<div style="font-weight:bold;white-space:nowrap;overflow:hidden;text-overflow:ellipsis">'
            f'#{s.id} {_e(_cut(s.who, 24))} <span style="color:{NOTE_COLOUR};font-weight:normal">'
            f'{_e(s.peer.rsplit(":", 1)[0])} &middot; {state}{mails}</span></div>')
    talk = [ex for ex in s.exchanges if ex.verb != "(connect)"]  # the greeting only while nothing else came
    shown = (talk or list(s.exchanges))[-lines:]
    more = ""
    notes = "".join(f'<div style="color:{NOTE_COLOUR}">=== {_e(_cut(n))}</div>' for n in s.notes[-1:])
    body = "".join(_exchange(ex) for ex in shown)
    return (f'<div class="kit-classroom-session" data-session="{s.id}" '
            f'style="border-left:4px solid {CLIENT_COLOUR};padding-left:0.4em;margin-bottom:0.3em">'
            f'{head}{more}<div style="font-family:{MONO}">{body}{notes}</div></div>')


def _section(title: str, body: str) -> str:
    return f'<div style="margin-bottom:0.4em"><div style="font-weight:bold">{_e(title)}</div>{body}</div>'


def _header(snap: RoomSnapshot, status: RoomStatus | None) -> str:
    parts = ["<b>smtpkit classroom</b>"]
    if status is not None:
        where = f"{status.host}:{status.port}"
        parts.append(f"<code>telnet {_e(status.host)} {status.port}</code>" if status.running
                     else f"stopped ({_e(where)})")
        parts.append(f"mail for <code>@{_e(status.domain)}</code>")
        if status.running:
            parts.append(f"{max(status.seconds_left, 0) / 60:.0f} min left")
    parts.append(f"{snap.total_sessions} sessions ({snap.active_sessions} open)")
    parts.append(f"{snap.total_mails} mails")
    line = " &middot; ".join(parts)
    extra = ""
    if status is not None and status.behaviours:
        extra += (f'<div style="color:#c77700;{_ROW}">now: ' + "; ".join(_e(b) for b in status.behaviours) + "</div>")
    if status is not None and status.refusals:
        extra += (f'<div style="color:{NOTE_COLOUR};{_ROW}">refused: '
                  + "; ".join(f"{_e(r)} &times;{n}" for r, n in status.refusals) + "</div>")
    stamp = time.strftime("%H:%M:%S", time.localtime())
    return f'<div style="margin-bottom:0.3em">{line} <span style="color:{NOTE_COLOUR}">{stamp}</span>{extra}</div>'


def picture_key(version: int, status: RoomStatus) -> tuple:
    """What the picture of the room depends on: the model's version and what the header shows
    (running, whole minutes left, behaviours, refusals). Live views redraw when it changes."""
    return (version, status.running, int(status.seconds_left // 60), status.behaviours, status.refusals)


def render_html(snapshot: RoomSnapshot, status: RoomStatus | None = None, *, font_px: int = FONT_PX,
                sessions: int = 4, lines: int = 3, places: int = 5, mails: int = 3, mistakes: int = 4) -> str:
    """The dashboard of one moment of the room, as an HTML fragment. The counts say how much of
    each part is shown (open sessions first, newest first); the defaults fit 1280x720 at 24 px."""
    shown = sorted(snapshot.sessions, key=lambda s: (s.ended is not None, -s.id))[:sessions]
    left = ("".join(_session(s, lines) for s in shown)
            or f'<div style="color:{NOTE_COLOUR}">waiting for the first student…</div>')
    board = "".join(f'<div style="{_ROW}">{p.rank}. {_e(_cut(p.who, 28))} '
                    f'<span style="color:{NOTE_COLOUR}">{p.seconds:.0f} s</span></div>'
                    for p in snapshot.board[:places])
    mail_rows = "".join(
        f'<div style="{_ROW}">{_e(_cut(m.who, 20))}: {_e(m.subject or "(no subject)")} '
        f'<span style="color:{NOTE_COLOUR}">&rarr; {_e(", ".join(m.recipients))}</span></div>'
        for m in snapshot.mails[:mails])
    mistake_rows = "".join(
        f'<div style="{_ROW}">{m.count}&times; '
        f'<span style="color:{REPLY_COLOURS.get(m.code // 100, NOTE_COLOUR)}">{m.code or ""} {_e(m.enhanced)}</span> '
        f'{_e(m.verb)} <span style="color:{NOTE_COLOUR}">{_e(_reason(m.reply))}</span></div>'
        for m in snapshot.mistakes[:mistakes])
    right = (_section("First to deliver", board or "nobody yet")
             + _section("Mails that made it", mail_rows or "none yet")
             + _section("Most common mistakes", mistake_rows or "none yet"))
    latest = [n for n in snapshot.notes if not n.startswith("behaviour")][-1:]  # behaviours: in the header
    notes = "".join(f'<div style="color:{NOTE_COLOUR};{_ROW}">=== {_e(n)}</div>' for n in latest)
    return (f'<div class="kit-classroom" data-version="{snapshot.version}" '
            f'style="font-family:sans-serif;font-size:{int(font_px)}px;line-height:1.25">'
            f"{_header(snapshot, status)}{notes}"
            f'<div style="display:flex;gap:1em;align-items:flex-start">'
            f'<div style="flex:3;min-width:0">{left}</div><div style="flex:2;min-width:0">{right}</div></div></div>')


def _reason(reply: str) -> str:
    """A reply without its codes: ``554 5.7.1 <x>: Relay access denied`` -> ``<x>: Relay access denied``."""
    parts = reply.split(" ", 2)
    if len(parts) == 3 and parts[1][:1] in "245" and parts[1].count(".") == 2:
        return parts[2]
    return reply[4:]
