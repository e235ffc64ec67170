"""``smtpkit serve``: a lab server in the foreground, printing the dialogue as it happens."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading

from .. import cli_args
from ..transcript import ARROWS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=cli_args.port, default=None, help="port (default: a free one)")
    parser.add_argument("--maildir", default=None, help="deliver into this Maildir (default: a temporary one)")
    parser.add_argument("--hostname", default="lab.example.test", help="the name the server greets with")
    parser.add_argument("--domain", dest="domains", action="append", type=cli_args.domain, metavar="D",
                        help="a local domain (repeatable; default example.test); others are relaying: refused")
    parser.add_argument("--user", dest="users", action="append", metavar="LOCAL",
                        help="a known local user (repeatable); without it any local part is accepted")
    parser.add_argument("--no-vrfy", action="store_true", help="answer VRFY with 252 only")
    parser.add_argument("--expn", action="store_true", help="enable EXPN (off by default, RFC 5321 §7.3)")
    parser.add_argument("--max-size", type=cli_args.positive_int, default=10 * 1024 * 1024, metavar="OCTETS")
    parser.add_argument("--max-recipients", type=cli_args.positive_int, default=100, metavar="N")
    parser.add_argument("--idle-timeout", type=cli_args.positive_float, default=300.0, metavar="SECONDS")
    parser.add_argument("--keep-sessions", type=cli_args.positive_int, default=1000, metavar="N",
                        help="keep the transcripts of the last N sessions in memory (default 1000)")
    parser.add_argument("--no-fsync", action="store_true", help="do not flush each message to disk before 250")
    parser.add_argument("--tls", action="store_true",
                        help="offer STARTTLS with a certificate from a throw-away CA made now (its path is printed)")
    parser.add_argument("--tls-on-connect", action="store_true",
                        help="speak TLS from the first byte instead, as on port 465 (RFC 8314); like swaks --tlsc")
    parser.add_argument("--auth", type=cli_args.credentials, action="append", metavar="USER:PASSWORD",
                        help="offer AUTH PLAIN/LOGIN for this user (repeatable); only after STARTTLS")
    parser.add_argument("--auth-without-tls", action="store_true",
                        help="offer AUTH before STARTTLS too (to show why that is a bad idea)")
    parser.add_argument("--quiet", action="store_true", help="print only the listening line")


def run(args: argparse.Namespace) -> int:
    from .lab_server import LabServer

    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            print(f"warning: {args.host} is not a loopback address; other machines can reach this server",
                  file=sys.stderr)
    except ValueError:
        print(f"smtpkit serve: error: --host {args.host!r} is not an IP address", file=sys.stderr)
        return 2
    lock = threading.Lock()

    def show(transcript, direction, text) -> None:
        with lock:
            print(f"[{transcript.session_id}] {ARROWS[direction]}{text}", flush=True)

    try:
        server = LabServer(
            on_line=None if args.quiet else show, host=args.host, port=args.port, maildir=args.maildir,
            hostname=args.hostname, domains=args.domains or ["example.test"], users=args.users,
            vrfy=not args.no_vrfy, expn=args.expn, max_message_size=args.max_size,
            max_recipients=args.max_recipients, idle_timeout=args.idle_timeout, durable=not args.no_fsync,
            keep_sessions=args.keep_sessions,
            tls=args.tls, implicit_tls=args.tls_on_connect, auth=dict(args.auth) if args.auth else None,
            auth_require_tls=not args.auth_without_tls)
    except ValueError as exc:  # settings that contradict each other (LabConfig checks them all)
        print(f"smtpkit serve: error: {exc}", file=sys.stderr)
        return 2
    try:
        server.start()
    except OSError as exc:
        print(f"smtpkit serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with lock:
        print(f"listening on {server.host}:{server.port}", flush=True)
        print(f"maildir {server.mailbox.path}", file=sys.stderr, flush=True)
        if server.ca_path:
            print(f"CA certificate {server.ca_path}", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0
