"""Reference solutions of notebook 08 (trust and limits): the retry schedule the notebook states,
the forged hop by `kit.trace`, DMARC alignment by `kit.trust.dmarc` (RFC 7489)."""

from __future__ import annotations

from ...trace import trace as _trace
from ...trust.dmarc import dmarc_check

__all__ = ["retry_policy", "forged_hop", "spoofed"]

# The schedule's numbers are public (kit.exercises.trust states them for the notebook); they are
# repeated here so that the answers never import a topic module.
_FIRST_WAIT = 30 * 60
_MAX_WAIT = 4 * 60 * 60
_MAX_ATTEMPTS = 6


def retry_policy(code: int, attempt: int) -> int | str:
    """'delivered' (2yz), 'bounce' (5yz, or 4yz at the last try), else the wait in seconds:
    30 minutes doubled after every failed try, never more than 4 hours."""
    if 200 <= code < 300:
        return "delivered"
    if 400 <= code < 500 and attempt < _MAX_ATTEMPTS:
        return min(_FIRST_WAIT * 2 ** (attempt - 1), _MAX_WAIT)
    return "bounce"


def _name(text: str | None) -> str:
    words = (text or "").replace("(", " (").split()
    return words[0].lower().rstrip(".") if words else ""


def forged_hop(message: str) -> int | None:
    """The travel-order index of the highest hop that does not link to the hop above it (its
    ``by`` is not the next hop's ``from`` name, or its date is later than the next hop's);
    None when every link holds. Trust runs from the top (your own server) down."""
    hops = list(_trace(message))
    for i in range(len(hops) - 2, -1, -1):
        below, above = hops[i], hops[i + 1]
        if _name(below.by) != _name(above.from_):
            return i
        if above.delay_seconds is not None and above.delay_seconds < 0:
            return i
    return None


def spoofed(facts: dict) -> bool:
    """True when DMARC fails (RFC 7489 §4.2): no SPF or DKIM pass for a domain aligned with From:."""
    return not dmarc_check(facts["header_from"], facts["mail_from"], facts["spf"], facts["dkim"]).passed
