"""A small SPF evaluator (RFC 7208): may this IP address send mail for that domain?

A domain publishes one TXT record starting with ``v=spf1`` (§4.5), e.g.::

    uni.example.  TXT  "v=spf1 ip4:192.0.2.0/24 mx include:mailer.example -all"

`check_host` reads it from left to right (§4.6): the first *mechanism* that matches the
client's IP decides, through its *qualifier*: ``+`` pass (the default), ``-`` fail,
``~`` softfail, ``?`` neutral (§4.6.2). Nothing matched: the ``redirect=`` modifier
decides (§6.1), else the result is neutral (§4.7). No record: none (§4.5).

Supported: ``all``, ``ip4``, ``ip6``, ``a``, ``mx``, ``include``, ``exists`` and
``redirect``; the macros ``%{s} %{l} %{o} %{d} %{i}`` without transformers (§7);
the limit of 10 DNS-querying terms (§4.6.4). ``ptr`` is deprecated (§5.5) and never
matches here; ``exp=`` is ignored. Lookups go through a function ``lookup(name, rdtype)
-> list[str]`` (e.g. `LocalZones.lookup`), so no real DNS is ever asked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SPF_RESULTS", "SPFResult", "check_host", "Lookup"]

#: The seven results of RFC 7208 §2.6.
SPF_RESULTS = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")
Lookup = Callable[[str, str], list[str]]

_QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_DNS_TERMS = {"include", "a", "mx", "ptr", "exists", "redirect"}
MAX_DNS_TERMS = 10


class _PermError(Exception):
    pass


@dataclass
class SPFResult:
    """The result, the term that decided it (or None), and every step taken, for reading."""

    result: str
    mechanism: str | None = None
    steps: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.result


@dataclass
class _State:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    lookup: Lookup
    steps: list[str]
    dns_terms: int = 0

    def count(self, term: str) -> None:
        self.dns_terms += 1
        if self.dns_terms > MAX_DNS_TERMS:
            raise _PermError(f"more than {MAX_DNS_TERMS} DNS-querying terms (§4.6.4) at {term!r}")


def _record(domain: str, state: _State) -> str | None:
    records = [r for r in state.lookup(domain, "TXT")
               if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]
    if len(records) > 1:
        raise _PermError(f"{domain} publishes {len(records)} SPF records; exactly one is allowed (§4.5)")
    return records[0] if records else None


def _expand(spec: str, domain: str, state: _State) -> str:
    local, _, sender_domain = state.sender.rpartition("@")
    values = {"s": state.sender, "l": local or "postmaster", "o": sender_domain, "d": domain,
              "i": str(state.ip)}

    def one(match: re.Match) -> str:
        token = match.group(0)
        if token == "%%":
            return "%"
        if token == "%_":
            return " "
        if token == "%-":
            return "%20"
        letter = match.group(1)
        if letter is None or letter.lower() not in values:
            raise _PermError(f"macro {token!r} is not supported by this small evaluator")
        return values[letter.lower()]

    return re.sub(r"%\{([a-zA-Z])\}|%%|%_|%-|%\{[^}]*\}", one, spec)


def _split_cidr(arg: str, default4: int, default6: int) -> tuple[str, int, int]:
    """``domain/24//64`` -> (domain, 24, 64) (§5.6 dual-cidr-length)."""
    v6 = default6
    if "//" in arg:
        arg, six = arg.split("//", 1)
        v6 = int(six)
    v4 = default4
    if "/" in arg:
        arg, four = arg.rsplit("/", 1)
        v4 = int(four)
    return arg, v4, v6


def _ip_in(state: _State, addresses: list[str], v4: int, v6: int) -> bool:
    for text in addresses:
        address = ipaddress.ip_address(text)
        if address.version != state.ip.version:
            continue
        prefix = v4 if address.version == 4 else v6
        if state.ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False):
            return True
    return False


def _addresses(name: str, state: _State) -> list[str]:
    rdtype = "A" if state.ip.version == 4 else "AAAA"
    return state.lookup(name, rdtype)


