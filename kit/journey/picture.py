"""Drawings of the mail world and of one mail's journey (matplotlib, object API only).

`world_picture` shows who is where: one column per organisation with its submission
server, its MX hosts (with their preference), its MDA and mailboxes, the sender's MUA on
the left and the DNS on top; each server box names the port it stands for (587 or 25)
and the loopback address it really listens on.

`journey_picture` shows what happened to one mail, step by step from left to right: one
row per party (MUA, servers, mailboxes), one column per event. A hand-over over SMTP is an
arrow from the client's row to the server's row, coloured by the reply (green 2yz, orange
4yz, red 5yz) and labelled with it; a wait in the queue is a dashed bar; the bounce and
its own path are drawn dashed. The x axis is the time since submission of each step.

Both are deterministic: the same world or journey gives the same picture, and the layout
never depends on timing, only the time labels do. matplotlib is imported only when drawing.
The labels are in the kit's language; host names, ports, SMTP keywords and replies stay as
on the wire.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Any, Protocol

from ..i18n import _
from .events import Event, kind_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Journey(Protocol):
    """What `journey_picture` reads of a `kit.journey.Journey` (the drawing depends on the
    events, not on the journal that holds them)."""

    message_id: str
    events: list[Event]
    roles: dict[str, str]

    @property
    def start(self) -> float | None: ...


#: What `world_picture` reads of a `kit.journey.MailWorld`: sites, dns, mtas, host(), mda().
MailWorld = Any

__all__ = ["world_picture", "journey_picture", "png_bytes", "OUTCOME_COLOURS"]

OUTCOME_COLOURS = {"ok": "#1e7b34", "deferred": "#d17a00", "failed": "#b00020", None: "#666666"}
_FILL = {"user": "#e8f0fb", "MSA": "#fff4d6", "MX": "#e3f4e6", "store": "#f1e6f7", "dns": "#eeeeee"}


#: Pictures are drawn for a projector: at this resolution the smallest text (7 pt) is 12.6 px
#: high, and Jupyter shows them at their own size ("unconfined", scrolling sideways when wider
#: than the notebook) instead of shrinking them to its width.
DISPLAY_DPI = 130


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, without matplotlib's time stamp and version."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    class JourneyFigure(Figure):
        """Shows itself as PNG in Jupyter whatever the backend."""

        def _repr_png_(self) -> tuple[bytes, dict]:
            return png_bytes(self, DISPLAY_DPI), {"unconfined": True}

    return JourneyFigure(figsize=(width, height))


def _box(ax, x: float, y: float, w: float, h: float, text: str, kind: str, *, size: float = 8.5,
         bold_first: bool = True) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.4,rounding_size=1.2",
                                facecolor=_FILL[kind], edgecolor="#555555", linewidth=1.0))
    first, _, rest = text.partition("\n")
    if bold_first and rest:
        ax.text(x, y + h / 2 - 2.2, first, ha="center", va="top", fontsize=size, fontweight="bold")
        ax.text(x, y + h / 2 - 5.6, rest, ha="center", va="top", fontsize=size - 1, linespacing=1.25)
    else:
        ax.text(x, y, text, ha="center", va="center", fontsize=size, fontweight="bold" if bold_first else None)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str = "", *, colour: str = "#333333",
           style: str = "-", rad: float = 0.0, size: float = 7.5, label_at: float = 0.5,
           offset: tuple[float, float] = (0, 1.4)) -> None:
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=colour, linewidth=1.3,
                                 linestyle=style, connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))
    if label:
        x = start[0] + (end[0] - start[0]) * label_at + offset[0]
        y = start[1] + (end[1] - start[1]) * label_at + offset[1]
        ax.text(x, y, label, ha="center", va="bottom", fontsize=size, color=colour,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85})


def world_picture(world: MailWorld) -> Figure:
    """The world: sites as columns, the DNS on top, the MUA on the left (see module doc)."""
    sites = list(world.sites)
    peers = list(getattr(world, "peers", ()))
    col_w = 38.0
    width = 24 + col_w * (len(sites) + (1 if peers else 0))
    fig = _figure(width / 9.0, 7.2)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, 80)
    ax.axis("off")

    # The DNS, on top: one line per domain with its MX records.
    dns_lines = []
    for domain in sorted(world.dns.zones):
        try:
            records = world.dns.mx(domain)
        except LookupError:
            records = []
        mx = ", ".join(f"{r.preference} {r.host}" for r in records) or _("no MX")
        dns_lines.append(f"{domain}  MX {mx}")
    dns_x = width / 2 + 6
    _box(ax, dns_x, 72, 62, 11, _("local DNS (dnspython zones, never sent)") + "\n" + "\n".join(dns_lines), "dns",
         size=8)

    centres: dict[str, tuple[float, float]] = {}
    mta_hosts = set(world.mtas)
    for i, site in enumerate(sites):
        cx = 24 + col_w * i + col_w / 2
        ax.add_patch(_site_patch(cx - col_w / 2 + 1.5, 3, col_w - 3, 58))
        ax.text(cx, 58.5, site.domain, ha="center", va="center", fontsize=10.5, fontweight="bold",
                color="#333333")
        y = 50.0
        if site.msa:
            host = world.host(site.msa)
            role = _("MSA (submission, AUTH)") + (_(" + MTA queue") if site.msa in mta_hosts else "")
            port = _("port {port} -> {address}").format(port=587, address=host.address)
            _box(ax, cx, y, 30, 8.5, f"{host.name}\n{role}\n{port}", "MSA")
            centres[host.name] = (cx, y)
            y -= 13
        for pref, name in sorted(site.mx):
            host = world.host(name)
            extra = _(" + MTA (bounces)") if name in mta_hosts else ""
            port = _("port {port} -> {address}").format(port=25, address=host.address)
            mx_pref = _("MX preference {preference}").format(preference=pref)
            _box(ax, cx, y, 30, 8.5, f"{name}\n{mx_pref}{extra}\n{port}", "MX")
            centres[name] = (cx, y)
            y -= 12
        mda = world.mda(site.domain)
        users = sorted(a for a in mda.mailboxes if not a.startswith("postmaster@"))
        _box(ax, cx, 11, 30, 9, f"MDA {site.domain}\n" + _("per-user Maildirs:") + "\n"
             + ", ".join(u.split('@')[0] for u in users) + " " + _("(+ postmaster)"), "store")
        centres[f"MDA {site.domain}"] = (cx, 11)
        for k, (_pref, name) in enumerate(sorted(site.mx)):
            if k == 0:  # the best MX: straight down (when it is the only one) or along the right side
                start = (cx, centres[name][1] - 4.6) if len(site.mx) == 1 else (cx + 15.5, centres[name][1])
            else:
                start = (cx + 15.5, centres[name][1] - 1.5)
            _arrow(ax, start, (cx + (0 if len(site.mx) == 1 else 10), 16), colour="#7a4d99", style=":",
                   rad=0.0 if len(site.mx) == 1 else -0.35)

    # The senders' MUAs, on the left.
    for site in sites:
        if site.msa and site.passwords:
            user = f"{site.passwords[0][0]}@{site.domain}"
            mx, my = centres[site.msa]
            _box(ax, 10, my, 16, 8.5, f"MUA\n{user}\n" + _("(laptop)"), "user")
            _arrow(ax, (18.5, my), (mx - 15.5, my), "SMTP\nSTARTTLS,\nAUTH", colour="#1f5fa8", size=7,
                   offset=(0, 0.6))

    # The MTAs' paths: to the MX hosts of the other sites (solid: best preference first).
    for site in sites:
        if not site.msa:
            continue
        sx, sy = centres[site.msa]
        _arrow(ax, (sx + 5, sy + 4.6), (dns_x - 20, 66.3), _("MX lookup"), colour="#777777", style=":", size=7,
               label_at=0.75, offset=(5.5, -1))
        for other in sites:
            if other is site:
                continue
            for rank, (_pref, name) in enumerate(sorted(other.mx)):
                tx, ty = centres[name]
                _arrow(ax, (sx + 15.5, sy - 1), (tx - 15.5, ty),
                       _("SMTP, port 25") if rank == 0 else _("if the first fails"),
                       colour="#1e7b34" if rank == 0 else "#d17a00", style="-" if rank == 0 else "--", size=7,
                       label_at=0.55 if rank == 0 else 0.35, offset=(0, 0.5))
        for _pref, name in sorted(site.mx):
            tx, ty = centres[name]
            _arrow(ax, (sx - 4, sy - 4.6), (tx - 4, ty + 4.6), _("bounces (DSN)"), colour="#b00020", style="--",
                   size=7, offset=(-8.5, 0))
    if peers:
        _foreign_column(ax, world, peers, 24 + col_w * len(sites) + col_w / 2, col_w, centres)
    return fig


def _foreign_column(ax, world: MailWorld, peers: list, cx: float, col_w: float,
                    centres: dict[str, tuple[float, float]]) -> None:
    """Servers outside the world (`Peer`): one box each, reached over SMTP by the MTAs that
    send to their domains (or through them, as a smarthost)."""
    ax.add_patch(_site_patch(cx - col_w / 2 + 1.5, 3, col_w - 3, 58))
    ax.text(cx, 58.5, _("outside the world"), ha="center", va="center", fontsize=10.5, fontweight="bold",
            color="#333333")
    y = 50.0
    for peer in peers:
        mx_of = _("MX of {domains}").format(domains=", ".join(peer.domains)) if peer.domains else _(peer.role)
        _box(ax, cx, y, 30, 8.5, f"{peer.name}\n{mx_of}\n-> {peer.address}:{peer.port}", "MX")
        for site in world.sites:
            if site.msa and (site.smarthost == peer.name or peer.domains):
                sx, sy = centres[site.msa]
                _arrow(ax, (sx + 10, sy + 4.6), (cx - 8, y + 4.6), _("SMTP, to a foreign server"), colour="#1f5fa8",
                       size=7, rad=-0.2, label_at=0.5, offset=(0, 8.6))
        y -= 13


def _site_patch(x: float, y: float, w: float, h: float):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.2,rounding_size=2", facecolor="#fafafa",
                          edgecolor="#bbbbbb", linewidth=1.0, linestyle="--")


# -- the journey --------------------------------------------------------------------------
def _short(reply: str | None, width: int = 16) -> str:
    if not reply:
        return ""
    words = reply.split()
    code = " ".join(words[:2]) if len(words) > 1 and words[1][:1].isdigit() else words[0]
    return code[:width]


def _lane_of_event(event: Event) -> list[str]:
    """Rows an event touches, in the order they first appear."""
    if event.kind == "filed":
        return [event.via or event.actor, f"mailbox {event.peer}"]  # a row's key; `_lane_label` shows it
    if event.kind == "unknown user":
        return [event.via or event.actor]
    if event.kind in ("submitted", "attempt") and event.peer:
        return [event.actor, event.peer]
    return [event.actor]


def journey_picture(journey: Journey) -> Figure:
    """One mail's journey (and its bounce's): rows are parties, columns are steps."""
    events = [e for e in journey.events if e.kind not in ("error",)]
    lanes: list[str] = []
    for e in events:
        for lane in _lane_of_event(e):
            if lane not in lanes:
                lanes.append(lane)
    n = max(len(events), 1)
    width = min(max(2.6 + 1.35 * n, 8.0), 22.0)
    height = 1.6 + 0.75 * max(len(lanes), 2)
    fig = _figure(width, height)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    y_of = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlim(-0.6, n - 0.4)
    roles = getattr(journey, "roles", {}) or {}
    ax.set_yticks([y_of[lane] for lane in lanes],
                  [_lane_label(lane) + (f"\n({_(roles[lane])})" if lane in roles else "") for lane in lanes],
                  fontsize=8.5)
    start = journey.start or 0.0
    ax.set_xticks(range(n), [f"+{e.time - start:.3f} s" for e in events], fontsize=7.5, rotation=35, ha="right")
    for lane in lanes:
        ax.axhline(y_of[lane], color="#dddddd", linewidth=0.8, zorder=0)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    subject = next((e.subject for e in journey.events if e.message_id == journey.message_id and e.subject), "")
    ax.set_title(_("The journey of {subject!r}").format(subject=subject) if subject else _("The journey of a mail"),
                 fontsize=10, loc="left")
    from matplotlib.lines import Line2D

    legend = [Line2D([], [], color=OUTCOME_COLOURS["ok"], label=_("2yz: taken over")),
              Line2D([], [], color=OUTCOME_COLOURS["deferred"], label=_("4yz: try again later")),
              Line2D([], [], color=OUTCOME_COLOURS["failed"], label=_("5yz: refused")),
              Line2D([], [], color="#666666", linestyle="--", label=_("the bounce (DSN)"))]
    ax.legend(handles=legend, fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.06), ncol=4, frameon=False)

    for x, e in enumerate(events):
        dsn = e.message_id != journey.message_id
        colour = OUTCOME_COLOURS.get(e.outcome, OUTCOME_COLOURS[None])
        style = "--" if dsn else "-"
        rows = _lane_of_event(e)
        if len(rows) == 2:
            y0, y1 = y_of[rows[0]], y_of[rows[1]]
            ax.annotate("", xy=(x, y1), xytext=(x, y0),
                        arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.6, "linestyle": style,
                                    "shrinkA": 3, "shrinkB": 3})
            label = _journey_label(e)
            ax.text(x + 0.06, (y0 + y1) / 2, label, fontsize=7, color=colour, va="center", ha="left",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.9})
        else:
            y = y_of[rows[0]]
            marker = {"queued": "s", "retry": ">", "gave up": "X", "unknown user": "X", "bounce": "D",
                      "dsn": "D", "no dsn": "o"}.get(e.kind, "o")
            ax.plot([x], [y], marker=marker, color=colour, markersize=8, linestyle="none")
            ax.text(x, y + 0.22, _journey_label(e), fontsize=7, color=colour, ha="center", va="bottom")
            if e.kind == "retry" and x + 1 < n:
                ax.plot([x + 0.12, x + 0.88], [y, y], linestyle="--", color=colour, linewidth=1.2)
    return fig


def _lane_label(lane: str) -> str:
    if lane.startswith("mailbox "):
        return _("mailbox\n{address}").format(address=lane.removeprefix("mailbox "))
    return lane


def _journey_label(e: Event) -> str:
    dsn = " (DSN)" if e.kind in ("bounce", "dsn") else ""
    if e.kind == "submitted":
        return _("submit") + f"\n{_short(e.reply)}"
    if e.kind == "attempt":
        return "\n".join(textwrap.wrap(f"{_short(e.reply)}", 14)) or kind_text("attempt")
    if e.kind == "retry":
        return _("wait {seconds:.3f} s").format(seconds=e.duration)
    if e.kind == "filed":
        return _("MDA: filed")
    if e.kind == "unknown user":
        return _("MDA: no\nmailbox")
    if e.kind in ("bounce", "dsn"):
        return (_("bounce") if e.kind == "bounce" else _("report")) + dsn
    return kind_text(e.kind)
