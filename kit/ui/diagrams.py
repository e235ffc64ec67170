"""Pictures for the notebooks, drawn by code: who does what on a mail's journey, and the RFCs.

``actors_diagram()`` draws the actors of Internet mail (RFC 5598 §4; RFC 5321 §2.1, §2.3.10)
as boxes, with an arrow for each hand-over labelled by the protocol it uses: the MUA submits
to the MSA (SMTP on port 587, RFC 6409), the MTA relays on port 25 to the host the recipient
domain's MX record names (RFC 5321 §5), the MX hands the mail to the MDA (LMTP, RFC 2033, or
local delivery), and the recipient's MUA reads the mailbox over IMAP or POP3.
``rfc_timeline()`` draws the RFCs from RFC 821 (1982) to RFC 5321 (2008) on a time line.

The data the pictures are drawn from (`ACTORS`, `HOPS`, `RFC_HISTORY`) is public, so a
notebook can print the same facts as a table and text and picture cannot disagree. The
figures use matplotlib's object API (no pyplot state), are deterministic (same input, same
PNG bytes), and show themselves as PNG in Jupyter whatever the matplotlib backend.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..i18n import N_, _

if TYPE_CHECKING:  # matplotlib is imported only when a picture is drawn
    from matplotlib.figure import Figure

__all__ = ["Actor", "Hop", "RFCEntry", "ACTORS", "HOPS", "RFC_HISTORY", "ROLES",
           "actors_diagram", "rfc_timeline", "png_bytes"]


@dataclass(frozen=True)
class Actor:
    """A box of the actors diagram: ``key`` names it in `HOPS`, ``role`` is what it is."""

    key: str
    role: str
    caption: str
    x: float
    y: float
    kind: str  # "user", "transfer", "store" or "dns": picks the colour


@dataclass(frozen=True)
class Hop:
    """An arrow of the actors diagram: from one actor to another, with its protocol."""

    source: str
    target: str
    protocol: str
    detail: str
    rfc: str


#: The actors, left to right along the journey (coordinates in a 100 x 60 canvas).
ACTORS: tuple[Actor, ...] = (
    Actor("alice", "MUA", N_("Alice's mail program\n(Thunderbird, laptop)"), 8, 38, "user"),
    Actor("msa", "MSA", N_("submission server\nsmtp.uni.example"), 33, 38, "transfer"),
    Actor("mta", "MTA", N_("relay with a queue\n(often the MSA's host)"), 58, 38, "transfer"),
    Actor("mx", "MX", N_("mail exchanger\nmx.example.org"), 88, 38, "transfer"),
    Actor("mda", "MDA", N_("delivery agent\n(e.g. Dovecot)"), 88, 11, "store"),
    Actor("store", N_("mailbox"), N_("Bob's mailbox\n(message store)"), 58, 11, "store"),
    Actor("bob", "MUA", N_("Bob's mail app\n(phone)"), 8, 11, "user"),
    Actor("dns", "DNS", "MX example.org\n= mx.example.org", 73, 53.5, "dns"),
)

#: The hand-overs, in the order the mail travels; ``detail`` is the port or the manner.
HOPS: tuple[Hop, ...] = (
    Hop("alice", "msa", "SMTP", N_("port 587"), "RFC 6409"),
    Hop("msa", "mta", "SMTP", N_("port 25"), N_("or same host")),
    Hop("mta", "mx", "SMTP", N_("port 25, to the MX host"), "RFC 5321 §5"),
    Hop("mx", "mda", "LMTP", N_("or local delivery"), "RFC 2033"),
    Hop("mda", "store", N_("file"), "Maildir / mbox", ""),
    Hop("store", "bob", N_("IMAP or POP3"), N_("ports 993 / 995 (143 / 110)"), "RFC 9051, RFC 1939"),
)

#: Every role name the diagram knows, for ``highlight=``.
ROLES: tuple[str, ...] = ("MUA", "MSA", "MTA", "MX", "MDA", "mailbox", "DNS")

_FILL = {"user": "#dbe9f7", "transfer": "#dcefd9", "store": "#fbefc9", "dns": "#eeeeee"}
_EDGE = "#4a4a4a"
_HIGHLIGHT = "#d9480f"
_BOX_W, _BOX_H = 15.0, 9.0


@dataclass(frozen=True)
class RFCEntry:
    """One RFC of the history: number, publication year and month, authors, what it did."""

    number: int
    year: int
    month: int
    authors: str
    title: str
    lane: str  # "transfer", "format" or "access"
    short: str  # the label on the time line


#: The RFCs of SMTP and of the message format, with the ones for submission and access.
RFC_HISTORY: tuple[RFCEntry, ...] = (
    RFCEntry(821, 1982, 8, "J. Postel", "Simple Mail Transfer Protocol", "transfer", "SMTP"),
    RFCEntry(822, 1982, 8, "D. Crocker", "Standard for the Format of ARPA Internet Text Messages",
             "format", N_("message format")),
    RFCEntry(974, 1986, 1, "C. Partridge", "Mail Routing and the Domain System", "transfer", N_("MX routing")),
    RFCEntry(1123, 1989, 10, "R. Braden (ed.)", "Requirements for Internet Hosts, §5: mail", "transfer",
             N_("host requirements")),
    RFCEntry(1869, 1995, 11, "J. Klensin et al.", "SMTP Service Extensions", "transfer", "EHLO (ESMTP)"),
    RFCEntry(1939, 1996, 5, "J. Myers, M. Rose", "Post Office Protocol - Version 3", "access", "POP3"),
    RFCEntry(2033, 1996, 10, "J. Myers", "Local Mail Transfer Protocol", "access", "LMTP"),
    RFCEntry(2045, 1996, 11, "N. Freed, N. Borenstein", "MIME Part One", "format", "MIME"),
    RFCEntry(2476, 1998, 12, "R. Gellens, J. Klensin", "Message Submission", "access", N_("submission")),
    RFCEntry(2821, 2001, 4, "J. Klensin (ed.)", "Simple Mail Transfer Protocol", "transfer", "SMTP"),
    RFCEntry(2822, 2001, 4, "P. Resnick (ed.)", "Internet Message Format", "format", N_("message format")),
    RFCEntry(3501, 2003, 3, "M. Crispin", "Internet Message Access Protocol 4rev1", "access", "IMAP4rev1"),
    RFCEntry(5321, 2008, 10, "J. Klensin", "Simple Mail Transfer Protocol", "transfer", N_("SMTP today")),
    RFCEntry(5322, 2008, 10, "P. Resnick (ed.)", "Internet Message Format", "format", N_("format today")),
    RFCEntry(6409, 2011, 11, "R. Gellens, J. Klensin", "Message Submission for Mail (STD 72)", "access",
             N_("submission today")),
)

_LANES = {"transfer": (2.6, N_("transfer (SMTP)")), "format": (1.3, N_("message format")),
          "access": (0.0, N_("submission, delivery\nand reading"))}
_MONTHS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"), N_("Sep"),
           N_("Oct"), N_("Nov"), N_("Dec"))


def _figure_class():
    """A Figure that shows itself as PNG in Jupyter even without the inline backend."""
    from matplotlib.figure import Figure

    class DiagramFigure(Figure):
        def _repr_png_(self) -> bytes:
            return png_bytes(self)

    return DiagramFigure


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, without the time stamp or version matplotlib would embed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _wanted(highlight: str | Iterable[str] | None) -> set[str]:
    if highlight is None:
        return set()
    names = [highlight] if isinstance(highlight, str) else list(highlight)
    known = {r.lower(): r for r in ROLES}
    out = set()
    for name in names:
        if not isinstance(name, str) or name.strip().lower() not in known:
            raise ValueError(_("unknown role {name!r}; one of {roles}").format(name=name, roles=', '.join(ROLES)))
        out.add(known[name.strip().lower()])
    return out


def _edge_point(actor: Actor, toward: Actor) -> tuple[float, float]:
    """Where an arrow from ``actor`` toward ``toward`` leaves the box (boxes are in a grid)."""
    dx, dy = toward.x - actor.x, toward.y - actor.y
    if abs(dx) >= abs(dy):
        return actor.x + (_BOX_W / 2 if dx > 0 else -_BOX_W / 2), actor.y
    return actor.x, actor.y + (_BOX_H / 2 if dy > 0 else -_BOX_H / 2)


def actors_diagram(highlight: str | Iterable[str] | None = None) -> Figure:
    """The actors of Internet mail and the protocol of each hand-over, as a figure.

    ``highlight`` names one or more roles (``"MSA"``, ``["MX", "MDA"]``; see `ROLES`) to draw
    with a thick orange frame, e.g. to point at the step a cell talks about.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

    marked = _wanted(highlight)
    fig = _figure_class()(figsize=(12, 6.2))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 60)
    ax.axis("off")
    fig.suptitle(_("Who does what on a mail's journey"), fontsize=15, fontweight="bold", y=0.97)

    # The two organisations, as shaded areas behind the boxes.
    ax.add_patch(Rectangle((23, 30), 46, 17.5, facecolor="#f3f6fb", edgecolor="#9aa9bd",
                           linestyle="--", zorder=0))
    ax.text(24, 46.3, _("Alice's provider: uni.example"), fontsize=9, color="#52647a", va="top")
    ax.add_patch(Polygon([(48, 2.5), (98.5, 2.5), (98.5, 47.5), (77, 47.5), (77, 22), (48, 22)],
                         closed=True, facecolor="#fbf7ef", edgecolor="#bda77a", linestyle="--",
                         zorder=0))
    ax.text(49, 20.8, _("Bob's provider: example.org"), fontsize=9, color="#7a6640", va="top")

    by_key = {a.key: a for a in ACTORS}
    for actor in ACTORS:
        hot = actor.role in marked
        w, h = (_BOX_W + 2, 6.5) if actor.kind == "dns" else (_BOX_W, _BOX_H)
        ax.add_patch(FancyBboxPatch((actor.x - w / 2, actor.y - h / 2), w, h,
                                    boxstyle="round,pad=0.4,rounding_size=1.2",
                                    facecolor=_FILL[actor.kind], zorder=2,
                                    edgecolor=_HIGHLIGHT if hot else _EDGE,
                                    linewidth=3.2 if hot else 1.2))
        if actor.kind == "dns":
            ax.text(actor.x, actor.y, f"{actor.role}: {_(actor.caption)}", ha="center", va="center",
                    fontsize=8.5, zorder=3)
            continue
        ax.text(actor.x, actor.y + 1.9, _(actor.role), ha="center", va="center", fontsize=13,
                fontweight="bold", zorder=3, color=_HIGHLIGHT if hot else "black")
        ax.text(actor.x, actor.y - 1.9, _(actor.caption), ha="center", va="center", fontsize=7.8,
                zorder=3, color="#333333")

    for hop in HOPS:
        a, b = by_key[hop.source], by_key[hop.target]
        start, end = _edge_point(a, b), _edge_point(b, a)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16,
                                     linewidth=1.6, color="#2b2b2b", zorder=1,
                                     shrinkA=5, shrinkB=5))
        label = f"{_(hop.protocol)}\n{_(hop.detail)}" + (f"\n{_(hop.rfc)}" if hop.rfc else "")
        if a.y == b.y:  # horizontal: label above the arrow
            ax.text((start[0] + end[0]) / 2, a.y + 1.2, label, ha="center", va="bottom",
                    fontsize=8.2, zorder=3, linespacing=1.15)
        else:  # vertical: label beside it
            ax.text(a.x - 1.5, (start[1] + end[1]) / 2, label, ha="right", va="center",
                    fontsize=8.2, zorder=3, linespacing=1.15)

    # The MX lookup: the MTA asks the DNS where mail for example.org goes.
    dns, mta = by_key["dns"], by_key["mta"]
    ax.add_patch(FancyArrowPatch((mta.x + 2, mta.y + _BOX_H / 2 + 0.5), (dns.x - 9.3, dns.y),
                                 arrowstyle="<|-|>", mutation_scale=12, linestyle=(0, (3, 2)),
                                 linewidth=1.2, color="#555555", zorder=1))
    ax.text(58.5, 50.5, _("MX lookup\n(RFC 5321 §5)"), ha="right", va="center", fontsize=8.2,
            color="#444444")
    ax.text(50, 0.6, _("Every SMTP or LMTP hop prepends a Received: field (RFC 5321 §4.4); its 250 after the "
                        "data hands the responsibility on (§2.1)."),
            ha="center", va="bottom", fontsize=8.5, style="italic", color="#444444")
    return fig


