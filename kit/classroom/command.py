"""``smtpkit classroom``: one lab server for the whole class, and the room live in the console.

Students connect with telnet, nc, swaks or their notebook; the console shows each command and
reply as it happens and, at the end, who delivered first and the most common mistakes.
Loopback unless ``--listen ADDR``; every interface only with ``--listen-all``; stops by itself
after ``--minutes``. The presenter's deck shows the same room on the projector and switches its
behaviours through a private control socket (`kit.classroom.control`; ``--no-control``: none).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .. import cli_args

MiB = 1024 * 1024


def _port(text: str) -> int:
    """Like `cli_args.port`, but 0 (any free port) is allowed: tests and a second room use it."""
    return 0 if text.strip() == "0" else cli_args.port(text)


def configure(parser: argparse.ArgumentParser) -> None:
    from .room import DEFAULT_DOMAIN, DEFAULT_MINUTES, DEFAULT_PORT

    parser.add_argument("--listen", metavar="ADDR", default=None,
                        help="the address to listen on (default 127.0.0.1: this machine only); name the "
                             "address of the network the class shares, e.g. 192.0.2.10")
    parser.add_argument("--listen-all", action="store_true",
                        help="allow every interface (0.0.0.0 or ::); without --listen it means 0.0.0.0")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument("--domain", type=cli_args.domain, default=DEFAULT_DOMAIN,
                        help=f"the class domain: only mail for it is accepted (default {DEFAULT_DOMAIN})")
    parser.add_argument("--hostname", default=None, help="the name the server greets with (default mx.DOMAIN)")
    parser.add_argument("--minutes", type=cli_args.positive_float, default=DEFAULT_MINUTES,
                        help=f"stop after this many minutes (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--maildir", default=None, help="deliver into this Maildir (default: a temporary one)")
    limits = parser.add_argument_group("limits per student address")
    limits.add_argument("--sessions", type=cli_args.positive_int, default=3, metavar="N",
                        help="sessions open at once (default 3; more: 421 4.7.0)")
    limits.add_argument("--connections-per-minute", type=cli_args.positive_int, default=30, metavar="N",
                        help="new connections a minute (default 30; more: 421 4.7.0)")
    limits.add_argument("--commands-per-minute", type=cli_args.positive_int, default=120, metavar="N",
                        help="commands a minute (default 120; more: 421 4.7.0 and close)")
    limits.add_argument("--max-size", type=cli_args.positive_int, default=MiB, metavar="OCTETS",
                        help="octets in one message (default 1 MiB; more: 552 5.3.4)")
    limits.add_argument("--max-recipients", type=cli_args.positive_int, default=100, metavar="N",
                        help="recipients in one message (default 100; more: 452 4.5.3)")
    parser.add_argument("--keep-sessions", type=cli_args.positive_int, default=500, metavar="N",
                        help="sessions the room remembers (default 500; older ones are forgotten)")
    control = parser.add_argument_group("the presenter's deck (smtpkit present)")
    control.add_argument("--control", metavar="PATH", default=None,
                         help="the control socket through which the deck shows this room and switches its "
                              "behaviours (default $SMTPKIT_CLASSROOM_CONTROL, else "
                              "$XDG_RUNTIME_DIR/smtpkit/classroom.sock, else ~/.cache/smtpkit/classroom.sock)")
    control.add_argument("--no-control", action="store_true", help="no control socket: the console only")
    parser.add_argument("--quiet", action="store_true", help="print only the listening line and the final board")


def run(args: argparse.Namespace) -> int:
    from .control import ControlError, ControlServer
    from .limits import Limits
    from .listen import ListenError
    from .room import Room
    from .text_view import format_event, render_text

    try:
        limits = Limits(sessions_per_peer=args.sessions, connections_per_minute=args.connections_per_minute,
                        commands_per_minute=args.commands_per_minute, message_size=args.max_size,
                        recipients=args.max_recipients)
        room = Room(domain=args.domain, listen=args.listen, listen_all=args.listen_all, port=args.port,
                    minutes=args.minutes, hostname=args.hostname, limits=limits, maildir=args.maildir,
                    keep_sessions=args.keep_sessions)
    except (ListenError, ValueError) as exc:
        print(f"smtpkit classroom: error: {exc}", file=sys.stderr)
        return 2
    for warning in room.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        room.start()
    except OSError as exc:
        print(f"smtpkit classroom: cannot listen on {args.listen or '127.0.0.1'}:{args.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    control = None
    if not args.no_control:
        try:
            control = ControlServer(room, args.control).start()
        except (ControlError, OSError) as exc:
            room.stop()
            print(f"smtpkit classroom: control socket: {exc}", file=sys.stderr)
            return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    colour = sys.stdout.isatty()
    print(f"listening on {room.host}:{room.port}", flush=True)
    print(f"mail for @{room.domain}; stops after {room.minutes:g} min (Ctrl-C stops now)", file=sys.stderr, flush=True)
    if control is not None:
        print(f"the deck shows this room with connect_room() (control socket {control.path})",
              file=sys.stderr, flush=True)
    seen = 0

    def show_new() -> None:
        nonlocal seen
        events, dropped = room.model.events_since(seen)
        if dropped:
            print(f"[room] ({dropped} events not shown: too many at once)")
        for event in events:
            print(format_event(event, colour=colour))
        if events:
            seen = events[-1].seq
        sys.stdout.flush()

    try:
        while not (stop.is_set() or room.stopped.is_set()):
            stop.wait(0.25)
            if not args.quiet:
                show_new()
    finally:
        room.stop()
        if control is not None:
            control.stop()
    if not args.quiet:
        show_new()
    print(render_text(room.snapshot(), room.status()), flush=True)
    return 0
