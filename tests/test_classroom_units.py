"""smtpkit classroom, the parts without sockets: safe text, the listen rule, the per-address
ledger, the room model and its HTML and text views."""

from __future__ import annotations

import re
import time

import pytest

from kit.classroom import (
    Limits,
    ListenError,
    PeerGuard,
    RoomModel,
    RoomStatus,
    check_listen,
    format_event,
    render_html,
    render_text,
    visible,
)
from kit.transcript import BARE_LF_NOTE

# -- visible -----------------------------------------------------------------------------------


def test_visible_shows_control_and_format_characters():
    shown = visible("EHLO a\x1b[2J\x07\x00\t\x7f\u202eb\u200b\x85")
    assert shown == "EHLO a␛[2J␇␀␉␡\\u202eb\\u200b\\x85"
    assert all(ch.isprintable() for ch in shown)


def test_visible_cuts_and_says_how_long_it_was():
    shown = visible("A" * 10_000_000, 120)
    assert len(shown) == 120 and shown.endswith("… [10,000,000 chars]")
    assert visible("x" * 120, 120) == "x" * 120  # exactly the limit: not cut
    assert len(visible("\x01" * 500, 50)) <= 50  # pictures count too


def test_visible_of_a_huge_line_is_fast():
    line = "<" * 50_000_000
    start = time.perf_counter()
    visible(line)
    assert time.perf_counter() - start < 0.05


# -- where to listen ----------------------------------------------------------------------------


def test_loopback_by_default_and_named_addresses_warn():
    assert check_listen(None) == ("127.0.0.1", [])
    assert check_listen("::1") == ("::1", [])
    host, warnings = check_listen("192.0.2.10")
    assert host == "192.0.2.10" and "other machines" in warnings[0]


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "[::]", "0:0::0"])
def test_every_interface_is_refused_without_listen_all(address):
    with pytest.raises(ListenError, match="every interface.*--listen-all"):
        check_listen(address)


def test_listen_all_is_allowed_with_a_warning():
    assert check_listen(None, listen_all=True)[0] == "0.0.0.0"
    host, warnings = check_listen("::", listen_all=True)
    assert host == "::" and "every interface" in warnings[0]


@pytest.mark.parametrize("address", ["localhost", "class.example", "", "300.1.1.1"])
def test_a_listen_address_must_be_an_ip_address(address):
    with pytest.raises(ListenError, match="not an IP address"):
        check_listen(address)


# -- the ledger per address -------------------------------------------------------------------------


def test_sessions_per_address_are_counted_and_released():
    guard = PeerGuard(Limits(sessions_per_peer=2))
    assert guard.admit("10.0.0.1", 0.0) is None
    assert guard.admit("10.0.0.1", 0.1) is None
    assert "too many sessions from 10.0.0.1" in guard.admit("10.0.0.1", 0.2)
    assert guard.admit("10.0.0.2", 0.2) is None  # another student is not affected
    guard.release("10.0.0.1")
    assert guard.admit("10.0.0.1", 0.3) is None
    assert guard.active == 3
    assert guard.refusals == {"too many sessions from one address at once": 1}


def test_connections_a_minute_recover_after_the_minute():
    guard = PeerGuard(Limits(connections_per_minute=3, sessions_per_peer=10))
    for t in range(3):
        assert guard.admit("10.0.0.1", float(t)) is None
        guard.release("10.0.0.1")
    assert "limit 3 a minute" in guard.admit("10.0.0.1", 10.0)
    assert guard.admit("10.0.0.1", 60.5) is None  # the first one is older than a minute now


def test_total_sessions_are_a_backstop():
    guard = PeerGuard(Limits(total_sessions=2))
    assert guard.admit("a", 0) is None and guard.admit("b", 0) is None
    assert guard.admit("c", 0) == "too many connections"


def test_commands_a_minute_per_address():
    guard = PeerGuard(Limits(commands_per_minute=5))
    assert all(guard.take_command("a", t / 10) for t in range(5))
    assert not guard.take_command("a", 1.0)
    assert guard.take_command("b", 1.0)
    assert guard.take_command("a", 60.05)  # the first command left the window


def test_the_ledger_forgets_idle_addresses():
    guard = PeerGuard(Limits())
    guard.PRUNE_AT = 10
    for i in range(50):
        guard.admit(f"10.0.{i}.1", 0.0)
        guard.release(f"10.0.{i}.1")
    guard.admit("10.9.9.9", 120.0)
    assert len(guard._peers) <= 12


