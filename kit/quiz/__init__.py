"""Check yourself: a short quiz per notebook, with instant feedback and no answers in plain text.

``quiz("02_the_smtp_dialogue")`` (in a notebook: the last line of a cell) shows the notebook's
questions (`bank.BANK`) as a widget (`kit.ui.quiz`); `answer` checks one choice without a widget.
A choice is compared with the question's sealed answer (`seal`), so the student release holds
no answer; the feedback names where to read up (an RFC section), right or wrong.
"""

from __future__ import annotations

from .bank import BANK, Question
from .seal import matches, seal

__all__ = ["quiz", "questions", "question", "answer", "BANK", "Question", "seal", "matches", "QuizError"]


class QuizError(LookupError):
    """No quiz for that notebook, or no such question or choice."""


def questions(notebook: str) -> tuple[Question, ...]:
    """The questions of ``notebook`` (its file name or stem, e.g. ``02_the_smtp_dialogue``)."""
    stem = notebook.removesuffix(".ipynb")
    if stem not in BANK:
        raise QuizError(f"no quiz for {notebook!r}; there are: {', '.join(BANK)}")
    return BANK[stem]


def question(question_id: str) -> Question:
    """The question with this id."""
    for asked in BANK.values():
        for q in asked:
            if q.id == question_id:
                return q
    raise QuizError(f"no question {question_id!r}")


def answer(question_id: str, choice: int) -> bool:
    """Whether choice number ``choice`` (from 0) is right; QuizError for a choice that is not offered."""
    q = question(question_id)
    if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(q.choices):
        raise QuizError(f"{question_id}: choose one of 0..{len(q.choices) - 1}, not {choice!r}")
    return matches(q.id, choice, q.sealed)


def quiz(notebook: str):
    """The quiz widget for ``notebook``."""
    from ..ui.quiz import Quiz

    return Quiz(questions(notebook))
