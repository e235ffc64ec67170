"""smtpkit classroom on real sockets: a class of simulated students on loopback, the limits
and their reply codes, a hostile student, the time limit, the command line.

Every student has an address of its own in 127.0.0.0/8 (Linux routes the whole block to the
loopback interface), so the limits per address meet what they meet in a real room. Every
loop is bounded in count, and every client has a timeout.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smtp_raw import RawClient

from kit.classroom import Limits, Room, render_html
from kit.server import Behaviour, greylist

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


class Student(RawClient):
    """A telnet-like client that connects from its own loopback address."""

    def __init__(self, room: Room, ip: str, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((room.host, room.port), timeout=timeout, source_address=(ip, 0))
        self.buffer = b""


@pytest.fixture
def make_room():
    rooms = []

    def make(**limits) -> Room:
        room = Room(port=0, minutes=5, limits=Limits(**limits)).start()
        rooms.append(room)
        return room

    yield make
    for room in rooms:
        room.stop()


def send(room: Room, ip: str, name: str, to: str = "teacher@class.test", subject: str = "hello") -> dict:
    with smtplib.SMTP(room.host, room.port, local_hostname=name, timeout=10, source_address=(ip, 0)) as client:
        return client.sendmail(f"{name}@class.test", [to], f"Subject: {subject}\r\n\r\nfrom {name}\r\n")


# -- the class -----------------------------------------------------------------------------------

def by_hand(room: Room, ip: str, name: str) -> None:
    """What a student types in telnet, one command at a time."""
    s = Student(room, ip)
    try:
        assert s.reply().startswith("220 ")
        assert s.cmd(f"HELO {name}").startswith("250")
        assert s.cmd(f"MAIL FROM:<{name}@class.test>").startswith("250")
        assert s.cmd("RCPT TO:<teacher@class.test>").startswith("250")
        assert s.cmd("DATA").startswith("354")
        assert s.cmd(f"Subject: by hand\r\n\r\nfrom {name}\r\n.").startswith("250")
        assert s.cmd("QUIT").startswith("221")
    finally:
        s.close()


def by_swaks(room: Room, ip: str, name: str) -> None:
    run = subprocess.run(["swaks", "--server", f"{room.host}:{room.port}", "--local-interface", ip,
                          "--helo", name, "--from", f"{name}@class.test", "--to", "teacher@class.test",
                          "--h-Subject", "by swaks", "--body", f"from {name}", "--timeout", "10"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.timeout(90)
def test_thirty_students_each_on_the_dashboard_exactly_once(make_room):
    room = make_room()
    ways = [send] * 22 + [by_hand] * 4 + ([by_swaks] * 4 if shutil.which("swaks") else [send] * 4)
    names = [f"student-{i:02d}" for i in range(30)]
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        futures = [pool.submit(way, room, f"127.0.0.{10 + i}", name)
                   for i, (way, name) in enumerate(zip(ways, names, strict=True))]
        for future in futures:
            future.result(timeout=60)
    room.mailbox.wait_for(30, timeout=10)
    room.server.wait_idle(10)
    elapsed = time.monotonic() - start
    snap = room.snapshot()
    assert snap.total_sessions == 30 and snap.active_sessions == 0
    assert len({s.id for s in snap.sessions}) == 30
    assert collections.Counter(s.who for s in snap.sessions) == collections.Counter(names)
    assert all(s.mails == 1 and s.ended is not None for s in snap.sessions)
    assert snap.total_mails == 30 and len(room.mailbox) == 30
    assert {m.who for m in snap.mails} == set(names)
    assert len(snap.board) == 10 and len({p.who for p in snap.board}) == 10
    assert [p.seconds for p in snap.board] == sorted(p.seconds for p in snap.board)
    assert snap.mistakes == ()
    page = render_html(snap, room.status(), sessions=30)
    assert sorted(int(n) for n in re.findall(r'data-session="(\d+)"', page)) == sorted(s.id for s in snap.sessions)
    assert elapsed < 60


# -- safety: the class domain only, no relay, no VRFY ----------------------------------------------

def test_mail_for_a_foreign_domain_is_refused_never_relayed(make_room):
    room = make_room()
    s = Student(room, "127.0.0.20")
    s.reply()
    assert s.cmd("EHLO relay-tester").startswith("250")
    assert s.cmd("MAIL FROM:<a@class.test>").startswith("250")
    for foreign in ("bob@elsewhere.test", "bob@class.test.elsewhere.test", "bob@sub.class.test", "BOB@ELSEWHERE.TEST"):
        assert s.cmd(f"RCPT TO:<{foreign}>").startswith("554 5.7.1"), foreign
    assert s.cmd("DATA").startswith("503")  # no recipient was accepted
    assert s.cmd("RCPT TO:<Bob@CLASS.test>").startswith("250")  # the class domain, in any case
    s.cmd("QUIT")
    s.close()
    snap = room.snapshot()
    assert len(room.mailbox) == 0
    assert any(m.code == 554 and m.enhanced == "5.7.1" and m.count == 4 for m in snap.mistakes)


def test_vrfy_confirms_nobody_and_nothing_invites_more(make_room):
    room = make_room()
    s = Student(room, "127.0.0.21")
    s.reply()
    ehlo = s.cmd("EHLO curious")
    assert "AUTH" not in ehlo and "VRFY" not in ehlo and "STARTTLS" not in ehlo
    for who in ("root", "teacher@class.test", "nobody-at-all"):
        reply = s.cmd(f"VRFY {who}")
        assert reply.startswith("252 2.0.0 Cannot VRFY user") and who not in reply
    assert s.cmd("EXPN staff").startswith("502")
    assert s.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==")[:1] == "5"  # no AUTH: nobody logs in to relay
    s.close()


# -- limits per address, with their codes ---------------------------------------------------------

def test_sessions_at_once_per_address_get_421(make_room):
    room = make_room(sessions_per_peer=3)
    open_ones = [Student(room, "127.0.0.30") for _ in range(3)]
    for s in open_ones:
        assert s.reply().startswith("220 ")
    fourth = Student(room, "127.0.0.30")
    assert re.match(r"421 4\.7\.0 .*too many sessions from 127\.0\.0\.30", fourth.reply())
    assert fourth.closed()
    other = Student(room, "127.0.0.31")  # another student is not affected
    assert other.reply().startswith("220 ")
    open_ones[0].cmd("QUIT")
    open_ones[0].close()
    time.sleep(0.3)  # the server notices the close
    again = Student(room, "127.0.0.30")
    assert again.reply().startswith("220 ")
    for s in [*open_ones[1:], fourth, other, again]:
        s.close()
    assert room.status().refusals == (("too many sessions from one address at once", 1),)
    assert room.snapshot().total_sessions == 5  # the refused connection never became a session


def test_connections_a_minute_per_address_get_421(make_room):
    room = make_room(connections_per_minute=4)
    for _ in range(4):
        s = Student(room, "127.0.0.32")
        assert s.reply().startswith("220 ")
        s.cmd("QUIT")
        s.close()
    s = Student(room, "127.0.0.32")
    assert re.match(r"421 4\.7\.0 .*limit 4 a minute", s.reply())
    s.close()


def test_commands_a_minute_per_address_get_421_and_close(make_room):
    room = make_room(commands_per_minute=8)
    s = Student(room, "127.0.0.33")
    s.reply()
    replies = [s.cmd("NOOP") for _ in range(8)]
    assert all(r.startswith("250") for r in replies)
    assert re.match(r"421 4\.7\.0 .*too many commands from 127\.0\.0\.33 \(limit 8 a minute\)", s.cmd("NOOP"))
    assert s.closed()
    other = Student(room, "127.0.0.34")
    other.reply()
    assert other.cmd("NOOP").startswith("250")
    other.close()
    room.server.wait_idle(5)
    mistakes = {(m.code, m.enhanced, m.verb) for m in room.snapshot().mistakes}
    assert (421, "4.7.0", "NOOP") in mistakes


def test_errors_in_one_session_get_421_and_close(make_room):
    room = make_room(errors_per_session=5)
    s = Student(room, "127.0.0.35")
    s.reply()
    for _ in range(4):
        assert s.cmd("MAIL FROM:<a@class.test>").startswith("503")  # no HELO yet
    s.send("RCPT TO:<b@class.test>\r\n")
    assert s.reply().startswith("503")
    assert re.match(r"421 4\.7\.0 .*too many errors", s.reply())
    assert s.closed()


def test_too_many_recipients_get_452(make_room):
    room = make_room(recipients=3)
    s = Student(room, "127.0.0.36")
    s.reply()
    s.cmd("EHLO many")
    s.cmd("MAIL FROM:<a@class.test>")
    for i in range(3):
        assert s.cmd(f"RCPT TO:<r{i}@class.test>").startswith("250")
    assert s.cmd("RCPT TO:<r3@class.test>").startswith("452 4.5.3")
    assert s.cmd("DATA").startswith("354")
    assert s.cmd("Subject: three\r\n\r\nonly three\r\n.").startswith("250")
    s.close()
    assert room.mailbox.wait_for(1)[0].envelope.rcpt_tos == ("r0@class.test", "r1@class.test", "r2@class.test")


def test_a_message_over_the_size_limit_gets_552(make_room):
    room = make_room(message_size=10_000)
    s = Student(room, "127.0.0.37")
    s.reply()
    assert "SIZE 10000" in s.cmd("EHLO big")
    assert s.cmd("MAIL FROM:<a@class.test> SIZE=20000").startswith("552 5.3.4")
    assert s.cmd("MAIL FROM:<a@class.test>").startswith("250")
    assert s.cmd("RCPT TO:<b@class.test>").startswith("250")
    assert s.cmd("DATA").startswith("354")
    body = ("x" * 76 + "\r\n") * 300  # 23 400 octets, no SIZE announced
    assert s.cmd(f"Subject: big\r\n\r\n{body}.").startswith("552 5.3.4")
    assert s.cmd("NOOP").startswith("250")  # the session goes on
    s.close()
    assert len(room.mailbox) == 0
    codes = {(m.code, m.enhanced, m.verb) for m in room.snapshot().mistakes}
    assert {(552, "5.3.4", "MAIL"), (552, "5.3.4", "(message)")} <= codes


# -- a hostile student ---------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_a_hostile_student_is_harmless_on_the_dashboard_and_the_room_goes_on(make_room):
    room = make_room()
    evil = Student(room, "127.0.0.66", timeout=30)
    evil.reply()
    assert evil.cmd("EHLO <script>alert('pwned')</script>").startswith("250")
    evil.cmd("NOOP \x1b[2J\x1b[5m\x07\u202eevil")
    assert evil.cmd('MAIL FROM:<"<img src=x onerror=alert(1)>"@class.test>').startswith("250")
    assert evil.cmd("RCPT TO:<teacher@class.test>").startswith("250")
    assert evil.cmd("DATA").startswith("354")
    assert evil.cmd("Subject: <iframe src=javascript:alert(1)>\x1b]0;title\x07\r\n\r\nhi\r\n.").startswith("250")
    assert evil.cmd("EHLO " + "B" * 3000).startswith("500 5.5.2")  # too long for SMTP, short enough to read
    assert evil.cmd("NOOP").startswith("250")  # the session goes on
    started = time.monotonic()
    try:
        evil.send("EHLO " + "A" * (10 * MiB) + "\r\n")  # a 10 MB line
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed while the line was still coming: that is the point
    assert re.match(r"421 4\.7\.0 .*command line longer than 4,096 octets", evil.reply())
    assert evil.closed()
    evil.close()
    send(room, "127.0.0.67", "bystander")  # everybody else goes on
    room.server.wait_idle(5)
    assert time.monotonic() - started < 30
    snap = room.snapshot()
    page = render_html(snap, room.status(), lines=20)
    for raw in ("<script", "<img", "<iframe", "\x1b", "\x07", "\u202e"):
        assert raw not in page
    assert re.search(r"#\d+ &lt;script&gt;alert\(&#x27;pwned&#x27;\)", page)  # escaped (and cut to fit)
    assert "␛[2J␛[5m␇" in page
    page = render_html(snap, room.status(), lines=20, sessions=20)
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" not in page  # the board cuts it ...
    assert snap.sessions[-1].who == "<script>alert('pwned')</script>"  # ... the model keeps it whole
    assert "&lt;iframe src=javascript:alert(1)&gt;␛]0;title␇" in page
    assert re.search(r"EHLO B{5,30}… \[3k chars\]<", page) and "B" * 100 not in page and "A" * 100 not in page
    assert "closed: a command line far too long" in page
    assert len(page) < 50_000
    assert [m.who for m in snap.mails] == ["bystander", "<script>alert('pwned')</script>"]
    assert ("a command line far too long", 1) in room.status().refusals
    kept = room.server.transcripts[0].client_lines()  # the server's own transcript kept little of it
    assert sum(map(len, kept)) < 20_000


def test_a_bdat_chunk_is_data_not_a_long_line(make_room):
    room = make_room()
    s = Student(room, "127.0.0.70")
    s.reply()
    s.cmd("EHLO chunky")
    s.cmd("MAIL FROM:<a@class.test>")
    s.cmd("RCPT TO:<b@class.test>")
    chunk = b"Subject: chunk\r\n\r\n" + b"x" * 9000  # no line end for 9000 octets
    s.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
    assert s.reply().startswith("250 2.0.0")
    assert s.cmd("QUIT").startswith("221")
    s.close()
    assert room.mailbox.wait_for(1)[0].subject == "chunk"
    room.server.wait_idle(5)
    (mail,) = room.snapshot().mails
    assert (mail.who, mail.subject) == ("chunky", "chunk")


def test_a_session_over_its_octet_budget_gets_421(make_room):
    room = make_room(message_size=10_000, session_octets=80_000)
    s = Student(room, "127.0.0.68", timeout=30)
    s.reply()
    s.cmd("EHLO busy")
    body = ("y" * 78 + "\r\n") * 110  # 8 800 octets, under the message limit
    replies = []
    for _ in range(12):  # at most 12 messages: the budget ends it after 9
        s.send("MAIL FROM:<a@class.test>\r\nRCPT TO:<b@class.test>\r\nDATA\r\n")
        replies += [s.reply(), s.reply(), s.reply()]
        if not replies[-1].startswith("354"):
            break
        s.send(f"Subject: n\r\n\r\n{body}.\r\n")
        replies.append(s.reply())
        if replies[-1].startswith("421"):
            break
    assert re.match(r"421 4\.7\.0 .*more than 80,000 octets in one session", replies[-1])
    assert s.closed()
    s.close()
    assert 8 <= len(room.mailbox) <= 9
    send(room, "127.0.0.69", "next-student")
    assert ("too many octets in one session", 1) in room.status().refusals


# -- behaviours switched live ---------------------------------------------------------------------

def test_behaviours_switch_live_from_the_presenter(make_room):
    room = make_room()
    room.set_behaviour(greylist())
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(room, "127.0.0.40", "greylisted")
    assert refused.value.recipients["teacher@class.test"][0] == 451
    assert send(room, "127.0.0.40", "greylisted") == {}  # the second attempt passes, as greylisting does
    room.set_behaviour(Behaviour("RCPT", "550 5.7.1 <{recipient}>: nobody gets mail now"))
    assert "RCPT -> 550 5.7.1" in room.status().behaviours[0]
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(room, "127.0.0.41", "refused")
    room.set_behaviour(None)
    assert room.behaviours == [] and room.status().behaviours == ()
    assert send(room, "127.0.0.41", "normal") == {}
    notes = room.snapshot().notes
    assert notes[-1] == "behaviour: normal again" and "451 4.7.1" in notes[-3]
    with pytest.raises(TypeError):
        room.set_behaviour("550")


def test_the_dashboard_widget_redraws_when_the_room_moves(make_room):
    pytest.importorskip("ipywidgets")
    room = make_room()
    board = room.dashboard(interval=60)
    try:
        assert "waiting for the first student" in board.widget.value
        assert not board.refresh()  # nothing moved
        send(room, "127.0.0.42", "widget-student")
        room.server.wait_idle(5)
        assert board.refresh()
        assert "widget-student" in board.widget.value and "First to deliver" in board.widget.value
    finally:
        board.close()


# -- the time limit ---------------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_the_room_stops_at_its_time_limit():
    room = Room(port=0, minutes=3 / 60).start()
    try:
        started = time.monotonic()
        idle = Student(room, "127.0.0.50")
        assert idle.reply().startswith("220 ")
        assert room.seconds_left > 1
        assert room.wait(timeout=15)
        elapsed = time.monotonic() - started
        assert 2.5 < elapsed < 8, elapsed
        assert idle.reply().startswith("421 4.3.2")
        assert idle.closed()
        with pytest.raises(OSError):
            Student(room, "127.0.0.50", timeout=2)
        assert not room.running and room.seconds_left == 0
        assert "time limit reached: the server stops" in room.snapshot().notes
        with pytest.raises(RuntimeError, match="has stopped"):
            room.start()
    finally:
        room.stop()


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/proc/net/tcp").exists(),
                    reason="needs root (to connect as another user) and Linux's /proc/net/tcp")
def test_the_room_serves_other_users_where_lab_servers_are_owner_only(monkeypatch):
    """On a hub every notebook server has SMTPKIT_LAB_OWNER_ONLY=1: a student's lab server then
    drops other users' connections. The classroom server is for the other users."""
    monkeypatch.setenv("SMTPKIT_LAB_OWNER_ONLY", "1")
    probe = ("import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10); "
             "print(s.recv(200).decode() or 'closed')")

    def greeting_for_nobody(port: int) -> str:
        run = subprocess.run(["/usr/bin/python3", "-c", probe, str(port)], user="nobody", capture_output=True,
                             text=True, timeout=30, cwd="/", env={"PATH": "/usr/bin:/bin"})
        return run.stdout + run.stderr

    from kit.server import LabServer

    with LabServer() as lab:  # the guard is really on: another user's connection is dropped
        assert "220 " not in greeting_for_nobody(lab.port)
    with Room(port=0) as room:
        assert greeting_for_nobody(room.port).startswith("220 mx.class.test")


