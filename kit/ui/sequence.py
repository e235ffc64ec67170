"""A sequence diagram of an SMTP session: who said what, in which order.

::

    from kit.ui.sequence import sequence_diagram
    sequence_diagram(session.transcript)          # or server.transcripts.last

Two lifelines, the SMTP client on the left and the SMTP server on the right; one row per
step, top to bottom in the order of the transcript. Commands point right (client to
server), replies point left and are coloured by their first digit (RFC 5321 §4.2.1: 2yz
done, 3yz go on, 4yz try again later, 5yz refused). A multi-line reply (EHLO) is one arrow;
the message text after ``354`` is one "message data (N lines)" arrow when it is longer than
``data_lines`` lines, followed by the lone dot that ends it (§4.1.1.4). Notes of the
transcript (connection opened or closed, a bare LF) are grey text between the lifelines.

The layout depends only on the order of the lines, never on their times, so the same
transcript always gives the same picture; pipelined commands (RFC 2920) show up as several
arrows to the right before their replies come back. `steps` is the same walk without
matplotlib, for tests and for other renderers. matplotlib is imported only when drawing, and
only its object API is used (no pyplot state).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..i18n import N_, _, ngettext
from ..transcript import Line, Transcript, note_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Step", "steps", "sequence_diagram", "REPLY_COLOURS"]

Kind = Literal["command", "reply", "data", "dot", "note"]

CLIENT_COLOUR = "#1f5fa8"
NOTE_COLOUR = "#777777"
#: Reply arrows by first digit (RFC 5321 §4.2.1); anything else is drawn grey.
REPLY_COLOURS = {2: "#1e7b34", 3: "#00838f", 4: "#c77700", 5: "#b00020"}
_CLASS_NAMES = {2: N_("2yz done"), 3: N_("3yz go on"), 4: N_("4yz try later"), 5: N_("5yz refused")}
_HIDDEN = re.compile(r"\((\d+) more lines of data not shown\)")
_REPLY_LINE = re.compile(r"(\d{3})([ -]|$)")
MAX_LABEL = 64


@dataclass(frozen=True)
class Step:
    """One row of the diagram: an arrow (command, reply, data, dot) or a note."""

    kind: Kind
    label: str
    #: The reply code for a reply, else None.
    code: int | None = None
    #: How many transcript lines this row stands for (a multi-line reply, the message data).
    lines: int = 1
    #: Seconds since the transcript started, of the row's first line.
    elapsed: float = 0.0

    @property
    def direction(self) -> Literal["client", "server", "info"]:
        """Who sent it: ``client`` (arrow to the right), ``server`` (to the left), ``info``."""
        return {"reply": "server", "note": "info"}.get(self.kind, "client")


def _shorten(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _data_label(text: str) -> str:
    return "(empty line)" if text == "" else text


def steps(transcript: Transcript | Iterable[Line], *, data_lines: int = 3) -> list[Step]:
    """The rows of the diagram, in transcript order.

    Server lines are grouped into replies (``250-`` continues, ``250 `` ends a reply,
    §4.2.1). Client lines after a ``354`` reply are message data until the line ``.``;
    at most ``data_lines`` of them are shown one by one, more become one "message data"
    row (lines the server's transcript left out are counted too).
    """
    lines = list(transcript)
    start = getattr(transcript, "started", lines[0].time if lines else 0.0)
    out: list[Step] = []
    pending: list[Line] = []  # lines of a multi-line reply so far
    data: list[Line] | None = None  # message data lines, while in DATA
    hidden = 0

    def flush_reply() -> None:
        nonlocal pending
        if not pending:
            return
        first, last = pending[0].text, pending[-1].text
        m = _REPLY_LINE.match(last)
        code = int(m.group(1)) if m else None
        label = first if len(pending) == 1 else _("{first}  (+{n} lines)").format(first=first, n=len(pending) - 1)
        out.append(Step("reply", _shorten(label), code, len(pending), pending[0].time - start))
        pending = []

    def flush_data() -> None:
        nonlocal data, hidden
        if data is None:
            return
        count = len(data) + hidden
        if data and count <= data_lines:
            out.extend(Step("data", _shorten(_data_label(ln.text)), None, 1, ln.time - start) for ln in data)
        elif count:
            label = ngettext("message data ({count} line)", "message data ({count} lines)", count).format(count=count)
            out.append(Step("data", label, None, count, data[0].time - start))
        data, hidden = None, 0

    for line in lines:
        if line.direction == "server":
            pending.append(line)
            m = _REPLY_LINE.match(line.text)
            if not (m and m.group(2) == "-"):  # the last line of a reply (or not a reply line)
                code = int(m.group(1)) if m else None
                flush_reply()
                if code == 354:
                    data = []
            continue
        flush_reply()
        if line.direction == "info":
            m = _HIDDEN.fullmatch(line.text)
            if data is not None and m:
                hidden += int(m.group(1))
                continue
            if data is not None and data:  # a note inside the data (a bare LF): keep the order
                flush_data()
                data = []
            out.append(Step("note", _shorten(note_text(line.text), 2 * MAX_LABEL), None, 1, line.time - start))
            continue
        if data is not None:
            if line.text == ".":
                flush_data()
                out.append(Step("dot", _(".  (end of data)"), None, 1, line.time - start))
            else:
                data.append(line)
            continue
        out.append(Step("command", _shorten(line.text), None, 1, line.time - start))
    flush_reply()
    flush_data()
    return out


def _colour(step: Step) -> str:
    if step.kind == "reply":
        return REPLY_COLOURS.get((step.code or 0) // 100, NOTE_COLOUR)
    return NOTE_COLOUR if step.kind == "note" else CLIENT_COLOUR


def sequence_diagram(transcript: Transcript, *, data_lines: int = 3, times: bool = False,
                     title: str | None = None, client: str = N_("SMTP client"),
                     server: str = N_("SMTP server")) -> Figure:
    """A matplotlib Figure: the session as arrows between a client and a server lifeline.

    ``transcript`` is a `kit.transcript.Transcript` (``session.transcript`` or
    ``server.transcripts.last``; an object with a ``transcript`` attribute, such as an
    `SMTPSession`, is accepted too). ``data_lines``: longer message data becomes one arrow.
    ``times=True`` writes the seconds since the session started at the left of each row.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    transcript = getattr(transcript, "transcript", transcript)
    rows = steps(transcript, data_lines=data_lines)
    n = max(len(rows), 1)
    fig = Figure(figsize=(9, 1.5 + 0.34 * n), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.42 if times else -0.3, 1.3)
    ax.set_ylim(n + 0.2, -1.4)  # row 0 on top: time runs downwards
    ax.axis("off")
    for x, name in ((0.0, _(client)), (1.0, _(server))):
        ax.plot([x, x], [-0.6, n], color="#999999", linewidth=1, linestyle="--", zorder=1)
        ax.text(x, -0.8, name, ha="center", va="center", fontsize=10, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": "#f2f2f2", "edgecolor": "#999999"})
    if not rows:
        ax.text(0.5, 0.5, _("(no lines in this transcript)"), ha="center", va="center", color=NOTE_COLOUR,
                fontstyle="italic")
    for y, step in enumerate(rows, start=0):
        y += 0.5
        colour = _colour(step)
        if step.kind == "note":
            ax.text(0.5, y, step.label, ha="center", va="center", fontsize=8, color=colour, fontstyle="italic",
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "#dddddd"}, zorder=3)
        else:
            start, end = (0.0, 1.0) if step.direction == "client" else (1.0, 0.0)
            style = ":" if step.kind == "data" else "-"
            ax.annotate("", xy=(end, y + 0.2), xytext=(start, y + 0.2), zorder=2,
                        arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.4, "linestyle": style,
                                    "shrinkA": 0, "shrinkB": 0})
            ax.text(0.5, y + 0.08, step.label, ha="center", va="bottom", fontsize=8.5, color=colour,
                    family="monospace", zorder=3)
        if times:
            ax.text(-0.06, y, f"{step.elapsed:.3f}s", ha="right", va="center", fontsize=7.5, color=NOTE_COLOUR,
                    family="monospace")
    classes = sorted({(s.code or 0) // 100 for s in rows if s.kind == "reply"} & set(REPLY_COLOURS))
    handles = [Line2D([], [], color=CLIENT_COLOUR, label=_("client → server"))]
    handles += [Line2D([], [], color=REPLY_COLOURS[c], label=_(_CLASS_NAMES[c])) for c in classes]
    if rows:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles),
                  frameon=False, fontsize=8, handlelength=1.6)
    if title is not None:
        ax.set_title(title, fontsize=11)
    return fig
