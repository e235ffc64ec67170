"""``feedback/<student>.html``: what a student reads after grading.

One self-contained HTML page per student: the total, a summary table of the exercises, how
each notebook went (and why, when it did not run cleanly), then each exercise's feedback as the
notebook's ``check`` shows it, rendered by ``kit.exercises.render_feedback``, which redacts
hidden tests: their name, verdict and points only, never their inputs, expected answers, the
student's output on them or a traceback. Every text that comes from a submission is escaped
and bounded (``problems.clip`` / ``gradebook.bounded``), so a 20 MB exception message makes a
page of a few KB, not one of 20 MB.

The page speaks the assignment's language: ``lang`` (``"de"`` for the German release, whose
notebooks carry ``kit.lang``), else the student's report's ``lang`` if it has one, else the kit's
language (``SMTPKIT_LANG``). Titles, test names, hints and verdicts are translated here, where they
are shown; a test's message is written when the test runs, so the grader judges inside
``kit.i18n.using(lang)`` for it to be in that language too.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

from ..exercises import render_feedback
from ..i18n import N_, _, language, using
from .grade import ClassReport, StudentReport
from .gradebook import MAX_PROBLEMS_LISTED, bounded, clip, points

__all__ = ["feedback_html", "write_feedback"]

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:62em;margin:2em auto;
padding:0 1em;color:#202124;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.6em}
h3{font-size:1.05em;margin:1.2em 0 .3em}
table.summary{border-collapse:collapse;margin:.5em 0} table.summary td,table.summary th{
border-bottom:1px solid #dadce0;padding:3px 10px;text-align:left} table.summary td.pts{
text-align:right;font-variant-numeric:tabular-nums}
.total{font-size:1.2em} .ok{color:#0d652d} .bad{color:#a50e0e} .muted{color:#5f6368}
footer{margin-top:2em;color:#5f6368;font-size:.9em}
"""

_NOTEBOOK_WORDS = {
    "ok": N_("ran to the end"),
    "timeout": N_("ran out of time"),
    "crashed": N_("crashed its kernel"),
    "error": N_("could not be graded"),
    "missing": N_("was not submitted"),
}


def _e(text: object) -> str:
    return html.escape(str(text))


def _notebooks(student: StudentReport) -> list[str]:
    parts = [f"<h2>{_('Notebooks')}</h2>", "<ul>"]
    for nb in student.notebooks:
        css = "ok" if nb.status == "ok" else "bad"
        line = f'<li><b>{_e(nb.notebook)}</b> <span class="{css}">{_e(_(_NOTEBOOK_WORDS[nb.status]))}</span>'
        if nb.file and Path(nb.file).name != nb.notebook:
            line += ' <span class="muted">' + _("(graded your file {file})").format(file=_e(clip(nb.file))) + "</span>"
        if nb.reason:
            line += f": {_e(clip(nb.reason))}"
        if nb.problems:
            shown = [p for p in nb.problems if p != nb.reason][:10]
            if shown:
                line += "<ul>" + "".join(f"<li>{_e(clip(p))}</li>" for p in shown) + "</ul>"
        parts.append(line + "</li>")
    parts.append("</ul>")
    if student.ignored:
        parts.append(f"<p>{_('Files not graded:')}</p><ul>")
        parts.extend(f"<li>{_e(clip(f))}: {_e(clip(r))}</li>"
                     for f, r in student.ignored[:MAX_PROBLEMS_LISTED])
        if len(student.ignored) > MAX_PROBLEMS_LISTED:
            parts.append("<li>" + _("... and {n} more").format(n=f"{len(student.ignored) - MAX_PROBLEMS_LISTED:,}")
                         + "</li>")
        parts.append("</ul>")
    return parts


def feedback_html(report: ClassReport, student: StudentReport, lang: str | None = None) -> str:
    """The feedback page of one student (hidden tests redacted), in ``lang`` (see above)."""
    with using(lang or getattr(student, "lang", None)):
        return _page(report, student)


def _page(report: ClassReport, student: StudentReport) -> str:
    total, most = student.total, student.max_points
    percent = f" ({100 * total / most:.0f}%)" if most else ""
    rows = []
    for nb in report.assignment.notebooks:
        for exercise_id in nb.exercises:
            result = student.results[exercise_id]
            css = "ok" if result.passed else "bad"
            rows.append(
                f"<tr><td><a href=\"#{_e(exercise_id)}\">{_e(exercise_id)}</a></td>"
                f"<td>{_e(_(result.title))}</td><td class=\"pts\">{points(result.points)}/"
                f"{points(result.max_points)}</td><td class=\"{css}\">{_e(_(result.status))}</td></tr>")
    sections = []
    for nb in report.assignment.notebooks:
        sections.append(f"<h2>{_e(nb.name)}</h2>")
        for exercise_id in nb.exercises:
            sections.append(f'<h3 id="{_e(exercise_id)}">{_e(exercise_id)}</h3>')
            sections.append(render_feedback(bounded(student.results[exercise_id]), fmt="html"))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{language()}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        "<title>" + _("Feedback: {student}").format(student=_e(student.student)) + f"</title><style>{_STYLE}</style>"
        "</head><body>",
        "<h1>" + _("Feedback for {student}").format(student=_e(student.student)) + "</h1>",
        '<p class="total"><b>' + _("{total} of {most} points").format(total=points(total), most=points(most))
        + f"</b>{percent}</p>",
        '<table class="summary"><tr>' + "".join(f"<th>{h}</th>" for h in (
            _("exercise"), _("title"), _("points"), _("status"))) + "</tr>", *rows, "</table>",
        *_notebooks(student),
        *sections,
        "<footer>" + _("Graded by <code>smtpkit grade</code> on {stamp}. Your notebook was run from top to bottom "
                       "in a fresh kernel, and each exercise's tests called your function. Hidden tests show "
                       "their name and points only.").format(stamp=stamp) + "</footer>",
        "</body></html>",
        "",
    ])


def write_feedback(report: ClassReport, folder: Path, lang: str | None = None) -> Path:
    """One page per student in ``folder``, in ``lang`` (or each student's report's language)."""
    folder.mkdir(parents=True, exist_ok=True)
    for student in report.students:
        (folder / f"{student.slug}.html").write_text(feedback_html(report, student, lang),
                                                     encoding="utf-8", errors="backslashreplace")
    return folder
