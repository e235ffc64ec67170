"""The reply-code explorer: enter or pick a code, see what each digit means (RFC 5321
§4.2.1), the RFC's text for it and where it occurs."""

from __future__ import annotations

import html

from ..i18n import _
from ..protocol import KNOWN_CODES, explain, explain_enhanced


def explain_html(text: str) -> str:
    """HTML for a code such as ``451``, or a full reply such as ``550 5.1.1 User unknown``."""
    text = text.strip()
    try:
        info = explain(text[:3])
    except ValueError as exc:
        return f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
    meaning = info.meaning or _("not defined by the RFCs; read it digit by digit")
    parts = [f"<b>{info.code}</b>: {html.escape(meaning)}"]
    if info.source:
        parts.append("<div>" + _("source: {source}; occurs: {occurs}").format(
            source=html.escape(info.source), occurs=html.escape(info.occurs or "")) + "</div>")
    digits = str(info.code)
    rows = ((f"{digits[0]}yz", info.first), (f"x{digits[1]}z", info.second), (f"xy{digits[2]}", info.third))
    cell = "<td style='text-align:left'>"  # JupyterLab right-aligns table cells
    parts.append("<table style='border-collapse:collapse'>" + "".join(
        f"<tr>{cell}<code>{pattern}</code></td>{cell}{html.escape(text)}</td></tr>" for pattern, text in rows)
        + "</table>")
    if not info.valid_in_smtp:
        parts.append("<div style='color:#b00'>" + _("Not a valid SMTP reply: RFC 5321 §4.2.1 allows only 2, 3, 4 "
                                                    "or 5 as the first digit.") + "</div>")
    words = text[3:].split()
    if words and words[0].count(".") == 2:
        try:
            parts.append("<div>" + _("enhanced status {status}: {meaning} (RFC 3463)").format(
                status=html.escape(words[0]), meaning=html.escape(explain_enhanced(words[0]))) + "</div>")
        except ValueError as exc:
            parts.append(f"<div>{html.escape(str(exc))}</div>")
    return "".join(parts)


class ReplyCodeExplorer:
    """Type a code (or pick one the RFCs define) and read its meaning.

    Where widgets do not render (a RISE slide: jupyterlab-contrib/rise #119, #126; a static page),
    the same output carries the explanation of the cell's code as HTML: change the code in the cell
    and run it again. JupyterLab prefers the widget, so the fallback costs nothing there."""

    def __init__(self, initial: str = "250") -> None:
        import ipywidgets as w

        self.initial = initial
        self.code = w.Text(value=initial, description=_("code:"), placeholder=_("e.g. 451 or 550 5.1.1"))
        self.pick = w.Dropdown(options=[(_("pick…"), "")] + [(f"{c} {m[0][:40]}", str(c))
                                                             for c, m in sorted(KNOWN_CODES.items())],
                               description=_("or pick:"))
        self.result = w.HTML()
        self.code.observe(lambda ch: self.show(ch["new"]), names="value")
        self.pick.observe(lambda ch: ch["new"] and setattr(self.code, "value", ch["new"]), names="value")
        self.widget = w.VBox([w.HBox([self.code, self.pick]), self.result])
        self.widget.add_class("kit-reply-explorer")
        self.show(initial)

    def show(self, text: str) -> None:
        self.result.value = explain_html(text) if text.strip() else ""

    def static_html(self) -> str:
        """The explanation of the code the explorer was made with, for views without widgets."""
        hint = _("Reply-code explorer without widgets: change the code in the cell and run it again.")
        return (f"<div class='kit-reply-explorer-static'>{explain_html(self.initial)}"
                f"<div style='opacity:.7;font-size:smaller'>{html.escape(hint)}</div></div>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/html"] = self.static_html()
        return data
