"""Reading the time stamp of a trace field: RFC 5322 §3.3 date-time, leniently.

RFC 5321 §4.4 ends every ``Received:`` field with ``";" FWS date-time``, the RFC 5322
§3.3 form ``[day-of-week ","] day month year hour ":" minute [":" second] zone``.
Real servers add fractions of seconds, ISO dates (SendGrid writes
``2018-04-22 02:54:17.028704749 +0000 UTC m=+0.1``), asctime order
(``Sun Nov 13 14:50:12 2005``), zone names, or no zone at all.

The zone decides whether a time can be compared with another one:

* ``+hhmm`` / ``-hhmm`` is the offset from UT (§3.3). A name or comment after it, as in
  ``+1100 (EST)``, is only a comment; the number wins.
* ``-0000`` is UT too. §3.3: *"-0000 also indicates Universal Time"*; it only adds that the
  sender's *local* zone is unknown, which does not matter for delays.
* ``UT``, ``GMT``, ``Z`` and the US names ``EST EDT CST CDT MST MDT PST PDT`` are the
  obsolete zones of §4.3; ``UTC`` is accepted as a synonym of UT.
* Anything else (``CET``, the military letters, which §4.3 says have no known meaning,
  or nothing at all) is an **unknown zone**. Such a time is kept as written (a naive
  ``datetime``) and flagged; it is never guessed to be UTC or local time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import _parsedate_tz  # the stdlib's RFC 5322 reader; None = no zone
from typing import NamedTuple

from .lexer import strip_comments

__all__ = ["DateStamp", "parse_date", "OBS_ZONES"]

#: RFC 5322 §4.3 obs-zone names with a known meaning, as offsets in minutes east of UT.
OBS_ZONES: dict[str, int] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5 * 60, "EDT": -4 * 60,
    "CST": -6 * 60, "CDT": -5 * 60,
    "MST": -7 * 60, "MDT": -6 * 60,
    "PST": -8 * 60, "PDT": -7 * 60,
}

_NUMERIC_ZONE = re.compile(r"(?:^|\s)([+-])(\d\d):?(\d\d)(?=\s|$)")
_NAMED_ZONE = re.compile(r"(?:^|\s)(" + "|".join(OBS_ZONES) + r")(?=\s|$)", re.IGNORECASE)
_FRACTION = re.compile(r"(\d{1,2}:\d\d:\d\d)[.,](\d+)")
_GO_MONOTONIC = re.compile(r"\bm=[+-][\d.]+")  # Go's time.String() adds "m=+12.3"
_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]+(\d{1,2}):(\d\d)(?::(\d\d))?)?\s*(?:(AM|PM)\b)?",
    re.IGNORECASE,
)


class DateStamp(NamedTuple):
    """A parsed time stamp.

    ``when`` is an aware datetime in UTC when ``zone_known``; when the zone is unknown it
    is the naive wall-clock time as written; ``None`` when there is no readable date.
    """

    when: datetime | None
    zone_known: bool


NO_DATE = DateStamp(None, False)


def _zone_offset(text: str) -> int | None:
    """Minutes east of UT named in ``text`` (numeric zones first), or None if unknown."""
    match = _NUMERIC_ZONE.search(text)
    if match:
        sign, hours, minutes = match.groups()
        if int(hours) > 23 or int(minutes) > 59:
            return None
        offset = int(hours) * 60 + int(minutes)
        return -offset if sign == "-" else offset
    match = _NAMED_ZONE.search(text)
    return OBS_ZONES[match.group(1).upper()] if match else None


def _clean(text: str) -> tuple[str, int]:
    """Comments, SendGrid's ``m=`` suffix and fractions of seconds removed.

    Returns the text and the microseconds that the fraction was worth.
    """
    text = strip_comments(text.split(";", 1)[0])
    text = _GO_MONOTONIC.sub(" ", text).strip()
    micro = 0
    match = _FRACTION.search(text)
    if match:
        micro = int((match.group(2) + "000000")[:6])
        text = text[: match.start()] + match.group(1) + text[match.end():]
    return text, micro


def _fields(text: str) -> tuple[int, int, int, int, int, int] | None:
    """Year, month, day, hour, minute, second read from RFC 5322 or ISO-like text."""
    iso = _ISO.match(text)
    if iso and iso.group(4) is not None:
        year, month, day, hour, minute = (int(iso.group(k)) for k in range(1, 6))
        second = int(iso.group(6) or 0)
        meridiem = (iso.group(7) or "").upper()
        if meridiem == "PM" and hour < 12:
            hour += 12
        elif meridiem == "AM" and hour == 12:
            hour = 0
        return year, month, day, hour, minute, second
    try:
        parsed = _parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if not parsed:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    return year, month, day, hour, minute, second


def parse_date(text: str | None) -> DateStamp:
    """Read the date-time of a trace field (RFC 5322 §3.3, §4.3); never raises.

    >>> parse_date("Sat, 22 Nov 2014 20:27:34 +0100 (CET)").when.isoformat()
    '2014-11-22T19:27:34+00:00'
    >>> parse_date("30 Apr 2003 15:06:29")
    DateStamp(when=datetime.datetime(2003, 4, 30, 15, 6, 29), zone_known=False)
    """
    if not text or not isinstance(text, str):
        return NO_DATE
    cleaned, micro = _clean(text)
    fields = _fields(cleaned)
    if fields is None:
        return NO_DATE
    try:
        wall = datetime(*fields, micro)
    except (ValueError, OverflowError):
        return NO_DATE
    offset = _zone_offset(cleaned)
    if offset is None:
        return DateStamp(wall, False)
    try:
        when = (wall - timedelta(minutes=offset)).replace(tzinfo=timezone.utc)
    except OverflowError:
        return DateStamp(wall, False)
    return DateStamp(when, True)
