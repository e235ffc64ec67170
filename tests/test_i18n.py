"""The kit speaks German where students read it: catalog, language choice, real checks in German.

The German texts come from ``kit/locale/de/LC_MESSAGES/kit.po``; every check here runs the real
thing (the exercise's own tests, a lab server on loopback for the wire exercise, the explorer's
HTML, a grader feedback page) and looks at what a student reads.
"""

from __future__ import annotations

import socket

import pytest

from kit import i18n
from kit.exercises import check
from kit.exercises._render import to_text
from kit.i18n import N_, _, ngettext
from kit.i18n_extract import Message, extract, problems


@pytest.fixture(autouse=True)
def _english_unless_told(monkeypatch):
    """Every test starts in the default: no SMTPKIT_LANG, nothing chosen in code."""
    monkeypatch.delenv(i18n.ENV, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def _wrong_classify(code: int) -> str:
    return "positive completion"  # right only for 2yz


# -- the catalog -------------------------------------------------------------------------------

def test_german_catalog_is_complete_current_and_well_formed():
    """Every wrapped text has a translation that is not fuzzy, no entry is obsolete, and every
    translation keeps the English text's {placeholders} (the extract step finds what is wrapped)."""
    assert problems("de") == []


def test_extract_finds_wrapped_texts_and_refuses_an_fstring(tmp_path):
    found = extract()
    assert "Classify a reply code by its first digit" in found  # an N_ in a module constant
    assert found["{n} message"].plural == "{n} messages"  # ngettext
    assert len(found) > 600
    package = tmp_path / "kit"
    package.mkdir()
    (package / "bad.py").write_text('from .i18n import _\nname = "x"\nprint(_(f"hello {name}"))\n')
    with pytest.raises(ValueError, match="f-string"):
        extract(package)


def test_problems_name_a_missing_an_untranslated_and_a_broken_entry():
    messages = {"unknown exercise": Message("unknown exercise", places=["kit/x.py:1"]),
                "a text no catalog has": Message("a text no catalog has", places=["kit/x.py:2"])}
    found = problems("de", messages)
    assert any(p.startswith("missing (kit/x.py:2)") for p in found)
    assert any("obsolete (no code uses it)" in p for p in found)  # everything else is unused here
    assert not any("'unknown exercise'" in p for p in found)


# -- choosing the language ---------------------------------------------------------------------

def test_the_environment_is_read_at_every_call(monkeypatch):
    assert _("unknown exercise") == "unknown exercise"
    monkeypatch.setenv("SMTPKIT_LANG", "de")
    assert _("unknown exercise") == "unbekannte Aufgabe"
    monkeypatch.setenv("SMTPKIT_LANG", "de_DE.UTF-8")
    assert i18n.language() == "de"
    monkeypatch.setenv("SMTPKIT_LANG", "en")
    assert _("unknown exercise") == "unknown exercise"
    monkeypatch.setenv("SMTPKIT_LANG", "fr")  # no catalog: English
    assert i18n.language() == "en" and _("unknown exercise") == "unknown exercise"


def test_code_and_scopes_choose_over_the_environment(monkeypatch):
    monkeypatch.setenv("SMTPKIT_LANG", "en")
    i18n.set_language("de")
    assert _("check failed") == "Prüfung fehlgeschlagen"
    with i18n.using("en"):
        assert _("check failed") == "check failed"
    with i18n.using(None):  # no change
        assert i18n.language() == "de"
    i18n.set_language(None)
    assert i18n.language() == "en"


def test_deferred_texts_and_plurals():
    text = N_("step {n}", n=3)
    assert text == "step 3" and type(_(text)) is str
    with i18n.using("de"):
        assert _(text) == "Schritt 3"
        assert ngettext("{n} message", "{n} messages", 1).format(n=1) == "1 Nachricht"
        assert ngettext("{n} message", "{n} messages", 2).format(n=2) == "2 Nachrichten"
        assert _("a text no catalog has") == "a text no catalog has"
    assert ngettext("{n} message", "{n} messages", 2) == "{n} messages"


# -- real checks -------------------------------------------------------------------------------

def test_a_wrong_answer_gets_german_feedback(monkeypatch):
    monkeypatch.setenv("SMTPKIT_LANG", "de")
    result = check("replies.classify", _wrong_classify, display=False)
    text = str(result)
    assert text.startswith("replies.classify: Ordne einen Antwortcode nach seiner ersten Ziffer ein. 2/10 Punkte, "
                           "teilweise")
    assert "✗ 451: lokaler Fehler, z. B. Greylisting" in text
    assert "der str unterscheidet sich an Position 0: erwartet ...'transient '" in text
    assert "      erwartet: 'transient negative'" in text  # the answer itself stays as it is
    assert "Hinweis: Gib 'positive completion' (2yz)" in text
    page = result._repr_html_()
    assert "Punkte, teilweise" in page and "<i>Hinweis:</i>" in page
    # the same result, rendered again after the switch back, is English again
    monkeypatch.delenv("SMTPKIT_LANG")
    assert to_text(result).startswith("replies.classify: Classify a reply code by its first digit. 2/10 points")


def test_english_is_the_default_and_unchanged():
    text = str(check("replies.classify", _wrong_classify, display=False))
    assert text.startswith("replies.classify: Classify a reply code by its first digit. 2/10 points, partial")
    assert "the str differs at position 0: expected ...'transient '" in text
    assert "  Hint: Return 'positive completion' (2yz)" in text
    stub = check("demo.add", lambda a, b: (_ for _ in ()).throw(NotImplementedError), display=False)
    assert stub.status == "not attempted" and "not attempted yet" in str(stub)


def test_a_wire_exercise_explains_in_german_what_the_server_saw(monkeypatch):
    """A client that ends its lines in a bare LF, judged by a real lab server through the relay."""
    monkeypatch.setenv("SMTPKIT_LANG", "de")

    def send_mail_raw(host, port, sender, recipients, message):
        with socket.create_connection((host, port), timeout=3) as sock:
            reader = sock.makefile("rb")

            def reply():
                while True:
                    line = reader.readline()
                    if not line or line[3:4] == b" ":
                        return line.decode().strip()

            reply()
            for command in ["HELO me", f"MAIL FROM:<{sender}>", *[f"RCPT TO:<{r}>" for r in recipients], "DATA"]:
                sock.sendall(command.encode() + b"\r\n")
                reply()
            sock.sendall(message.replace("\r\n", "\n").encode() + b"\r\n.\r\n")  # bare LF inside: the bug
            final = reply()
            sock.sendall(b"QUIT\r\n")
            return final

    result = check("dialogue.send_mail_raw", send_mail_raw, display=False, time_limit=10)
    text = str(result)
    assert not result.passed
    assert "Sende eine E-Mail über einen rohen Socket" in text
    assert "✗ ein Empfänger" in text  # the test's name
    assert "beende jede Zeile mit \\r\\n, nicht mit \\n (RFC 5321 §2.3.8)." in text
    assert "      erwartet: 'CRLF-Zeilenenden'" in text


def test_the_explorer_explains_a_code_in_german():
    from kit.protocol import explain
    from kit.ui.explorer import explain_html

    with i18n.using("de"):
        page = explain_html("550 5.1.1 <ghost@example.test>: Recipient address rejected")
        text = str(explain(421))
    assert "Dauerhaft negative Erledigung" in page
    # the RFC's own text stays English (it is what servers say), glossed in German
    assert "Requested action not taken: mailbox unavailable" in page and "„Angeforderte Aktion" in page
    assert "erweiterter Statuscode 5.1.1: Dauerhafter Fehler / Adressierungsstatus / Ungültige Zielpostfachadresse" \
        in page
    assert "Vorübergehend negative Erledigung" in text and "Quelle: RFC 5321 §4.2.2" in text
    english = explain_html("550 5.1.1 x")
    assert "Permanent negative completion" in english and "„" not in english


def test_transcript_notes_are_recorded_in_english_and_shown_in_german():
    from kit.transcript import BARE_LF_NOTE, Transcript

    transcript = Transcript(peer="127.0.0.1:1")
    transcript.add("client", "HELO me")
    transcript.add("info", BARE_LF_NOTE)
    transcript.add("info", "(7 more lines of data not shown)")
    with i18n.using("de"):
        assert BARE_LF_NOTE in transcript.to_text()  # what checkers search stays as recorded
        shown = str(transcript)
        page = transcript._repr_html_()
    assert "=== die Zeile darüber endete auf ein einzelnes LF" in shown
    assert "=== (7 weitere Zeilen der Daten nicht gezeigt)" in shown
    assert "Sitzung" in page and "einzelnes LF" in page
    assert str(transcript) == transcript.to_text()  # English: one text


def test_trace_table_in_german():
    from kit.trace import trace
    from kit.trace.render import text_table

    message = ("Received: from a.example ([192.0.2.1]) by b.example with ESMTP id 1; "
               "Tue, 12 Mar 2024 10:00:05 +0000\r\n"
               "Received: from c.example ([192.0.2.2]) by a.example with ESMTP id 2; "
               "Tue, 12 Mar 2024 10:00:09 +0000\r\n\r\nbody\r\n")
    english = text_table(trace(message))
    with i18n.using("de"):
        german = text_table(trace(message))
    assert english.splitlines()[0].split()[:4] == ["hop", "delay", "time", "(UTC)"]
    assert german.splitlines()[0].split()[:4] == ["Station", "Verzögerung", "Zeit", "(UTC)"]
    assert "-4 s (Uhrenabweichung)" in german and "-4 s (clock skew)" in english
    assert "Gesamtverzögerung" in german


def test_feedback_page_in_the_assignments_language():
    from kit.exercises import get
    from kit.grading.assignment import AssignedNotebook, Assignment
    from kit.grading.feedback import feedback_html
    from kit.grading.grade import ClassReport, NotebookReport, StudentReport
    from kit.grading.isolation import Sandbox
    from kit.grading.settings import Limits

    with i18n.using("de"):  # the grader judges in the assignment's language
        result = check("replies.classify", _wrong_classify, display=False)
    exercise = get("replies.classify")
    assignment = Assignment([AssignedNotebook("03_reply_codes.ipynb", (exercise.id,))], {exercise.id: exercise})
    student = StudentReport("zoe", "zoe", [NotebookReport("03_reply_codes.ipynb", "zoe.ipynb", "ok")],
                            {exercise.id: result}, {exercise.id: 0.1})
    report = ClassReport(assignment, [student], Limits(), 1, 1.0, Sandbox())
    page = feedback_html(report, student, lang="de")
    assert '<html lang="de">' in page and "Rückmeldung für zoe" in page and "2 von 10 Punkten" in page
    assert "ist bis zum Ende gelaufen" in page and "Ordne einen Antwortcode" in page
    assert "der str unterscheidet sich" in page
    english = feedback_html(report, student)
    assert '<html lang="en">' in english and "Feedback for zoe" in english and "2 of 10 points" in english
    assert "Classify a reply code by its first digit" in english
