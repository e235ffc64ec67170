"""The seminar in a real headless Chromium: the RISE slideshow that ``smtpkit present`` serves, the
offline export with the network cut off, and a notebook's quiz in JupyterLab.

- ``smtpkit present --no-browser`` (the real command) serves the deck on 127.0.0.1; the test opens
  ``/rise/seminar.ipynb``, checks the title slide's letters are at least 24 px, advances with the
  keyboard, runs a live cell on its slide (the RFC timeline: a picture appears on that slide), runs
  the reply-code explorer on its slide and again with the code edited (the explanation follows),
  and jumps to the classroom slide: with ``smtpkit classroom`` running in its own process, the
  slide's cell shows that room live as students connect, and its fragment greylists everybody.
- ``smtpkit present --export`` writes the offline slides; they open from ``file://`` while every
  other request is aborted, show their slides and pictures at 1280x720 and 1920x1080, and fail
  no request.
- The quiz of ``03_reply_codes`` in JupyterLab (the `lab` fixture of the course tests): a wrong
  choice gets "Not quite", the right one is marked right and counted.

``SMTPKIT_E2E_DOCS=1`` also writes the README's pictures (``docs/screenshots/present_*.png``,
``quiz.png``). Every process started here is ended by its id, also on failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_course_in_browser import (  # noqa: F401 - fixtures and helpers shared with the course tests
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    _stop,
    browser,
    jupyter_environment,
    lab,
    open_notebook,
    page,
    shoot,
)

from kit.present import assemble

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

ROOT = Path(__file__).resolve().parents[2]
KEY = json.loads((ROOT / "solutions" / "quiz" / "answers.json").read_text(encoding="utf-8"))["answers"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240),
              pytest.mark.skipif(expect is None, reason="Python playwright is not installed"),
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")]


def _docs_copy(source: Path, name: str) -> None:
    if os.environ.get("SMTPKIT_E2E_DOCS") != "1":
        return
    from PIL import Image

    target = ROOT / "docs" / "screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def _slide_index(cell_id: str) -> tuple[int, int]:
    """(horizontal, vertical) reveal.js index of the slide holding a deck cell, from its slide types."""
    h = v = -1
    for cell in assemble(ROOT / "solutions").notebook.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind == "slide":
            h, v = h + 1, 0
        elif kind == "subslide":
            v += 1
        if cell.get("id") == cell_id:
            return h, v
    raise LookupError(cell_id)


def _kernel_idle(presenter: dict, timeout: float = 90) -> None:
    """Wait until the deck's kernel exists and is idle (the REST API; the slideshow has no status bar)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = f"{presenter['base']}/api/sessions?token={presenter['token']}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            sessions = json.load(reply)
        if any(s.get("kernel", {}).get("execution_state") == "idle" for s in sessions):
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle kernel after {timeout} s")


def _run_on_slide(page, cell, *, editing: bool = False) -> None:  # noqa: F811
    """Run ``cell`` where it stands (Ctrl-Enter) and see it start: its prompt changes. A key press
    lost on a busy machine is pressed again (three times at most; running a deck cell twice is
    harmless: the kit's one-line starters return the running server)."""
    prompt = cell.locator(".jp-InputPrompt").first
    before = prompt.inner_text()
    for _ in range(3):
        if not editing:
            cell.click(force=True)
            page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
        try:
            expect(prompt).not_to_have_text(before, timeout=15_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the cell did not start on its slide (prompt still {before!r})")


# --------------------------------------------------------------------------- #
# the live slideshow
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def presenter(tmp_path_factory):
    from kit.course.lab import free_port, wait_until_serving

    home = tmp_path_factory.mktemp("e2e-present")
    token = secrets.token_hex(24)
    port = free_port()
    env = jupyter_environment(home, token)
    env["SMTPKIT_CLASSROOM_CONTROL"] = str(home / "ctl" / "classroom.sock")  # the deck's kernel finds the room here
    log_path = home / "smtpkit-present.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kit", "present", "--no-browser", "--port", str(port),
                                 "--solutions", str(ROOT / "solutions"), "--out", str(home / "deck")],
                                cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not wait_until_serving(port, proc, timeout=60):
                raise RuntimeError(f"smtpkit present did not serve:\n{log_path.read_text()}")
            yield {"base": base, "token": token, "log": log_path, "env": env, "home": home}
        finally:
            _stop(proc, base, token)


