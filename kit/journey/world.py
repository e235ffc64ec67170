"""`MailWorld`: a small Internet of mail on 127.0.0.1, built by one call.

::

    world = start_world()                      # re-runnable in a notebook cell
    sent = world.send("alice@uni.example", "bob@example.org", subject="Hi", body="Hello Bob")
    world.wait_until_idle()
    world.mailbox("bob@example.org").latest    # the mail in Bob's Maildir
    world.journey(sent)                        # every step it took; .picture() draws it

The default world has two organisations (`DEFAULT_SITES`):

=================  ================================  =====================================
host               role                              listens (really: 127.0.0.1:<port>)
=================  ================================  =====================================
smtp.uni.example   MSA (submission, AUTH) + its MTA   "587"
mx.uni.example     MX of uni.example (+ MDA)          "25"
mx.example.org     MX of example.org, preference 10   "25"
mx2.example.org    MX of example.org, preference 20   "25"
=================  ================================  =====================================

plus a local DNS (`LocalDNS`) with one zone per domain, and ``nomail.example`` with a null
MX (RFC 7505). Users: alice@uni.example (password ``wonderland``), bob@example.org and
carol@example.org. Each site has an MDA filing into per-user Maildirs, and an outbound MTA
(on its MSA host, or on its first MX for the bounces its MDA makes).

One worker thread moves all mail (intake, deliveries, retries, MDA), one step at a time, so
what happens is repeatable; it sleeps until a server commits a message or a retry is due
(`kit.journey.worker`); time is sped up by the retry schedule (seconds, not hours).
Everything is bounded: queue sizes, tries, SMTP timeouts; `stop` ends the thread, closes
every server and deletes the temporary folders.

A real MTA joins in one line: ``MailWorld(peers=[Peer("mx.postfix.test", 2525,
domains=("postfix.test",))])`` makes that server (any SMTP server at host:port) the MX of
postfix.test; ``ports={"mx.uni.example": 2626}`` gives a world server a fixed port, so the
foreign server can send mail (and its DSNs) back in. The parts live apart: `topology` builds
(sites, peers, DNS, servers, agents), `worker` runs, `views` shows, this module is the facade.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

from ..client import SendResult, send_mail
from ..i18n import _
from ..localdns import zone_text
from ..notebook_instance import NotebookInstance
from ..server import LabServer, Mailbox, StoredMessage
from .events import Event
from .journal import Journal, Journey
from .mda import MDA
from .mta import MTA
from .queue import RetryPolicy
from .topology import DEFAULT_SITES, EXTRA_ZONES, Host, Peer, Site, Topology
from .views import QueueView, world_html, world_rows
from .worker import Worker

__all__ = ["Site", "Peer", "Host", "Submission", "MailWorld", "DEFAULT_SITES", "EXTRA_ZONES", "start_world",
           "stop_world", "zone_text"]


@dataclass
class Submission(SendResult):
    """What the MUA got from the MSA: a `SendResult` with the sender, recipients and Message-ID."""

    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    message_id: str | None = None

    def _repr_html_(self) -> str:
        import html

        verdict = html.escape(_("accepted by the MSA") if self.ok else _("not accepted: {error}").format(
            error=self.error or ""))
        return f"<div><b>{verdict}</b></div>" + (self.transcript._repr_html_() if self.transcript else "")


class MailWorld:
    """The world: servers, DNS, MTAs, MDAs, a journal and the worker thread that runs them.

    ``peers``: servers outside the world (`Peer`); ``ports``: host name -> a fixed port for
    that world server (else a free one)."""

    def __init__(self, sites: Iterable[Site] = DEFAULT_SITES, *, extra_zones: Iterable[str] = EXTRA_ZONES,
                 retry: Iterable[float] | RetryPolicy = (1.0, 2.0, 4.0), tls: bool = True,
                 timeout: float = 5.0, max_queue: int = 200, peers: Iterable[Peer] = (),
                 ports: Mapping[str, int] | None = None) -> None:
        self.policy = retry if isinstance(retry, RetryPolicy) else RetryPolicy(tuple(retry))
        self.tls = tls
        self.timeout = timeout
        self.journal = Journal()
        self.topology = Topology(sites, peers=peers, extra_zones=extra_zones, ports=ports, journal=self.journal,
                                 policy=self.policy, tls=tls, timeout=timeout, max_queue=max_queue)
        self._root: Path | None = None
        self._errors: list[str] = []
        self._worker = Worker(self._step, next_due=self._next_due, busy=self._busy, on_error=self._error)

    # -- the parts, as attributes ------------------------------------------------------------
    @property
    def sites(self) -> tuple[Site, ...]:
        return self.topology.sites

    @property
    def peers(self) -> tuple[Peer, ...]:
        return self.topology.peers

    @property
    def dns(self):
        return self.topology.dns

    @property
    def ports(self) -> dict[str, int]:
        """Host name -> the port it listens on, as the MTAs read it (for a foreign server,
        declare a `Peer`; for a fixed port of a world server, pass ``ports=``)."""
        return self.topology.ports

    @property
    def hosts(self) -> list[Host]:
        return self.topology.hosts

    @property
    def mtas(self) -> dict[str, MTA]:
        return self.topology.mtas

    @property
    def mdas(self) -> dict[str, MDA]:
        return self.topology.mdas

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> MailWorld:
        """Start every server and the worker thread; returns self. Idempotent."""
        if self._worker.running:
            return self
        self._root = Path(tempfile.mkdtemp(prefix="smtpkit-world-"))
        try:
            self.topology.build(self._root)
        except BaseException:
            self._remove_root()
            raise
        for server in self.topology.spools:
            server.mailbox.on_commit(self._worker.wake)  # woken by deliveries, never polling
        self._worker.start()
        return self

    def _step(self) -> int:
        """One round: take in what the MSAs accepted, file what the MXs accepted, deliver."""
        mtas, mdas = self.mtas.values(), self.mdas.values()
        return sum(m.intake() for m in mtas) + sum(m.tick() for m in mdas) + sum(m.deliver_due() for m in mtas)

    def _next_due(self) -> float | None:
        due = [t for t in (m.queue.next_due() for m in self.mtas.values()) if t is not None]
        return min(due) if due else None

    def _busy(self) -> bool:
        return any(m.has_work() for m in self.mtas.values()) or any(m.has_work() for m in self.mdas.values())

    def _error(self, exc: Exception) -> None:
        self._errors.append(f"{type(exc).__name__}: {exc}")
        self.journal.add(Event(time.time(), "", "error", "world", note=self._errors[-1]))

    def stop(self) -> None:
        """Stop the worker, close every server, delete the spools and Maildirs. Idempotent."""
        self._worker.stop(timeout=self.timeout + 5)
        self.topology.stop()
        self._remove_root()

    def _remove_root(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    @property
    def running(self) -> bool:
        return self._worker.running

    @property
    def worker(self) -> Worker:
        """The thread that moves the mail (``worker.cpu_seconds()``, ``worker.rounds``)."""
        return self._worker

    def __enter__(self) -> MailWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- looking around ---------------------------------------------------------------------
    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name.lower():
                return host
        raise KeyError(_("no host {name}; hosts: {hosts}").format(
            name=name, hosts=", ".join(h.name for h in self.hosts)))

    def server(self, name: str) -> LabServer:
        """The lab server of host ``name`` (to add a `Behaviour`, read transcripts, ...)."""
        server = self.host(name).server
        if server is None:
            raise KeyError(_("{name} is a foreign server: the world has no lab server for it").format(name=name))
        return server

    def site(self, domain: str) -> Site:
        for site in self.sites:
            if site.domain == domain.lower():
                return site
        raise KeyError(_("no site {domain}").format(domain=domain))

    def mta(self, name: str | None = None) -> MTA:
        """The MTA on host ``name``; by default the first site's (smtp.uni.example)."""
        return self.mtas[name or self.sites[0].outbound]

    @property
    def queue(self) -> QueueView:
        """The queue of the default MTA, as ``mailq`` would show it."""
        return QueueView(self.mta())

    def mda(self, domain: str) -> MDA:
        return self.mdas[domain.lower()]

    def mailbox(self, address: str) -> Mailbox:
        """The Maildir of ``address`` (``.latest``, ``.find(subject=...)``, ``.wait_for(n)``)."""
        return self.mda(address.rpartition("@")[2]).mailbox(address)

    @property
    def errors(self) -> list[str]:
        return list(self._errors)

    # -- doing things -----------------------------------------------------------------------
    def send(self, sender: str, recipients: list[str] | str, *, subject: str = "", body: str = "",
             message: str | bytes | EmailMessage | None = None, notify: str | None = None,
             ret: str | None = None, envid: str | None = None, password: str | None = None,
             helo: str | None = None) -> Submission:
        """Be the sender's MUA: submit to the sender's MSA with STARTTLS and AUTH PLAIN
        (`send_mail`), then read the Message-ID the mail has in the journal.

        Without ``message`` a minimal one is written (From, To, Subject, body; no Date and
        no Message-ID: the MSA adds them, RFC 6409 §8). ``notify``, ``ret`` and ``envid`` are
        the DSN parameters of RFC 3461 (e.g. ``notify="SUCCESS,FAILURE"``, ``ret="HDRS"``);
        with ``notify`` each RCPT also carries ORCPT.
        """
        if isinstance(recipients, str):
            recipients = [recipients]
        local, _, domain = sender.partition("@")
        site = self.site(domain)
        if site.msa is None:
            raise ValueError(_("{domain} has no submission server").format(domain=domain))
        msa = self.server(site.msa)
        if password is None:
            password = dict(site.passwords).get(local, "")
        if message is None:
            message = (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\n"
                       f"{body}\r\n").encode()
        result = send_mail(msa.host, msa.port, sender, recipients, message,
                           ehlo_name=helo or f"{local}-laptop.{domain}", timeout=self.timeout + 5,
                           starttls=msa.client_tls_context() if self.tls else False,
                           auth=(sender, password), ret=ret, envid=envid, notify=notify, orcpt=bool(notify))
        sub = Submission(**vars(result), sender=sender, recipients=list(recipients))
        if sub.ok:
            # The worker reads the MSA's spool (one reader only) and notes the Message-ID the
            # MSA gave the mail in the "submitted" event, under the queue ID the MSA named.
            try:
                events = self.journal.wait(lambda evs: any(
                    e.kind == "submitted" and e.queue_id == sub.queue_id for e in evs), self.timeout)
                sub.message_id = next(e.message_id for e in events
                                      if e.kind == "submitted" and e.queue_id == sub.queue_id)
            except TimeoutError:
                sub.error = _("the MTA did not pick the mail up in time")
        return sub

    def wait_until_idle(self, timeout: float = 20.0) -> None:
        """Block until no mail is waiting anywhere (queues empty, spools all delivered)."""
        if not self.running:
            raise RuntimeError(_("the world is not running: call start()"))
        self._worker.wait_until_idle(timeout, describe=lambda: self.queue.to_text())

    def wait_for(self, kind: str, message: Any = None, timeout: float = 10.0) -> Event:
        """Block until an event of ``kind`` (e.g. ``"retry"``, ``"filed"``) happened to
        ``message`` (or to any message); returns that event."""
        mid = self._message_id(message) if message is not None else None
        found: list[Event] = []

        def seen(events: list[Event]) -> bool:
            found[:] = [e for e in events if e.kind == kind and (mid is None or e.message_id == mid)]
            return bool(found)

        self.journal.wait(seen, timeout)
        return found[0]

    def _message_id(self, message: Any) -> str:
        if isinstance(message, Submission):
            if not message.message_id:
                raise ValueError(_("the MSA did not accept this mail: {error}").format(error=message.error))
            return message.message_id
        if isinstance(message, StoredMessage):
            message = message.message
        if isinstance(message, Message):
            return str(message["Message-ID"])
        if isinstance(message, Journey):
            return message.message_id
        return str(message)

    def journey(self, message: Any) -> Journey:
        """Every event of this message (a `Submission`, a stored message or a Message-ID)
        and of the DSNs it caused, those that came back from foreign servers included."""
        return Journey.of(self.journal, self._message_id(message), self.roles())

    def roles(self) -> dict[str, str]:
        """Host name -> what it does here, e.g. ``{"mx.example.org": "MX 10"}``."""
        out = {}
        for host in self.hosts:
            role = host.role if host.preference is None or host.peer else f"MX {host.preference}"
            if host.name in self.mtas and host.role == "MSA":
                role += " + MTA"
            out[host.name] = role
        for site in self.sites:
            if site.msa:
                for user, _ in site.passwords:
                    out[f"{user}-laptop.{site.domain}"] = "MUA"
        return out

    def reset(self) -> None:
        """Forget behaviours, transcripts and the journal; empty the user mailboxes.

        Waits for mail in flight first, so nothing moves while the world is cleared."""
        self.wait_until_idle()
        with self._worker.lock:
            for host in self.hosts:
                if host.server is not None:
                    host.server.behaviours.clear()
                    host.server.transcripts.clear()
            for mda in self.mdas.values():
                for box in mda.mailboxes.values():
                    box.clear()
            self.journal.clear()

    # -- showing -----------------------------------------------------------------------------
    def picture(self):
        """The world as a drawing: hosts, domains, ports, the DNS, the mailboxes."""
        from .picture import world_picture

        return world_picture(self)

    def rows(self) -> list[dict[str, str]]:
        return world_rows(self)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MailWorld {state}: {', '.join(h.name for h in self.hosts)}>"

    def _repr_html_(self) -> str:
        return world_html(self)


_instance: NotebookInstance[MailWorld] = NotebookInstance(MailWorld)


def start_world(**settings: Any) -> MailWorld:
    """The notebook's one line: a running world, reused when the cell runs again with the
    same settings (another world is stopped first, so no thread or port is left behind)."""
    return _instance.start(**settings)


def stop_world() -> None:
    """Stop the world `start_world` made, if any."""
    _instance.stop()
