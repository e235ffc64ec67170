"""The deck for rooms without Python: HTML slides in one file that work offline.

nbconvert's ``SlidesExporter`` turns the executed deck into reveal.js slides (its
``_RevealMetadataPreprocessor`` reads the same ``slideshow`` metadata as RISE), with the
kit's template (``templates/kit_offline``): reveal.js 4.6 and its notes plugin (``reveal/``,
MIT, from the npm package ``reveal.js``) are inlined, as are the notebook and deck styles, and
``embed_images`` puts every picture into the page. The file opens from a USB stick; it asks the
network for nothing (the browser test blocks everything but ``file://``).
"""

from __future__ import annotations

import copy
from importlib.resources import files
from pathlib import Path
from typing import Any

from .style import DECK_CSS, SLIDE_HEIGHT, SLIDE_WIDTH

__all__ = ["execute_deck", "export_html"]

TEMPLATE = "kit_offline"


def _asset(name: str) -> str:
    return (files("kit.present") / "reveal" / name).read_text(encoding="utf-8")


def execute_deck(notebook: Any, *, cwd: Path, timeout: float = 180.0) -> Any:
    """Run every code cell of the deck in a fresh kernel (nbclient), as the presenter would;
    the classroom's room and the mail world are stopped by the deck's last cells."""
    from nbclient import NotebookClient

    executed = copy.deepcopy(notebook)
    # a cell's outputs that come late on a busy machine are waited for, never silently dropped
    client = NotebookClient(executed, timeout=timeout, kernel_name="python3", iopub_timeout=60,
                            raise_on_iopub_timeout=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    _still_widgets(executed)
    return executed


WIDGET = "application/vnd.jupyter.widget-view+json"


def _still_widgets(notebook: Any) -> None:
    """A widget needs its kernel: on a static slide it shows the HTML it brought for views without
    widgets (the reply-code explorer does), else a note saying so (not its repr)."""
    note = ('<p class="kit-deck-widget"><i>A live widget: it runs in the slideshow '
            "(<code>smtpkit present</code>).</i></p>")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if WIDGET in data:
                output["data"] = {"text/html": data.get("text/html") or note}


def export_html(notebook: Any, target: Path, *, title: str = "SMTP seminar") -> Path:
    """Write the offline slides of an (executed) deck notebook to ``target`` (one HTML file)."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(template_name=TEMPLATE, extra_template_basedirs=[str(files("kit.present") / "templates")],
                              embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True)
    resources = {"kit_offline": {"reveal_js": _asset("reveal.js"), "notes_js": _asset("notes.js"),
                                 "reveal_css": _asset("reveal.css"), "deck_css": DECK_CSS,
                                 "width": SLIDE_WIDTH, "height": SLIDE_HEIGHT},
                 "metadata": {"name": title}}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target
