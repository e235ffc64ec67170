"""A student's work is never overwritten: how a release tells its own notebooks from edited ones.

The student notebooks are where students write their answers, so a release may replace a
notebook only when nobody's work is in it. Beside the notebooks it writes, a release keeps a
*manifest* (``.smtpkit-release.json``: per notebook the SHA-256 of the bytes it wrote and a
*content key*), and a notebook counts as **edited** when it differs from what the release would
write now **and** from what the previous release wrote. "Differs" is judged twice:

* by bytes: a file the release wrote and nobody saved since matches its manifest entry exactly;
* by content (`content_key`): the cells' types, sources, attachments and outputs, in order. Two
  notebooks with the same key differ only in what JupyterLab rewrites when it opens and saves a
  notebook (notebook metadata such as ``kernelspec``/``language_info`` filled in from the kernel,
  cell metadata such as ``trusted``, ``collapsed`` or ``scrolled``, cell ids, the ``nbformat_minor``,
  the JSON layout). None of that is a student's work. Execution counts are not in the key either:
  they come only with outputs, and any output is in the key, so a notebook that was run (its
  transcripts, its check results) counts as edited. When in doubt, a notebook is edited: a file
  that is not a readable notebook, or one without a manifest entry that differs from the release.

An edited notebook is never replaced silently: `plan` lists them, the release refuses, and only
``--force`` replaces them, after copying each into ``.backup/<UTC time>/`` beside the notebooks
(`back_up`), a folder no command of the kit ever deletes. JupyterLab hides both dot-names.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..notebook_file import parse

__all__ = ["MANIFEST", "BACKUPS", "Plan", "plan", "content_key", "read_manifest", "write_manifest",
           "back_up", "digest", "is_release_copy"]

MANIFEST = ".smtpkit-release.json"
BACKUPS = ".backup"
_ABOUT = ("What `smtpkit release` last wrote into this folder. A notebook that still matches its entry holds no "
          "one's work and may be replaced by the next release; any other is kept (see kit/authoring/workspace.py).")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def _output(output: dict) -> dict:
    """An output without its execution count (that comes with the cell, not with the work)."""
    return {k: v for k, v in output.items() if k != "execution_count"}


def content_key(data: bytes | str) -> str | None:
    """A digest of what a person can have written into a notebook: per cell its type, source,
    attachments and outputs. None when ``data`` is not a notebook (treat it as edited)."""
    try:
        cells = parse(data)["cells"]
        key = [[cell["cell_type"], _text(cell.get("source")), cell.get("attachments") or {},
                [_output(o) for o in cell.get("outputs") or []]] for cell in cells]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return digest(json.dumps(key, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    """Notebook name -> ``{"sha256": ..., "content": ...}`` of what the last release wrote in
    ``folder``; empty when there is no manifest or it is unreadable (then every notebook that
    differs from the release counts as edited)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        entries = data["notebooks"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {name: entry for name, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str)}


def manifest_entry(text: str) -> dict[str, str]:
    return {"sha256": digest(text.encode("utf-8")), "content": content_key(text) or ""}


def manifest_text(entries: dict[str, dict[str, str]]) -> str:
    """The manifest's bytes: a pure function of the entries (sorted, indented, newline-ended)."""
    return json.dumps({"about": _ABOUT, "notebooks": dict(sorted(entries.items()))}, indent=1,
                      sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(folder: Path, entries: dict[str, dict[str, str]]) -> None:
    """Write the manifest, unless it already holds exactly these entries."""
    path = Path(folder) / MANIFEST
    text = manifest_text(entries)
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return
    path.write_text(text, encoding="utf-8")


def is_release_copy(data: bytes, entry: dict[str, str] | None, released: str | None = None) -> bool:
    """True when a notebook holds no one's work: its bytes or its content are those the previous
    release wrote (``entry``) or those the release writes now (``released``)."""
    if released is not None and data == released.encode("utf-8"):
        return True
    if entry is not None and digest(data) == entry.get("sha256"):
        return True
    key = content_key(data)
    if key is None:
        return False
    if released is not None and key == content_key(released):
        return True
    return entry is not None and key == entry.get("content")


@dataclass
class Plan:
    """What a release into one folder would do."""

    write: dict[str, str] = field(default_factory=dict)  # name -> text: new, or a release copy replaced
    unchanged: list[str] = field(default_factory=list)  # already exactly what the release writes
    edited: list[str] = field(default_factory=list)  # someone's work: replaced only when forced


def plan(folder: Path, released: dict[str, str]) -> Plan:
    """Sort the notebooks a release of ``released`` (name -> text) into ``folder`` would touch."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    out = Plan()
    for name, text in released.items():
        path = folder / name
        if not path.exists():
            out.write[name] = text
            continue
        data = path.read_bytes() if path.is_file() else b""
        if data == text.encode("utf-8"):
            out.unchanged.append(name)
        elif path.is_file() and is_release_copy(data, manifest.get(name), text):
            out.write[name] = text
        else:
            out.edited.append(name)
    return out


def back_up(folder: Path, names: list[str], now: float | None = None) -> Path:
    """Copy ``names`` from ``folder`` into a new ``folder/.backup/<UTC time>/``; return it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    root = Path(folder) / BACKUPS
    target, n = root / stamp, 1
    while target.exists():
        n += 1
        target = root / f"{stamp}-{n}"
    target.mkdir(parents=True)
    for name in names:
        shutil.copy2(Path(folder) / name, target / name)
    return target
