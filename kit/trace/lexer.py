"""The lexical layer under a trace field: unfolding, comments, quoted strings (RFC 5322 §3.2).

A ``Received:`` value is read the way RFC 5322 reads any structured field: first unfold
it (§2.2.3), then cut it into words, comments ``( ... )`` that may nest (§3.2.2), quoted
strings (§3.2.4) and the special ``;`` that ends the clauses and starts the date
(RFC 5321 §4.4). Everything inside a comment is *commentary*: a ``by`` or a ``;`` or a
date written there is not part of the field's grammar, which is exactly what naive
analysers get wrong.

The tokenizer never raises. Malformed input is read leniently: an unclosed comment runs
to the end of the field (that is what the grammar says), an unclosed quote or bracket is
an ordinary character, a stray ``)`` is part of a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Token", "comment_text", "normalize_space", "strip_comments", "to_text", "tokenize",
           "unfold"]

_FOLD = re.compile(r"\r\n(?=[ \t])|\r(?=[ \t])|\n(?=[ \t])")
_WSP = re.compile(r"\s+")
# Characters that end a word: white space, the start of a comment or quoted string, and ";".
_WORD_STOP = frozenset(' \t\r\n\f\v(";')


@dataclass(frozen=True)
class Token:
    """One lexical unit of a field value, with its place in the unfolded text.

    ``kind`` is ``"word"`` (atoms, dot-atoms, domain literals such as ``[IPv6:::1]``,
    angle addresses: anything between separators), ``"comment"`` (``text`` keeps the
    parentheses), ``"quoted"`` (keeps the quotes) or ``"semicolon"``.
    """

    kind: str
    text: str
    start: int
    end: int


def to_text(value: object) -> str:
    """Any header value as clean ``str``: bytes are decoded as UTF-8, ``None`` is empty.

    Bytes that are not UTF-8 (smuggled through ``surrogateescape`` by the ``email``
    package) become U+FFFD, so the result can always be printed, escaped and encoded.
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    text = value if isinstance(value, str) else str(value)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def unfold(value: str) -> str:
    """Remove every line break that is followed by white space (RFC 5322 §2.2.3).

    Folding only ever inserted CRLF in front of existing white space, so deleting the
    CRLF restores the line. Bare LF or CR (files saved with Unix line ends) count too.
    """
    return _FOLD.sub("", value)


def normalize_space(text: str) -> str:
    """Collapse runs of white space to one space and trim the ends."""
    return _WSP.sub(" ", text).strip()


def _scan_comment(text: str, i: int) -> int:
    """End of the comment opening at ``text[i] == "("``: nesting and quoted-pairs count."""
    depth = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n  # unclosed: the comment runs to the end of the field


def _scan_quoted(text: str, i: int) -> int | None:
    """End of the quoted string opening at ``text[i] == '"'``, or None if never closed."""
    n = len(text)
    i += 1
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    return None


def _literal_end(text: str, i: int) -> int | None:
    """End of the ``[...]`` domain literal opening at ``i`` (RFC 5322 §3.4.1), or None.

    A literal may hold folding white space but no ``(``, ``"`` or ``;``.
    """
    close = text.find("]", i + 1)
    if close == -1 or any(c in '(";' for c in text[i + 1:close]):
        return None
    return close + 1


def _scan_word(text: str, i: int) -> int:
    """End of the word starting at ``i``; a ``[...]`` domain literal stays inside its word."""
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "[" and (end := _literal_end(text, i)) is not None:
            i = end
            continue
        if ch in _WORD_STOP:
            return i
        i += 1
    return n


def tokenize(text: str) -> list[Token]:
    """Cut unfolded text into words, comments, quoted strings and semicolons."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "(":
            end, kind = _scan_comment(text, i), "comment"
        elif ch == ";":
            end, kind = i + 1, "semicolon"
        elif ch == '"' and (close := _scan_quoted(text, i)) is not None:
            end, kind = close, "quoted"
        else:
            # An unclosed quote is an ordinary character: step over it, then read on.
            end, kind = _scan_word(text, i + 1 if ch == '"' else i), "word"
        tokens.append(Token(kind, text[i:end], i, end))
        i = end
    return tokens


def comment_text(token: Token) -> str:
    """The inside of a comment token, without the outer parentheses, spaces normalised."""
    inner = token.text[1:]
    if inner.endswith(")"):
        inner = inner[:-1]
    return normalize_space(inner)


def strip_comments(text: str) -> str:
    """The text with every top-level comment replaced by one space (CFWS is just space)."""
    return normalize_space(" ".join(t.text for t in tokenize(text) if t.kind != "comment"))
