"""SMTP commands: parse a command line into a `Command`, and format one (RFC 5321 §4.1.1).

Verbs are case-insensitive (§2.4). MAIL and RCPT carry a path and optional ESMTP parameters
(§4.1.2 ``Mail-parameters``, introduced by RFC 1869). Each parse error carries the reply a
server would answer with, so the lab server and the checkers agree on what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .addresses import Path, format_path, parse_path
from .errors import ProtocolError

#: Commands of RFC 5321 §4.1.1 plus the common extensions the lab server knows.
KNOWN_VERBS = frozenset(
    {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
     "STARTTLS", "AUTH", "BDAT"}
)
#: Commands that take no argument at all (§4.1.1.4, .5, .10; RFC 3207 §4).
NO_ARGUMENT = frozenset({"DATA", "RSET", "QUIT", "STARTTLS"})

# §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
#         esmtp-value   = 1*(%d33-60 / %d62-126)   ; any CHAR excluding "=", SP, controls
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e\u0080-\U0010FFFF]+\Z")
_DOMAIN_OR_LITERAL = re.compile(r"[^\s]+\Z")


@dataclass(frozen=True)
class Command:
    """One SMTP command. ``params`` holds ESMTP parameters, keys upper-case, ``None`` if bare."""

    verb: str
    argument: str = ""
    path: Path | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """The command as sent on the wire, without the CRLF."""
        return f"{self.verb} {self.argument}" if self.argument else self.verb

    def __str__(self) -> str:
        return self.line


def _syntax(verb: str, usage: str) -> ProtocolError:
    return ProtocolError(f"{verb}: syntax is '{usage}'", f"501 5.5.4 Syntax: {usage}")


def _split_path(rest: str) -> tuple[str, str]:
    """Split ``<path> params`` at the '>' that closes the path (quotes respected)."""
    if not rest.startswith("<"):
        word, _, tail = rest.partition(" ")
        return word, tail
    in_quote = escaped = False
    for i, ch in enumerate(rest):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
        elif ch == ">" and not in_quote:
            return rest[: i + 1], rest[i + 1 :]
    return rest, ""


def parse_params(text: str) -> dict[str, str | None]:
    """Parse ``KEY=value KEY2`` ESMTP parameters (§4.1.2); keys are upper-cased."""
    params: dict[str, str | None] = {}
    for item in text.split():
        key, eq, value = item.partition("=")
        if not _KEYWORD.match(key) or (eq and not _VALUE.match(value)):
            raise ProtocolError(f"bad ESMTP parameter {item!r} (RFC 5321 §4.1.2)",
                                "501 5.5.4 Bad parameter syntax")
        params[key.upper()] = value if eq else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return " ".join(k if v is None else f"{k}={v}" for k, v in params.items())


def _parse_mail_or_rcpt(verb: str, argument: str) -> Command:
    keyword, usage = ("FROM:", "MAIL FROM:<address>") if verb == "MAIL" else ("TO:", "RCPT TO:<address>")
    if argument[: len(keyword)].upper() != keyword:
        raise _syntax(verb, usage)
    # RFC 5321 has no space after the colon; real clients send one, and Postfix accepts it.
    rest = argument[len(keyword) :].lstrip(" ")
    if not rest:
        raise _syntax(verb, usage)
    path_text, param_text = _split_path(rest)
    path = parse_path(path_text, allow_null=(verb == "MAIL"), allow_postmaster=(verb == "RCPT"))
    return Command(verb, argument, path, parse_params(param_text))


def parse_command(line: str | bytes) -> Command:
    """Parse one command line (with or without its CRLF) into a `Command`.

    Raises `ProtocolError` with the reply a server answers: 500 for an unknown or empty
    command (§4.2.4), 501 for bad arguments (§4.2.2).
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="surrogateescape")
    line = line.removesuffix("\n").removesuffix("\r")
    verb, _, argument = line.partition(" ")
    verb = verb.upper()
    argument = argument.strip(" ")
    if not verb:
        raise ProtocolError("empty command line", "500 5.5.2 Error: bad syntax")
    if verb not in KNOWN_VERBS:
        raise ProtocolError(f"unknown command {verb!r}", "500 5.5.2 Error: command not recognized")
    if verb in NO_ARGUMENT and argument:
        raise _syntax(verb, verb)
    if verb in ("HELO", "EHLO"):
        if not _DOMAIN_OR_LITERAL.match(argument):
            raise _syntax(verb, f"{verb} hostname")
        return Command(verb, argument)
    if verb in ("MAIL", "RCPT"):
        return _parse_mail_or_rcpt(verb, argument)
    if verb in ("VRFY", "EXPN") and not argument:
        raise _syntax(verb, f"{verb} address")
    if verb == "AUTH" and not argument:
        raise _syntax(verb, "AUTH mechanism [initial-response]")  # RFC 4954 §4
    if verb == "BDAT":
        parse_bdat(argument)
    return Command(verb, argument)


_BDAT = re.compile(r"(\d{1,9})(?: +(LAST))?", re.IGNORECASE)


def parse_bdat(argument: str) -> tuple[int, bool]:
    """``BDAT chunk-size [LAST]`` (RFC 3030 §2): the size in octets of the data that follows
    the command line, and whether it is the last chunk. Raises `ProtocolError` (501)."""
    match = _BDAT.fullmatch(argument.strip(" "))
    if match is None:
        raise _syntax("BDAT", "BDAT chunk-size [LAST]")
    return int(match.group(1)), match.group(2) is not None


def format_command(verb: str, argument: str = "") -> str:
    """``format_command("helo", "me")`` -> ``"HELO me"`` (no CRLF)."""
    verb = verb.upper()
    if not verb.isascii() or not verb.isalpha():
        raise ProtocolError(f"a command verb is letters only, got {verb!r} (command injection?)")
    if "\r" in argument or "\n" in argument:
        raise ProtocolError("a command argument may not contain CR or LF (command injection)")
    return f"{verb} {argument}" if argument else verb


def helo(domain: str) -> str:
    return format_command("HELO", domain)


def ehlo(domain: str) -> str:
    return format_command("EHLO", domain)


def mail_from(address: str | None, **params: str | None) -> str:
    """``mail_from("a@x", SIZE="100")`` -> ``"MAIL FROM:<a@x> SIZE=100"``."""
    arg = f"FROM:{format_path(address)}"
    return format_command("MAIL", f"{arg} {format_params(params)}".rstrip())


def rcpt_to(address: str, **params: str | None) -> str:
    arg = f"TO:{format_path(address)}"
    return format_command("RCPT", f"{arg} {format_params(params)}".rstrip())
