"""Exercise of notebook 06 (the mail's journey): in which order does an MTA try the MX hosts?

RFC 5321 §5.1: the MX records are tried in order of preference, lowest number first; hosts
of equal preference in random order ("MUST randomize"); with no MX record at all the
domain itself is the only host (an *implicit MX*). RFC 7505: a single ``MX 0 .`` (a *null
MX*) says the domain takes no mail, so there is nothing to try. The reference answer
(grader-only, ``answers.journey``) is `kit.journey.dns.LocalDNS.route`'s rule on plain values.
"""

from __future__ import annotations

from ..i18n import N_, _
from ._exercise import Exercise
from ._expected import expected
from ._registry import register
from ._tests import Case

__all__ = ["MX_ORDER", "CASES"]


#: name, domain, records, why a wrong answer is wrong
CASES = (
    (N_("one MX record"), "example.org", [[10, "mx.example.org"]],
     N_("with one MX record there is one host to try")),
    (N_("lowest preference first"), "example.org", [[20, "mx2.example.org"], [10, "mx.example.org"]],
     N_("the lowest preference number is the most preferred host (RFC 5321 §5.1); it comes first")),
    (N_("sort by preference, not by name"), "example.net",
     [[30, "alpha.example.net"], [5, "zulu.example.net"], [10, "mike.example.net"]],
     N_("order by the preference number only; the host names do not matter")),
    (N_("numbers, not text"), "example.com", [[100, "c.example.com"], [5, "a.example.com"], [20, "b.example.com"]],
     N_("compare preferences as numbers: 5 < 20 < 100 (as text, '100' would come before '20' and "
        "'5')")),
    (N_("equal preferences in any order"), "big.example",
     [[20, "c.big.example"], [10, "b.big.example"], [10, "a.big.example"]],
     N_("hosts of equal preference may come in any order (§5.1 says to randomize them), but all "
        "of them before any host of a higher number")),
    (N_("no MX record: the implicit MX"), "smtp.uni.example", [],
     N_("with no MX record the domain itself is the host to try (the implicit MX of RFC 5321 "
        "§5.1)")),
    (N_("null MX: nothing to try"), "nomail.example", [[0, "."]],
     N_("MX 0 . is a null MX (RFC 7505): the domain accepts no mail, so return an empty list")),
)


def _groups(order: list[str], records: list) -> list[set[str]]:
    """The expected answer as groups of hosts whose order among themselves is free."""
    prefs = {host: pref for pref, host in records}
    groups: list[set[str]] = []
    last = None
    for host in order:
        pref = prefs.get(host)
        if groups and pref == last:
            groups[-1].add(host)
        else:
            groups.append({host})
        last = pref
    return groups


def _case_test(name: str, domain: str, records: list, why: str) -> Case:
    order = expected("journey.mx_order", name, domain, records)
    groups = _groups(order, records)

    def in_order(expected: list, got) -> str | None:
        """Equal preferences may come in any order (RFC 5321 §5.1 even asks to shuffle them)."""
        if type(got) is not list or any(type(h) is not str for h in got):
            return _("return a list of host names (strings)")
        if sorted(got) != sorted(expected):
            return _(why)
        position = 0
        for group in groups:
            if set(got[position:position + len(group)]) != group:
                return _(why)
            position += len(group)
        return None

    return Case(name, (domain, [list(r) for r in records]), order,
                compare=in_order, label=f"mx_order({domain!r}, {records!r})")


MX_ORDER = register(Exercise(
    id="journey.mx_order",
    title=N_("In which order does an MTA try a domain's MX hosts?"),
    function="mx_order",
    hint=N_("Sort the records by their preference number, lowest first (RFC 5321 §5.1), and return "
            "only the host names. No record at all: the domain itself is the host (implicit MX). A "
            "record whose host is '.' is a null MX (RFC 7505): return []."),
    tests=tuple(_case_test(*case) for case in CASES),
))
