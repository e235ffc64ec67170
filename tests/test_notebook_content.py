"""The instructor notebooks as documents: every link goes somewhere real (an https address, a
heading of the same notebook, or a course notebook that exists), and every notebook but the
first cites the RFCs it teaches."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LINK = re.compile(r"\]\((<[^<>\n]*>|[^)\s]*)\)")  # CommonMark: <...> may hold "(" and ")"
FENCE = re.compile(r"```.*?```", re.DOTALL)


def markdown(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return FENCE.sub("", text)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_links_lead_somewhere(path):
    bad = []
    for target in LINK.findall(markdown(path)):
        target = target[1:-1] if target.startswith("<") else target
        if target.startswith("https://") and "{" not in target and " " not in target:
            continue
        if target.startswith("#") and len(target) > 1:
            continue  # the heading ids themselves are checked by tests/test_course_nav.py
        if re.fullmatch(r"\d\d_[\w.-]+\.ipynb", target) and (ROOT / "solutions" / target).exists():
            continue
        bad.append(target)
    assert not bad, f"{path.name}: links that lead nowhere: {bad}"


@pytest.mark.parametrize("path", SOLUTIONS[1:], ids=lambda p: p.stem)
def test_cites_rfc_sections(path):
    text = markdown(path)
    assert re.search(r"https://www\.rfc-editor\.org/rfc/rfc\d+#section-[\d.]+", text), path.name
