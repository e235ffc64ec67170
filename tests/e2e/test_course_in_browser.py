"""The course as students meet it, in a real headless Chromium driven by Playwright.

One `smtpkit lab --no-browser` (the real command) serves copies of the student notebooks on a
free port of 127.0.0.1 with a random token; each test opens a notebook, runs all its cells from
JupyterLab's Run menu and then uses it the way a student would:

- ``00_start_here`` opens first, quietly: trusted, not marked as changed once its kernel has
  answered, no news question, no 403 or "not trusted" in the log; saved without running anything
  it is still the release's copy (`kit.authoring.workspace`), so a later release may replace it;
  all cells run without an error or stderr output; the table of
  contents links to the headings JupyterLab renders, and a click on one scrolls to it; the
  transcript is drawn as a sequence diagram; no request leaves 127.0.0.1 (pictures are the kit's).
- ``02_the_smtp_dialogue``: in the SMTP console widget ``EHLO me`` gets a ``250-`` reply, drawn
  green, and an ``RCPT`` before ``MAIL`` a ``503`` drawn red, as in the sequence diagram.
- ``03_reply_codes``: the reply-code explorer explains ``451``.

Why the student notebooks (not the solutions): they are what students open, and their exercise
stubs only make ``check`` report "not attempted" (HTML, no traceback), so "no error output" holds
for them too; `make test` already runs them under ``nbval-lax``.

Screenshots of every run go to ``SMTPKIT_E2E_ARTIFACTS`` (default ``tests/e2e/artifacts/``), a
``FAILED-*.png`` besides on a failure; ``SMTPKIT_E2E_DOCS=1`` also writes the tour pictures
(``docs/screenshots/*.png``, 1280x800, optimised). Waits are on conditions, never sleeps, and
every process started here (smtpkit, JupyterLab, its kernels) is ended by its id, also on failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kit.authoring import MANIFEST
from kit.authoring.workspace import content_key, is_release_copy, read_manifest

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the e2e tests are skipped, saying so
    expect = sync_playwright = None

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SMTPKIT_E2E_CHROMIUM", "/usr/bin/chromium")
# Playwright adds --headless, --no-sandbox (we may be root), a fresh --user-data-dir, and most of the
# quiet-browser flags itself; it refuses --user-data-dir here. Listed so the set is explicit.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000  # a first JupyterLab load on a busy 2-core machine takes seconds
NOTEBOOKS = ["00_start_here.ipynb", "02_the_smtp_dialogue.ipynb", "03_reply_codes.ipynb"]
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook tab in front

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sync_playwright is None,
                       reason="Python playwright is not installed (pip install playwright; no browser download "
                              "needed: the tests use the system Chromium)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SMTPKIT_E2E_CHROMIUM)"),
    pytest.mark.timeout(240),
]
if expect is not None:
    # expect() has its own 5 s default, apart from the context's action timeout: under load
    # "Run All" takes longer.
    expect.set_options(timeout=TIMEOUT_MS)


# --------------------------------------------------------------------------- #
# JupyterLab, started with `smtpkit lab`
# --------------------------------------------------------------------------- #
def _api(base: str, token: str, path: str, method: str = "GET", timeout: float = 5) -> int:
    request = urllib.request.Request(f"{base}{path}", method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (JupyterLab and its kernels), from /proc; [] elsewhere."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
        except OSError:
            children = []
        out += children
        todo += children
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def jupyter_environment(home: Path, token: str) -> dict[str, str]:
    """The environment of a JupyterLab of its own below ``home``: its config, runtime, data, user
    settings (``home/settings``, empty) and workspaces folders, and the token."""
    config = home / "config"
    config.mkdir()
    # window.jupyterapp for the kernel-ready check; no news fetched by the server. The news question
    # and the update check are switched off by `smtpkit lab` itself: the user settings are empty.
    (config / "jupyter_lab_config.json").write_text(json.dumps({"LabApp": {
        "expose_app_in_browser": True, "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}))
    return dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_CONFIG_DIR=str(config),
                JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
                JUPYTER_DATA_DIR=str(home / "data"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from kit.course.lab import free_port

    home = tmp_path_factory.mktemp("e2e-lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    for name in [*NOTEBOOKS, MANIFEST]:  # the student notebooks, as released (no outputs), and the record of that
        shutil.copy(ROOT / "notebooks" / name, notebooks / name)
    token = secrets.token_hex(24)
    port = free_port()
    env = jupyter_environment(home, token)
    log_path = home / "smtpkit-lab.log"
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kit", "lab", "--no-browser", "--port", str(port),
                                 "--notebooks", str(notebooks)],
                                cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"smtpkit lab exited {proc.returncode}:\n{log_path.read_text()}")
                try:
                    if _api(base, token, "/api/status", timeout=2) == 200:
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() - started > 60:
                    raise TimeoutError(f"JupyterLab not ready in 60 s:\n{log_path.read_text()}")
                time.sleep(0.2)  # polling interval of a condition, not a wait for time to pass
            print(f"\nJupyterLab ready in {time.monotonic() - started:.1f} s on {base}")
            yield {"base": base, "token": token, "root": notebooks, "log": log_path}
        finally:
            _stop(proc, base, token)


def _stop(proc: subprocess.Popen, base: str, token: str) -> None:
    """Stop JupyterLab and its kernels: the API's shutdown (it stops the kernels), then SIGTERM to
    smtpkit (passed on to JupyterLab), then SIGKILL; each by the id of a process we started."""
    ours = _descendants(proc.pid)
    try:
        _api(base, token, "/api/shutdown", method="POST")
    except Exception:  # noqa: BLE001 - already gone, or not answering: the signals below
        pass
    for stop in (None, signal.SIGTERM, signal.SIGKILL):
        if stop is not None and proc.poll() is None:
            proc.send_signal(stop)
        try:
            proc.wait(timeout=20)
            break
        except subprocess.TimeoutExpired:
            continue
    for pid in ours:  # a kernel that outlived its server
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not [pid for pid in ours if _alive(pid)], "processes left behind"


# --------------------------------------------------------------------------- #
# the browser
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, lab, request, artifacts):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("request", lambda req: outside.append(req.url)
          if urlsplit(req.url).hostname not in ("127.0.0.1", None) and not req.url.startswith("data:") else None)
    try:
        yield pg
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:  # keep what the browser showed
            shot = artifacts / f"FAILED-{request.node.name}.png"
            pg.screenshot(path=str(shot))
            print(f"\nfailure screenshot: {shot}\n{_cell_summary(pg)}")
            print("JupyterLab log (tail):\n" + lab["log"].read_text(errors="replace")[-3000:])
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
    assert not outside, f"requests that left 127.0.0.1: {outside}"


def _cell_summary(page) -> str:
    try:
        return page.evaluate(CELLS_JS)
    except Exception as exc:  # noqa: BLE001 - only a diagnostic
        return f"(no cell summary: {exc})"


CELLS_JS = """() => {
  const w = window.jupyterapp?.shell?.currentWidget;
  if (!w?.content?.model) return 'no notebook in front';
  const cells = w.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    out.push(`cell ${i} [${c.executionCount ?? ' '}]: ` + JSON.stringify(c.outputs.toJSON()).slice(0, 300));
  }
  return out.join('\\n');
}"""

KERNEL_IDLE_JS = """() => {
  const k = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

# every code cell has run (an execution count) and the kernel is idle; or the first error
RUN_STATE_JS = """() => {
  const w = window.jupyterapp?.shell?.currentWidget;
  const k = w?.sessionContext?.session?.kernel;
  if (!w?.content?.model || !k) return false;
  const cells = w.content.model.cells;
  let done = true;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    for (const o of c.outputs.toJSON()) {
      if (o.output_type === 'error') return `error in cell ${i}: ${o.ename}: ${o.evalue}`;
    }
    if (c.executionCount === null || c.executionCount === undefined) done = false;
  }
  return done && k.status === 'idle' ? 'done' : false;
}"""

BAD_OUTPUTS_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells, bad = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    for (const o of c.outputs.toJSON()) {
      if (o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'))
        bad.push(`cell ${i}: ` + JSON.stringify(o).slice(0, 500));
    }
  }
  return bad;
}"""


# Just after opening: JupyterLab writes the kernel's kernelspec and language_info into the notebook
# once the kernel answers (kernel.info, kernel.spec); a difference marks it changed (the dot on its tab).
JUST_OPENED_JS = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session.kernel;
  await k.info;
  await k.spec;
  await new Promise(r => setTimeout(r, 500));
  const cells = w.content.model.cells;
  let untrusted = 0;
  for (let i = 0; i < cells.length; i++) if (cells.get(i).type === 'code' && !cells.get(i).trusted) untrusted++;
  const plugin = await window.jupyterapp.serviceManager.settings.fetch('@jupyterlab/apputils-extension:notification');
  return {dirty: w.context.model.dirty, dirtyTabs: document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty').length,
          untrusted, fetchNewsDefault: plugin.schema.properties.fetchNews.default};
}"""


