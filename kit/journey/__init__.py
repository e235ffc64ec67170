"""The journey of a mail: a small world of mail servers on 127.0.0.1, built by one call.

::

    from kit.journey import start_world
    world = start_world()
    sent = world.send("alice@uni.example", "bob@example.org", subject="Hi", body="Hello")
    world.wait_until_idle()
    world.journey(sent)            # MUA -> MSA -> MTA queue -> MX -> MDA -> Bob's Maildir

One module per job: `dns` (the MX lookup of RFC 5321 §5, from the neutral `kit.localdns`),
`queue` (the MTA's FIFO queue and retry schedule, §4.5.4.1), `mta` (the delivery agent: SMTP
client, retries, bounces), `msa` (submission, RFC 6409), `mda` (per-user Maildirs), `bounce`
(DSNs, RFC 3461 and RFC 3464), `events` and `journal` (what happened, per message),
`topology` (sites, foreign peers, building the servers), `worker` (the thread, woken by
deliveries), `views` (tables), `world` (the `MailWorld` facade) and `picture` (matplotlib
drawings of the world and of a journey). No module imports one that imports it back.
"""

from __future__ import annotations

from .bounce import DSN, RecipientReport, make_dsn, read_dsn, wants_dsn
from .dns import MX, DNSError, LocalDNS, NoSuchDomain, NullMX, zone_text
from .journal import Event, Journal, Journey
from .mda import MDA
from .msa import SubmissionServer
from .mta import MTA
from .queue import MailQueue, QueueEntry, Recipient, RetryPolicy
from .topology import DEFAULT_SITES, Host, Peer, Site
from .world import MailWorld, Submission, start_world, stop_world

__all__ = [
    "DSN", "RecipientReport", "make_dsn", "read_dsn", "wants_dsn",
    "MX", "DNSError", "LocalDNS", "NoSuchDomain", "NullMX", "zone_text",
    "Event", "Journal", "Journey", "MDA", "SubmissionServer", "MTA",
    "MailQueue", "QueueEntry", "Recipient", "RetryPolicy",
    "DEFAULT_SITES", "Host", "MailWorld", "Peer", "Site", "Submission", "start_world", "stop_world",
]