CURRENT = ".reveal .slides section.present"


def test_the_slideshow_opens_advances_and_runs_a_live_cell(browser, presenter, artifacts):  # noqa: F811
    t0 = time.monotonic()
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()  # noqa: F811
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{presenter['base']}/rise/seminar.ipynb?token={presenter['token']}")
        title = page.locator(CURRENT).first
        expect(title).to_contain_text("SMTP: how e-mail really travels", ignore_case=True)
        expect(title).to_contain_text("2 min")  # the section's timing line
        size = title.locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 24, f"slide text of {size} px"

        # advance: title -> agenda -> history -> the RFC timeline (a live cell)
        for _ in range(3):
            page.keyboard.press("Space")
        timeline = page.locator(CURRENT, has_text="rfc_timeline()").last
        expect(timeline).to_be_visible()
        expect(timeline.locator(".jp-OutputArea-output img")).to_have_count(0)  # nothing yet: it is live
        _kernel_idle(presenter)
        _run_on_slide(page, timeline.locator(".jp-CodeCell").last)  # run it in place
        picture = timeline.locator(".jp-OutputArea-output img")
        expect(picture).to_be_visible(timeout=60_000)
        assert picture.evaluate("e => e.naturalWidth") > 500
        box = picture.bounding_box()
        assert box["y"] + box["height"] <= 720 + 1 and box["width"] <= 1280, box  # the figure fits the slide
        page.screenshot(path=str(artifacts / "present_live_cell.png"))
        _docs_copy(artifacts / "present_live_cell.png", "present_deck")

        # the reply-code explorer's slide: run it, then the room suggests another code: edit, run again
        h, v = _slide_index("replies-explorer")
        page.evaluate(f"location.hash = '#/{h}/{v}'")
        explorer = page.locator(CURRENT, has_text="ReplyCodeExplorer(").last
        expect(explorer).to_be_visible()
        _run_on_slide(page, explorer.locator(".jp-CodeCell").last)
        shown = explorer.locator(".kit-reply-explorer-static")  # drawn without widgets (rise #119, #126)
        expect(shown).to_be_visible(timeout=60_000)
        expect(shown).to_contain_text("local error in processing")
        expect(shown).to_contain_text("Transient negative completion")
        explorer.locator(".jp-CodeCell .cm-content").last.click()
        page.keyboard.press("Control+a")
        page.keyboard.type('from kit.ui import ReplyCodeExplorer\n\nReplyCodeExplorer("550 5.1.1")')
        _run_on_slide(page, explorer.locator(".jp-CodeCell").last, editing=True)
        expect(shown).to_contain_text("Bad destination mailbox address", timeout=60_000)
        expect(shown).not_to_contain_text("local error in processing")
        page.screenshot(path=str(artifacts / "present_explorer.png"))
        _docs_copy(artifacts / "present_explorer.png", "present_explorer")

        # the classroom slide: the instructor runs `smtpkit classroom` in a terminal; the slide's cell
        # shows that room (connect_room) and its fragment switches greylisting on for everybody
        classroom = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--port", "0", "--minutes", "5"],
                                     env=presenter["env"], cwd=presenter["home"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        try:
            port = int(re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", classroom.stdout.readline())[1])
            h, v = _slide_index("room")
            page.evaluate(f"location.hash = '#/{h}/{v}'")
            room = page.locator(CURRENT, has_text="connect_room(").last
            expect(room).to_be_visible()
            _run_on_slide(page, room.locator(".jp-CodeCell", has_text="connect_room("))
            expect(room.locator(".kit-classroom")).to_be_visible(timeout=60_000)  # drawn without widgets
            expect(room).to_contain_text(f"telnet 127.0.0.1 {port}")  # the terminal's room, not a new one
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as student:  # a student connects: the slide shows it
                student.helo("ada-laptop")
                expect(room).to_contain_text("ada-laptop", timeout=30_000)
            page.keyboard.press("Space")  # the fragment: "now everybody gets 451"
            _run_on_slide(page, room.locator(".jp-CodeCell", has_text="set_behaviour(greylist())"))
            expect(room.locator(".kit-classroom")).to_contain_text("451 4.7.1", timeout=30_000)  # on the board
            with smtplib.SMTP("127.0.0.1", port, local_hostname="bob-laptop", timeout=10) as student:
                with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                    student.sendmail("bob@class.test", ["ada@class.test"], "Subject: x\r\n\r\nx\r\n")
            assert refused.value.recipients["ada@class.test"][0] == 451  # answered by the terminal's room
            expect(room).to_contain_text("bob-laptop", timeout=30_000)
            page.screenshot(path=str(artifacts / "present_classroom.png"))
            _docs_copy(artifacts / "present_classroom.png", "present_classroom")
        finally:
            classroom.kill()
            out, _ = classroom.communicate(timeout=30)
        assert "[#2 bob-laptop]" in out and "451 4.7.1" in out  # the terminal printed it too
    finally:
        context.close()
    assert not errors, errors
    print(f"slideshow: {time.monotonic() - t0:.1f} s")


# --------------------------------------------------------------------------- #
# the offline export
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("e2e-export")
    target = home / "slides" / "seminar.html"
    done = subprocess.run([sys.executable, "-m", "kit", "present", "--solutions", str(ROOT / "solutions"),
                           "--out", str(home / "deck"), "--export", str(target)],
                          cwd=home, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return target


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_the_offline_slides_open_without_network(browser, exported, artifacts, size):  # noqa: F811
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()  # noqa: F811
    blocked, failed, errors = [], [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (blocked.append(route.request.url), route.abort()))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(exported.as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        assert page.evaluate("Reveal.getTotalSlides()") >= 30
        expect(page.locator(CURRENT).first).to_contain_text("SMTP: how e-mail really travels", ignore_case=True)
        scale = page.evaluate("Reveal.getScale()")
        text = page.locator(CURRENT).first.locator("p").first
        shown = text.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") * scale
        assert shown >= 24 * min(width / 1280, height / 720) - 0.5, (shown, scale)

        # every picture of the deck is in the page, decoded; the sequence diagram's slide shows one
        natural = page.evaluate("[...document.querySelectorAll('.slides img')].map(i => i.naturalWidth)")
        assert len(natural) >= 4 and all(w > 0 for w in natural), natural
        h, v = _slide_index("demo-sequence")
        page.evaluate(f"Reveal.slide({h}, {v})")
        picture = page.locator(CURRENT).last.locator("img").first
        expect(picture).to_be_visible()
        box = picture.bounding_box()
        assert box["y"] + box["height"] <= height + 1 and box["width"] <= width, box
        page.screenshot(path=str(artifacts / f"present_offline_{width}.png"))
        if width == 1920:
            _docs_copy(artifacts / f"present_offline_{width}.png", "present_offline")
        page.keyboard.press("ArrowRight")  # the keyboard drives it too
        page.wait_for_function(f"() => Reveal.getIndices().h === {h + 1}")
    finally:
        context.close()
    assert not blocked, f"the offline slides asked the network: {blocked}"
    assert not failed and not errors, (failed, errors)


# --------------------------------------------------------------------------- #
# the quiz in JupyterLab
# --------------------------------------------------------------------------- #
def test_the_quiz_gives_feedback_in_the_browser(page, lab, artifacts):  # noqa: F811
    t0 = time.monotonic()
    panel = open_notebook(page, lab, "03_reply_codes.ipynb")
    cell = panel.locator(".jp-CodeCell", has_text='quiz("03_reply_codes")')
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    quiz = panel.locator(".kit-quiz")
    expect(quiz).to_be_visible()
    first = quiz.locator(".kit-quiz-03-first-digit")
    options = first.locator(".widget-radio-box label")
    expect(options).to_have_count(3)
    right = KEY["03-first-digit"]
    wrong = (right + 1) % 3
    options.nth(wrong).click()
    first.get_by_role("button", name="Check").click()
    expect(first.locator(".kit-quiz-wrong")).to_contain_text("Not quite")
    expect(first).to_contain_text("RFC 5321 §4.2.1")
    expect(quiz).to_contain_text("0 of 5 right")
    options.nth(right).click()
    first.get_by_role("button", name="Check").click()
    expect(first.locator(".kit-quiz-right")).to_contain_text("Right")
    expect(first.locator(".kit-quiz-wrong")).to_have_count(0)
    expect(quiz).to_contain_text("1 of 5 right")
    quiz.scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('.kit-quiz').scrollIntoView({block: 'start'})")
    shoot(page, artifacts, "quiz")
    print(f"quiz: {time.monotonic() - t0:.1f} s")

