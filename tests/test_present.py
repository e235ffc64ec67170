"""The seminar deck: assembled from the course's cells by id (an edit reaches the deck, a vanished
id is an error naming it), in the seminar's order and 90 minutes with notes per section, live
cells that run the kit, legible sizes, German from the catalogs, the command's errors, and the
offline export (executed for real) that asks the network for nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kit.notebook_file import dumps, read
from kit.present import DECK_CSS, MIN_TEXT_PX, SLIDE_HEIGHT, SLIDE_WIDTH, DeckError, assemble, references
from kit.present.deck import deck_source, write_deck

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
SEMINAR_ORDER = ["SMTP", "history", "must do", "Who does what", "Commands", "Replies", "live demo",
                 "life cycle", "Thunderbird header", "receiver rely", "ESMTP", "Discussion"]


@pytest.fixture(scope="module")
def deck():
    return assemble(SOLUTIONS)


def _kit(cell) -> dict:
    return (cell.get("metadata") or {}).get("kit") or {}


def test_sections_follow_the_seminar_and_add_up_to_90_minutes(deck):
    titles = [s.title for s in deck.sections]
    assert len(titles) == len(SEMINAR_ORDER)
    for title, expected in zip(titles, SEMINAR_ORDER, strict=True):
        assert expected.lower() in title.lower(), (title, expected)
    assert deck.minutes == 90
    assert [s.start for s in deck.sections] == [sum(s.minutes for s in deck.sections[:i])
                                               for i in range(len(deck.sections))]
    agenda = next(c for c in deck.notebook.cells if _kit(c).get("agenda"))
    assert "| **90** |" in agenda.source and all(s.title in agenda.source for s in deck.sections)


def test_every_section_has_a_slide_its_timing_and_speaker_notes(deck):
    cells = deck.notebook.cells
    starts = [i for i, c in enumerate(cells) if "minutes" in _kit(c)] + [len(cells)]
    for begin, end in zip(starts, starts[1:], strict=False):
        first = cells[begin]
        assert first.metadata["slideshow"]["slide_type"] == "slide"
        assert f"{_kit(first)['minutes']} min" in first.source  # the timing line
        kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in cells[begin:end]]
        assert "notes" in kinds, f"no speaker notes for {first.source[:40]!r}"


def test_slides_are_the_course_cells_themselves(deck):
    source = read(deck_source(SOLUTIONS))
    refs = references(source)
    assert len(refs) >= 30
    by_from = {_kit(c).get("from"): c for c in deck.notebook.cells if _kit(c).get("from")}
    for _index, name, cell_id in refs:
        course = {c.get("id"): c for c in read(SOLUTIONS / name).cells}
        taken = by_from[f"{name}#{cell_id}"]
        assert taken.cell_type == course[cell_id].cell_type
        if "minutes" in _kit(taken):  # a section's first slide: the course cell and its timing line
            assert taken.source.startswith(course[cell_id].source + "\n\n<p class=\"kit-deck-timing\">")
        else:
            assert taken.source == course[cell_id].source
        if taken.cell_type == "code":
            assert taken.outputs == [] and taken.execution_count is None  # live: run on the slide


def test_the_live_cells_run_the_kit(deck):
    code = "\n".join(c.source for c in deck.notebook.cells if c.cell_type == "code")
    for piece in ("start_lab(", "sequence_diagram(", "ReplyCodeExplorer(", "trace(SEED)", "bobb@example.org",
                  "b64decode(token)", 'print(s.mail("mallory@attacker.example"))', "start_room(", "connect_room()",
                  "room.set_behaviour(greylist())",
                  "live_board(room)", "rfc_timeline()", "explain(451)"):
        assert piece in code, piece
    assert "listen=" not in code.replace('start_room(listen="', ""), "the room listens on loopback in the deck"


def test_a_course_edit_reaches_the_deck_and_a_vanished_id_is_named(tmp_path):
    copy = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, copy, ignore=shutil.ignore_patterns("locale", "de"))
    path = copy / "02_the_smtp_dialogue.ipynb"
    notebook = read(path)
    connect = next(c for c in notebook.cells if c.get("id") == "connect")
    connect.source = connect.source + "\nprint('edited in the course')"
    path.write_text(dumps(notebook), encoding="utf-8")
    edited = assemble(copy)
    assert any("edited in the course" in c.source for c in edited.notebook.cells)

    connect.id = "connect-renamed"
    path.write_text(dumps(notebook), encoding="utf-8")
    with pytest.raises(DeckError, match=r"02_the_smtp_dialogue\.ipynb has no cell with id 'connect'"):
        assemble(copy)


def test_a_malformed_reference_is_an_error(tmp_path):
    source = read(deck_source(SOLUTIONS))
    source.cells[3].metadata["kit"] = {"from": "02_the_smtp_dialogue.ipynb"}
    bad = tmp_path / "seminar.ipynb"
    bad.write_text(dumps(source), encoding="utf-8")
    with pytest.raises(DeckError, match="NOTEBOOK.ipynb#CELL-ID"):
        assemble(SOLUTIONS, source_path=bad)


def test_legible_from_the_back_row(deck, tmp_path):
    sizes = [int(px) for px in re.findall(r"font-size:\s*(\d+)px", DECK_CSS)]
    assert sizes and min(sizes) >= MIN_TEXT_PX >= 24
    rise = deck.notebook.metadata["rise"]
    assert (rise["width"], rise["height"]) == (SLIDE_WIDTH, SLIDE_HEIGHT) == (1280, 720)
    assert rise["scroll"] is True  # a long course cell scrolls instead of running off the slide
    assert f"max-height: {SLIDE_HEIGHT - 200}px" in DECK_CSS  # figures fit the slide
    path = write_deck(deck, tmp_path)
    assert (tmp_path / "seminar.css").read_text() == DECK_CSS  # jupyterlab-rise loads <deck>.css
    assert read(path).metadata["kit"]["deck"] is True


def test_the_german_deck_comes_from_the_catalogs():
    german = assemble(SOLUTIONS, "de")
    assert german.minutes == 90 and german.lang == "de"
    titles = [s.title for s in german.sections]
    assert "Anforderungen an den Mailversand" in titles  # a course cell, from its German catalog
    first_code = next(c for c in german.notebook.cells if c.cell_type == "code")
    assert first_code.source.startswith("%env SMTPKIT_LANG=de\n")
    others = [c for c in german.notebook.cells if c.cell_type == "code"][1:]
    assert not any("%env SMTPKIT_LANG" in c.source for c in others)
    agenda = next(c for c in german.notebook.cells if _kit(c).get("agenda"))
    assert agenda.source.startswith("# Ablauf")
    assert german.untranslated == [], "every slide of the German deck is translated"
    assert "Befehle" in titles and "Die Live-Demo" in titles  # the deck's own cells, from seminar.po
    room = next(c for c in german.notebook.cells if c.get("id") == "room")  # its comments, in German
    assert "# läuft `smtpkit classroom`?" in room.source and "connect_room() or start_room(" in room.source


def test_a_german_deck_cell_that_changes_the_code_is_not_taken(tmp_path):
    import polib

    copy = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, copy, ignore=lambda folder, names: ["de"] if Path(folder) == SOLUTIONS else [])
    catalog = copy / "deck" / "locale" / "de" / "seminar.po"
    po = polib.pofile(str(catalog), wrapwidth=0)
    entry = next(e for e in po if e.msgctxt == "room-451")
    entry.msgstr = entry.msgstr.replace("greylist()", "greylist('alle@class.test')")  # not a comment
    po.save(str(catalog))
    german = assemble(copy, "de")
    assert german.untranslated == ["seminar.ipynb#room-451"]
    taken = next(c for c in german.notebook.cells if c.get("id") == "room-451")
    assert taken.source.startswith("from kit.server import greylist") and "alle@" not in taken.source


def _present(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kit", "present", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240)


def test_the_command_refuses_bad_input(tmp_path):
    done = _present("--solutions", str(tmp_path / "none"), "--build-only", cwd=tmp_path)
    assert done.returncode == 2 and "no deck source" in done.stderr
    done = _present("--solutions", str(SOLUTIONS), "--export", "slides.pdf", cwd=tmp_path)
    assert done.returncode == 2 and ".html" in done.stderr
    done = _present("--lang", "fr", cwd=tmp_path)
    assert done.returncode == 2
    done = _present("--solutions", str(SOLUTIONS), "--build-only", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "deck" / "seminar.ipynb").is_file(), done.stderr
    assert "90 minutes" in done.stdout


def test_the_offline_export_runs_the_deck_and_needs_no_network(tmp_path):
    target = tmp_path / "out" / "seminar.html"
    done = _present("--solutions", str(SOLUTIONS), "--out", str(tmp_path / "deck"), "--export", str(target),
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    page = target.read_text(encoding="utf-8")
    assert "<script src=" not in page and not re.search(r"<link[^>]+href=\"http", page)
    assert not re.search(r"(src|href)=\"(https?:)?//[^\"]*\.(js|css)", page)
    slides = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    images = re.findall(r"<img[^>]+src=\"([^\"]{0,40})", slides)
    assert len(images) >= 4 and all(src.startswith("data:image/") for src in images)
    assert "Reveal.initialize" in page and f"width: {SLIDE_WIDTH}" in page
    assert page.count("<section") >= 30 and 'class="notes"' in page
    slides_only = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "application/vnd.jupyter.widget-view" not in slides_only
    explorer = slides_only[slides_only.index("kit-reply-explorer-static"):][:3000]  # its HTML, not a note
    assert "local error in processing" in explorer and "Transient negative" in explorer
    assert "kit-classroom" in slides_only  # the room's board, drawn without a widget
    executed = nbformat.reads(Path(tmp_path / "deck" / "seminar.ipynb").read_text(), as_version=4)
    assert executed.metadata["kit"]["deck"]
    for text in ("250 2.1.5", "503", "Mallory", "alice\\x00wonderland"):
        assert text in page, text  # outputs of the live cells, run once for the export


def test_a_widget_without_html_becomes_a_note_on_static_slides():
    from kit.present.export import WIDGET, _still_widgets

    view = {WIDGET: {"model_id": "x", "version_major": 2, "version_minor": 0}, "text/plain": "VBox(...)"}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("w", outputs=[
        nbformat.v4.new_output("display_data", data=dict(view)),
        nbformat.v4.new_output("display_data", data={**view, "text/html": "<b>451</b>"})])])
    _still_widgets(notebook)
    first, second = notebook.cells[0].outputs
    assert list(first.data) == ["text/html"] and "kit-deck-widget" in first.data["text/html"]
    assert second.data == {"text/html": "<b>451</b>"}


def test_the_room_board_on_a_slide_redraws_when_a_student_connects(capsys):
    import smtplib
    import time

    from kit.classroom import Room
    from kit.present.live import LiveBoard

    with Room(port=0, minutes=1) as room:
        board = LiveBoard(room, interval=60)  # redrawn by hand below, not by its thread
        try:
            assert board.refresh() is False  # nothing happened yet
            with smtplib.SMTP(room.host, room.port, timeout=10) as student:
                student.helo("ada-laptop")
            deadline = time.monotonic() + 10
            while not board.refresh():
                assert time.monotonic() < deadline, "the board never saw the student"
        finally:
            board.stop()
    shown = capsys.readouterr().out  # outside a kernel, display() prints the HTML's repr
    assert shown.count("IPython.core.display.HTML") >= 2
    with pytest.raises(ValueError):
        LiveBoard(room, interval=0)
