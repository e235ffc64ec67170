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
what happens is repeatable; time is sped up by the retry schedule (seconds, not hours).
Everything is bounded: queue sizes, tries, SMTP timeouts; `stop` ends the thread, closes
every server and deletes the temporary folders.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

from ..client import SendResult, SMTPClientError, SMTPSession
from ..notebook_instance import NotebookInstance
from ..server import LabServer
from ..server.mailbox import Mailbox, StoredMessage
from .dns import LocalDNS, zone_text
from .journal import Event, Journal, Journey
from .mda import MDA
from .msa import SubmissionServer
from .mta import MTA
from .queue import RetryPolicy

__all__ = ["Site", "Host", "Submission", "MailWorld", "DEFAULT_SITES", "EXTRA_ZONES", "start_world",
           "stop_world"]


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

    @property
    def outbound(self) -> str:
        """The host whose MTA sends this site's mail (and bounces)."""
        return self.msa or sorted(self.mx)[0][1]


DEFAULT_SITES: tuple[Site, ...] = (
    Site("uni.example", ("alice",), ((10, "mx.uni.example"),), msa="smtp.uni.example",
         passwords=(("alice", "wonderland"),)),
    Site("example.org", ("bob", "carol"), ((10, "mx.example.org"), (20, "mx2.example.org"))),
)

#: Zones without servers: a domain that says it takes no mail at all (RFC 7505).
EXTRA_ZONES: tuple[str, ...] = (zone_text("nomail.example", [(0, ".")]),)


@dataclass(frozen=True)
class Host:
    """A server of the world: its name, role, domain, the lab server, its nominal port."""

    name: str
    role: str
    domain: str
    server: LabServer = field(repr=False)
    nominal_port: int
    preference: int | None = None

    @property
    def address(self) -> str:
        return f"{self.server.host}:{self.server.port}"


class _Refused(Exception):
    """The MSA refused (STARTTLS, the login, MAIL, every recipient) or hung up with a 421:
    the submission ends there; the message is the error to report."""


def _quit_quietly(session: SMTPSession) -> None:
    """QUIT if still connected; a failing QUIT must not hide why the submission ended."""
    if session.connected:
        try:
            session.quit()
        except SMTPClientError:
            pass


@dataclass
class Submission(SendResult):
    """What the MUA got from the MSA: a `SendResult` with the sender, recipients and Message-ID."""

    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    message_id: str | None = None

    def _repr_html_(self) -> str:
        verdict = "accepted by the MSA" if self.ok else f"not accepted: {html.escape(self.error or '')}"
        return f"<div><b>{verdict}</b></div>" + (self.transcript._repr_html_() if self.transcript else "")


