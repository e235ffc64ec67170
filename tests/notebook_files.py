"""Small notebooks written by tests (shared by the grading tests)."""

from __future__ import annotations

from pathlib import Path

import nbformat


def notebook(path: Path, cells: list, **metadata) -> Path:
    """Write a v4 notebook; a cell is a source, or (exercise id, source)."""
    out = []
    for cell in cells:
        if isinstance(cell, tuple):
            out.append(nbformat.v4.new_code_cell(cell[1], metadata={"kit": {"exercise": cell[0]}}))
        else:
            out.append(nbformat.v4.new_code_cell(cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=out, metadata=metadata), str(path))
    return path
