"""The mail world speaks German where students read it: a real world's journal table, pictures,
tables and errors with ``SMTPKIT_LANG=de``; English unchanged by default, byte for byte.

Everything runs for real: ``start_world()`` on loopback, mails sent through the MSA, a bounce
made by the MTA, a greylisting MX. The events keep their English ``kind`` and ``note`` (code and
the other tests match on them); only what is shown follows the language.
"""

from __future__ import annotations

import pytest
from test_i18n import _english_unless_told  # noqa: F401 - autouse: every test starts in English

from kit import i18n
from kit.i18n_extract import extract, problems
from kit.journey import MailWorld, Peer, RetryPolicy, read_dsn, start_world, stop_world
from kit.journey.events import Event
from kit.journey.journal import Journal, Journey
from kit.journey.queue import MailQueue, QueueEntry, recipients_from
from kit.server import LabServer, greylist

FAST = (0.2, 0.4)  # retry waits in seconds


@pytest.fixture(scope="module")
def world():
    w = start_world(retry=FAST)
    yield w
    stop_world()


@pytest.fixture
def german(monkeypatch):
    monkeypatch.setenv(i18n.ENV, "de")


def _texts(fig) -> list[str]:
    """Every text a picture shows: titles, row labels, labels in the drawing, the legend."""
    out = []
    for ax in fig.axes:
        out.append(ax.get_title(loc="left"))
        out += [t.get_text() for t in ax.get_yticklabels()]
        out += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return [t for t in out if t]


def _sent(world, recipient: str, subject: str):
    sent = world.send("alice@uni.example", recipient, subject=subject, body="Hallo")
    assert sent.ok, sent.error
    world.wait_until_idle()
    return world.journey(sent)


# -- the catalog -------------------------------------------------------------------------------

def test_catalog_check_passes_and_has_every_journey_text():
    journey_texts = [m for m in extract().values() if any(p.startswith("kit/journey/") for p in m.places)]
    assert len(journey_texts) > 100  # the table, the notes, the pictures, the tables, the errors
    assert problems("de") == []


# -- German ------------------------------------------------------------------------------------

def test_a_delivered_mail_in_german_table_and_picture(world, german):
    journey = _sent(world, "bob@example.org", "Mittagessen")
    text = journey.to_text()
    for german_text in ("die E-Mail", "eingeliefert", "eingereiht", "Versuch", "abgelegt",
                        "angenommen (ESMTPSA)", "in der Warteschlange von smtp.uni.example",
                        "an die nächste Station weitergeleitet",
                        "ins Maildir von bob@example.org (über mx.example.org)"):
        assert german_text in text, german_text
    assert "250 2.0.0 Ok: queued as" in text  # replies stay as on the wire
    for english in ("the mail", "submitted", "in the queue of", "relayed to the next hop", "into the Maildir"):
        assert english not in text, english
    page = journey._repr_html_()
    assert "<b>Weg von</b>" in page and ": 4 Ereignisse<table>" in page
    assert "<th style='text-align:left'>Anmerkung</th>" in page and ">note<" not in page
    # Recorded in English: what code, checkers and the other tests match on.
    assert [e.kind for e in journey.events] == ["submitted", "queued", "attempt", "filed"]
    assert journey.events[1].note == "in the queue of smtp.uni.example"
    assert journey.rows()[1]["what"] == "eingereiht"

    texts = _texts(journey.picture())
    assert "Der Weg von 'Mittagessen'" in texts
    assert {"2yz: übernommen", "4yz: später noch einmal", "5yz: abgelehnt", "der Bounce (DSN)"} <= set(texts)
    assert "Einlieferung\n250 2.0.0" in texts and "MDA: abgelegt" in texts
    assert "Postfach\nbob@example.org" in texts
    assert not any("journey" in t or "taken over" in t or "mailbox" in t for t in texts)


