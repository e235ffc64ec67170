"""``smtpkit hub`` for real: a JupyterHub on loopback for a class of three, two students in a browser.

One module-wide hub (the real command, ``python -m kit hub start``, as root) for three students
made from a class list; then, as the issue asks:

- Playwright logs two students in with the passwords the command printed; each one's lab opens
  ``~/smtp-course/00_start_here.ipynb``, runs all cells (its own ``start_lab()`` server, a mail,
  the ``check`` cells); one student has written ``add`` first, the other has not;
- an ipywidgets widget renders in a student's lab (the kit's widgets need its lab extension);
- the two lab servers are two servers, each owned by its student; the other student's connection
  to it is closed before the greeting, the owner's is served (``SMTPKIT_LAB_OWNER_ONLY``);
- a student cannot read another's home;
- the instructor collects notebook 00 (``hub collect``), grades it (``smtpkit grade``: the student
  who wrote ``add`` gets its points, the others none) and returns the feedback (``hub return``);
- at the end (also on failure) the hub is stopped and the accounts and homes are removed.

Needs root, ``useradd``, JupyterHub (``pip install -e '.[hub]'``), configurable-http-proxy (npm),
Chromium and Playwright; skipped, saying which is missing, without them. The students' Python
environment is built once (``SMTPKIT_HUB_TEST_ENV``, default /var/tmp/smtpkit-hub-env) and reused.
Screenshots go to ``tests/e2e/artifacts/``; with ``SMTPKIT_E2E_DOCS=1`` also to ``docs/screenshots/``.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from hub_driver import (
    ALL_RUN,
    CHROMIUM,
    CHROMIUM_ARGS,
    ENV,
    KERNEL_IDLE,
    OUTPUTS,
    PANEL,
    ROOT,
    RUN_ALL,
    kit,
    login,
    running_hub,
)

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TIMEOUT_MS = 120_000
ARTIFACTS = Path(os.environ.get("SMTPKIT_E2E_ARTIFACTS") or ROOT / "tests" / "e2e" / "artifacts")

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub creates local accounts: needs root"),
    pytest.mark.skipif(shutil.which("useradd") is None, reason="no useradd"),
    pytest.mark.skipif(find_spec("jupyterhub") is None or find_spec("jupyterhub_idle_culler") is None,
                       reason="JupyterHub not installed (pip install -e '.[hub]')"),
    pytest.mark.skipif(shutil.which("configurable-http-proxy") is None,
                       reason="configurable-http-proxy not installed (npm install -g configurable-http-proxy)"),
    pytest.mark.skipif(sync_playwright is None, reason="Python playwright is not installed"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.timeout(900),  # the first run also builds the students' environment
]


@pytest.fixture(scope="module")
def hub():
    prefix = f"ht{os.getpid() % 10000}-"
    with running_hub("Name,Email\nAnn Example,ann@uni.example\nBen Beispiel,ben@uni.example\n"
                     "Cem Muster,cem@uni.example\n", prefix) as running:
        yield {**running, "students": [f"{prefix}ann", f"{prefix}ben", f"{prefix}cem"]}


def _listening_ports(uid: int) -> list[int]:
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and int(fields[7]) == uid:
                    ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def _lab_server_ports(uid: int) -> list[int]:
    """The student's listening ports that greet like an SMTP server (root may connect to any)."""
    found = []
    for port in _listening_ports(uid):
        try:
            with socket.create_connection(("127.0.0.1", port), 2) as s:
                s.settimeout(0.7)
                if s.recv(100).startswith(b"220 "):
                    found.append(port)
        except OSError:
            continue
    return found


def _greeting_as(user: str, port: int) -> str:
    code = ("import socket,sys\nc=socket.create_connection(('127.0.0.1',int(sys.argv[1])),5)\n"
            "c.settimeout(5)\nprint(repr(c.recv(200)))\n")
    done = subprocess.run([PYTHON, "-c", code, str(port)], user=user, capture_output=True, text=True,
                          timeout=30, cwd="/")
    return done.stdout.strip() or done.stderr.strip()


def _shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("SMTPKIT_E2E_DOCS") == "1":
        shutil.copy(ARTIFACTS / name, ROOT / "docs" / "screenshots" / name)


