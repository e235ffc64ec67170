"""A local DNS: zones the kit defines, read with dnspython, never sent.

Neutral ground: the mail world (`kit.journey`, MX lookups) and the trust notebooks
(`kit.trust`, SPF and DKIM records) both read it; neither depends on the other.

An MTA finds the next hop for ``bob@example.org`` by asking the DNS for the MX records of
``example.org`` (RFC 5321 §5.1). Here the DNS is a few zone files in memory, parsed by
``dns.zone.from_text``; no query ever leaves the machine.

::

    dns = LocalDNS.from_texts([EXAMPLE_ORG_ZONE])
    dns.mx("example.org")        # [MX(10, 'mx.example.org'), MX(20, 'mx2.example.org')]
    dns.route("example.org")     # the hosts to try, best first (RFC 5321 §5.1)
    print(dns.host("example.org"))   # example.org mail is handled by 10 mx.example.org.

`route` follows §5.1: the MX records sorted by preference, lowest first, equal preferences
in random order ("MUST randomize"); with no MX record the domain's own address record is an
implicit MX of preference 0; a single ``MX 0 .`` is a *null MX* (RFC 7505): the domain
accepts no mail at all. Every name in the mail world resolves to 127.0.0.1, so the world keeps
a port per host beside the DNS (`world.ports`), standing in for "port 25 on that host".
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

__all__ = ["MX", "LocalDNS", "DNSError", "NoSuchDomain", "NullMX", "zone_text"]


class DNSError(LookupError):
    """A lookup that cannot give a route; ``status`` is the RFC 3463 code a bounce reports."""

    status = "5.4.4"

    @property
    def reply(self) -> str:
        return f"{self.status} {self}"


class NoSuchDomain(DNSError):
    """NXDOMAIN: no zone holds the name (RFC 3463 X.1.2 bad destination system address)."""

    status = "5.1.2"


class NullMX(DNSError):
    """The domain publishes ``MX 0 .``: it accepts no mail (RFC 7505 §3, status 5.1.10)."""

    status = "5.1.10"


@dataclass(frozen=True, order=True)
class MX:
    """One MX record: lower ``preference`` is tried first (RFC 5321 §5.1)."""

    preference: int
    host: str

    def __str__(self) -> str:
        return f"MX {self.preference} {self.host}"


def zone_text(domain: str, mx: Iterable[tuple[int, str]], hosts: Iterable[str] = (),
              address: str = "127.0.0.1", serial: int = 2026112801) -> str:
    """A small zone file for ``domain``: SOA, NS, its MX records and an A record per host.

    ``mx`` is ``[(preference, host), ...]``; ``[(0, ".")]`` makes a null MX (RFC 7505).
    """
    origin = domain.rstrip(".") + "."
    lines = [f"$ORIGIN {origin}", "$TTL 3600",
             f"@\tIN SOA\tns.{origin} hostmaster.{origin} {serial} 3600 900 1209600 300",
             f"@\tIN NS\tns.{origin}"]
    names = {f"ns.{origin}"}
    for preference, host in mx:
        target = "." if host == "." else host.rstrip(".") + "."
        lines.append(f"@\tIN MX\t{preference} {target}")
        if target != ".":
            names.add(target)
    names.update(h.rstrip(".") + "." for h in hosts)
    for name in sorted(names):
        if name.endswith(origin):  # only names inside this zone get their A record here
            relative = name[: -len(origin)].rstrip(".") or "@"
            lines.append(f"{relative}\tIN A\t{address}")
    return "\n".join(lines) + "\n"


class LocalDNS:
    """Zones in memory, looked up like the DNS would answer (one origin per zone)."""

    def __init__(self, zones: Iterable[dns.zone.Zone], *, rng: random.Random | None = None,
                 texts: dict[str, str] | None = None) -> None:
        self.zones = {z.origin.to_text(omit_final_dot=True).lower(): z for z in zones}
        self._texts = dict(texts or {})
        #: Shuffles MX records of equal preference (§5.1); seeded, so runs repeat.
        self.rng = rng or random.Random(5321)

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, check_origin: bool = True, **kwargs) -> LocalDNS:
        """Parse zone files (each with its ``$ORIGIN``) with ``dns.zone.from_text``;
        ``check_origin=False`` lets a teaching zone leave out SOA and NS."""
        zones, originals = [], {}
        for text in texts:
            zone = dns.zone.from_text(text, relativize=False, check_origin=check_origin)
            zones.append(zone)
            originals[zone.origin.to_text(omit_final_dot=True).lower()] = text
        return cls(zones, texts=originals, **kwargs)

    # -- lookups ----------------------------------------------------------------------
    def _zone_for(self, name: str) -> dns.zone.Zone | None:
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels)):
            zone = self.zones.get(".".join(labels[i:]))
            if zone is not None:
                return zone
        return None

    def _rdataset(self, name: str, rdtype: str):
        zone = self._zone_for(name)
        if zone is None:
            raise NoSuchDomain(f"Host or domain name not found: {name} (no such domain)")
        node = zone.get_node(dns.name.from_text(name))
        if node is None:
            raise NoSuchDomain(f"Host or domain name not found: {name} (no such name in zone "
                               f"{zone.origin.to_text(omit_final_dot=True)})")
        return node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))

    def lookup(self, name: str, rdtype: str) -> list[str]:
        """The records of that type as text (TXT strings joined, MX as ``"pref host"``), sorted;
        [] when the name or the type does not exist (NXDOMAIN and NODATA alike)."""
        try:
            rdataset = self._rdataset(name.rstrip(".").lower(), rdtype)
        except NoSuchDomain:
            return []
        if rdataset is None:
            return []
        out = []
        for rdata in rdataset:
            if rdataset.rdtype == dns.rdatatype.TXT:
                out.append(b"".join(rdata.strings).decode("ascii", "replace"))
            elif rdataset.rdtype == dns.rdatatype.MX:
                out.append(f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}")
            else:
                out.append(rdata.to_text())
        return sorted(out)

    def mx(self, domain: str) -> list[MX]:
        """The MX records of ``domain``, sorted by preference (ties by name). [] if none."""
        rdataset = self._rdataset(domain, "MX")
        if rdataset is None:
            return []
        return sorted(MX(r.preference, r.exchange.to_text(omit_final_dot=True) or ".") for r in rdataset)

    def address(self, host: str) -> str:
        """The IPv4 address (A record) of ``host``."""
        rdataset = self._rdataset(host, "A")
        if rdataset is None:
            raise NoSuchDomain(f"Host or domain name not found: {host} has no address record")
        return sorted(r.address for r in rdataset)[0]

    def route(self, domain: str) -> list[MX]:
        """The hosts to try for mail to ``domain``, in order (RFC 5321 §5.1, RFC 7505).

        Raises `NullMX` for a null MX and `NoSuchDomain` when the name does not exist.
        """
        records = self.mx(domain)
        if not records:  # §5.1: no MX records: the domain itself is an implicit MX
            self.address(domain)
            return [MX(0, domain.lower().rstrip("."))]
        if any(r.host == "." for r in records):
            raise NullMX(f"Domain {domain} does not accept mail (null MX, RFC 7505)")
        out: list[MX] = []
        for preference in sorted({r.preference for r in records}):
            same = [r for r in records if r.preference == preference]
            self.rng.shuffle(same)  # §5.1: equal preferences MUST be randomized
            out += same
        return out

    # -- showing -----------------------------------------------------------------------
    def host(self, domain: str) -> str:
        """What ``host -t mx DOMAIN`` prints: one line per MX record."""
        try:
            records = self.mx(domain)
        except NoSuchDomain:
            return f"Host {domain} not found: 3(NXDOMAIN)"
        if not records:
            return f"{domain} has no MX record"
        return "\n".join(f"{domain} mail is handled by {r.preference} {r.host}." for r in records)

    def zone_text(self, domain: str) -> str:
        """The zone file that holds ``domain``, as the kit wrote it for ``dns.zone``."""
        zone = self._zone_for(domain)
        if zone is None:
            raise NoSuchDomain(f"no zone holds {domain}")
        origin = zone.origin.to_text(omit_final_dot=True).lower()
        return self._texts.get(origin) or zone.to_text(relativize=True)

    def __repr__(self) -> str:
        return f"<LocalDNS zones: {', '.join(sorted(self.zones))}>"
