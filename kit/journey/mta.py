"""The MTA: takes accepted mail into its queue and moves it on over SMTP, like Postfix's
qmgr and smtp client.

The lab servers never relay by themselves (RFC 5321 §7.1). An `MTA` watches the Maildir of
the server(s) that feed it (the MSA), takes each new message into its `MailQueue` and, when
the entry is due, delivers it: it looks up the recipient domain's MX records in the local
DNS, tries the hosts in order of preference (RFC 5321 §5.1), and speaks SMTP as a client:
EHLO with its own name, STARTTLS when offered (opportunistic, RFC 3207, RFC 7435), MAIL
with RET/ENVID and RCPT with NOTIFY/ORCPT when the next hop offers DSN (RFC 3461 §5).

What the replies mean for each recipient (RFC 5321 §4.2.1, §4.5.4.1):

* 2yz after the final dot: the next hop took over; the recipient is done here.
* 4yz: *deferred*; the entry stays queued and is tried again after the policy's wait. No
  answer at all (connection refused, 421 greeting, a peer that does not speak SMTP) makes
  the MTA try the next MX first.
* 5yz: *failed* at once; the sender gets a DSN (`kit.journey.bounce`) with the reply as
  ``Diagnostic-Code``, sent with ``MAIL FROM:<>`` (§4.5.5) through the same queue.
* After the last try, deferred recipients fail too ("gave up").

Every step is written to the world's `Journal`; `MTA.tick` does one round of work and is
called by the world's single worker thread, never concurrently. An event's note is recorded in
English (``N_``: a `kit.i18n.Deferred`, the English text that checks match on) and shown in the
kit's language; the texts that go into a DSN (replies, diagnostics) stay English, as on the wire.
"""

from __future__ import annotations

import email.policy
import ssl
import time
from collections.abc import Callable, Collection, Mapping
from email.utils import make_msgid

from ..client import SMTPClientError, SMTPProtocolError, SMTPSession
from ..i18n import N_
from ..localdns import MX, DNSError, LocalDNS
from ..protocol import Reply
from ..server import LabServer, SpoolReader, new_queue_id
from .bounce import RecipientReport, make_dsn, wants_dsn
from .content import count_received, header_fields, local_received, prepend_fields
from .events import Event
from .journal import Journal
from .queue import DEFERRED, DELIVERED, FAILED, MailQueue, QueueEntry, Recipient, RetryPolicy, recipients_from

__all__ = ["MTA", "MAX_RECEIVED", "opportunistic_tls_context"]

#: The note of a DSN event and of the DSN's own "queued" event, per action (RFC 3464 §2.3.3).
_DSN_SENT = {"failed": N_("failed DSN to <{sender}>"), "delayed": N_("delayed DSN to <{sender}>"),
             "delivered": N_("delivered DSN to <{sender}>")}
_DSN_QUEUED = {"failed": N_("a failed DSN about {message_id}, from <> (RFC 5321 §4.5.5)"),
               "delayed": N_("a delayed DSN about {message_id}, from <> (RFC 5321 §4.5.5)"),
               "delivered": N_("a delivered DSN about {message_id}, from <> (RFC 5321 §4.5.5)")}

#: RFC 5321 §6.3: count Received fields to detect loops; reject at "at least 100".
MAX_RECEIVED = 100