class MailWorld:
    """The world: servers, DNS, MTAs, MDAs, a journal and the worker thread that runs them."""

    def __init__(self, sites: Iterable[Site] = DEFAULT_SITES, *, extra_zones: Iterable[str] = EXTRA_ZONES,
                 retry: Iterable[float] | RetryPolicy = (1.0, 2.0, 4.0), tls: bool = True,
                 timeout: float = 5.0, max_queue: int = 200) -> None:
        self.sites = tuple(sites)
        domains = [s.domain for s in self.sites]
        if len(set(domains)) != len(domains):
            raise ValueError("one site per domain")
        self.policy = retry if isinstance(retry, RetryPolicy) else RetryPolicy(tuple(retry))
        self.tls = tls
        self.timeout = timeout
        self.max_queue = max_queue
        self.journal = Journal()
        self.dns = LocalDNS.from_texts(
            [zone_text(s.domain, s.mx, [s.msa] if s.msa else []) for s in self.sites] + list(extra_zones))
        #: Host name -> the port it listens on (all hosts share 127.0.0.1: this stands in for
        #: "port 25 (or 587) on that host").
        self.ports: dict[str, int] = {}
        self.hosts: list[Host] = []
        self.mtas: dict[str, MTA] = {}
        self.mdas: dict[str, MDA] = {}
        self._root: Path | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._errors: list[str] = []

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> MailWorld:
        """Start every server and the worker thread; returns self. Idempotent."""
        if self._thread is not None:
            return self
        self._root = Path(tempfile.mkdtemp(prefix="smtpkit-world-"))
        self._stopping.clear()
        try:
            for site in self.sites:
                self._build_site(site)
        except BaseException:
            self._stop_servers()
            raise
        self._thread = threading.Thread(target=self._run, name="kit-mail-world", daemon=True)
        self._thread.start()
        return self

    def _server(self, cls: type[LabServer], name: str, **settings: Any) -> LabServer:
        if not self.tls:
            # aiosmtpd warns on every connection when AUTH is offered without TLS; here that is a
            # choice made for teaching (tls=False), so that one warning is silenced.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
        server = cls(hostname=name, maildir=str(self._root / "spool" / name), durable=False, tls=self.tls,
                     idle_timeout=30.0, max_sessions=20, on_line=self._on_line, **settings).start()
        self.ports[name] = server.port
        return server

    def _build_site(self, site: Site) -> None:
        mta = MTA(site.outbound, dns=self.dns, ports=self.ports, journal=self.journal, policy=self.policy,
                  tls=self.tls, timeout=self.timeout, max_queue=self.max_queue)
        self.mtas[site.outbound] = mta
        mda = MDA(f"MDA {site.domain}", site.domain, self._root / "mailboxes", site.users, journal=self.journal,
                  outbound=mta)
        self.mdas[site.domain] = mda
        if site.msa:
            auth = {f"{u}@{site.domain}": pw for u, pw in site.passwords}
            msa = self._server(SubmissionServer, site.msa, domains=[site.domain], users=list(site.users),
                               auth=auth, auth_require_tls=self.tls)
            self.hosts.append(Host(site.msa, "MSA", site.domain, msa, 587))
            mta.watch(msa)
        for preference, name in sorted(site.mx):
            mx = self._server(LabServer, name, domains=[site.domain],
                              users=list(site.users) if site.verify_recipients else None)
            self.hosts.append(Host(name, "MX", site.domain, mx, 25, preference))
            mda.watch(mx)

    def _on_line(self, transcript, direction, text: str) -> None:
        if direction == "server" and text.startswith("250 2.0.0 Ok: queued"):
            self._wake.set()  # new mail in a spool: wake the worker now

    def _run(self) -> None:
        while not self._stopping.is_set():
            failed = False
            with self._lock:
                try:
                    worked = self._tick()
                except Exception as exc:  # never die silently: keep the error, go on
                    worked, failed = 0, True
                    self._errors.append(f"{type(exc).__name__}: {exc}")
                    self.journal.add(Event(time.time(), "", "error", "world", note=self._errors[-1]))
                due = [t for t in (m.queue.next_due() for m in self.mtas.values()) if t is not None]
            if worked:
                continue
            wait = 0.1 if not due else min(0.1, max(0.0, min(due) - time.time()))
            if failed:  # an entry that fails every time must not spin the worker
                wait = 0.5
            self._wake.wait(wait)
            self._wake.clear()

    def _tick(self) -> int:
        worked = 0
        for mta in self.mtas.values():
            worked += mta.intake()
        for mda in self.mdas.values():
            worked += mda.tick()
        for mta in self.mtas.values():
            worked += mta.tick()
        return worked

    def stop(self) -> None:
        """Stop the worker, close every server, delete the spools and Maildirs. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(timeout=self.timeout + 5)
        self._stop_servers()

    def _stop_servers(self) -> None:
        for host in self.hosts:
            host.server.stop()
        for mda in self.mdas.values():
            for box in mda.mailboxes.values():
                box.close()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> MailWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- looking around ---------------------------------------------------------------------
    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name.lower():
                return host
        raise KeyError(f"no host {name}; hosts: {', '.join(h.name for h in self.hosts)}")

    def server(self, name: str) -> LabServer:
        """The lab server of host ``name`` (to add a `Behaviour`, read transcripts, ...)."""
        return self.host(name).server

    def site(self, domain: str) -> Site:
        for site in self.sites:
            if site.domain == domain.lower():
                return site
        raise KeyError(f"no site {domain}")

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
        """Be the sender's MUA: submit to the sender's MSA with STARTTLS and AUTH PLAIN.

        Without ``message`` a minimal one is written (From, To, Subject, body; no Date and
        no Message-ID: the MSA adds them, RFC 6409 §8). ``notify``, ``ret`` and ``envid`` are
        the DSN parameters of RFC 3461 (e.g. ``notify="SUCCESS,FAILURE"``, ``ret="HDRS"``).
        """
        if isinstance(recipients, str):
            recipients = [recipients]
        local, _, domain = sender.partition("@")
        site = self.site(domain)
        if site.msa is None:
            raise ValueError(f"{domain} has no submission server")
        msa = self.host(site.msa).server
        if password is None:
            password = dict(site.passwords).get(local, "")
        if message is None:
            message = (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\n"
                       f"{body}\r\n").encode()
        session = SMTPSession(msa.host, msa.port, timeout=self.timeout + 5, connect=False)
        sub = Submission(transcript=session.transcript, sender=sender, recipients=list(recipients))

        def go_on(reply, command: str):
            if not session.connected:  # a 421 ends the session (RFC 5321 §3.8): that is the news
                raise _Refused(f"the server closed the connection: {reply.summary} (in reply to {command})")
            return reply

        try:
            greeting = session.connect()
            if not greeting.is_positive:
                raise _Refused(f"greeting refused: {greeting.summary}")
            name = helo or f"{local}-laptop.{domain}"
            go_on(session.ehlo(name), "EHLO")
            if self.tls:
                reply = go_on(session.starttls(msa.client_tls_context()), "STARTTLS")
                if reply.code != 220:
                    raise _Refused(f"STARTTLS refused: {reply.summary}")
                go_on(session.ehlo(name), "EHLO")
            reply = go_on(session.auth(sender, password), "AUTH")
            if reply.code != 235:  # a refused login ends the submission, as send_mail does
                raise _Refused(f"AUTH refused: {reply.summary}")
            reply = go_on(session.mail(sender, **{k: v for k, v in (("RET", ret), ("ENVID", envid)) if v}),
                          "MAIL FROM")
            if not reply.is_positive:
                raise _Refused(f"MAIL refused: {reply.summary}")
            for rcpt in recipients:
                params = {"NOTIFY": notify, "ORCPT": f"rfc822;{rcpt}" if notify else None}
                reply = go_on(session.rcpt(rcpt, **{k: v for k, v in params.items() if v}), f"RCPT TO:<{rcpt}>")
                (sub.accepted if reply.is_positive else sub.refused)[rcpt] = reply
            if not sub.accepted:
                session.rset()
                raise _Refused("no recipient accepted")
            sub.final = session.data(message)
            if not sub.final.is_positive:
                go_on(sub.final, "DATA")
                sub.error = f"message refused: {sub.final.summary}"
            _quit_quietly(session)
        except _Refused as refused:
            sub.error = str(refused)
            _quit_quietly(session)
        except SMTPClientError as exc:
            sub.error = str(exc)
        finally:
            session.close()
            named = {**sub.accepted, **sub.refused}
            sub.not_tried = [r for r in dict.fromkeys(recipients) if r not in named]
        if sub.ok:
            # The worker reads the MSA's spool (one reader only) and notes the Message-ID
            # the MSA gave the mail in the "submitted" event; take it from there.
            self._wake.set()
            marker = f"queued as {sub.queue_id}"
            try:
                event = self.journal.wait(lambda events: any(
                    e.kind == "submitted" and marker in (e.reply or "") for e in events), self.timeout)
                sub.message_id = next(e.message_id for e in event
                                      if e.kind == "submitted" and marker in (e.reply or ""))
            except TimeoutError:
                sub.error = "the MTA did not pick the mail up in time"
        return sub

    def _idle(self) -> bool:
        with self._lock:
            return not any(m.has_work() for m in self.mtas.values()) and \
                not any(m.has_work() for m in self.mdas.values())

    def wait_until_idle(self, timeout: float = 20.0) -> None:
        """Block until no mail is waiting anywhere (queues empty, spools all delivered)."""
        deadline = time.monotonic() + timeout
        while not self._idle():
            if not self.running:
                raise RuntimeError("the world is not running: call start()")
            if time.monotonic() > deadline:
                raise TimeoutError(f"mail still moving after {timeout:.1f} s: {self.queue.to_text()}")
            time.sleep(0.02)

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
                raise ValueError(f"the MSA did not accept this mail: {message.error}")
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
        and of the DSNs it caused."""
        return Journey.of(self.journal, self._message_id(message), self.roles())

    def roles(self) -> dict[str, str]:
        """Host name -> what it does here, e.g. ``{"mx.example.org": "MX 10"}``."""
        out = {}
        for host in self.hosts:
            role = host.role if host.preference is None else f"MX {host.preference}"
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
        with self._lock:
            for host in self.hosts:
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
        out = []
        for host in self.hosts:
            role = host.role if host.preference is None else f"MX (preference {host.preference})"
            if host.name in self.mtas:
                role += " + MTA (queue)" if host.role == "MSA" else " + MTA (sends its MDA's reports)"
            out.append({"host": host.name, "domain": host.domain, "role": role,
                        "stands for port": str(host.nominal_port),
                        "listens on": host.address if host.server.running else "stopped"})
        return out

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MailWorld {state}: {', '.join(h.name for h in self.hosts)}>"

    def _repr_html_(self) -> str:
        rows = self.rows()
        if not rows:
            return f"<div>{html.escape(repr(self))}</div>"
        keys = list(rows[0])
        head = "".join(f"<th style='text-align:left'>{k}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(r[k])}</td>" for k in keys)
                       + "</tr>" for r in rows)
        boxes = ", ".join(sorted(a for m in self.mdas.values() for a in m.mailboxes))
        return (f"<div><b>MailWorld</b> ({'running' if self.running else 'stopped'})"
                f"<table><tr>{head}</tr>{body}</table>mailboxes: {html.escape(boxes)}</div>")


class QueueView:
    """An MTA's queue shown now (``mailq``): HTML in Jupyter, text with ``print``."""

    def __init__(self, mta: MTA) -> None:
        self.mta = mta

    def to_text(self) -> str:
        return f"{self.mta.hostname}: " + self.mta.queue.to_text(time.time())

    def __str__(self) -> str:
        return self.to_text()

    def __len__(self) -> int:
        return len(self.mta.queue)

    def _repr_html_(self) -> str:
        return self.mta.queue.to_html(time.time(), title=f"queue of {self.mta.hostname}")


_instance: NotebookInstance[MailWorld] = NotebookInstance(MailWorld)


def start_world(**settings: Any) -> MailWorld:
    """The notebook's one line: a running world, reused when the cell runs again with the
    same settings (another world is stopped first, so no thread or port is left behind)."""
    return _instance.start(**settings)


def stop_world() -> None:
    """Stop the world `start_world` made, if any."""
    _instance.stop()