def _matches(name: str, arg: str | None, domain: str, state: _State) -> bool:
    if name == "all":
        return True
    if name in ("ip4", "ip6"):
        if not arg:
            raise _PermError(f"{name} needs an address")
        try:
            network = ipaddress.ip_network(arg, strict=False)
        except ValueError:
            raise _PermError(f"{name}:{arg} is not a network") from None
        return network.version == state.ip.version and state.ip in network
    if name in ("a", "mx"):
        target, v4, v6 = _split_cidr(arg or "", 32, 128)
        target = _expand(target, domain, state) if target else domain
        if name == "a":
            return _ip_in(state, _addresses(target, state), v4, v6)
        hosts = [mx.split()[1] for mx in state.lookup(target, "MX")]
        if len(hosts) > 10:
            raise _PermError(f"mx:{target} has more than 10 MX hosts (§4.6.4)")
        return any(_ip_in(state, _addresses(h, state), v4, v6) for h in hosts)
    if name == "exists":
        if not arg:
            raise _PermError("exists needs a domain")
        return bool(state.lookup(_expand(arg, domain, state), "A"))
    if name == "ptr":
        state.steps.append("  ptr is deprecated (RFC 7208 §5.5); this evaluator never matches it")
        return False
    raise _PermError(f"unknown mechanism {name!r}")


def _check(domain: str, state: _State, depth: int) -> tuple[str, str | None]:
    if depth > MAX_DNS_TERMS:
        raise _PermError("include/redirect loop")
    record = _record(domain, state)
    if record is None:
        state.steps.append(f"{domain}: no SPF record -> none")
        return "none", None
    state.steps.append(f"{domain}: {record}")
    terms = record.split()[1:]
    redirect = None
    for term in terms:
        modifier = re.fullmatch(r"([a-zA-Z][\w.-]*)=(.*)", term)
        if modifier:
            if modifier.group(1).lower() == "redirect":
                redirect = modifier.group(2)
            continue
        qualifier = term[0] if term[0] in _QUALIFIERS else "+"
        body = term[1:] if term[0] in _QUALIFIERS else term
        name, sep, arg = body.partition(":")
        if not sep and "/" in name:  # a/24, mx/24
            name, _, rest = name.partition("/")
            arg = "/" + rest
        name = name.lower()
        if name in _DNS_TERMS:
            state.count(term)
        if name == "include":
            target = _expand(arg, domain, state)
            inner, _ = _check(target, state, depth + 1)
            if inner == "none":
                raise _PermError(f"include:{target} has no SPF record (§5.2)")
            if inner in ("temperror", "permerror"):
                return inner, term
            matched = inner == "pass"
        else:
            matched = _matches(name, arg or None, domain, state)
        if matched:
            result = _QUALIFIERS[qualifier]
            state.steps.append(f"  {term} matches {state.ip} -> {result}")
            return result, term
        state.steps.append(f"  {term} does not match")
    if redirect is not None:
        state.count(f"redirect={redirect}")
        target = _expand(redirect, domain, state)
        state.steps.append(f"  no mechanism matched; redirect={target}")
        result, term = _check(target, state, depth + 1)
        if result == "none":
            raise _PermError(f"redirect={target} has no SPF record (§6.1)")
        return result, term
    state.steps.append("  no mechanism matched -> neutral (§4.7)")
    return "neutral", None


def check_host(ip: str, domain: str, sender: str, lookup: Lookup) -> SPFResult:
    """RFC 7208 §4: the SPF result for mail from ``sender`` (the MAIL FROM address; for the
    null sender use ``postmaster@<HELO name>``, §2.4) coming from ``ip``, checking ``domain``.
    """
    steps: list[str] = []
    try:
        state = _State(ipaddress.ip_address(ip), sender, lookup, steps)
    except ValueError:
        return SPFResult("permerror", None, [f"{ip!r} is not an IP address"])
    try:
        result, term = _check(domain.rstrip(".").lower(), state, 0)
    except _PermError as exc:
        steps.append(f"permerror: {exc}")
        return SPFResult("permerror", None, steps)
    except (LookupError, OSError) as exc:
        steps.append(f"temperror: {exc}")
        return SPFResult("temperror", None, steps)
    return SPFResult(result, term, steps)