def test_limits_validate_themselves():
    assert Limits(message_size=1000).session_octets == 4 * 1000 + 1024 * 1024
    with pytest.raises(ValueError, match="sessions_per_peer"):
        Limits(sessions_per_peer=0)
    with pytest.raises(ValueError, match="room for one whole message"):
        Limits(message_size=1_000_000, session_octets=1_000_000)


# -- the model -------------------------------------------------------------------------------------


def feed_session(model: RoomModel, sid: int, lines: list[tuple[str, str]], peer: str = "10.0.0.5:4000") -> None:
    model.feed(sid, peer, "info", f"connection from {peer}")
    for direction, text in lines:
        model.feed(sid, peer, direction, text)


DELIVERY = [
    ("server", "220 mx.class.test ESMTP"),
    ("client", "EHLO alice"), ("server", "250-mx.class.test"), ("server", "250 HELP"),
    ("client", "MAIL FROM:<alice@class.test>"), ("server", "250 2.1.0 Ok"),
    ("client", "RCPT TO:<bob@class.test>"), ("server", "250 2.1.5 Ok"),
    ("client", "RCPT TO:<eve@elsewhere.test>"), ("server", "554 5.7.1 <eve@elsewhere.test>: Relay access denied"),
    ("client", "DATA"), ("server", "354 End data with <CR><LF>.<CR><LF>"),
    ("client", "Subject: <b>hello</b>"), ("client", ""), ("client", "RCPT TO:<not-a-command@class.test>"),
    ("client", "."), ("server", "250 2.0.0 Ok: queued as ABC"),
    ("client", "QUIT"), ("server", "221 2.0.0 Bye"), ("info", "connection closed"),
]


def test_a_delivery_is_seen_whole():
    model = RoomModel()
    feed_session(model, 7, DELIVERY)
    snap = model.snapshot()
    (session,) = snap.sessions
    assert session.who == "alice" and session.ended is not None and session.mails == 1
    pairs = [(ex.verb, ex.code) for ex in session.exchanges]
    assert pairs == [("(connect)", 220), ("EHLO", 250), ("MAIL", 250), ("RCPT", 250), ("RCPT", 554),
                     ("DATA", 354), ("(message)", 250), ("QUIT", 221)]
    (mail,) = snap.mails
    assert (mail.sender, mail.recipients, mail.subject) == ("alice@class.test", ("bob@class.test",), "<b>hello</b>")
    assert [(m.code, m.enhanced, m.verb, m.count) for m in snap.mistakes] == [(554, "5.7.1", "RCPT", 1)]
    assert [(p.rank, p.who) for p in snap.board] == [(1, "alice")]
    assert (snap.total_sessions, snap.active_sessions, snap.total_mails) == (1, 0, 1)


def test_pipelined_commands_wait_for_their_replies():
    model = RoomModel()
    feed_session(model, 1, [("server", "220 hi"), ("client", "EHLO p"), ("server", "250 ok"),
                            ("client", "MAIL FROM:<a@class.test>"), ("client", "RCPT TO:<b@class.test>"),
                            ("client", "RCPT TO:<c@class.test>"), ("client", "DATA"),
                            ("server", "250 2.1.0 Ok"), ("server", "250 2.1.5 Ok"),
                            ("server", "550 5.1.1 no such user"), ("server", "354 go on")])
    exchanges = model.snapshot().sessions[0].exchanges
    assert [(ex.command, ex.code) for ex in exchanges[2:]] == [
        ("MAIL FROM:<a@class.test>", 250), ("RCPT TO:<b@class.test>", 250), ("RCPT TO:<c@class.test>", 550),
        ("DATA", 354)]


def test_each_session_is_shown_once_and_forgotten_ones_never_come_back():
    model = RoomModel(keep_sessions=3)
    for sid in range(1, 6):
        feed_session(model, sid, [("server", "220 hi")])
    model.feed(1, "x", "client", "NOOP")  # a late line of a forgotten session
    model.feed(99, "x", "client", "NOOP")  # a session never seen opening
    snap = model.snapshot()
    assert [s.id for s in snap.sessions] == [5, 4, 3]
    assert snap.total_sessions == 5 and snap.active_sessions == 3


