"""Showing a trace: a plain-text table, an HTML table for Jupyter, a matplotlib timeline.

The columns follow what mail admins know from MXToolbox and Google's Messageheader:
hop, delay, time in UTC, from, by, with, and what each hop says about TLS. What those tools smooth over is made visible:
a negative delay is printed as it is and marked *clock skew* (a red cell in HTML), a
time whose zone is unknown says so, a hop without a time says so. All header text is
HTML-escaped: a Received field is written by whoever sent the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import TYPE_CHECKING

from ..i18n import _, ngettext

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .hops import Hop, Trace

__all__ = ["format_delay", "html_table", "plot", "text_table"]

_UNITS = (("d", 86400), ("h", 3600), ("min", 60))
_WIDTHS = {"from": 44, "by": 40, "with": 24, "tls": 32}  # text table: longer values are cut


def format_delay(seconds: float | None) -> str:
    """``123`` -> ``"2 min 3 s"``, ``-17`` -> ``"-17 s"``, ``0.0417`` -> ``"0.042 s"``."""
    if seconds is None:
        return "?"
    sign = "-" if seconds < 0 else ""
    magnitude = -seconds if seconds < 0 else seconds
    if magnitude < 10 and magnitude != int(magnitude):
        return f"{sign}{magnitude:.3f}".rstrip("0").rstrip(".") + " s"
    rest = int(round(magnitude))
    parts = []
    for unit, size in _UNITS:
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    if rest or not parts:
        parts.append(f"{rest} s")
    return sign + " ".join(parts[:2])


@dataclass(frozen=True)
class _Row:
    """One hop as display strings, shared by the text and the HTML table."""

    hop: str
    delay: str
    skew: bool
    time: str
    time_note: str
    from_: str
    by: str
    with_: str
    tls: str
    raw: str


def _from_text(hop: Hop) -> str:
    """The from clause; with none, a leading comment such as ``(qmail 1 invoked ...)``."""
    if hop.from_:
        return hop.from_
    if hop.raw.lstrip().startswith("(") and hop.received.comments:
        return f"({hop.received.comments[0]})"
    return ""


def _time_text(hop: Hop) -> tuple[str, str]:
    """The time as ``YYYY-MM-DD hh:mm:ss[.mmm]`` and a note when it cannot be used."""
    when = hop.date
    if when is None:
        return "", (_("unreadable date: {date}").format(date=hop.received.date_text)
                    if hop.received.date_text else _("no date"))
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    return text, "" if hop.zone_known else _("zone unknown")


def _delay_text(hop: Hop, since: int | None) -> str:
    if hop.index == 0:
        return ""
    if hop.delay_seconds is not None:
        return format_delay(hop.delay_seconds)
    if hop.delay_from_last_known is not None:
        return _("{delay} since hop {since}").format(delay=format_delay(hop.delay_from_last_known), since=since)
    return "?"


def _rows(trace: Trace) -> list[_Row]:
    rows = []
    last_known: int | None = None
    for hop in trace:
        time, note = _time_text(hop)
        rows.append(_Row(
            hop=str(hop.index), delay=_delay_text(hop, last_known), skew=hop.clock_skew,
            time=time, time_note=note, from_=_from_text(hop), by=hop.by or "",
            with_=hop.with_ or "", tls=hop.tls or "", raw=hop.raw,
        ))
        if hop.known_time is not None:
            last_known = hop.index
    return rows


def _summary(trace: Trace) -> list[str]:
    """Total and envelope lines under the table, as plain text."""
    known = [hop for hop in trace if hop.known_time is not None]
    if trace.total_delay_seconds is not None:
        lines = [
            _("total delay: {total} (last minus first known time); sum of positive delays: {positive}").format(
                total=format_delay(trace.total_delay_seconds), positive=format_delay(trace.sum_positive_delays))
        ]
    elif len(known) == 1:
        lines = [_("one known time ({time}, hop {index}): a delay needs two stamps, so there is none to show").format(
                     time=f"{known[0].known_time:%Y-%m-%d %H:%M:%S %z}", index=known[0].index)
                 + (_(" (one Received field: one server stamped this mail)") if len(list(trace)) == 1 else "")]
    else:
        lines = [_("no known times: no Received field carries a date this tracer can read, so there "
                   "is no delay to show")]
    if trace.return_path:
        lines.append(f"Return-Path: {trace.return_path}")
    lines += [f"Delivered-To: {v}" for v in trace.delivered_to]
    lines += [f"X-Original-To: {v}" for v in trace.x_original_to]
    lines += [f"Authentication-Results: {v}" for v in trace.authentication_results]
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _header() -> tuple[str, ...]:
    """The column names; from, by, with are the Received field's own clause keywords."""
    return (_("hop"), _("delay"), _("time (UTC)"), "from", "by", "with", "tls")