def test_a_bounce_in_german_while_the_dsn_stays_english(world, german):
    journey = _sent(world, "bobb@example.org", "Vertippt")
    text = journey.to_text()
    assert "der Bounce" in text and "Bounce" in text
    assert "kein Empfänger angenommen" in text and "DSN „failed“ an <alice@uni.example>" in text
    assert "eine DSN „failed“ über <" in text
    assert "550 5.1.1" in text  # the MX's reply as it was said
    assert [e.note for e in journey.events if e.kind == "bounce"] == ["failed DSN to <alice@uni.example>"]
    texts = _texts(journey.picture())
    assert "Bounce (DSN)" in texts and "Der Weg von 'Vertippt'" in texts
    # The DSN is mail content: its human-readable part stays English, as Postfix's does.
    dsn = read_dsn(world.mailbox("alice@uni.example").latest.message)
    assert dsn.human.startswith("This is the mail system at host")


def test_a_retry_and_the_queue_in_german(world, german):
    world.server("mx.example.org").add_behaviour(greylist("carol@example.org"))
    sent = world.send("alice@uni.example", "carol@example.org", subject="Grau", body="x")
    world.wait_for("retry", sent)
    queue = world.queue._repr_html_()  # the mail waits (or was just delivered: then the queue is empty)
    assert "<b>Warteschlange von smtp.uni.example</b>" in queue
    assert "zurückgestellt" in queue or ": leer</div>" in queue
    world.wait_until_idle()
    journey = world.journey(sent)
    text = journey.to_text()
    assert "neuer Versuch" in text and "Versuch 2 von 3 in 0.200 s" in text
    assert "wartet 0.200 s" in _texts(journey.picture())
    assert "Die Warteschlange ist leer" in str(world.queue)


def test_the_world_table_picture_and_errors_in_german(world, german):
    page = world._repr_html_()
    assert "<b>MailWorld</b> (läuft)" in page and "Postfächer: alice@uni.example" in page
    for german_text in ("<th style='text-align:left'>Rolle</th>", "MSA + MTA (Warteschlange)", "MX (Präferenz 10)",
                        "MX (Präferenz 10) + MTA (schickt die Berichte seines MDA)", "steht für Port"):
        assert german_text in page, german_text
    texts = _texts(world.picture())
    assert "MX-Abfrage" in texts and "SMTP, Port 25" in texts and "als Ersatz" in texts
    assert any(t.startswith("lokales DNS (dnspython-Zonen") for t in texts)
    assert any("MSA (Einlieferung, AUTH) + MTA-Warteschlange\nPort 587 -> 127.0.0.1:" in t for t in texts)
    with pytest.raises(KeyError, match="kein Postfach nobody@example.org"):
        world.mailbox("nobody@example.org")
    with pytest.raises(ValueError, match="Wartezeiten müssen"):
        RetryPolicy((-1.0,))
    with pytest.raises(TimeoutError, match="das erwartete Ereignis ist nicht innerhalb von 0.0 s eingetreten"):
        Journal().wait(lambda events: False, timeout=0.01)


def test_a_foreign_server_in_german():
    """A world with a server outside it (a lab server standing in for Postfix)."""
    with LabServer(hostname="mx.far.example", domains=["far.example"]) as far, MailWorld(
            retry=FAST, peers=[Peer("mx.far.example", far.port, domains=("far.example",))]) as world:
        with i18n.using("de"):
            rows = {r["host"]: r for r in world.rows()}
            texts = _texts(world.picture())
        assert rows["mx.far.example"]["role"] == "fremder MX (außerhalb der Welt)"
        assert "außerhalb der Welt" in texts and "SMTP, an einen fremden Server" in texts
        assert any(t.startswith("MX von far.example\n-> 127.0.0.1:") for t in texts)
        assert world.roles()["mx.far.example"] == "foreign MX"  # data, not display


def test_recorded_in_german_shown_in_english(world, monkeypatch):
    """The language is a matter of showing: a journey made under German reads English after."""
    monkeypatch.setenv(i18n.ENV, "de")
    journey = _sent(world, "bob@example.org", "Beides")
    assert "eingereiht" in journey.to_text()
    monkeypatch.delenv(i18n.ENV)
    assert "in the queue of smtp.uni.example" in journey.to_text() and "queued" in journey.to_text()


# -- English, unchanged --------------------------------------------------------------------------

