"""End-to-end tests of the course in a real browser: the `e2e` marker, the pass/fail report kept
on each test (for the screenshot-on-failure fixture), and where artifacts go.

Run them alone with ``pytest tests/e2e`` (or ``-m e2e``); leave them out with ``-m "not e2e"``.
They need Python Playwright and a Chromium at ``/usr/bin/chromium`` (or ``SMTPKIT_E2E_CHROMIUM``)
and are skipped, saying which is missing, without them. Screenshots of every run go to
``SMTPKIT_E2E_ARTIFACTS`` (default ``tests/e2e/artifacts/``); with ``SMTPKIT_E2E_DOCS=1`` the
tour pictures in ``docs/screenshots/`` are rewritten too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end test in a real browser (Chromium + Playwright)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("SMTPKIT_E2E_ARTIFACTS") or ROOT / "tests" / "e2e" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
