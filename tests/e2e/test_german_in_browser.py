"""The German course in a real headless Chromium: ``smtpkit lab --lang de`` (the real command) in a
course folder holding ``solutions/00_start_here.ipynb`` and its German catalog. It writes
``notebooks/de/00_start_here.ipynb`` from them, and JupyterLab shows its own interface in German
(the language pack of the ``lab`` extra, set for that lab only: the user settings folder stays
empty). The test opens the notebook, finds the menu "Datei", runs all cells from the menu
"Ausführen" and expects no error: the first cell sets ``SMTPKIT_LANG=de`` (its output says so),
the navigation is German and links to the headings JupyterLab rendered.

The browser, page and process handling are those of ``test_course_in_browser`` (imported).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_course_in_browser import (  # noqa: F401 - fixtures and helpers shared with the English tests
    BAD_OUTPUTS_JS,
    PANEL,
    RUN_STATE_JS,
    TIMEOUT_MS,
    _cell_summary,
    _stop,
    browser,
    expect,
    jupyter_environment,
    page,
    pytestmark,
    shoot,
    wait_kernel_idle,
)

ROOT = Path(__file__).resolve().parents[2]
NAME = "00_start_here.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from kit.course.lab import free_port, wait_until_serving

    home = tmp_path_factory.mktemp("e2e-lab-de")
    (home / "solutions" / "locale" / "de").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / NAME, home / "solutions" / NAME)
    shutil.copy(ROOT / "solutions" / "locale" / "de" / "00_start_here.po",
                home / "solutions" / "locale" / "de" / "00_start_here.po")
    token = secrets.token_hex(24)
    port = free_port()
    settings = home / "settings"  # the user's own JupyterLab settings: must stay empty
    env = jupyter_environment(home, token)
    env.pop("SMTPKIT_LANG", None)
    log_path = home / "smtpkit-lab.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kit", "lab", "--lang", "de", "--no-browser",
                                 "--port", str(port)],
                                cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not wait_until_serving(port, proc, timeout=60):  # the kit's own readiness probe
                raise RuntimeError(f"smtpkit lab --lang de not serving:\n{log_path.read_text()}")
            yield {"base": base, "token": token, "root": home / "notebooks" / "de", "log": log_path,
                   "settings": settings}
        finally:
            _stop(proc, base, token)


def test_german_notebook_in_german_jupyterlab_runs_clean(page, lab, artifacts):  # noqa: F811 - the imported fixture
    assert (lab["root"] / NAME).is_file()  # written by `smtpkit lab --lang de` from the catalog
    released = json.loads((lab["root"] / NAME).read_text())
    assert released["metadata"]["kit"]["lang"] == "de"

    page.goto(f"{lab['base']}/lab/workspaces/e2e-de/tree/{NAME}?token={lab['token']}")
    menubar = page.locator(".lm-MenuBar-item")
    expect(menubar.filter(has_text=re.compile(r"^Datei$"))).to_have_count(1)  # JupyterLab speaks German
    expect(menubar.filter(has_text=re.compile(r"^File$"))).to_have_count(0)
    panel = page.locator(PANEL)
    expect(panel).to_have_count(1)
    expect(panel.locator(".jp-Cell").first).to_be_visible()
    wait_kernel_idle(page)

    menubar.filter(has_text=re.compile(r"^Ausführen$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    state = page.wait_for_function(RUN_STATE_JS, timeout=120_000).json_value()
    assert state == "done", f"{state}\n{_cell_summary(page)}"
    assert page.evaluate(BAD_OUTPUTS_JS) == [], "error or stderr output in the notebook"

    # the first code cell set the kit's language in the kernel
    expect(panel.locator(".jp-OutputArea-output", has_text="env: SMTPKIT_LANG=de").first).to_be_attached()
    # the navigation is German and leads to the headings JupyterLab rendered
    toc = panel.locator(".jp-MarkdownCell", has_text="In diesem Notebook")
    targets = toc.locator("a[href^='#']").evaluate_all(
        "els => els.map(e => decodeURIComponent(e.getAttribute('href').slice(1)))")
    assert targets
    for target in targets:
        expect(panel.locator(f"h2[data-jupyter-id={json.dumps(target)}]")).to_have_count(1)
    scroll = panel.locator(".jp-Cell").first
    scroll.evaluate("e => e.scrollIntoView({block: 'start'})")
    shoot(page, artifacts, "start_here_de", docs=False)
    # the language was a default of this lab only: nothing written into the user's settings
    written = [p for p in lab["settings"].rglob("*") if p.is_file()] if lab["settings"].exists() else []
    assert not [p for p in written if "translation" in str(p)], written
