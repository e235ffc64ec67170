"""Feedback for people: a compact coloured HTML table for notebooks, plain text for terminals.

``render_feedback`` is what the grader sends a student: by default it renders the redacted
result, so hidden tests show only their name, verdict and points, never inputs or answers.
"""

from __future__ import annotations

import html
from typing import Any

from ..i18n import N_, _
from ._results import CheckResult, TestResult

__all__ = ["to_text", "to_html", "render_feedback"]

_LIMIT = 2000
_ICON = {
    "passed": "✓",
    "failed": "✗",
    "error": "✗",
    "timeout": "✗",
    "not attempted": "·",
    "skipped": "·",
}
# (background, foreground) per verdict: green pass, red fail, grey not attempted.
_COLOURS = {
    "passed": ("#e6f4ea", "#0d652d"),
    "failed": ("#fce8e6", "#a50e0e"),
    "not attempted": ("#f1f3f4", "#3c4043"),
}


def _colours(status: str) -> tuple[str, str]:
    if status in ("passed", "not attempted"):
        return _COLOURS[status]
    if status == "skipped":
        return _COLOURS["not attempted"]
    return _COLOURS["failed"]


#: The verdicts as students read them (translated where shown).
_STATUS_WORDS = (N_("passed"), N_("partial"), N_("failed"), N_("not attempted"), N_("error"), N_("timeout"),
                 N_("skipped"))


def _pts(value: float) -> str:
    return f"{value:g}"


def _value(value: Any) -> str:
    """A value as Python would write it; a long list or dict one item per line, each item whole
    (the page wraps a long item between words)."""
    text = repr(value)
    if len(text) > 60 and isinstance(value, dict) and value:
        text = "{" + ",\n ".join(f"{k!r}: {v!r}" for k, v in value.items()) + "}"
    elif len(text) > 60 and isinstance(value, (list, tuple)) and value:
        text = "[" + ",\n ".join(repr(v) for v in value) + "]"
    return text if len(text) <= _LIMIT else text[:_LIMIT] + " ..."


def _input(value: Any) -> str:
    return value if isinstance(value, str) else _value(value)


def _not_run(test: TestResult) -> bool:
    return test.status in ("not attempted", "skipped")


def _shows_values(test: TestResult) -> bool:
    return not test.passed and test.status == "failed" and (
        test.expected is not None or test.got is not None
    )


def _header(result: CheckResult) -> str:
    title = _(result.title)
    return _("{id}: {title}{end} {points}/{max_points} points, {status}").format(
        id=result.exercise_id, title=title.rstrip("."), end="" if title.endswith(("?", "!")) else ".",
        points=_pts(result.points), max_points=_pts(result.max_points), status=_(result.status))


def to_text(result: CheckResult) -> str:
    """Plain-text feedback, one line per test and indented details for the failures."""
    lines = [_header(result)]
    if result.message:
        lines.append(f"  {result.message}")
    width = max((len(_(t.name)) for t in result.tests), default=0)
    for test in result.tests:
        line = f"  {_ICON[test.status]} {_(test.name):<{width}}  {_pts(test.points)}/"
        line += _pts(test.max_points)
        if not test.passed and test.message:
            line += f"  {test.message.splitlines()[0]}"
        lines.append(line)
        if test.passed or _not_run(test):
            continue
        if test.input is not None:
            lines.append(_("      input:    {value}").format(value=_input(test.input)))
        if _shows_values(test):
            lines.append(_("      expected: {value}").format(value=_value(test.expected)))
            lines.append(_("      got:      {value}").format(value=_value(test.got)))
        if test.traceback:
            lines.extend("      " + t for t in test.traceback.splitlines())
        if test.hint:
            lines.append(_("      hint:     {hint}").format(hint=_(test.hint)))
    if result.hint and not result.passed:
        lines.append(_("  Hint: {hint}").format(hint=_(result.hint)))
    return "\n".join(lines)


#: JupyterLab lays out output tables with ``table-layout: fixed`` and equal columns; these tables
#: say otherwise, give the explanation the room, and wrap long values between words.
_TABLE = 'style="border-collapse:collapse;table-layout:auto;width:100%"'
_WRAP = "white-space:pre-wrap;overflow-wrap:break-word;word-break:normal"


def _pre(text: str) -> str:
    return (f'<pre style="margin:2px 0;{_WRAP};text-align:left;background:none;padding:0">'
            f"{html.escape(text)}</pre>")


def _row(test: TestResult) -> str:
    background, foreground = _colours(test.status)
    details = []
    if test.message and not test.passed:
        details.append(f"<div>{html.escape(test.message)}</div>")
    if test.input is not None and not _not_run(test):
        details.append(f'<div style="{_WRAP}">' + _("input: <code>{value}</code>").format(
            value=html.escape(_input(test.input))) + "</div>")
    if _shows_values(test):
        top = 'style="vertical-align:top;padding:0 8px 0 0;text-align:left;width:50%"'
        details.append(
            f"<table {_TABLE}><tr>"
            f"<td {top}>{_('expected')}{_pre(_value(test.expected))}</td>"
            f"<td {top}>{_('got')}{_pre(_value(test.got))}</td></tr></table>"
        )
    if test.traceback:
        details.append(_pre(test.traceback))
    if test.hint and not test.passed:
        details.append("<div>" + _("<i>hint:</i> {hint}").format(hint=html.escape(_(test.hint))) + "</div>")
    cell = "padding:2px 8px;vertical-align:top;text-align:left"
    return (
        f'<tr style="background:{background};color:{foreground}">'
        f'<td style="{cell};width:1.5em">{_ICON[test.status]}</td>'
        f'<td style="{cell};width:22%;{_WRAP}">{html.escape(_(test.name))}</td>'
        f'<td style="{cell};width:4em;white-space:nowrap">{_pts(test.points)}/{_pts(test.max_points)}</td>'
        f'<td style="{cell};{_WRAP}">{"".join(details)}</td></tr>'
    )


def to_html(result: CheckResult) -> str:
    """A compact table: one coloured row per test, expected vs got in <pre>, all escaped."""
    background, foreground = _colours(result.status)
    parts = [
        '<div class="kit-check" style="margin:4px 0">',
        f'<div style="background:{background};color:{foreground};padding:4px 8px">'
        + _("<b>{title}</b> <code>{id}</code>: {points}/{max_points} points, {status}").format(
            title=html.escape(_(result.title)), id=html.escape(result.exercise_id), points=_pts(result.points),
            max_points=_pts(result.max_points), status=html.escape(_(result.status))) + "</div>",
    ]
    if result.message:
        parts.append(f"<div>{html.escape(result.message)}</div>")
    if result.tests:
        parts.append(f"<table {_TABLE}>")
        parts.extend(_row(t) for t in result.tests)
        parts.append("</table>")
    if result.hint and not result.passed:
        parts.append("<div>" + _("<i>Hint:</i> {hint}").format(hint=html.escape(_(result.hint))) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def render_feedback(
    result: CheckResult, show_hidden_details: bool = False, *, fmt: str = "html"
) -> str:
    """Feedback for a student (``fmt`` "html" or "text"); hidden tests redacted by default."""
    shown = result if show_hidden_details else result.redacted()
    if fmt == "html":
        return to_html(shown)
    if fmt == "text":
        return to_text(shown)
    raise ValueError(f"fmt must be 'html' or 'text', got {fmt!r}")
