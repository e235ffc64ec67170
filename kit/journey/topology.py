"""What the mail world is made of, and how it is built: sites, foreign peers, DNS, servers.

A `Site` is one organisation of the world (its domain, users, MX hosts, maybe a submission
server); a `Peer` is a server *outside* the world, any SMTP server at host:port (a real
Postfix, ``smtpkit serve`` in another terminal, a classmate's server): the world's DNS
names it as the MX of its domains, or a site sends everything through it as a smarthost.

`Topology.build` starts the lab servers and makes the agents (an `MTA` per site's outbound
host, an `MDA` per site) and hands them over; it runs nothing. The world's worker thread
(`kit.journey.worker`) moves the mail.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import N_, _
from ..localdns import LocalDNS, zone_text
from ..server import LabServer
from .journal import Journal
from .mda import MDA
from .msa import SubmissionServer
from .mta import MTA
from .queue import RetryPolicy

__all__ = ["Site", "Peer", "Host", "Topology", "DEFAULT_SITES", "EXTRA_ZONES"]


@dataclass(frozen=True)
class Site:
    """One organisation: its domain, users, MX hosts and (optionally) a submission server."""

    domain: str
    users: tuple[str, ...]
    mx: tuple[tuple[int, str], ...]
    msa: str | None = None
    #: user -> password for AUTH at the MSA (the login name is the full address).
    passwords: tuple[tuple[str, str], ...] = ()
    #: The MX refuses unknown users at RCPT (550 5.1.1); if False it accepts any local part
    #: and the MDA bounces what has no mailbox.
    verify_recipients: bool = True
    #: Send all outgoing mail through this host (a `Peer`'s name) instead of looking up MX
    #: records: a smarthost (Postfix: ``relayhost``).
    smarthost: str | None = None

    @property
    def outbound(self) -> str:
        """The host whose MTA sends this site's mail (and bounces)."""
        return self.msa or sorted(self.mx)[0][1]


@dataclass(frozen=True)
class Peer:
    """A server outside the world: any SMTP server at ``address``:``port``, known in the
    world's DNS as ``name``, the MX (preference ``preference``) of ``domains``."""

    name: str
    port: int
    domains: tuple[str, ...] = ()
    address: str = "127.0.0.1"
    preference: int = 10
    role: str = N_("foreign MX")  # shown translated where the world is shown

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower().rstrip("."))
        object.__setattr__(self, "domains", tuple(d.lower().rstrip(".") for d in (
            (self.domains,) if isinstance(self.domains, str) else self.domains)))
        if not 0 < self.port <= 65535:
            raise ValueError(_("port {port} is not 1-65535").format(port=self.port))

    def zones(self) -> list[str]:
        """Zone files that make this peer the MX of its domains, and give its name an address."""
        out = [zone_text(d, [(self.preference, self.name)], address=self.address) for d in self.domains]
        if not any(self.name == d or self.name.endswith("." + d) for d in self.domains):
            out.append(zone_text(self.name, [], [self.name], address=self.address))
        return out


DEFAULT_SITES: tuple[Site, ...] = (
    Site("uni.example", ("alice",), ((10, "mx.uni.example"),), msa="smtp.uni.example",
         passwords=(("alice", "wonderland"),)),
    Site("example.org", ("bob", "carol"), ((10, "mx.example.org"), (20, "mx2.example.org"))),
)

#: Zones without servers: a domain that says it takes no mail at all (RFC 7505).
EXTRA_ZONES: tuple[str, ...] = (zone_text("nomail.example", [(0, ".")]),)


@dataclass(frozen=True)
class Host:
    """A server of the world: its name, role, domain, the lab server (None for a foreign
    peer), its nominal port."""

    name: str
    role: str
    domain: str
    server: LabServer | None = field(repr=False)
    nominal_port: int
    preference: int | None = None
    peer: Peer | None = None

    @property
    def address(self) -> str:
        if self.server is None:
            assert self.peer is not None
            return f"{self.peer.address}:{self.peer.port}"
        return f"{self.server.host}:{self.server.port}"

    @property
    def running(self) -> bool:
        return self.server is None or self.server.running


