"""``smtpkit trace FILE [--json]``: the hop table of a message file (DESIGN.md §4).

`configure` adds the arguments to a parser, `run` does the work; ``kit.cli`` wires them
into ``smtpkit``. ``python -m kit.trace.command FILE`` runs the command on its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .hops import trace

__all__ = ["configure", "main", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``FILE`` (``-`` for standard input) and ``--json`` to ``parser``."""
    parser.add_argument("file", metavar="FILE",
                        help="message file (RFC 5322, headers are enough); - reads stdin")
    parser.add_argument("--json", action="store_true",
                        help="print the hops as JSON instead of a table")


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def _write(text: str) -> None:
    """Print, replacing what the terminal's encoding cannot show instead of crashing."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.write(text.encode(encoding, "replace").decode(encoding))


def run(args: argparse.Namespace) -> int:
    """Print the trace of ``args.file``; 0 on success, 2 if the file cannot be read."""
    try:
        data = _read(args.file)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"smtpkit trace: cannot read {args.file}: {reason}", file=sys.stderr)
        return 2
    result = trace(data)
    _write(result.to_json(indent=2) + "\n" if args.json else str(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: parse ``argv`` and `run`."""
    parser = argparse.ArgumentParser(prog="smtpkit trace",
                                     description="Hop table of a message's Received chain.")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