_ADD_WIDGET = """async () => {
  const app = window.jupyterapp, nb = app.shell.currentWidget.content;
  const n = nb.model.sharedModel.cells.length;
  nb.model.sharedModel.insertCell(n, {cell_type: 'code',
    source: 'import ipywidgets\\nipywidgets.Button(description="hub widget")'});
  nb.activeCellIndex = n;
  await app.commands.execute('notebook:run-cell');
  await nb.scrollToItem(n, 'center');
  return n;
}"""
_SHOW_CHECK = """async () => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const i = nb.widgets.findIndex(c => c.model.sharedModel.getSource().startsWith('check("demo.add", add)'));
  nb.activeCellIndex = i;
  await nb.scrollToItem(i - 1, 'start');
  return i;
}"""
_WRITE_ADD = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  const cell = cells.find(c => { const kit = c.model.getMetadata('kit'); return kit && kit.exercise === 'demo.add'; });
  cell.model.sharedModel.setSource('def add(a, b):\\n    return a + b');
  return true;
}"""


def _login(browser, hub, student: str):
    return login(browser, hub["url"], student, hub["passwords"][student], TIMEOUT_MS)


def test_hub_serves_https_with_the_given_certificate(tmp_path):
    """--cert/--key: the hub answers HTTPS with that certificate (and not plain HTTP)."""
    import ssl
    import urllib.request

    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "hub.pem", tmp_path / "hub.key"
    server.private_key_pem.write_to_path(str(key))
    server.cert_chain_pems[0].write_to_path(str(cert))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with running_hub("dee\n", f"hs{os.getpid() % 10000}-", extra=("--cert", str(cert), "--key", str(key))) as hub:
        assert hub["url"].startswith("https://127.0.0.1:")
        with urllib.request.urlopen(hub["url"] + "hub/login", context=context, timeout=30) as answer:
            assert answer.status == 200 and b"password" in answer.read().lower()
        with pytest.raises(OSError):
            urllib.request.urlopen(hub["url"].replace("https:", "http:") + "hub/login", timeout=10).read()


def test_two_students_work_the_instructor_collects_grades_and_returns(hub):
    ann, ben, cem = hub["students"]
    assert set(hub["passwords"]) == {ann, ben, cem}
    uid = {name: pwd.getpwnam(name).pw_uid for name in (ann, ben, cem)}
    home = {name: Path(pwd.getpwnam(name).pw_dir) for name in (ann, ben, cem)}
    for name in (ann, ben, cem):  # released into every home, owned by the student, private
        notebook = home[name] / "smtp-course" / "00_start_here.ipynb"
        assert notebook.stat().st_uid == uid[name]
        assert home[name].stat().st_mode & 0o077 == 0

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context_a, page_a = _login(browser, hub, ann)
            _shoot(page_a, "hub_login.png")
            page_a.click("#login_submit")
            context_b, page_b = _login(browser, hub, ben)
            page_b.click("#login_submit")
            for page in (page_a, page_b):
                page.wait_for_selector(f"{PANEL} .jp-CodeCell", timeout=TIMEOUT_MS)
                page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
            assert f"/user/{ann}/lab" in page_a.url and f"/user/{ben}/lab" in page_b.url
            page_a.evaluate(_WRITE_ADD)  # Ann has done the exercise, Ben has not
            for page in (page_a, page_b):
                page.evaluate(RUN_ALL)
            for page in (page_a, page_b):
                page.wait_for_function(ALL_RUN, timeout=TIMEOUT_MS)
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            text_a, text_b = page_a.evaluate(OUTPUTS), page_b.evaluate(OUTPUTS)
            for text in (text_a, text_b):
                assert "accepted: True" in text and "STDERR:" not in text and "ERROR:" not in text, text
            assert re.search(r"passed \S+ of \S+ points", text_a), text_a[-3000:]
            assert re.search(r"not.attempted \S+ of \S+ points", text_b), text_b[-3000:]
            page_a.evaluate(_ADD_WIDGET)  # the kit's widgets need ipywidgets' lab extension: one renders
            page_a.wait_for_selector(f"{PANEL} button.widget-button:has-text('hub widget')")
            page_a.evaluate(_SHOW_CHECK)  # the picture: Ann's check of `add`, with its feedback
            page_a.wait_for_selector(f"{PANEL} .jp-Cell.jp-mod-active .jp-OutputArea-output", state="visible")
            page_a.wait_for_timeout(500)  # let the scrolled cells paint
            _shoot(page_a, "hub_student_lab.png")
            context_a.close()
            context_b.close()
        finally:
            browser.close()

    # Each student's server and kernels are in their own cgroup; the idle culler runs.
    for name in (ann, ben):
        pids = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid[name]]
        groups = {Path(f"/proc/{pid}/cgroup").read_text() for pid in pids if Path(f"/proc/{pid}").exists()}
        assert groups and all(f"smtpkit-hub-{name}" in g for g in groups), groups
    log = (hub["state"] / "hub.log").read_text()
    assert "Starting service 'idle-culler'" in log and f"smtpkit: {ann} limited to memory 1536 MB, processes 256" in log

    # Two students, two lab servers; each refuses the other student and serves its owner.
    ports = {name: _lab_server_ports(uid[name]) for name in (ann, ben)}
    assert len(ports[ann]) == 1 and len(ports[ben]) == 1 and ports[ann] != ports[ben], ports
    assert _greeting_as(ben, ports[ann][0]) == "b''"
    assert _greeting_as(ann, ports[ben][0]) == "b''"
    assert _greeting_as(ann, ports[ann][0]).startswith("b'220 lab.example.test")

    # A student cannot read another's home.
    done = subprocess.run([PYTHON, "-c", "import sys; open(sys.argv[1]).read()",
                           str(home[ann] / "smtp-course" / "00_start_here.ipynb")],
                          user=ben, capture_output=True, text=True, timeout=30, cwd="/")
    assert done.returncode != 0 and "PermissionError" in done.stderr

    # The instructor collects, grades and returns.
    deadline = time.monotonic() + 30
    saved = home[ann] / "smtp-course" / "00_start_here.ipynb"
    while "return a + b" not in saved.read_text() and time.monotonic() < deadline:
        time.sleep(0.3)
    submissions, graded = hub["base"] / "submissions", hub["base"] / "graded-00"
    collected = kit("hub", "collect", "00", "--into", str(submissions), "--state", str(hub["state"]))
    assert collected.returncode == 0, collected.stderr
    assert sorted(p.name for p in submissions.iterdir()) == sorted([ann, ben, cem])
    graded_run = kit("grade", str(submissions), "--out", str(graded), "--assignment", "00",
                      "--workers", "2", "--quiet", timeout=300)
    assert graded_run.returncode == 0, graded_run.stdout + graded_run.stderr
    with open(graded / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert float(rows[ann]["total"]) > 0
    assert float(rows[ben]["total"]) == 0 and float(rows[cem]["total"]) == 0
    returned = kit("hub", "return", str(graded), "--state", str(hub["state"]))
    assert returned.returncode == 0, returned.stderr
    page = home[ann] / "smtp-course" / "feedback" / "graded-00.html"
    assert page.stat().st_uid == uid[ann] and "demo.add" in page.read_text()


def test_hub_refuses_a_bad_address_and_an_ordinary_user(tmp_path):
    classlist = tmp_path / "c.txt"
    classlist.write_text("ann\n")
    done = kit("hub", "start", str(classlist), "--listen", "0.0.0.0", "--state", str(tmp_path / "s"))
    assert done.returncode == 2 and "every network" in done.stderr
    if not (ENV / "bin" / "python").exists():
        pytest.skip("the students' environment is not built yet (the hub test builds it)")
    done = subprocess.run([str(ENV / "bin" / "python"), "-m", "kit", "hub", "start", str(ROOT / "README.md"),
                           "--state", "/nonexistent"], env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          user="nobody", capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 2 and "needs root" in done.stderr, done.stderr


def test_a_german_class_gets_the_german_course_in_a_german_lab():
    """--lang de: the German student release in the home (the kit set to German there) and
    JupyterLab's menu in German for the student."""
    prefix = f"hd{os.getpid() % 10000}-"
    with running_hub("dora\n", prefix, extra=("--lang", "de")) as hub:
        student = f"{prefix}dora"
        notebook = Path(pwd.getpwnam(student).pw_dir) / "smtp-course" / "00_start_here.ipynb"
        data = json.loads(notebook.read_text(encoding="utf-8"))
        assert data["metadata"]["kit"]["lang"] == "de"
        first_code = next(c for c in data["cells"] if c["cell_type"] == "code")
        assert "".join(first_code["source"]).startswith("%env SMTPKIT_LANG=de")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context, page = _login(browser, hub, student)
                page.click("#login_submit")
                page.wait_for_selector(f"{PANEL} .jp-CodeCell", timeout=TIMEOUT_MS)
                page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Datei')", timeout=TIMEOUT_MS)
                _shoot(page, "hub_lab_de.png")
                context.close()
            finally:
                browser.close()