def test_the_board_has_one_place_per_student_and_ten_places():
    model = RoomModel()
    for sid in range(1, 15):
        name = "same" if sid in (2, 3) else f"s{sid}"
        lines = [line if line != ("client", "EHLO alice") else ("client", f"EHLO {name}") for line in DELIVERY]
        feed_session(model, sid, lines)
    board = model.snapshot().board
    assert [p.who for p in board] == ["s1", "same", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11"]
    assert model.snapshot().total_mails == 14


def test_a_bare_lf_counts_as_a_mistake():
    model = RoomModel()
    feed_session(model, 1, [("server", "220 hi"), ("client", "HELO x"), ("info", BARE_LF_NOTE), ("server", "250 ok")])
    (mistake,) = model.snapshot().mistakes
    assert (mistake.code, mistake.verb, mistake.example) == (0, "bare LF", "HELO x")


def test_unknown_verbs_do_not_grow_the_mistake_table():
    model = RoomModel()
    lines = [("server", "220 hi")]
    for i in range(300):
        lines += [("client", f"XYZ{i} <script>"), ("server", "500 5.5.2 Error: command not recognized")]
    feed_session(model, 1, lines)
    (mistake,) = model.snapshot().mistakes
    assert (mistake.verb, mistake.count) == ("unknown", 300)
    assert len(model.snapshot().sessions[0].exchanges) == 40 and model.snapshot().sessions[0].earlier == 261


HOSTILE = [
    ("server", "220 hi"),
    ("client", "EHLO <script>alert('x')</script>"), ("server", "250 ok"),
    ("client", "NOOP \x1b[2J\x1b[31m\x07\x00\u202eevil"), ("server", "250 2.0.0 Ok"),
    ("client", "MAIL FROM:<\"<img src=x onerror=alert(1)>\"@class.test>"), ("server", "250 2.1.0 Ok"),
    ("client", "RCPT TO:<b@class.test>"), ("server", "250 2.1.5 Ok"),
    ("client", "DATA"), ("server", "354 go"),
    ("client", "Subject: <iframe src=javascript:alert(1)>\x1b]0;pwned\x07"), ("client", ""), ("client", "."),
    ("server", "250 2.0.0 Ok"),
    ("client", "EHLO " + "A" * 10_000_000), ("server", "500 5.5.2 Error: command line too long"),
]


def test_hostile_text_is_harmless_in_the_html_view():
    model = RoomModel()
    feed_session(model, 1, HOSTILE, peer="10.0.0.66:1234")
    status = RoomStatus("127.0.0.1", 2525, "class.test", True, 600.0, ("RCPT -> 451 <now>",), (("x<y", 2),))
    page = render_html(model.snapshot(), status, lines=20)
    for raw in ("<script", "<img", "<iframe", "\x1b", "\x07", "\x00", "\u202e", "'x'"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;iframe src=javascript:alert(1)&gt;␛]0;pwned␇" in page
    assert "␛[2J␛[31m␇␀\\u202eevil" in page
    assert "A" * 100 not in page and re.search(r"EHLO A{5,30}… \[10M chars\]<", page)
    assert len(page) < 40_000
    assert "&lt;now&gt;" in page and "x&lt;y &times;2" in page


def test_hostile_text_is_harmless_in_the_console_view():
    model = RoomModel()
    feed_session(model, 1, HOSTILE)
    events, dropped = model.events_since(0)
    text = "\n".join(format_event(e) for e in events) + render_text(model.snapshot())
    assert dropped == 0
    assert all(ch.isprintable() or ch == "\n" for ch in text)
    assert "EHLO <script>alert('x')</script> -> 250 ok" in text  # plain text needs no escaping, only visibility
    assert max(len(line) for line in text.splitlines()) < 400


def test_coloured_console_lines_carry_only_our_escape_codes():
    model = RoomModel()
    feed_session(model, 1, HOSTILE)
    events, _ = model.events_since(0)
    coloured = "\n".join(format_event(e, colour=True) for e in events)
    assert coloured.count("\x1b[") == 2 * sum(1 for e in events if e.kind == "exchange")


def test_the_event_log_is_bounded_and_says_what_it_dropped():
    model = RoomModel()
    feed_session(model, 1, [("server", "220 hi")] + [("client", "NOOP"), ("server", "250 ok")] * 3000)
    events, dropped = model.events_since(0)
    assert len(events) == 2000 and dropped == model.version - 2000


def test_a_recorded_room_can_be_replayed_without_a_server():
    from kit.transcript import Transcript

    recorded = Transcript(peer="10.0.0.9:5000")
    recorded.add("info", "connection from 10.0.0.9:5000")
    for direction, text in DELIVERY[:-1]:
        recorded.add(direction, text)
    recorded.add("info", "connection closed")
    snap = RoomModel().replay([recorded]).snapshot()
    assert snap.total_mails == 1 and snap.sessions[0].who == "alice" and snap.active_sessions == 0