def wait_kernel_idle(page) -> None:
    # Not the toolbar's kernel circle: it says "idle" before a kernel exists.
    page.wait_for_function(KERNEL_IDLE_JS, timeout=TIMEOUT_MS)


def open_notebook(page, lab, name: str, *, url: str | None = None):
    """Open ``name`` in a workspace of its own (JupyterLab would otherwise restore the tabs of
    the tests before); return the notebook panel."""
    workspace = f"e2e-{secrets.token_hex(4)}"
    page.goto(url or f"{lab['base']}/lab/workspaces/{workspace}/tree/{name}?token={lab['token']}")
    expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=name)).to_have_count(1)
    panel = page.locator(PANEL)
    expect(panel).to_have_count(1)
    expect(panel.locator(".jp-Cell").first).to_be_visible()
    wait_kernel_idle(page)
    return panel


def run_all(page) -> None:
    """Run > Run All Cells (command runmenu:run-all), then wait until every cell ran."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    state = page.wait_for_function(RUN_STATE_JS, timeout=120_000).json_value()
    assert state == "done", f"{state}\n{_cell_summary(page)}"
    assert page.evaluate(BAD_OUTPUTS_JS) == [], "error or stderr output in the notebook"


def scroll_to_top_of(locator) -> None:
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")


def scroll_to_bottom_of(locator) -> None:
    locator.evaluate("e => e.scrollIntoView({block: 'end'})")


def shoot(page, artifacts: Path, name: str, *, docs: bool = True) -> None:
    """A 1280x800 screenshot into the artifacts; with SMTPKIT_E2E_DOCS=1 an optimised copy into
    docs/screenshots/ (the tour's pictures)."""
    wait_kernel_idle(page)
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("SMTPKIT_E2E_DOCS") == "1":
        from PIL import Image

        target = ROOT / "docs" / "screenshots" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


# --------------------------------------------------------------------------- #
# the tests
# --------------------------------------------------------------------------- #
def test_start_here_opens_first_and_runs_clean(page, lab, artifacts):
    t0 = time.monotonic()
    # the address `smtpkit lab` prints leads to / -> LabApp.default_url: 00_start_here first
    panel = open_notebook(page, lab, "00_start_here.ipynb", url=f"{lab['base']}/?token={lab['token']}")
    assert "/lab/tree/00_start_here.ipynb" in page.url

    # a quiet start: trusted, not marked as changed once the kernel has told its metadata, no news question
    state = page.evaluate(JUST_OPENED_JS)
    assert state == {"dirty": False, "dirtyTabs": 0, "untrusted": 0, "fetchNewsDefault": "false"}, state
    expect(page.get_by_text("Would you like to get notified about official Jupyter news?")).to_have_count(0)
    log = lab["log"].read_text(errors="replace")
    assert "403 GET /api" not in log and "is not trusted" not in log, log
    # saved without running anything, it is still the release's copy: a later release may replace it
    released = (lab["root"] / "00_start_here.ipynb").read_bytes()
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = (lab["root"] / "00_start_here.ipynb").read_bytes()
    wait = time.monotonic() + 30
    while saved == released and time.monotonic() < wait:  # the save has reached the disk
        time.sleep(0.1)
        saved = (lab["root"] / "00_start_here.ipynb").read_bytes()
    assert saved != released and content_key(saved) == content_key(released)
    assert is_release_copy(saved, read_manifest(lab["root"])["00_start_here.ipynb"])

    run_all(page)

    # table of contents: every link targets a heading id JupyterLab rendered
    toc = panel.locator(".jp-MarkdownCell", has_text="In this notebook")
    links = toc.locator("a[href^='#']")
    expect(links.first).to_be_attached()
    targets = links.evaluate_all("els => els.map(e => decodeURIComponent(e.getAttribute('href').slice(1)))")
    assert len(targets) >= 5
    for target in targets:
        expect(panel.locator(f"h2[data-jupyter-id={json.dumps(target)}]")).to_have_count(1)
    expect(toc).to_contain_text("next: 01 · History and architecture")

    # the transcript as text and as the kit's sequence diagram (an inline PNG, no download)
    expect(panel.locator(".jp-OutputArea-output", has_text="<-  220 lab.example.test").first).to_be_attached()
    diagram = panel.locator(".jp-RenderedImage img").first
    expect(diagram).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))

    scroll_to_top_of(panel.locator(".jp-Cell").first)
    shoot(page, artifacts, "start_here")

    diagram.scroll_into_view_if_needed()
    scroll_to_top_of(diagram)
    shoot(page, artifacts, "sequence_diagram")

    # a click on a table-of-contents entry scrolls its heading into view
    scroll_to_top_of(toc)
    toc.get_by_role("link", name="Where to go next").click()
    expect(panel.locator("h2[data-jupyter-id='Where-to-go-next']")).to_be_in_viewport()
    print(f"00_start_here: {time.monotonic() - t0:.1f} s")