def _fixed_journey() -> Journey:
    """Events as the agents write them (notes made with N_), at fixed times."""
    n_ = i18n.N_
    events = [
        Event(100.0, "<m@x>", "submitted", "alice-laptop.uni.example", "smtp.uni.example", ("bob@example.org",),
              "250 2.0.0 Ok: queued as ABC", "ok", n_("accepted {protocol}", protocol="ESMTPSA"), subject="Hi"),
        Event(100.5, "<m@x>", "retry", "smtp.uni.example", None, ("bob@example.org",), None, "deferred",
              n_("try {n} of {total} in {wait:.3f} s", n=2, total=3, wait=0.2), 0.2, subject="Hi"),
        Event(101.0, "<m@x>", "attempt", "smtp.uni.example", "mx.example.org", ("bob@example.org",),
              "250 2.0.0 Ok", "ok", n_("relayed to the next hop"), subject="Hi"),
        Event(101.2, "<m@x>", "filed", "MDA example.org", "bob@example.org", ("bob@example.org",), None, "ok",
              n_("into the Maildir of {address} (from {via})", address="bob@example.org", via="mx.example.org"),
              subject="Hi", via="mx.example.org"),
        Event(101.3, "<d@x>", "queued", "smtp.uni.example", None, ("alice@uni.example",),
              note=n_("in the queue of {host}", host="smtp.uni.example"))]
    return Journey("<m@x>", events, {"mx.example.org": "MX 10"})


# What the code before the translation printed for these events (the notebooks' stored outputs).
ENGLISH_TEXT = (
    "   +0.000 s  the mail   alice-laptop.uni.example submitted    smtp.uni.example       <bob@example.org>\n"
    "             250 2.0.0 Ok: queued as ABC\n"
    "             accepted ESMTPSA\n"
    "   +0.500 s  the mail   smtp.uni.example         retry                               <bob@example.org>\n"
    "             try 2 of 3 in 0.200 s\n"
    "   +1.000 s  the mail   smtp.uni.example         attempt      mx.example.org         <bob@example.org>\n"
    "             250 2.0.0 Ok\n"
    "             relayed to the next hop\n"
    "   +1.200 s  the mail   MDA example.org          filed        bob@example.org        <bob@example.org>\n"
    "             into the Maildir of bob@example.org (from mx.example.org)\n"
    "   +1.300 s  the bounce smtp.uni.example         queued                              <alice@uni.example>\n"
    "             in the queue of smtp.uni.example")
ENGLISH_HEAD = ("<div><b>Journey of</b> <code>&lt;m@x&gt;</code>: 5 event(s)<table><tr>"
                + "".join(f"<th style='text-align:left'>{k}</th>"
                          for k in ("t", "message", "who", "what", "to", "recipients", "reply", "note")) + "</tr>")
ENGLISH_PICTURE = ["The journey of 'Hi'", "alice-laptop.uni.example", "smtp.uni.example", "mx.example.org\n(MX 10)",
                   "mailbox\nbob@example.org", "submit\n250 2.0.0", "wait 0.200 s", "250 2.0.0", "MDA: filed",
                   "queued", "2yz: taken over", "4yz: try again later", "5yz: refused", "the bounce (DSN)"]


def test_english_is_unchanged_by_default():
    journey = _fixed_journey()
    assert journey.to_text() == ENGLISH_TEXT
    assert journey._repr_html_().startswith(ENGLISH_HEAD)
    assert _texts(journey.picture()) == ENGLISH_PICTURE
    queue = MailQueue()
    assert queue.to_text(0) == "Mail queue is empty" and queue.to_html(0) == "<div><b>queue</b>: empty</div>"
    entry = QueueEntry("Q1", "a@b", recipients_from(["c@d"]), b"", "<q@x>", "S", 0.0)
    queue.add(entry, 0.0)
    entry.next_try = 3.0
    assert queue.to_text(1.0) == "pending   tries=0     in 2.000 s  <a@b> -> c@d  'S'"
    assert queue.to_html(1.0).startswith("<div><b>queue</b>: 1 message(s), oldest first<table><tr>"
                                         "<th style='text-align:left'>subject</th>")


def test_english_world_by_default(world):
    journey = _sent(world, "bob@example.org", "Lunch")
    text = journey.to_text()
    assert "the mail" in text and "submitted" in text and "in the queue of smtp.uni.example" in text
    assert "The journey of 'Lunch'" in _texts(journey.picture())
    page = world._repr_html_()
    assert "<b>MailWorld</b> (running)" in page and "MX (preference 10) + MTA (sends its MDA&#x27;s reports)" in page
    assert "mailboxes: alice@uni.example" in page