def rfc_timeline() -> Figure:
    """The RFCs of `RFC_HISTORY` on a time line, one lane for transfer, format and access."""
    fig = _figure_class()(figsize=(12, 5.4))
    ax = fig.add_axes((0.15, 0.08, 0.82, 0.83))
    ax.set_title(_("From RFC 821 (1982) to RFC 5321 (2008)"), fontsize=13, fontweight="bold")
    colours = {"transfer": "#2f6f3e", "format": "#8a5a00", "access": "#1f5fa8"}
    for lane, (y, _name) in _LANES.items():
        entries = [e for e in RFC_HISTORY if e.lane == lane]
        xs = [e.year + (e.month - 0.5) / 12 for e in entries]
        ax.plot([1980.5, 2012.5], [y, y], color="#dddddd", linewidth=1, zorder=0)
        ax.plot(xs, [y] * len(xs), color=colours[lane], linewidth=2, zorder=1)
        ax.scatter(xs, [y] * len(xs), s=46, color=colours[lane], zorder=2)
        for i, (x, e) in enumerate(zip(xs, entries, strict=True)):
            above = i % 2 == 0
            ax.annotate(f"RFC {e.number}\n{_(e.short)}\n{_(_MONTHS[e.month - 1])} {e.year}", (x, y),
                        xytext=(0, 9 if above else -9), textcoords="offset points",
                        ha="center", va="bottom" if above else "top", fontsize=7.6,
                        color=colours[lane], fontweight="bold" if e.number in (821, 5321) else None)
    ax.set_yticks([y for y, _ in _LANES.values()], labels=[_(n) for _y, n in _LANES.values()])
    ax.set_ylim(-0.85, 3.4)
    ax.set_xlim(1980.5, 2013)
    ax.set_xticks(range(1982, 2013, 3))
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig
