"""The world shown as tables: its hosts (``rows``, HTML in Jupyter) and a queue as ``mailq``
would list it. Presentation only: it reads a world, it builds and runs nothing."""

from __future__ import annotations

import html
import time
from typing import Any

from ..i18n import N_, _
from .mta import MTA

__all__ = ["QueueView", "world_rows", "world_html"]

#: The world table's columns (the keys of `world_rows`), as its head shows them.
COLUMNS = {"host": N_("host"), "domain": N_("domain"), "role": N_("role"), "stands for port": N_("stands for port"),
           "listens on": N_("listens on")}


def world_rows(world: Any) -> list[dict[str, str]]:
    """One row per host of a `MailWorld`: name, domain, role, nominal port, real address (the
    texts in the kit's language, the keys in English)."""
    out = []
    for host in world.hosts:
        if host.peer is not None:
            role = _("{role} (outside the world)").format(role=_(host.role))
        else:
            role = host.role if host.preference is None else _("MX (preference {preference})").format(
                preference=host.preference)
        if host.name in world.mtas:
            role += _(" + MTA (queue)") if host.role == "MSA" else _(" + MTA (sends its MDA's reports)")
        out.append({"host": host.name, "domain": host.domain, "role": role,
                    "stands for port": str(host.nominal_port),
                    "listens on": host.address if host.running else _("stopped")})
    return out


def world_html(world: Any) -> str:
    rows = world_rows(world)
    if not rows:
        return f"<div>{html.escape(repr(world))}</div>"
    keys = list(rows[0])
    head = "".join(f"<th style='text-align:left'>{html.escape(_(COLUMNS.get(k, k)))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(r[k])}</td>" for k in keys)
                   + "</tr>" for r in rows)
    boxes = ", ".join(sorted(a for m in world.mdas.values() for a in m.mailboxes))
    state = _("running") if world.running else _("stopped")
    return (f"<div><b>MailWorld</b> ({state})<table><tr>{head}</tr>{body}</table>"
            f"{_('mailboxes:')} {html.escape(boxes)}</div>")


class QueueView:
    """An MTA's queue shown now (``mailq``): HTML in Jupyter, text with ``print``."""

    def __init__(self, mta: MTA) -> None:
        self.mta = mta

    def to_text(self) -> str:
        return f"{self.mta.hostname}: " + self.mta.queue.to_text(time.time())

    def __str__(self) -> str:
        return self.to_text()

    def __len__(self) -> int:
        return len(self.mta.queue)

    def _repr_html_(self) -> str:
        return self.mta.queue.to_html(time.time(), title=_("queue of {host}").format(host=self.mta.hostname))
