"""The dashboard as HTML: one self-contained ``<div>`` with inline styles (no script, no
external CSS), so it renders the same in JupyterLab, in an ipywidgets ``HTML`` and in a
Reveal.js slide. Replies are coloured by their first digit as everywhere in the kit
(`kit.ui.sequence.REPLY_COLOURS`, RFC 5321 §4.2.1). Every text that came from a student was
made `visible` and cut by the model; here it is also HTML-escaped, quotes included.
"""

from __future__ import annotations

import time
from html import escape

from ..ui.sequence import CLIENT_COLOUR, NOTE_COLOUR, REPLY_COLOURS
from .model import Exchange, RoomSnapshot, RoomStatus, SessionView

#: Text size on the projector: the deck asks for at least 24 px (issue 17).
FONT_PX = 24


def _e(text: str) -> str:
    return escape(text, quote=True)


def _exchange(ex: Exchange) -> str:
    colour = REPLY_COLOURS.get(ex.reply_class, NOTE_COLOUR)
    command = "" if ex.verb in ("(connect)", "(unasked)") else (
        f'<span style="color:{CLIENT_COLOUR}">&rarr; {_e(ex.command)}</span> ')
    reply = f'<span style="color:{colour}">&larr; {_e(ex.reply)}</span>' if ex.code is not None else ""
    return (f'<div class="kit-classroom-exchange kit-classroom-reply-{ex.reply_class}yz" '
            f'style="white-space:pre-wrap;word-break:break-all">{command}{reply}</div>')


def _session(s: SessionView, lines: int) -> str:
    state = "open" if s.ended is None else "closed"
    mails = f" &middot; &#9993; {s.mails}" if s.mails else ""
    head = (f'<div style="font-weight:bold">#{s.id} {_e(s.who)} '
            f'<span style="color:{NOTE_COLOUR};font-weight:normal">{_e(s.peer)} &middot; {state}{mails}</span></div>')
    shown = s.exchanges[-lines:]
    hidden = s.earlier + len(s.exchanges) - len(shown)
    more = f'<div style="color:{NOTE_COLOUR}">({hidden} earlier)</div>' if hidden else ""
    notes = "".join(f'<div style="color:{NOTE_COLOUR}">=== {_e(n)}</div>' for n in s.notes[-2:])
    body = "".join(_exchange(ex) for ex in shown)
    return (f'<div class="kit-classroom-session" data-session="{s.id}" '
            f'style="border-left:4px solid {CLIENT_COLOUR};padding-left:0.4em;margin-bottom:0.5em">'
            f'{head}{more}<div style="font-family:monospace;font-size:0.8em">{body}{notes}</div></div>')


def _section(title: str, body: str) -> str:
    return f'<div style="margin-bottom:0.6em"><div style="font-weight:bold">{_e(title)}</div>{body}</div>'


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
        extra += ('<div style="color:#c77700">now: ' + "; ".join(_e(b) for b in status.behaviours) + "</div>")
    if status is not None and status.refusals:
        extra += (f'<div style="color:{NOTE_COLOUR}">refused: '
                  + "; ".join(f"{_e(r)} &times;{n}" for r, n in status.refusals) + "</div>")
    return f'<div style="margin-bottom:0.5em">{line}{extra}</div>'


def render_html(snapshot: RoomSnapshot, status: RoomStatus | None = None, *, font_px: int = FONT_PX,
                sessions: int = 6, lines: int = 5, mails: int = 5, mistakes: int = 5) -> str:
    """The dashboard of one moment of the room, as an HTML fragment."""
    shown = sorted(snapshot.sessions, key=lambda s: (s.ended is not None, -s.id))[:sessions]
    left = ("".join(_session(s, lines) for s in shown)
            or f'<div style="color:{NOTE_COLOUR}">waiting for the first student…</div>')
    board = "".join(f"<li>{_e(p.who)} <span style='color:{NOTE_COLOUR}'>{p.seconds:.0f} s</span></li>"
                    for p in snapshot.board)
    mail_rows = "".join(
        f"<div>{_e(m.who)}: {_e(m.sender or '<>')} &rarr; {_e(', '.join(m.recipients))}"
        f"{' &middot; ' + _e(m.subject) if m.subject else ''}</div>" for m in snapshot.mails[:mails])
    mistake_rows = "".join(
        f"<tr><td style='text-align:right'>{m.count}&times;</td>"
        f"<td style='color:{REPLY_COLOURS.get(m.code // 100, NOTE_COLOUR)}'>{m.code or ''} {_e(m.enhanced)}</td>"
        f"<td>{_e(m.verb)}</td><td style='font-family:monospace;font-size:0.8em'>{_e(m.reply)}</td></tr>"
        for m in snapshot.mistakes[:mistakes])
    right = (_section("First to deliver", f"<ol style='margin:0'>{board}</ol>" if board else "nobody yet")
             + _section("Mails that made it", mail_rows or "none yet")
             + _section("Most common mistakes", f"<table>{mistake_rows}</table>" if mistake_rows else "none yet"))
    notes = "".join(f'<div style="color:{NOTE_COLOUR}">=== {_e(n)}</div>' for n in snapshot.notes[-3:])
    stamp = time.strftime("%H:%M:%S", time.localtime())
    return (f'<div class="kit-classroom" data-version="{snapshot.version}" '
            f'style="font-family:sans-serif;font-size:{int(font_px)}px;line-height:1.25">'
            f"{_header(snapshot, status)}{notes}"
            f'<div style="display:flex;gap:1em;align-items:flex-start">'
            f'<div style="flex:3;min-width:0">{left}</div><div style="flex:2;min-width:0">{right}</div></div>'
            f'<div style="color:{NOTE_COLOUR};font-size:0.6em">updated {stamp}</div></div>')