def test_smtp_console_answers_ehlo(page, lab, artifacts):
    t0 = time.monotonic()
    panel = open_notebook(page, lab, "02_the_smtp_dialogue.ipynb")
    run_all(page)
    console = panel.locator(".kit-smtp-console")
    expect(console).to_have_count(1)
    expect(console).to_contain_text("220 lab.example.test")  # the greeting, on connecting
    field = console.locator("input[type=text]")
    scroll_to_top_of(panel.locator("h2[data-jupyter-id='5.-Your-turn:-an-SMTP-console']"))
    field.click()
    field.fill("EHLO me")
    field.press("Enter")
    expect(console).to_contain_text("-> EHLO me")
    expect(console).to_contain_text("250-lab.example.test")
    expect(console).to_contain_text("250 ")  # the last line of the multi-line reply
    expect(field).to_have_value("")
    # replies coloured by their first digit, as the sequence diagram draws them
    field.fill("RCPT TO:<bob@example.test>")  # before MAIL FROM: 503, a 5yz refusal
    field.press("Enter")
    refused = console.locator(".kit-console-reply-5yz").first
    expect(refused).to_contain_text("503")
    assert refused.evaluate("e => getComputedStyle(e).color") == "rgb(176, 0, 32)"  # #b00020, red
    done = console.locator(".kit-console-reply-2yz", has_text="250-").first
    assert done.evaluate("e => getComputedStyle(e).color") == "rgb(30, 123, 52)"  # #1e7b34, green
    scroll_to_bottom_of(console)  # the instructions, the cell and the dialogue so far
    shoot(page, artifacts, "smtp_console")
    print(f"02_the_smtp_dialogue: {time.monotonic() - t0:.1f} s")


