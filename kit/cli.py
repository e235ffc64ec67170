"""``smtpkit`` (also ``python -m kit``): one command line for the course kit.

Each subcommand lives beside the code it drives, as a module with ``configure(parser)``
and ``run(args) -> exit code``; this file only dispatches. Bad arguments exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: name -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS = {
    "serve": ("kit.server.command", "run a lab SMTP server in the foreground"),
    "send": ("kit.client.command", "send one message and show the dialogue"),
    "trace": ("kit.trace.command", "read a message's Received chain into hops and delays"),
    "release": ("kit.authoring.command", "generate the student notebooks from solutions/"),
    "grade": ("kit.grading.command", "grade a class's notebooks: gradebook, results and feedback"),
    "lab": ("kit.course.command", "open the course in JupyterLab"),
    "hub": ("kit.hub.command", "a class on one JupyterHub: accounts, release, collect, feedback"),
    "nav": ("kit.course.nav", "update the notebooks' table of contents and previous/next links"),
    "classroom": ("kit.classroom.command", "one lab server for the class, live in the console and on the deck"),
    "present": ("kit.present.command", "the seminar as a slideshow in JupyterLab, or as offline HTML slides"),
}


def _available() -> dict[str, tuple[str, str]]:
    """The commands whose modules exist (a module is looked up, not imported)."""
    from importlib.util import find_spec

    out = {}
    for name, (module, text) in COMMANDS.items():
        try:
            if find_spec(module.rsplit(".", 1)[0]) is not None:
                out[name] = (module, text)
        except ModuleNotFoundError:
            continue
    return out


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, dict[str, str]]:
    """Only the chosen command's module is imported, so `smtpkit send` starts fast even
    when another command needs heavy packages."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="smtpkit", description="The SMTP course kit.")
    parser.add_argument("--version", action="version", version=f"smtpkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    modules = {}
    for name, (module, text) in _available().items():
        p = sub.add_parser(name, help=text, description=text)
        if name == chosen:
            mod = importlib.import_module(module)
            p.description = (mod.__doc__ or text).strip().splitlines()[0]
            mod.configure(p)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, modules = build_parser(argv)
    args = parser.parse_args(argv)
    return int(importlib.import_module(modules[args.command]).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
