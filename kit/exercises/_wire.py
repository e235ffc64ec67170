"""What a lab server's transcript says the client did: its commands, each with the reply it got.

The judges of the protocol exercises decide on this evidence, never on what the student's
function returns: a function can claim anything, the judge's own server saw what happened.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from ..transcript import Transcript

__all__ = ["exchanges", "all_exchanges", "verb", "rcpt_address"]

_REPLY = re.compile(r"(\d{3})([ -]|$)")
_RCPT = re.compile(r"RCPT\s+TO:\s*<([^>]*)>", re.IGNORECASE)


def exchanges(transcript: Transcript) -> list[tuple[str, int | None]]:
    """``(command line, reply code or None)`` for each command of the client, in order.

    Replies are matched to commands first in, first out, as SMTP answers them (RFC 5321 §4.2;
    pipelined commands too, RFC 2920). The message after ``354`` is not a command, but the lone
    dot that ends it is (its reply says whether the mail was taken); nor is a BDAT chunk (RFC
    3030), up to the server's reply to it (a chunk pipelined behind another is not told apart).
    The greeting answers no command; a command the server never answered has None.
    """
    out: list[list] = []
    waiting: deque[int] = deque()
    in_data = in_chunk = False
    for line in transcript.lines:
        if line.direction == "client":
            if (in_data and line.text != ".") or in_chunk:
                continue
            in_data = False
            in_chunk = verb(line.text) == "BDAT"
            out.append([line.text, None])
            waiting.append(len(out) - 1)
        elif line.direction == "server":
            in_chunk = False
            match = _REPLY.match(line.text)
            if match and match.group(2) == "-":
                continue  # more lines of the same reply follow
            code = int(match.group(1)) if match else None
            if waiting:
                out[waiting.popleft()][1] = code
            in_data = code == 354
    return [(text, code) for text, code in out]


def verb(command: str) -> str:
    """The command's verb, upper case (``"mail from:<a@b>"`` -> ``"MAIL"``)."""
    words = command.split(None, 1)
    return words[0].split(":", 1)[0].upper() if words else ""


def rcpt_address(command: str) -> str | None:
    """The address of an ``RCPT TO:<address>`` command, lower case, else None."""
    match = _RCPT.match(command.strip())
    return match.group(1).lower() if match else None


def all_exchanges(transcripts: Iterable[Transcript]) -> list[tuple[str, int | None]]:
    """`exchanges` of several sessions, one after the other."""
    return [pair for t in transcripts for pair in exchanges(t)]