def test_reply_code_explorer_explains_451(page, lab, artifacts):
    t0 = time.monotonic()
    panel = open_notebook(page, lab, "03_reply_codes.ipynb")
    run_all(page)
    explorer = panel.locator(".kit-reply-explorer")
    expect(explorer).to_have_count(1)
    expect(panel.locator(".kit-reply-explorer-static")).to_have_count(0)  # the widget, not the slide fallback
    field = explorer.locator("input[type=text]")
    scroll_to_top_of(panel.locator("h2[data-jupyter-id='The-reply-code-explorer']"))
    field.fill("550")
    expect(explorer).to_contain_text("550: Requested action not taken: mailbox unavailable")
    field.fill("451")
    expect(explorer).to_contain_text("451: Requested action aborted: local error in processing")
    expect(explorer).to_contain_text("Transient negative completion")
    scroll_to_bottom_of(explorer)
    shoot(page, artifacts, "reply_code_explorer")
    print(f"03_reply_codes: {time.monotonic() - t0:.1f} s")


WRONG_PARSE = ('from kit import check\n'
               'check("replies.parse_reply", lambda lines: {"code": 25, "enhanced": "2.1", '
               '"text": ["0 2.1.5 Ok", "a second line that is long enough to need wrapping in a '
               'narrow column of the feedback table"]})')
ADD_CELL_JS = """async (source) => {
  const w = window.jupyterapp.shell.currentWidget;
  const nb = w.content;
  nb.model.sharedModel.insertCell(nb.model.cells.length, {cell_type: 'code', source});
  nb.activeCellIndex = nb.model.cells.length - 1;
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""
LAYOUT_JS = """() => {
  const checks = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .kit-check');
  const check = checks[checks.length - 1];
  const row = check.querySelector('tr');
  const cells = [...row.children].map(td => td.getBoundingClientRect().width);
  const pres = [...check.querySelectorAll('pre')];
  return {name: cells[1], details: cells[3], table: check.getBoundingClientRect().width,
          overflowing: pres.filter(p => p.scrollWidth > p.clientWidth + 1).length,
          text: check.innerText};
}"""


@pytest.mark.parametrize("width, height", [(1280, 800), (1920, 1080)])
def test_check_feedback_gives_the_explanation_room(page, lab, artifacts, width, height):
    """The feedback of a wrong structured answer at two window widths: the explanation column
    is the wide one, long values wrap instead of running out of their box, every difference is
    listed."""
    page.set_viewport_size({"width": width, "height": height})
    open_notebook(page, lab, "03_reply_codes.ipynb")
    page.evaluate(ADD_CELL_JS, WRONG_PARSE)
    checks = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .kit-check")
    expect(checks.last).to_contain_text("expected")
    layout = page.evaluate(LAYOUT_JS)
    assert layout["details"] > 2 * layout["name"], layout
    assert layout["details"] > 0.5 * layout["table"], layout
    assert layout["overflowing"] == 0, layout
    assert "['enhanced']" in layout["text"] and "['text'][0]" in layout["text"], layout["text"]
    checks.last.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(artifacts / f"check_feedback_{width}.png"))  # docs/screenshots has a copy
