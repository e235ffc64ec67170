"""``smtpkit present``: the 90-minute seminar as a live slideshow in JupyterLab (RISE).

The deck is assembled from ``solutions/deck/seminar.ipynb`` and the course notebooks it takes
its cells from (`kit.present.deck`), written with its style sheet into ``--out`` (default
``deck/``, or ``deck/<lang>/``), and opened in JupyterLab's RISE presenter at
``/rise/seminar.ipynb`` on 127.0.0.1. Run each slide's cell with Shift-Enter; ``T`` opens the
speaker notes, ``,`` hides the buttons.

``--export FILE.html`` writes the offline slides instead (the deck executed once in a fresh
kernel, then reveal.js with everything inlined: `kit.present.export`), for rooms without Python.
``--build-only`` writes the deck and stops; ``--lang de --update-catalog`` brings the deck's
German catalog up to date with its own cells (the course cells have theirs). ``--lang de``: the
German deck from the German catalogs; cells not yet translated stay English and are counted.

Exit codes: JupyterLab's own when it ran; 0 after ``--export``/``--build-only``; 2 for bad
arguments, a missing deck source or a reference to a cell that no longer exists.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import webbrowser
from pathlib import Path

from ..cli_args import port
from ..notebook_file import DEFAULT_LANG, LANGUAGES

__all__ = ["configure", "run", "rise_url"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANG, help="the deck's language (default en)")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"), metavar="DIR",
                        help="the course's instructor notebooks, with deck/seminar.ipynb (default ./solutions)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where the assembled deck goes (default ./deck, ./deck/de for German)")
    parser.add_argument("--export", type=Path, default=None, metavar="FILE.html",
                        help="write offline HTML slides (executed once, images and reveal.js inlined) and stop")
    parser.add_argument("--build-only", action="store_true", help="write the deck notebook and stop")
    parser.add_argument("--update-catalog", action="store_true",
                        help="bring solutions/deck/locale/<lang>/seminar.po up to date with the deck's own cells "
                             "(for --lang other than en) and stop")
    parser.add_argument("--port", type=port, metavar="N", help="JupyterLab's port (default: 8888 if free)")
    parser.add_argument("--no-browser", action="store_true", help="print the address instead of opening a browser")
    parser.add_argument("--timeout", type=float, default=180.0, metavar="SECONDS",
                        help="for --export: the longest one cell may run (default 180)")


def _say(text: str) -> None:
    print(f"smtpkit present: {text}", flush=True)


def _fail(text: str) -> int:
    print(f"smtpkit present: error: {text}", file=sys.stderr)
    return 2


def rise_url(port_number: int, token: str | None, name: str = "seminar.ipynb") -> str:
    """The RISE presenter's address for the deck."""
    from ..course.lab import HOST

    return f"http://{HOST}:{port_number}/rise/{name}" + (f"?token={token}" if token else "")


def run(args: argparse.Namespace) -> int:
    from .deck import DeckError, assemble, update_catalog, write_deck

    if args.timeout <= 0:
        return _fail("--timeout must be positive")
    if args.export is not None and args.export.suffix.lower() not in (".html", ".htm"):
        return _fail(f"--export wants a .html file, not {args.export}")
    if args.update_catalog:
        if args.lang == DEFAULT_LANG:
            return _fail("--update-catalog needs --lang (the deck's source is English)")
        try:
            _say(f"catalog up to date: {update_catalog(args.solutions, args.lang)}")
        except DeckError as exc:
            return _fail(str(exc))
        return 0
    try:
        deck = assemble(args.solutions, args.lang)
    except DeckError as exc:
        return _fail(str(exc))
    out = args.out or (Path("deck") if args.lang == DEFAULT_LANG else Path("deck") / args.lang)
    path = write_deck(deck, out)
    _say(f"deck written: {path} ({len(deck.sections)} sections, {deck.minutes} minutes)")
    if deck.untranslated:
        _say(f"note: {len(deck.untranslated)} cell(s) are not translated to {args.lang} yet and stay English")
    if args.export is not None:
        from .export import execute_deck, export_html

        _say("running the deck once in a fresh kernel for the offline slides ...")
        try:
            executed = execute_deck(deck.notebook, cwd=out.resolve(), timeout=args.timeout)
        except Exception as exc:  # noqa: BLE001 - a cell failed: say which, exit 1
            print(f"smtpkit present: a deck cell failed: {str(exc)[:2000]}", file=sys.stderr)
            return 1
        target = export_html(executed, args.export, title="SMTP seminar")
        _say(f"offline slides: {target} ({target.stat().st_size // 1024} KiB, no network needed)")
        return 0
    if args.build_only:
        return 0
    return _serve(out, args)


def _serve(folder: Path, args: argparse.Namespace) -> int:
    """JupyterLab on 127.0.0.1 for the deck folder, opened at the RISE presenter."""
    from ..course.command import serve_lab
    from ..course.lab import LabError, choose_port, jupyter_command
    from .deck import DECK_NAME

    try:
        chosen = choose_port(args.port)
    except LabError as exc:
        return _fail(str(exc))
    cmd = jupyter_command(folder.resolve(), chosen, first=None, open_browser=False)
    cmd.append(f"--LabApp.default_url=/rise/{DECK_NAME}")
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    url = rise_url(chosen, token, DECK_NAME)

    def ready() -> None:
        _say("the slideshow is ready:")
        print(f"\n    {url}\n", flush=True)
        _say("Shift-Enter runs a slide's cell, T opens the speaker notes. Stop with Ctrl-C (twice).")
        if not args.no_browser:
            webbrowser.open(url)

    return serve_lab(cmd, chosen, token, args.lang, ready)
