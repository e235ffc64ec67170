"""The quiz widget: one block per question (choices, a Check button, the feedback), and a score.

The feedback is instant and never gives the answer away: "Right." or "Not quite", each with the
section to read. Texts are translated when the widget is built (``kit.i18n``), so a German
notebook gets a German quiz. CSS classes (``kit-quiz``, ``kit-quiz-right``, ``kit-quiz-wrong``)
let the browser tests and the deck's style find the parts.
"""

from __future__ import annotations

import html
from typing import Any

from ..i18n import _

__all__ = ["Quiz", "QuestionView"]

_RIGHT = "#1b7f3b"
_WRONG = "#b3261e"


class QuestionView:
    """One question: its text, radio buttons, a Check button and a feedback line."""

    def __init__(self, number: int, question: Any, on_change=None) -> None:
        import ipywidgets as w

        self.question, self.right, self._on_change = question, None, on_change
        self.text = w.HTML(f"<b>{number}.</b> {_md_code(_(question.text))}")
        self.choices = w.RadioButtons(options=[(_(c), i) for i, c in enumerate(question.choices)], value=None,
                                      layout=w.Layout(width="auto"))
        self.button = w.Button(description=_("Check"), layout=w.Layout(width="auto"))
        self.feedback = w.HTML("")
        self.button.on_click(lambda _b: self.check())
        self.box = w.VBox([self.text, self.choices, w.HBox([self.button, self.feedback])])
        self.box.add_class("kit-quiz-question")
        self.box.add_class(f"kit-quiz-{question.id}")

    def check(self) -> bool | None:
        """Check the chosen answer and show the feedback; None when nothing is chosen yet."""
        from ..quiz import answer

        for name in ("kit-quiz-right", "kit-quiz-wrong"):
            self.feedback.remove_class(name)
        if self.choices.value is None:
            self.feedback.value = f"<i>{html.escape(_('Choose an answer first.'))}</i>"
            return None
        self.right = answer(self.question.id, self.choices.value)
        source = html.escape(self.question.source)
        if self.right:
            text = _("Right. Read more: {source}").format(source=source)
            self.feedback.value = f"<span style='color:{_RIGHT}'>✔ {text}</span>"
            self.feedback.add_class("kit-quiz-right")
        else:
            text = _("Not quite. Think again, and read {source}").format(source=source)
            self.feedback.value = f"<span style='color:{_WRONG}'>✘ {text}</span>"
            self.feedback.add_class("kit-quiz-wrong")
        if self._on_change is not None:
            self._on_change()
        return self.right


def _md_code(text: str) -> str:
    """Escape a question's text and show its `backticks` as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


class Quiz:
    """All questions of one notebook, with a score line; show it as the last line of a cell."""

    def __init__(self, questions: tuple) -> None:
        import ipywidgets as w

        self.views = [QuestionView(i, q, on_change=self._score) for i, q in enumerate(questions, start=1)]
        self.score = w.HTML("")
        self.widget = w.VBox([v.box for v in self.views] + [self.score])
        self.widget.add_class("kit-quiz")
        self._score()

    def _score(self) -> None:
        right = sum(1 for v in self.views if v.right)
        self.score.value = "<b>" + html.escape(_("{right} of {total} right").format(
            right=right, total=len(self.views))) + "</b>"

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)