def opportunistic_tls_context() -> ssl.SSLContext:
    """TLS between MTAs without checking the certificate: encryption against eavesdroppers
    but not against an active attacker (opportunistic security, RFC 7435), as most MTAs do
    on port 25 unless DANE or MTA-STS says otherwise."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _one_line(reply: Reply) -> str:
    return " / ".join(str(reply).splitlines())


def _status(reply: Reply) -> str:
    return reply.enhanced or f"{reply.first_digit}.0.0"


class _Problem(Exception):
    """A host could not take part in a transaction (no connection, 421, ...): try the next."""

    def __init__(self, text: str, status: str = "4.4.1", diagnostic_type: str = "X-smtpkit") -> None:
        super().__init__(text)
        self.status, self.diagnostic_type = status, diagnostic_type


class MTA:
    """A queue and its delivery agent, acting as host ``hostname`` (its EHLO name)."""

    def __init__(self, hostname: str, *, dns: LocalDNS, ports: Mapping[str, int], journal: Journal,
                 policy: RetryPolicy | None = None, tls: bool = True, timeout: float = 5.0,
                 max_queue: int = 200, clock: Callable[[], float] = time.time,
                 relayhost: str | None = None, foreign: Collection[str] = ()) -> None:
        self.hostname = hostname
        self.dns = dns
        #: Host name -> port (the DNS gives the address; 25 when a host is not listed).
        self.ports = ports
        #: Send everything through this host instead of the MX (a smarthost, Postfix's relayhost).
        self.relayhost = relayhost
        #: Hosts outside the world (a real Postfix, ...): what they do next is their own affair.
        self.foreign = frozenset(h.lower() for h in foreign)
        self.journal = journal
        self.queue = MailQueue(policy, max_entries=max_queue)
        self.tls = tls
        self.timeout = timeout
        self.clock = clock
        self._spools: list[SpoolReader] = []
        self._tls_context = opportunistic_tls_context() if tls else None

    @property
    def policy(self) -> RetryPolicy:
        return self.queue.policy

    @policy.setter
    def policy(self, policy: RetryPolicy) -> None:
        self.queue.policy = policy

    # -- intake ---------------------------------------------------------------------------
    def watch(self, server: LabServer) -> SpoolReader:
        """Take every message ``server`` accepts into this queue (as Postfix's pickup would)."""
        reader = SpoolReader(server.mailbox, server.config.hostname)
        self._spools.append(reader)
        return reader

    def has_work(self) -> bool:
        return len(self.queue) > 0 or any(s.pending() for s in self._spools)

    def intake(self) -> int:
        """Queue the messages the watched servers accepted since the last call (what does
        not fit stays in the server's spool until there is room)."""
        count = 0
        for spool in self._spools:
            room = self.queue.max_entries - len(self.queue)
            if room <= 0:
                break
            for item in spool.take(limit=room):
                env = item.envelope
                self.journal.add(Event(
                    env.received_at, item.message_id, "submitted", env.helo or "client", item.host,
                    env.rcpt_tos, f"250 2.0.0 Ok: queued as {env.queue_id}", "ok",
                    N_("accepted {protocol}", protocol=env.protocol), subject=item.subject, queue_id=env.queue_id))
                self.enqueue(item.content, env.mail_from, list(env.rcpt_tos), rcpt_options=env.rcpt_options,
                             mail_options=env.mail_options, received_from=env.helo, queue_id=env.queue_id,
                             arrived=env.received_at)
                count += 1
        return count

    def enqueue(self, content: bytes, sender: str, recipients: list[str], *,
                rcpt_options: dict | None = None, mail_options: tuple[str, ...] = (),
                received_from: str = "", queue_id: str | None = None, arrived: float | None = None,
                note: str = "") -> QueueEntry:
        """Put a message into the queue (the watched servers' mail, or a DSN made here)."""
        now = self.clock()
        params = {k.upper(): v for k, _, v in (o.partition("=") for o in mail_options)}
        fields = header_fields(content)
        entry = QueueEntry(
            queue_id=queue_id or new_queue_id(), sender=sender,
            recipients=recipients_from(recipients, rcpt_options), content=content,
            message_id=fields["Message-ID"] or make_msgid(domain=self.hostname), subject=fields["Subject"],
            arrived=arrived if arrived is not None else now, received_from=received_from,
            ret=params.get("RET"), envid=params.get("ENVID"))
        self.queue.add(entry, now)
        if entry.envid:
            self.journal.envids.setdefault(entry.envid, entry.message_id)
        self.journal.add(Event(now, entry.message_id, "queued", self.hostname, None, tuple(recipients),
                               note=note or N_("in the queue of {host}", host=self.hostname),
                               subject=entry.subject))
        return entry

    # -- delivery ---------------------------------------------------------------------------
    def tick(self) -> int:
        """One round: take in new mail, try every due entry once. Returns how much was done."""
        return self.intake() + self.deliver_due()

    def deliver_due(self) -> int:
        """Try every due entry once. An error of the MTA itself defers the entry (with the
        reason, RFC 3463 X.3.0) instead of stopping the round: the retry schedule bounds it."""
        done = 0
        for entry in self.queue.due(self.clock()):
            try:
                self._try(entry)
            except Exception as exc:  # a bug or a peer nobody foresaw: never a loop
                self._failed_try(entry, exc)
            done += 1
        return done

    def _failed_try(self, entry: QueueEntry, exc: Exception) -> None:
        text = f"local error in the MTA: {type(exc).__name__}: {exc}"  # the DSN's diagnostic: English
        self.journal.add(Event(self.clock(), entry.message_id, "error", self.hostname, None,
                               tuple(r.address for r in entry.open_recipients()), None, "deferred",
                               N_("local error in the MTA: {error}", error=f"{type(exc).__name__}: {exc}"),
                               subject=entry.subject))
        for r in entry.open_recipients():
            self._set(r, DEFERRED, "4.3.0", text, None, "X-smtpkit")
        if entry.next_try <= self.clock():  # _try broke before scheduling: count the try here
            wait = self.queue.tried(entry, self.clock())
            if wait is None:
                for r in entry.open_recipients():
                    r.state = FAILED
                failed = [r for r in entry.recipients if r.state == FAILED and not r.reported]
                if failed:
                    self.report(entry, failed, "failed")
        if entry.done:
            self.queue.remove(entry)

    def _try(self, entry: QueueEntry) -> None:
        open_now = entry.open_recipients()
        if count_received(entry.content) >= MAX_RECEIVED:
            for r in open_now:
                self._set(r, FAILED, "5.4.6", f"mail forwarding loop: {MAX_RECEIVED} or more Received fields "
                          "(RFC 5321 §6.3)", None, "X-smtpkit")
        else:
            by_domain: dict[str, list[Recipient]] = {}
            for r in open_now:
                by_domain.setdefault(r.domain, []).append(r)
            for domain, recipients in by_domain.items():
                self._deliver_domain(entry, domain, recipients)
        now = self.clock()
        wait = self.queue.tried(entry, now)
        failed = [r for r in entry.recipients if r.state == FAILED and not r.reported]
        if failed:
            self.report(entry, failed, "failed")
        deferred = entry.open_recipients()
        if deferred and wait is None:
            for r in deferred:  # no try left: the transient failure becomes final
                r.state = FAILED
            self.journal.add(Event(now, entry.message_id, "gave up", self.hostname, None,
                                   tuple(r.address for r in deferred), deferred[0].reply, "failed",
                                   N_("no delivery after {attempts} tries ({seconds:.3f} s)",
                                      attempts=entry.attempts, seconds=self.policy.give_up_after),
                                   subject=entry.subject))
            self.report(entry, deferred, "failed")
        elif deferred:
            self.journal.add(Event(now, entry.message_id, "retry", self.hostname, None,
                                   tuple(r.address for r in deferred), None, "deferred",
                                   N_("try {n} of {total} in {wait:.3f} s", n=entry.attempts + 1,
                                      total=self.policy.max_attempts, wait=wait),
                                   wait, subject=entry.subject))
            want_delay = [r for r in deferred if not r.delay_notified and r.notify and "DELAY" in r.notify]
            if want_delay:
                for r in want_delay:
                    r.delay_notified = True
                self.report(entry, want_delay, "delayed", retry_until=entry.next_try + sum(
                    self.policy.schedule[entry.attempts:]))
        if entry.done:
            self.queue.remove(entry)

    @staticmethod
    def _set(r: Recipient, state: str, status: str, reply: str, remote: str | None,
             diagnostic_type: str = "smtp") -> None:
        r.state, r.status, r.reply, r.remote, r.diagnostic_type = state, status, reply, remote, diagnostic_type

    def _deliver_domain(self, entry: QueueEntry, domain: str, recipients: list[Recipient]) -> None:
        start = self.clock()
        try:
            route = [MX(0, self.relayhost)] if self.relayhost else self.dns.route(domain)
        except DNSError as exc:
            for r in recipients:
                self._set(r, FAILED, exc.status, str(exc), None, "X-smtpkit")
            self.journal.add(Event(start, entry.message_id, "attempt", self.hostname, f"DNS: {domain}",
                                   tuple(r.address for r in recipients), f"{exc.status} {exc}", "failed",
                                   N_("MX lookup failed"), subject=entry.subject))
            return
        problem: _Problem | None = None
        for mx in route:
            try:
                self._transaction(entry, mx.host, recipients)
                return
            except _Problem as exc:
                problem = exc  # §5.1: this host did not answer; try the next one
        assert problem is not None
        for r in recipients:
            self._set(r, DEFERRED, problem.status, str(problem), None, problem.diagnostic_type)

    def _transaction(self, entry: QueueEntry, host: str, recipients: list[Recipient]) -> None:
        """One SMTP session with ``host``. Raises `_Problem` if the host could not take part."""
        start = self.clock()
        try:
            address = self.dns.address(host)
        except DNSError as exc:
            raise _Problem(str(exc), "4.4.3") from None
        port = self.ports.get(host, 25)
        session = SMTPSession(address, port, timeout=self.timeout, connect=False)
        rcpts = tuple(r.address for r in recipients)

        def log(reply: str, outcome: str, note: str) -> None:
            self.journal.add(Event(start, entry.message_id, "attempt", self.hostname, host, rcpts, reply, outcome,
                                   note, self.clock() - start, subject=entry.subject,
                                   transcript=session.transcript))

        try:
            try:
                greeting = session.connect()
            except SMTPProtocolError as exc:  # e.g. a POP3 server on that port: deferred, not a crash
                text = f"{host}[{address}:{port}]: {exc}"
                log(text, "deferred", N_("not an SMTP server; next MX"))
                raise _Problem(text, "4.5.0") from None
            except SMTPClientError as exc:
                text = f"connect to {host}[{address}:{port}]: {exc}"
                log(text, "deferred", N_("no connection; try {n}", n=entry.attempts + 1))
                raise _Problem(text) from None
            if not greeting.is_positive:
                if session.connected:  # after a 554 greeting the server waits for QUIT (RFC 5321 §3.1)
                    try:
                        session.quit()
                    except SMTPClientError:
                        pass
                log(_one_line(greeting), "deferred", N_("refused at the greeting; next MX"))
                raise _Problem(f"host {host} refused to talk to me: {_one_line(greeting)}",
                               _status(greeting), "smtp")
            if not session.ehlo(self.hostname).is_positive:
                session.helo(self.hostname)
            ext = session.extensions
            if self._tls_context is not None and ext is not None and ext.supports("STARTTLS"):
                if session.starttls(self._tls_context).code == 220:
                    session.ehlo(self.hostname)
                    ext = session.extensions
            dsn = ext is not None and ext.supports("DSN")
            mail_params = {}
            if dsn:
                mail_params = {"RET": entry.ret, "ENVID": entry.envid}
            mail = session.mail(entry.sender or None, **{k: v for k, v in mail_params.items() if v})
            if mail.is_transient:
                log(_one_line(mail), "deferred", N_("MAIL refused for now; next MX"))
                session.quit()
                raise _Problem(f"host {host} said: {_one_line(mail)} (in reply to MAIL FROM command)",
                               _status(mail), "smtp")
            if mail.is_permanent:
                for r in recipients:
                    self._set(r, FAILED, _status(mail), _one_line(mail), host)
                log(_one_line(mail), "failed", N_("sender refused"))
                session.quit()
                return
            accepted = []
            for r in recipients:
                params = {"NOTIFY": ",".join(r.notify) if r.notify else None, "ORCPT": r.orcpt} if dsn else {}
                reply = session.rcpt(r.address, **{k: v for k, v in params.items() if v})
                if reply.is_positive:
                    accepted.append(r)
                else:
                    state = DEFERRED if reply.is_transient else FAILED
                    self._set(r, state, _status(reply), _one_line(reply), host)
            if not accepted:
                session.rset()
                session.quit()
                worst = recipients[0]
                log(worst.reply or "", "deferred" if worst.state == DEFERRED else "failed",
                    N_("no recipient accepted"))
                return
            final = session.data(entry.content)
            state = DELIVERED if final.is_positive else DEFERRED if final.is_transient else FAILED
            for r in accepted:
                self._set(r, state, _status(final), _one_line(final), host)
            session.quit()
            outcomes = {r.state for r in recipients}
            outcome = "ok" if outcomes == {DELIVERED} else "failed" if FAILED in outcomes else "deferred"
            passed = (N_("handed to a foreign server (its queue from here; a DSN it sends back joins this "
                         "journey)") if host.lower() in self.foreign else N_("relayed to the next hop"))
            log(_one_line(final), outcome, passed if state == DELIVERED else N_("message refused"))
        except SMTPProtocolError as exc:  # garbage in the middle of the dialogue (RFC 3463 X.5.0)
            log(str(exc), "deferred", N_("not SMTP; hung up"))
            raise _Problem(f"{host}[{address}:{port}] broke the protocol: {exc}", "4.5.0") from None
        except SMTPClientError as exc:  # the connection broke in the middle
            log(str(exc), "deferred", N_("connection lost"))
            raise _Problem(f"lost connection with {host}[{address}:{port}]: {exc}") from None
        finally:
            session.close()

    # -- reports ----------------------------------------------------------------------------
    def report(self, entry: QueueEntry, recipients: list[Recipient], action: str, *,
               retry_until: float | None = None, reporting_mta: str | None = None) -> str | None:
        """Send the sender a DSN about ``recipients`` (if NOTIFY wants one); its Message-ID."""
        now = self.clock()
        wanted = [r for r in recipients if wants_dsn(r.notify, action)]
        if action != "delayed":
            for r in recipients:
                r.reported = True
        rcpts = tuple(r.address for r in recipients)
        if not entry.sender:
            self.journal.add(Event(now, entry.message_id, "no dsn", self.hostname, None, rcpts,
                                   note=N_("the sender is <>: a bounce is never bounced (RFC 5321 §4.5.5)"),
                                   subject=entry.subject))
            return None
        if not wanted:
            self.journal.add(Event(now, entry.message_id, "no dsn", self.hostname, None, rcpts,
                                   note=N_("NOTIFY asks for no report of this (RFC 3461 §4.1)"),
                                   subject=entry.subject))
            return None
        reporter = reporting_mta or self.hostname
        reports = [RecipientReport(
            r.address, action,
            "2.0.0" if action == "delivered" else (r.status or ("4.0.0" if action == "delayed" else "5.0.0")),
            remote_mta=r.remote, diagnostic=f"{r.diagnostic_type}; {r.reply}" if r.reply else None,
            original_recipient=r.orcpt, last_attempt=entry.last_try if action != "delivered" else None,
            will_retry_until=retry_until if action == "delayed" else None) for r in wanted]
        queue_id = new_queue_id()
        dsn = make_dsn(reporting_mta=reporter, sender=entry.sender, reports=reports, original=entry.content,
                       arrival=entry.arrived, envid=entry.envid, ret=entry.ret,
                       received_from_mta=entry.received_from or None, now=now,
                       boundary=f"{queue_id}.{int(now)}/{reporter}")
        content = prepend_fields(dsn.as_bytes(policy=email.policy.SMTP),
                                 [("Received", local_received(reporter, queue_id, now))])
        dsn_id = str(dsn["Message-ID"])
        sent = _DSN_SENT.get(action, "{action} DSN to <{sender}>")
        queued = _DSN_QUEUED.get(action, "a {action} DSN about {message_id}, from <> (RFC 5321 §4.5.5)")
        self.journal.add(Event(now, entry.message_id, "bounce" if action == "failed" else "dsn",
                               reporter, entry.sender, tuple(r.address for r in wanted), None,
                               "failed" if action == "failed" else None,
                               N_(sent, action=action, sender=entry.sender), related=dsn_id,
                               subject=entry.subject))
        self.enqueue(content, "", [entry.sender], queue_id=queue_id, arrived=now,
                     note=N_(queued, action=action, message_id=entry.message_id))
        return dsn_id

    def __repr__(self) -> str:
        return f"<MTA {self.hostname}: {len(self.queue)} queued>"
