"""Argument types shared by the `smtpkit` subcommands: each bad value gets a clear message
(argparse then exits with code 2)."""

from __future__ import annotations

import argparse


def _number(text: str, kind: type, what: str) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise argparse.ArgumentTypeError(message)


def port(text: str) -> int:
    value = _number(text, int, "a port number")
    _check(1 <= value <= 65535, f"port {value} is outside 1-65535")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    _check(value >= 1, f"{value} must be at least 1")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    _check(value > 0, f"{value} must be positive")
    return value


def mailbox_address(text: str) -> str:
    from .protocol import ProtocolError, parse_address  # here: grade and lab need no SMTP grammar

    try:
        return str(parse_address(text.strip("<>")))
    except ProtocolError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an address: {exc}") from None


def credentials(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError(f"{text!r}: give USER:PASSWORD")
    return user, password


def domain(text: str) -> str:
    from .protocol import ProtocolError, parse_address

    try:
        parse_address(f"x@{text}")
    except ProtocolError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a domain name") from None
    return text.lower()