class Topology:
    """The world's parts: DNS, hosts, MTAs and MDAs, built by `build`, stopped by `stop`."""

    def __init__(self, sites: Iterable[Site], *, peers: Iterable[Peer] = (), extra_zones: Iterable[str] = (),
                 ports: Mapping[str, int] | None = None, journal: Journal, policy: RetryPolicy, tls: bool,
                 timeout: float, max_queue: int) -> None:
        self.sites = tuple(sites)
        self.peers = tuple(peers)
        domains = [s.domain for s in self.sites] + [d for p in self.peers for d in p.domains]
        if len(set(domains)) != len(domains):
            raise ValueError(_("one site (or peer) per domain"))
        names = {p.name for p in self.peers}
        mine = {n for s in self.sites for n in [s.msa, *(h for _, h in s.mx)] if n}
        if names & mine:
            raise ValueError(_("a peer and a world server share a name: {names}").format(
                names=", ".join(sorted(names & mine))))
        for site in self.sites:
            if site.smarthost and site.smarthost.lower() not in names:
                raise ValueError(_("smarthost {host} of {domain} is not a declared Peer").format(
                    host=site.smarthost, domain=site.domain))
        self.fixed_ports = {k.lower(): int(v) for k, v in (ports or {}).items()}
        unknown = set(self.fixed_ports) - mine
        if unknown:
            raise ValueError(_("ports= names no server of the world: {names}").format(
                names=", ".join(sorted(unknown))))
        self.journal, self.policy, self.tls = journal, policy, tls
        self.timeout, self.max_queue = timeout, max_queue
        self.dns = LocalDNS.from_texts(
            [zone_text(s.domain, s.mx, [s.msa] if s.msa else []) for s in self.sites]
            + [z for p in self.peers for z in p.zones()] + list(extra_zones))
        #: Host name -> the port it listens on (all hosts share 127.0.0.1: this stands in for
        #: "port 25 (or 587) on that host"); foreign peers with their own port.
        self.ports: dict[str, int] = {p.name: p.port for p in self.peers}
        self.hosts: list[Host] = []
        self.mtas: dict[str, MTA] = {}
        self.mdas: dict[str, MDA] = {}
        #: The servers whose spools the agents read (the worker is woken by their commits).
        self.spools: list[LabServer] = []

    def build(self, root: Path, on_line: Callable | None = None) -> None:
        """Start every lab server and make the agents; on failure, stop what was started."""
        try:
            for site in self.sites:
                self._build_site(site, root, on_line)
        except BaseException:
            self.stop()
            raise
        self.hosts += [Host(p.name, p.role, ", ".join(p.domains), None, p.port, p.preference, p)
                       for p in self.peers]

    def _server(self, cls: type[LabServer], name: str, root: Path, on_line: Callable | None,
                **settings: Any) -> LabServer:
        if not self.tls:
            # aiosmtpd warns on every connection when AUTH is offered without TLS; here that is a
            # choice made for teaching (tls=False), so that one warning is silenced.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
        # The world's servers pass their mail on (to the MTA, to the MDA): not the final
        # delivery, so they write no Return-Path (RFC 5321 §4.4); the MDA does.
        server = cls(hostname=name, maildir=str(root / "spool" / name), durable=False, tls=self.tls,
                     idle_timeout=30.0, max_sessions=20, on_line=on_line, final_delivery=False,
                     port=self.fixed_ports.get(name), **settings).start()
        self.ports[name] = server.port
        self.spools.append(server)
        return server

    def _build_site(self, site: Site, root: Path, on_line: Callable | None) -> None:
        mta = MTA(site.outbound, dns=self.dns, ports=self.ports, journal=self.journal, policy=self.policy,
                  tls=self.tls, timeout=self.timeout, max_queue=self.max_queue,
                  relayhost=site.smarthost.lower() if site.smarthost else None,
                  foreign=[p.name for p in self.peers])
        self.mtas[site.outbound] = mta
        mda = MDA(f"MDA {site.domain}", site.domain, root / "mailboxes", site.users, journal=self.journal,
                  outbound=mta)
        self.mdas[site.domain] = mda
        if site.msa:
            auth = {f"{u}@{site.domain}": pw for u, pw in site.passwords}
            msa = self._server(SubmissionServer, site.msa, root, on_line, domains=[site.domain],
                               users=list(site.users), auth=auth, auth_require_tls=self.tls)
            self.hosts.append(Host(site.msa, "MSA", site.domain, msa, 587))
            mta.watch(msa)
        for preference, name in sorted(site.mx):
            mx = self._server(LabServer, name, root, on_line, domains=[site.domain],
                              users=list(site.users) if site.verify_recipients else None)
            self.hosts.append(Host(name, "MX", site.domain, mx, 25, preference))
            mda.watch(mx)

    def stop(self) -> None:
        """Close every lab server and every user mailbox. Idempotent."""
        for host in self.hosts:
            if host.server is not None:
                host.server.stop()
        for mda in self.mdas.values():
            for box in mda.mailboxes.values():
                box.close()