def text_table(trace: Trace) -> str:
    """The hop table as plain text (what ``str(trace)`` and ``smtpkit trace`` print)."""
    if not trace.hops:
        return _("no Received fields") + "\n" + "\n".join(_summary(trace)) + "\n"
    header = _header()
    body = []
    for row in _rows(trace):
        delay = _("{delay} (clock skew)").format(delay=row.delay) if row.skew else row.delay
        time = f"{row.time} ({row.time_note})" if row.time and row.time_note else (
            row.time or f"({row.time_note})")
        body.append((row.hop, delay, time, _cut(row.from_, _WIDTHS["from"]),
                     _cut(row.by, _WIDTHS["by"]), _cut(row.with_, _WIDTHS["with"]),
                     _cut(row.tls, _WIDTHS["tls"])))
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *body]]
    return "\n".join(lines + _summary(trace)) + "\n"


_CELL = "padding:2px 8px;text-align:left;vertical-align:top"
_SKEW = "background:#fdd;color:#a00;font-weight:bold"
_UNKNOWN = "background:#ffd"


def html_table(trace: Trace) -> str:
    """The hop table as HTML for Jupyter; every header text is escaped."""
    head = "".join(f'<th style="{_CELL}">{h}</th>'
                   for h in _header())
    rows = []
    for row in _rows(trace):
        delay = escape(row.delay)
        delay_style = _CELL
        if row.skew:
            delay, delay_style = _("{delay} clock skew").format(delay=delay), f"{_CELL};{_SKEW}"
        time = escape(row.time) if row.time else ""
        time_style = _CELL + ";font-family:monospace"
        if row.time_note:
            time = f"{time} <em>({escape(row.time_note)})</em>".strip()
            time_style += f";{_UNKNOWN}"
        rows.append(
            f'<tr title="{escape(row.raw, quote=True)}">'
            f'<td style="{_CELL}">{row.hop}</td>'
            f'<td style="{delay_style}">{delay}</td>'
            f'<td style="{time_style}">{time}</td>'
            f'<td style="{_CELL}">{escape(row.from_)}</td>'
            f'<td style="{_CELL}">{escape(row.by)}</td>'
            f'<td style="{_CELL}">{escape(row.with_)}</td>'
            f'<td style="{_CELL}">{escape(row.tls)}</td></tr>'
        )
    caption = ngettext("Received chain: {n} hop, hop 0 = origin (the bottom-most Received field)",
                       "Received chain: {n} hops, hop 0 = origin (the bottom-most Received field)",
                       len(trace)).format(n=len(trace))
    summary = "".join(f"<div>{escape(line)}</div>" for line in _summary(trace))
    return (
        '<div class="smtpkit-trace">'
        f'<table style="border-collapse:collapse"><caption style="text-align:left">'
        f"{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<div style="margin-top:4px;font-size:90%">{summary}</div></div>'
    )


def _host(hop: Hop) -> str:
    words = (hop.by or hop.from_ or "").split()
    return words[0] if words else "?"


def plot(trace: Trace) -> Figure:
    """A timeline: one row per hop, a dot where its server stamped the message (UTC).

    Steps between known times are blue, backwards steps red (clock skew); hops whose
    time is missing or has no known zone get a row without a dot. Uses matplotlib's
    object API (no pyplot state), imported only when called.
    """
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 1.6 + 0.45 * max(len(trace), 1)), layout="constrained")
    ax = fig.add_subplot()
    known = [(h.index, h.known_time) for h in trace if h.known_time is not None]
    labels = [f"{h.index} {_host(h)}" + ("" if h.known_time else _(" (no usable time)"))
              for h in trace]
    ax.set_yticks(range(len(trace)), labels=labels)
    ax.set_ylim(len(trace) - 0.5, -0.5)  # hop 0 on top: the message travels downwards
    ax.set_title(_("Received chain, total delay {total}").format(total=format_delay(trace.total_delay_seconds)))
    if not known:
        ax.text(0.5, 0.5, _("no time stamp with a known zone"), ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xticks([])
        return fig
    for (i0, t0), (i1, t1) in pairwise(known):
        skew = t1 < t0
        ax.plot([t0, t1], [i0, i1], color="tab:red" if skew else "tab:blue",
                linewidth=2.5 if skew else 1.5)
        if skew:
            ax.annotate(_("clock skew {delay}").format(delay=format_delay((t1 - t0).total_seconds())), (t1, i1),
                        xytext=(6, 0), textcoords="offset points", color="tab:red",
                        va="center")
    ax.scatter([t for _, t in known], [i for i, _ in known], color="black", zorder=3)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(_("time (UTC)"))
    ax.grid(axis="x", alpha=0.3)
    return fig
