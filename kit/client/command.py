"""``smtpkit send``: send one message and print the dialogue; exit 0 if accepted, 1 if not."""

from __future__ import annotations

import argparse
import sys

from .. import cli_args


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=cli_args.port, required=True)
    parser.add_argument("--from", dest="sender", type=cli_args.mailbox_address, required=True, metavar="A")
    parser.add_argument("--to", dest="recipients", action="append", type=cli_args.mailbox_address,
                        required=True, metavar="B", help="a recipient (repeatable)")
    parser.add_argument("--subject", default="Test from smtpkit")
    parser.add_argument("--body", default="Hello from the SMTP course kit.",
                        help="the body text, or - to read it from standard input")
    parser.add_argument("--ehlo", default="client.example.test", help="the name to introduce ourselves with")
    parser.add_argument("--timeout", type=cli_args.positive_float, default=10.0)
    parser.add_argument("--tls", action="store_true", help="STARTTLS before sending (RFC 3207)")
    parser.add_argument("--tls-on-connect", action="store_true",
                        help="TLS from the first byte, as on port 465 (RFC 8314); for serve --tls-on-connect")
    parser.add_argument("--cafile", default=None, help="trust this CA certificate (e.g. the one serve --tls prints)")
    parser.add_argument("--auth", type=cli_args.credentials, metavar="USER:PASSWORD", help="AUTH PLAIN (RFC 4954)")


def run(args: argparse.Namespace) -> int:
    import ssl

    from .send import send_mail

    body = sys.stdin.read() if args.body == "-" else args.body
    result = send_mail(args.host, args.port, args.sender, args.recipients, subject=args.subject, body=body,
                       ehlo_name=args.ehlo, timeout=args.timeout, auth=args.auth,
                       starttls=ssl.create_default_context(cafile=args.cafile) if args.tls else False,
                       implicit_tls=ssl.create_default_context(cafile=args.cafile) if args.tls_on_connect else None)
    if result.transcript is not None:
        print(result.transcript.to_text())
    if not result.ok:
        print(f"smtpkit send: not accepted: {result.error}", file=sys.stderr)
        return 1
    for rcpt, reply in result.refused.items():
        print(f"smtpkit send: refused {rcpt}: {reply.summary}", file=sys.stderr)
    return 0
