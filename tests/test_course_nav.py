"""The navigation cells (`python -m kit.course.nav`): a table of contents whose links are the ids
JupyterLab gives the rendered headings, previous/next links in course order, idempotent updates,
``--check`` for CI, and the repository's notebooks kept up to date."""

from __future__ import annotations

import html.parser
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from kit.course import nav

ROOT = Path(__file__).resolve().parents[1]


def notebook(*cells: tuple[str, str], minor: int = 5) -> dict:
    out = []
    for i, (kind, source) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": minor}


def write(folder: Path, name: str, nb: dict) -> Path:
    path = folder / name
    path.write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def nav_cells(path: Path) -> dict[str, str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return {c["metadata"]["kit"]["nav"]: "".join(c["source"]) for c in nb["cells"]
            if c.get("metadata", {}).get("kit", {}).get("nav")}


def links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of the markdown links, targets in <...> unwrapped."""
    found = re.findall(r"\[((?:\\.|[^\]])*)\]\((<[^>]*>|[^)]*)\)", markdown)
    return [(text, re.sub(r"\\(.)", r"\1", target.strip("<>"))) for text, target in found]


@pytest.fixture
def course(tmp_path):
    write(tmp_path, "00_start.ipynb", notebook(("markdown", "# 00 · Start\n\nHello."), ("markdown", "## One"),
                                               ("code", "x = 1"), ("markdown", "## Two\n\n### not listed")))
    write(tmp_path, "01_middle.ipynb", notebook(("markdown", "# 01 · Middle"), ("markdown", "## Only")))
    write(tmp_path, "02_end.ipynb", notebook(("markdown", "## No title cell")))
    write(tmp_path, "scratch.ipynb", notebook(("markdown", "# not a course notebook")))
    return tmp_path


def test_cells_placed_and_linked_in_course_order(course):
    assert nav.update(course) == ["00_start.ipynb", "01_middle.ipynb", "02_end.ipynb"]
    first = json.loads((course / "00_start.ipynb").read_text())["cells"]
    assert [c["metadata"].get("kit", {}).get("nav") for c in first] == [None, "top", None, None, None, "bottom"]
    assert first[1]["id"] == "kit-nav-top" and first[-1]["id"] == "kit-nav-bottom"

    top, bottom = nav_cells(course / "00_start.ipynb").values()
    assert "previous" not in top and links(top) == [("01 · Middle", "01_middle.ipynb"), ("One", "#One"),
                                                    ("Two", "#Two")]
    assert links(bottom) == [("01 · Middle", "01_middle.ipynb")]

    top, bottom = nav_cells(course / "01_middle.ipynb").values()
    assert links(top)[:2] == [("00 · Start", "00_start.ipynb"), ("02 · End", "02_end.ipynb")]
    assert top.index("previous") < top.index("next")

    last = nav_cells(course / "02_end.ipynb")
    assert links(last["top"]) == [("01 · Middle", "01_middle.ipynb"), ("No title cell", "#No-title-cell")]
    assert "next" not in last["bottom"] and "last notebook of the course" in last["bottom"]
    # no title cell: the top cell goes first
    assert json.loads((course / "02_end.ipynb").read_text())["cells"][0]["metadata"]["kit"]["nav"] == "top"
    assert "kit" not in (course / "scratch.ipynb").read_text()


def test_idempotent_and_only_nav_cells_change(course):
    before = {p.name: json.loads(p.read_text()) for p in course.glob("*.ipynb")}
    nav.update(course)
    texts = {p.name: p.read_bytes() for p in course.glob("*.ipynb")}
    assert nav.update(course) == [] and nav.stale(course) == []
    assert {p.name: p.read_bytes() for p in course.glob("*.ipynb")} == texts
    for name, old in before.items():
        new = json.loads((course / name).read_text())
        kept = [c for c in new["cells"] if not c["metadata"].get("kit", {}).get("nav")]
        assert kept == old["cells"]


def test_update_rewrites_cells_in_place_and_drops_copies(course):
    nav.update(course)
    path = course / "00_start.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][2]["source"] = ["## One, renamed"]
    nb["cells"].append(dict(nb["cells"][1], id="copied"))  # a copied top cell
    write(course, path.name, nb)
    assert nav.stale(course) == ["00_start.ipynb"]
    assert nav.update(course) == ["00_start.ipynb"]
    cells = json.loads(path.read_text())["cells"]
    assert [c["metadata"].get("kit", {}).get("nav") for c in cells].count("top") == 1
    assert ("One, renamed", "#One,-renamed") in links(nav_cells(path)["top"])


def test_check_exits_1_when_stale_and_0_when_up_to_date(course, capsys):
    assert nav.main(["--check", str(course)]) == 1
    assert "navigation out of date" in capsys.readouterr().out
    assert nav.main([str(course)]) == 0
    assert nav.main(["--check", str(course)]) == 0
    write(course, "03_new.ipynb", notebook(("markdown", "# 03 · New")))  # 02 must now link to it
    assert nav.main(["--check", str(course)]) == 1
    assert "02_end.ipynb" in capsys.readouterr().out
    assert nav.main(["--check", str(course / "missing")]) == 2


def test_skip_and_unreadable_notebooks(course, capsys):
    (course / "03_being_written.ipynb").write_text('{"cells": [', encoding="utf-8")
    write(course, "04_other.ipynb", notebook(("markdown", "# 04 · Other author")))
    assert nav.main([str(course), "--skip", "04_*"]) == 2  # 03 is not JSON: named, others written
    err = capsys.readouterr().err
    assert "03_being_written.ipynb: not a notebook" in err
    assert (course / "03_being_written.ipynb").read_text() == '{"cells": ['
    assert "kit" not in (course / "04_other.ipynb").read_text()
    end = nav_cells(course / "02_end.ipynb")["bottom"]
    assert ("03 · Being written", "03_being_written.ipynb") in links(end)  # linked by its file name

    (course / "03_being_written.ipynb").unlink()
    assert nav.main([str(course), "--skip", "04_*"]) == 0
    assert ("04 · Other author", "04_other.ipynb") in links(nav_cells(course / "02_end.ipynb")["bottom"])
    assert nav.main(["--check", str(course), "--skip", "04_*"]) == 0


# --------------------------------------------------------------------------- #
# heading ids: what JupyterLab does (createHeaderId: textContent, spaces -> "-")
# --------------------------------------------------------------------------- #
class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def jupyterlab_id(markdown_heading: str) -> str:
    """The id JupyterLab 4 gives a heading: the rendered heading's textContent with every space
    replaced by '-'. Rendered here by mistune (nbconvert's markdown renderer)."""
    import mistune

    parser = _Text()
    parser.feed(mistune.html(markdown_heading))
    return "".join(parser.parts).strip().replace(" ", "-")


@pytest.mark.parametrize("heading", [
    "## Setup",
    "## 1. The seminar's telnet session, replayed",
    "## Exercise `architecture.roles`: name the roles",
    "## Where does mail for example.org go? MX records",
    "## *Store* and **forward** (RFC 821 & 5321)",
    "## The `<` and `>` of a path",
    "## A [linked](https://example.org) word, an_underscored_name, and \\*stars\\*",
    "## Trailing hashes ##",
])
def test_anchor_is_jupyterlabs_heading_id(tmp_path, heading):
    write(tmp_path, "00_x.ipynb", notebook(("markdown", "# 00 · X"), ("markdown", heading)))
    nav.update(tmp_path)
    (_, target), = [link for link in links(nav_cells(tmp_path / "00_x.ipynb")["top"])]
    assert unquote(target) == "#" + jupyterlab_id(heading)


def test_headings_ignore_code_blocks_and_nav_cells():
    nb = notebook(("markdown", "# T\n\n```\n## not a heading\n```\n\n    ## indented code\n\n## Real"),
                  ("code", "## a comment"))
    assert nav.headings(nb) == ["Real"]
    assert nav.title(nb, "00_t.ipynb") == "T"


# --------------------------------------------------------------------------- #
# the repository's notebooks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_repository_notebooks_are_up_to_date(folder):
    """`python -m kit.course.nav solutions` (then `smtpkit release`) after changing headings or
    adding a notebook."""
    assert nav.stale(ROOT / folder) == [], f"run: python -m kit.course.nav {folder}"


def test_repository_toc_links_match_the_headings():
    assert_toc_links_match_headings(ROOT / "solutions")


def assert_toc_links_match_headings(folder: Path) -> None:
    for path in nav.course_notebooks(folder):
        nb = json.loads(path.read_text(encoding="utf-8"))
        markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
                             and not c["metadata"].get("kit", {}).get("nav"))
        wanted = ["#" + jupyterlab_id(line) for line in markdown.splitlines() if line.startswith("## ")]
        got = [unquote(t) for _, t in links(nav_cells(path)["top"]) if t.startswith("#")]
        assert got == wanted, path.name


def test_copy_with_new_notebook_gets_linked(tmp_path):
    copy = tmp_path / "solutions"
    shutil.copytree(ROOT / "solutions", copy)
    nav.update(copy)
    last = nav.course_notebooks(copy)[-1].name
    write(copy, "99_extra.ipynb", notebook(("markdown", "# 99 · Extra")))
    assert nav.update(copy) == [last, "99_extra.ipynb"]
    assert ("99 · Extra", "99_extra.ipynb") in links(nav_cells(copy / last)["bottom"])
