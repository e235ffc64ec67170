"""The deck and ``smtpkit classroom`` share one room: the real command in its own process, the
presenter's side (`connect_room`, the slide's `LiveBoard`) here, students on loopback sockets.

- the records cross the socket unchanged (`kit.classroom.wire`), and bad records are refused;
- a student's session appears on the deck's board, a behaviour switched on the deck answers the
  student's RCPT with 451 in the terminal's room, the deck stops the room and the command ends;
- a second room on the same socket is refused, a socket left behind is replaced, a control
  folder open to others (or a link) is refused by both sides, a file that is no socket is kept;
- bad requests get an error and the room goes on answering.

Every process started here is killed by its id, also on failure; every client has a timeout.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit.classroom import ControlError, ControlServer, Room, connect_room, render_html
from kit.classroom.wire import WireError, dump, load_behaviour, load_snapshot, load_status
from kit.server import Behaviour, greylist

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def control(tmp_path) -> Path:
    return tmp_path / "ctl" / "classroom.sock"  # its folder is made 0700 by the room


def _ask(path: Path, raw: bytes) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(raw)
        return json.loads(sock.makefile("rb").readline())


# -- the records on the wire ---------------------------------------------------------------------
def test_snapshot_status_and_rules_cross_the_wire_unchanged():
    with Room(port=0, minutes=1) as room:
        with smtplib.SMTP(room.host, room.port, local_hostname="ada-laptop", timeout=10) as student:
            student.sendmail("ada@class.test", ["bob@class.test"], "Subject: hi\r\n\r\nhello\r\n")
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                student.sendmail("ada@class.test", ["eve@elsewhere.test"], "Subject: x\r\n\r\nx\r\n")
        room.set_behaviour(greylist())
        snapshot, status = room.snapshot(), room.status()
    assert snapshot.mails and snapshot.mistakes and snapshot.board and status.behaviours
    assert load_snapshot(json.loads(json.dumps(dump(snapshot)))) == snapshot
    assert load_status(json.loads(json.dumps(dump(status)))) == status
    rule = Behaviour("RCPT", "550 5.1.1 <{recipient}>: no", recipient="x@class.test", times=2)
    assert load_behaviour(json.loads(json.dumps(dump(rule)))) == rule
    with pytest.raises(WireError):
        load_behaviour({"stage": "FROBNICATE"})  # Behaviour's own check, as in the kernel
    with pytest.raises(WireError):
        load_behaviour({"stage": "RCPT", "shell": "rm -rf ~"})
    with pytest.raises(WireError):
        load_snapshot({**dump(snapshot), "sessions": "not a list"})


# -- the room of the command, on the deck ------------------------------------------------------
@pytest.mark.timeout(90)
def test_the_deck_shows_and_steers_the_room_of_smtpkit_classroom(control, capsys):
    from kit.present.live import LiveBoard

    proc = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--port", "0", "--minutes", "2",
                             "--control", str(control)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        port = int(re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", proc.stdout.readline())[1])
        assert oct(os.stat(control.parent).st_mode & 0o777) == "0o700"
        assert oct(os.stat(control).st_mode & 0o777) == "0o600"

        room = connect_room(control)
        assert room is not None and room.running and room.port == port and room.domain == "class.test"
        board = LiveBoard(room, interval=60)  # redrawn by hand below
        with smtplib.SMTP("127.0.0.1", port, local_hostname="ada-laptop", timeout=10) as student:
            student.sendmail("ada@class.test", ["bob@class.test"], "Subject: first\r\n\r\nhi\r\n")
        deadline = time.monotonic() + 10
        while room.snapshot().active_sessions and time.monotonic() < deadline:  # the server saw the QUIT
            time.sleep(0.05)
        assert room.snapshot().active_sessions == 0
        assert board.refresh()
        assert not board.refresh()  # nothing moved: nothing redrawn
        page = render_html(room.snapshot(), room.status())
        assert "ada-laptop" in page and "first to deliver" in page.lower()

        # "now everybody gets 451": switched on the deck, answered by the terminal's room
        room.set_behaviour(greylist())
        assert "451 4.7.1" in room.status().behaviours[0]
        with smtplib.SMTP("127.0.0.1", port, local_hostname="bob-laptop", timeout=10) as student:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                student.sendmail("bob@class.test", ["ada@class.test"], "Subject: x\r\n\r\nx\r\n")
            assert refused.value.recipients["ada@class.test"][0] == 451
        room.set_behaviour(None)
        assert room.status().behaviours == ()
        with pytest.raises(TypeError):
            room.set_behaviour("451")

        # a second room on the same socket is refused; the first goes on
        second = subprocess.run([sys.executable, "-m", "kit", "classroom", "--port", "0", "--control", str(control)],
                                capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert second.returncode == 1 and "another classroom is running" in second.stderr
        assert room.running

        room.stop()  # from the deck: the command ends with its final board
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "connect_room()" in err and str(control) in err
    assert "[#1 ada-laptop]" in out and "451 4.7.1" in out and "stopped from the presenter's notebook" in out
    assert not room.running and room.status().running is False  # the last status, marked ended
    assert board.refresh() and not board.refresh()  # drawn once more as stopped, then at rest
    assert not control.exists() and connect_room(control) is None
    board.stop()
    capsys.readouterr()


# -- who may use the socket ----------------------------------------------------------------------
def test_a_control_folder_open_to_others_or_a_link_is_refused(control, tmp_path):
    control.parent.mkdir(mode=0o700)
    with Room(port=0, minutes=1) as room:
        server = ControlServer(room, control).start()
        try:
            assert connect_room(control).running
            os.chmod(control.parent, 0o755)  # another user could now plant a socket of their own
            with pytest.raises(ControlError, match="open to others"):
                connect_room(control)
        finally:
            server.stop()
    with pytest.raises(ControlError, match="open to others"):
        ControlServer(Room(port=0, minutes=1), control).start()
    done = subprocess.run([sys.executable, "-m", "kit", "classroom", "--port", "0", "--control", str(control)],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 1 and "chmod 700" in done.stderr and done.stdout == ""

    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ControlError, match="not a folder"):
        ControlServer(Room(port=0, minutes=1), tmp_path / "link" / "c.sock").start()


def test_a_socket_left_behind_is_replaced_and_a_file_is_kept(control):
    control.parent.mkdir(mode=0o700)
    left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left.bind(str(control))
    left.close()  # a room that died without cleaning up
    assert connect_room(control) is None
    with Room(port=0, minutes=1) as room:
        server = ControlServer(room, control).start()
        try:
            assert connect_room(control).port == room.port
        finally:
            server.stop()
    assert not control.exists()
    control.write_text("my notes")
    with pytest.raises(ControlError, match="no socket"):
        ControlServer(Room(port=0, minutes=1), control).start()
    assert control.read_text() == "my notes"


def test_bad_requests_get_an_error_and_the_room_goes_on(control):
    with Room(port=0, minutes=1) as room:
        server = ControlServer(room, control).start()
        try:
            assert _ask(control, b"not json\n")["ok"] is False
            assert "unknown op" in _ask(control, b'{"op": "format-disk"}\n')["error"]
            assert _ask(control, b'["state"]\n')["ok"] is False
            assert "FROBNICATE" in _ask(control, b'{"op": "behave", "rules": [{"stage": "FROBNICATE"}]}\n')["error"]
            assert _ask(control, b'{"op": "behave", "rules": "all"}\n')["ok"] is False
            assert _ask(control, b"x" * (70 * 1024) + b"\n")["ok"] is False  # over 64 KiB
            assert _ask(control, b"[" * 60000 + b"\n")["ok"] is False  # nested too deep for the decoder
            assert room.behaviours == []
            state = _ask(control, b'{"op": "state", "known": null}\n')
            assert state["ok"] and state["status"]["running"] and "snapshot" in state
            again = _ask(control, json.dumps({"op": "state", "known": state["tag"]}).encode() + b"\n")
            assert "snapshot" not in again  # unchanged: only the status
        finally:
            server.stop()


def test_a_room_restarted_on_the_same_socket_is_news_to_the_deck(control):
    """A new room starts at the same version number as the old one did: the deck still redraws."""
    first = Room(port=0, minutes=1).start()
    server = ControlServer(first, control).start()
    remote = connect_room(control)
    seen, version = remote.snapshot(), remote.version
    server.stop()
    first.stop()
    second = Room(port=0, minutes=1).start()
    try:
        assert second.version <= first.version  # the same numbers again, or fewer
        server = ControlServer(second, control).start()
        assert remote.snapshot().started == second.snapshot().started != seen.started
        assert remote.version > version and remote.port == second.port
        server.stop()
    finally:
        second.stop()