def test_a_room_refuses_every_interface_by_construction():
    with pytest.raises(ValueError, match="--listen-all"):
        Room(listen="0.0.0.0", port=0)


# -- the command line ---------------------------------------------------------------------------------

def smtpkit(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kit", "classroom", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_cli_refuses_every_interface_without_listen_all(address):
    run = smtpkit("--listen", address)
    assert run.returncode == 2
    assert "every interface" in run.stderr and "--listen-all" in run.stderr and run.stdout == ""


@pytest.mark.parametrize("args", [["--listen", "lab.example"], ["--minutes", "0"], ["--port", "70000"],
                                  ["--domain", "not a domain"], ["--sessions", "0"]])
def test_cli_bad_arguments_exit_2(args):
    run = smtpkit(*args)
    assert run.returncode == 2 and "error" in run.stderr


@pytest.mark.timeout(40)
def test_cli_serves_the_class_and_stops_by_itself(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--port", "0", "--minutes", "0.1",
                             "--domain", "seminar.test", "--control", str(tmp_path / "c" / "s.sock")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    try:
        first = proc.stdout.readline()
        match = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", first)
        assert match, first
        port = int(match.group(1))
        with smtplib.SMTP("127.0.0.1", port, local_hostname="cli-student", timeout=10) as client:
            client.sendmail("me@seminar.test", ["you@seminar.test"], "Subject: \x1b[31mred\r\n\r\nhi\r\n")
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("me@seminar.test", ["you@class.test"], "Subject: x\r\n\r\nhi\r\n")
        out, err = proc.communicate(timeout=25)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "[#1 cli-student] rcpt TO:<you@seminar.test> -> 250 2.1.5 Ok" in out  # smtplib speaks lower case
    assert "*** mail delivered: me@seminar.test -> you@seminar.test" in out
    assert "rcpt TO:<you@class.test> -> 554 5.7.1" in out
    assert "first to deliver:\n   1. cli-student" in out
    assert "\x1b" not in out  # not a terminal: no colours, and nothing a student typed
    assert "time limit reached" in out
