"""Reading one ``Received:`` field into its clauses (RFC 5321 §4.4).

The grammar every SMTP server is asked to write::

    Stamp         = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    From-domain   = "FROM" FWS Extended-Domain
    By-domain     = CFWS "BY" FWS Extended-Domain
    Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" )
                    / ( address-literal FWS "(" TCP-info ")" )
    Opt-info      = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
    Via           = CFWS "VIA" FWS Link
    With          = CFWS "WITH" FWS Protocol
    ID            = CFWS "ID" FWS ( Atom / msg-id )
    For           = CFWS "FOR" FWS ( Path / Mailbox )
    Additional-Registered-Clauses = CFWS Atom FWS String

What servers really write is looser, so the reader is a tolerant one:

* A clause starts at a *word* that is one of the keywords, in any letter case. Keywords
  inside a comment do not count: in ``from a (b by evil with X) by real`` the receiver
  is ``real``. A keyword that appears a second time (``for <x> from <y>``) starts an
  extra clause instead of overwriting the first one.
* ``from`` and ``by`` keep the comment right after the name, the TCP-info of the grammar
  (``identity (bonnie.example [IPv6:2001:db8::1])``): that comment is what the receiving
  server saw, the name before it is only what the client claimed.
* ``via`` and ``with`` keep their words without comments (``Microsoft SMTP Server``).
  ``id`` and ``for`` take one token; further words form an additional clause, like
  ``convert rfc822-to-quoted-printable``. Exim's ``tls <cipher>`` is such a clause.
* The date is everything after the *last* ``;`` outside comments and quoted strings: in
  the grammar ``";" FWS date-time`` ends the stamp, and real servers put a ``;`` inside the
  clauses too (``id 4Q;`` then ``for <a@b>; Tue, 7 Mar 2017 ...``). When there is no ``;``
  (SendGrid), the first date-like tail outside comments is used: a weekday, a
  ``yyyy-mm-dd`` or ``d Mon yyyy``, as Microsoft's Message Header Analyzer does.
* ``tls`` says what the field tells about TLS on that hop, from the first of: Postfix's
  comment ``(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))``, a
  ``version=... cipher=...`` comment (Sendmail, Gmail, Exchange), Exim's ``tls <cipher>``
  clause, or a WITH protocol of RFC 3848 that says TLS (``ESMTPS``, ``ESMTPSA``, ``LMTPS``,
  ...). None means the field does not say: a server may use TLS and write plain ``ESMTP``.
* It never raises: whatever the input, you get a `ReceivedField`, with None where a
  clause is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .dates import NO_DATE, parse_date
from .lexer import Token, comment_text, normalize_space, to_text, tokenize, unfold

__all__ = ["ReceivedField", "parse_received", "CLAUSES"]

#: The clause keywords of RFC 5321 §4.4, in the order the grammar lists them.
CLAUSES = ("from", "by", "via", "with", "id", "for")
# Additional clauses seen in the wild: Exim >= 4.92 writes "tls <cipher>" after WITH
# (received_header_text in Exim's src/globals.c).
_ADDITIONAL = ("tls",)
_SINGLE_TOKEN = ("id", "for")  # Atom / msg-id, Path / Mailbox: one token each

_MAX_DATE_CANDIDATES = 8
_DATE_WINDOW = 200  # characters: a date-time is much shorter
_PREFIX = re.compile(r"^\s*received\s*:", re.IGNORECASE)
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,?$", re.IGNORECASE)
_ISO_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(T\S*)?$")
_DAY = re.compile(r"^\d{1,2}$")
_MONTH = re.compile(r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?$",
                    re.IGNORECASE)


@dataclass(frozen=True)
class ReceivedField:
    """One ``Received:`` field, clause by clause (RFC 5321 §4.4).

    Every clause is the text as written (white space normalised), or None when absent.
    ``date`` is an aware UTC datetime when ``zone_known``, the naive time as written when
    the zone is unknown, None when there is no readable date; ``date_text`` is what stood
    after the ``;``. ``comments`` lists every comment outside the others, in order, without
    parentheses; ``extra`` holds additional and repeated clauses as ``(keyword, value)``
    (text before the first keyword has the keyword ``""``). ``raw`` is the value given.
    ``tls`` is what the field says about TLS on this hop (``"TLSv1.3 TLS_AES_256_GCM_SHA384"``,
    ``"ESMTPS"``), or None when it says nothing.
    """

    from_: str | None = None
    by: str | None = None
    via: str | None = None
    with_: str | None = None
    id: str | None = None
    for_: str | None = None
    date: datetime | None = None
    date_text: str | None = None
    zone_known: bool = False
    comments: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    raw: str = ""
    tls: str | None = None


def _keyword(token: Token) -> str | None:
    if token.kind != "word":
        return None
    word = token.text.lower()
    return word if word in CLAUSES or word in _ADDITIONAL else None


def _words(text: str, tokens: list[Token]) -> str | None:
    """The non-comment tokens joined as written; a comment between them becomes a space."""
    out: list[str] = []
    previous: Token | None = None
    for token in tokens:
        if token.kind == "comment":
            continue
        if previous is not None and token.start > previous.end:
            out.append(" ")
        out.append(token.text)
        previous = token
    return _tidy("".join(out))


def _tidy(value: str) -> str | None:
    value = normalize_space(value).rstrip(",").strip()
    return value or None


def _glued(tokens: list[Token]) -> list[Token]:
    """The leading tokens written without space between them: ``<"a;b"@example.net>``."""
    run = tokens[:1]
    for token in tokens[1:]:
        if token.start != run[-1].end:
            break
        run.append(token)
    return run


def _domain(text: str, tokens: list[Token]) -> str | None:
    """Extended-Domain: the words plus the TCP-info comment that follows the first word."""
    words = [t for t in tokens if t.kind != "comment"]
    if not words:
        return _tidy(tokens[0].text) if tokens else None
    end = words[-1].end
    first_comment = next((t for t in tokens if t.kind == "comment"), None)
    if first_comment is not None and first_comment.start > words[0].start:
        end = max(end, first_comment.end)
    return _tidy(text[tokens[0].start:end])


def _split_clauses(tokens: list[Token]) -> list[tuple[str, list[Token]]]:
    """Cut the tokens before the date at every keyword word: [(keyword, value tokens)]."""
    clauses: list[tuple[str, list[Token]]] = [("", [])]
    for token in tokens:
        keyword = _keyword(token)
        if keyword is None:
            clauses[-1][1].append(token)
        else:
            clauses.append((keyword, []))
    return clauses


def _read_clauses(text: str, tokens: list[Token]
                  ) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
    """Assign each clause to its keyword; repeated and additional clauses go to extra."""
    values: dict[str, str | None] = {}
    extra: list[tuple[str, str]] = []
    for keyword, body in _split_clauses(tokens):
        rest: list[Token] = []
        if keyword in ("from", "by"):
            value = _domain(text, body)
        elif keyword in _SINGLE_TOKEN:
            solid = [t for t in body if t.kind != "comment"]
            run = _glued(solid)
            value = _tidy(text[run[0].start:run[-1].end]) if run else None
            rest = solid[len(run):]
        else:
            value = _words(text, body)
        if keyword in CLAUSES and keyword not in values:
            values[keyword] = value
        elif value is not None or keyword:
            extra.append((keyword, value or ""))
        if rest:
            extra.append((rest[0].text.lower(), _words(text, rest[1:]) or ""))
    return values, extra


def _looks_like_date(tokens: list[Token], i: int) -> bool:
    word = tokens[i].text
    if _WEEKDAY.match(word) or _ISO_DAY.match(word):
        return True
    following = [t for t in tokens[i + 1:i + 3] if t.kind == "word"]
    return bool(_DAY.match(word) and following and _MONTH.match(following[0].text))


def _date_tail(text: str, tokens: list[Token]) -> int | None:
    """Index of the first top-level token that starts a readable date (no ``;`` case).

    Only the first few date-like words are tried, so a hostile field stays cheap to read.
    """
    candidates = [i for i, t in enumerate(tokens)
                  if t.kind == "word" and _looks_like_date(tokens, i)]
    for i in candidates[:_MAX_DATE_CANDIDATES]:
        start = tokens[i].start
        if parse_date(text[start:start + _DATE_WINDOW]).when is not None:
            return i
    return None


_USING = re.compile(r"^using\s+((?:TLS|SSL)\S*)(?:\s+with\s+cipher\s+(\S+))?", re.IGNORECASE)
_VERSION = re.compile(r"\bversion=([^\s,]+)", re.IGNORECASE)
_CIPHER = re.compile(r"\bcipher=([^\s,]+)", re.IGNORECASE)
# RFC 3848 and RFC 6531: the WITH protocols that say STARTTLS (or implicit TLS) was used.
_TLS_WITH = re.compile(r"^(UTF8)?(E?SMTP|LMTP)SA?$", re.IGNORECASE)


def _tls(comments: list[str], extra: list[tuple[str, str]], with_: str | None) -> str | None:
    """What the field says about TLS on its hop, or None (see the module docstring)."""
    for comment in comments:
        using = _USING.match(comment)
        if using:
            return " ".join(part for part in using.groups() if part)
        version, cipher = _VERSION.search(comment), _CIPHER.search(comment)
        if cipher and (version or "tls" in comment.lower()):
            return " ".join(m.group(1) for m in (version, cipher) if m)
    for keyword, value in extra:
        if keyword == "tls" and value:
            return value
    protocol = (with_ or "").split()
    if protocol and _TLS_WITH.match(protocol[0]):
        return protocol[0].upper()
    return None


def parse_received(value: str) -> ReceivedField:
    """Parse the value of one ``Received:`` field (RFC 5321 §4.4); never raises.

    A leading ``Received:`` field name is ignored, folded lines are unfolded first.

    >>> f = parse_received("from a (b by evil with X) by real with ESMTP; "
    ...                    "Sat, 22 Nov 2014 20:27:34 +0100")
    >>> f.from_, f.by, f.with_, f.date.isoformat()
    ('a (b by evil with X)', 'real', 'ESMTP', '2014-11-22T19:27:34+00:00')
    """
    raw = to_text(value)
    text = _PREFIX.sub("", unfold(raw), count=1)
    tokens = tokenize(text)

    semicolons = [i for i, t in enumerate(tokens) if t.kind == "semicolon"]
    semicolon = semicolons[-1] if semicolons else None
    if semicolon is not None:
        # the stamp's date-time follows the last ";" (RFC 5321 §4.4); one before it is a separator
        clause_tokens = [t for t in tokens[:semicolon] if t.kind != "semicolon"]
        date_text = normalize_space(text[tokens[semicolon].end:]) or None
    else:
        tail = _date_tail(text, tokens)
        clause_tokens = tokens if tail is None else tokens[:tail]
        date_text = None if tail is None else normalize_space(text[tokens[tail].start:])

    values, extra = _read_clauses(text, clause_tokens)
    stamp = parse_date(date_text) if date_text else NO_DATE
    comments = [comment_text(t) for t in tokens if t.kind == "comment"]
    return ReceivedField(
        from_=values.get("from"),
        by=values.get("by"),
        via=values.get("via"),
        with_=values.get("with"),
        id=values.get("id"),
        for_=values.get("for"),
        date=stamp.when,
        date_text=date_text,
        zone_known=stamp.zone_known,
        comments=tuple(comments),
        extra=tuple(extra),
        raw=raw,
        tls=_tls(comments, extra, values.get("with")),
    )
