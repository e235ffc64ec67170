"""Check yourself: the quizzes refuse wrong answers, accept the key's, keep their answers out of
the student notebooks, and sit in the notebooks with predict-then-run moments before them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kit.i18n import using
from kit.quiz import BANK, QuizError, answer, question, questions, quiz, seal

ROOT = Path(__file__).resolve().parents[1]
KEY = json.loads((ROOT / "solutions" / "quiz" / "answers.json").read_text(encoding="utf-8"))["answers"]
WITH_QUIZ = ["00_start_here", "01_history_and_architecture", "02_the_smtp_dialogue", "03_reply_codes",
             "04_message_format", "05_header_tracing", "06_mail_journey", "07_esmtp", "08_trust_and_limits"]
ALL = [q for asked in BANK.values() for q in asked]


def test_every_notebook_has_about_five_questions_with_unique_ids():
    assert set(WITH_QUIZ) <= set(BANK)
    for stem, asked in BANK.items():
        assert 4 <= len(asked) <= 6, stem
    ids = [q.id for q in ALL]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(KEY), "the instructors' key and the bank name the same questions"
    for q in ALL:
        assert q.source.strip() and len(set(q.choices)) == len(q.choices) >= 2, q.id


@pytest.mark.parametrize("q", ALL, ids=lambda q: q.id)
def test_the_key_is_right_and_every_other_choice_is_refused(q):
    right = KEY[q.id]
    assert answer(q.id, right) is True
    wrong = [i for i in range(len(q.choices)) if i != right]
    assert wrong and not any(answer(q.id, i) for i in wrong)


def test_choices_that_are_not_offered_are_an_error_not_a_wrong_answer():
    for bad in (-1, 99, True, "2", None):
        with pytest.raises(QuizError):
            answer("02-rcpt-first", bad)
    with pytest.raises(QuizError):
        answer("no-such-question", 0)
    with pytest.raises(QuizError):
        questions("99_nothing")
    assert questions("02_the_smtp_dialogue.ipynb") == questions("02_the_smtp_dialogue")


def test_answers_are_stored_sealed_not_in_plain_text():
    source = (ROOT / "kit" / "quiz" / "bank.py").read_text(encoding="utf-8")
    for q in ALL:
        assert q.sealed == seal(q.id, KEY[q.id]) and q.sealed in source
        assert not re.search(rf"{re.escape(q.id)}['\"]\s*[:=]\s*\d", source), "an answer index next to its id"
    assert seal("a", 1) != seal("b", 1), "the question id salts the hash"


def _student_texts() -> dict[str, str]:
    folders = [ROOT / "notebooks", ROOT / "notebooks" / "de"]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for f in folders if f.is_dir()
            for p in sorted(f.glob("*.ipynb"))}


def test_the_student_notebooks_hold_neither_questions_nor_answers():
    texts = _student_texts()
    assert len(texts) >= 9
    key_text = json.dumps(KEY)
    for name, text in texts.items():
        assert "answers.json" not in text and key_text not in text, name
        for q in ALL:
            assert q.text not in text, f"{name} holds the question {q.id}"
            assert q.sealed not in text, f"{name} holds the sealed answer of {q.id}"
        assert '"widgets"' not in text, f"{name}: saved widget state would carry the quiz's texts"


def test_each_notebook_asks_its_own_quiz_after_predict_moments():
    from kit.notebook_file import read

    for stem in WITH_QUIZ:
        cells = read(ROOT / "notebooks" / f"{stem}.ipynb").cells
        ids = [c.get("id") for c in cells]
        quiz_cell = cells[ids.index("quiz")]
        assert f'quiz("{stem}")' in quiz_cell.source
        assert ids.index("quiz-md") < ids.index("quiz") < ids.index("discuss")
        assert cells[ids.index("discuss")].source.count("\n- ") >= 2, f"{stem}: a few questions for discussion"
        predicts = [i for i in ids if i.startswith("predict-")]
        assert predicts, stem
        for cid in predicts:  # a prediction comes right before the code cell that reveals the answer
            after = cells[ids.index(cid) + 1]
            assert after.cell_type == "code" and "Predict, then run" in cells[ids.index(cid)].source
    ids = [c.get("id") for c in read(ROOT / "notebooks" / "02_the_smtp_dialogue.ipynb").cells]
    assert ids.index("predict-rcpt-first") + 1 == ids.index("m-rcpt-first")  # 02 §3 first


def test_the_widget_gives_instant_feedback_and_counts():
    widget = quiz("03_reply_codes")
    first = widget.views[0]
    assert first.check() is None and "Choose an answer first" in first.feedback.value
    wrong = next(i for i in range(len(first.question.choices)) if i != KEY[first.question.id])
    first.choices.value = wrong
    assert first.check() is False
    assert "kit-quiz-wrong" in first.feedback._dom_classes and "Not quite" in first.feedback.value
    assert first.question.source in first.feedback.value
    assert "0 of 5 right" in widget.score.value
    first.choices.value = KEY[first.question.id]
    assert first.check() is True
    assert "kit-quiz-right" in first.feedback._dom_classes and "kit-quiz-wrong" not in first.feedback._dom_classes
    assert "1 of 5 right" in widget.score.value


def test_the_quiz_speaks_german_in_a_german_notebook():
    with using("de"):
        widget = quiz("02_the_smtp_dialogue")
        view = widget.views[0]
        view.choices.value = KEY[view.question.id]
        view.check()
    assert "Der Client sendet" in view.text.value and view.button.description == "Prüfen"
    assert "Richtig" in view.feedback.value and "1 von 5 richtig" in widget.score.value
    assert question("02-rcpt-first").text.startswith("The client sends")
