"""Reference solutions of notebook 08 (trust and limits): the retry schedule the notebook states,
the forged hop by `kit.trace`, DMARC alignment by `kit.trust.dmarc` (RFC 7489)."""

from __future__ import annotations

from ...trace import trace as _trace
from ...trust.dmarc import dmarc_check, organizational_domain

__all__ = ["retry_policy", "forged_hop", "spoofed"]

# The schedule's numbers are public (kit.exercises.trust states them for the notebook); they are
# repeated here so that the answers never import a topic module.
_FIRST_WAIT = 30 * 60
_MAX_WAIT = 4 * 60 * 60
_MAX_ATTEMPTS = 34
_SKEW = 10 * 60
_LOOPBACK = ("127.0.0.1", "::1")


def retry_policy(code: int, attempt: int) -> int | str:
    """'delivered' (2yz), 'bounce' (5yz, or 4yz at the last try), else the wait in seconds:
    30 minutes doubled after every failed try, never more than 4 hours; try 34 is the last, after
    5 days 3.5 hours of waiting (RFC 5321 §4.5.4.1: give up after at least 4-5 days)."""
    if 200 <= code < 300:
        return "delivered"
    if 400 <= code < 500 and attempt < _MAX_ATTEMPTS:
        return min(_FIRST_WAIT * 2 ** (attempt - 1), _MAX_WAIT)
    return "bounce"


def _name(text: str | None) -> str:
    words = (text or "").replace("(", " (").split()
    return words[0].lower().rstrip(".") if words else ""


def _same_host(by: str | None, from_: str | None) -> bool:
    """The names match, or share an organizational domain (one organisation's host names), or
    the lower ``by`` is the address the upper server saw (in the TCP-info of its ``from``)."""
    below, above = _name(by), _name(from_)
    if below == above:
        return True
    seen = (from_ or "").partition("(")[2].replace("[", " ").replace("]", " ").replace(")", " ").split()
    if below.strip("[]") in seen:
        return True
    return "." in below and "." in above and organizational_domain(below) == organizational_domain(above)


def _loopback(from_: str) -> bool:
    """The address the server saw (the TCP-info after the name) is a loopback address."""
    seen = from_.partition("(")[2]
    return any(address in seen for address in _LOOPBACK)


def _links(below, above) -> bool:
    """Does ``below`` lead to ``above``? (See `forged_hop`.)"""
    if not above.from_:
        return True  # a program on the upper hop's host handed the mail on
    if _same_host(below.by, above.from_):
        return True
    # a hand-over inside one machine: from a loopback address, and the same host wrote both hops
    return _loopback(above.from_) and _same_host(below.by, above.by)


def forged_hop(message: str) -> int | None:
    """The travel-order index of the highest hop that does not link to the hop above it, or None.

    Trust runs from the top (your own server) down. A link holds when the upper hop has no
    ``from`` (a local hand-over), or when the lower hop's ``by`` names the host in the upper hop's
    ``from`` (the same name in any letter case, the same organizational domain, or the address
    the upper server saw), or, if the upper hop came from a loopback address, the host in its own
    ``by``; and the upper hop is not dated more than 10 minutes before the lower one (clock skew).
    A heuristic: it finds careless forgeries and chains spliced from two messages; a careful
    forger writes names that fit."""
    hops = list(_trace(message))
    for i in range(len(hops) - 2, -1, -1):
        below, above = hops[i], hops[i + 1]
        if not _links(below, above):
            return i
        if above.delay_seconds is not None and above.delay_seconds < -_SKEW:
            return i
    return None


def spoofed(facts: dict) -> bool:
    """True when DMARC fails (RFC 7489 §4.2): no SPF or DKIM pass for a domain aligned with From:."""
    return not dmarc_check(facts["header_from"], facts["mail_from"], facts["spf"], facts["dkim"]).passed
