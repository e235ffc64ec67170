"""One room, two processes: `smtpkit classroom` runs it, the presenter's deck shows and steers it.

The instructor starts the class's server in a terminal (``smtpkit classroom``); the deck runs in
a Jupyter kernel, another process. `ControlServer` (in the terminal's process) answers on a Unix
socket; `connect_room` (in the kernel) returns a `RemoteRoom` that the deck's views draw exactly
like a local `Room` (`kit.present.live.live_board`, `Room.dashboard`) and whose behaviours the
presenter switches live (``room.set_behaviour(greylist())``).

Who may connect: the socket lives in a folder only this user can enter (mode 0700, owned by the
user, not a symbolic link; else `ControlError`, fail closed) and is itself 0600, so nobody else on
the machine can read the room or change it; no port is opened, nothing listens on the network.
One JSON object a line, one request per connection (`kit.classroom.wire` for the records):

- ``{"op": "state", "known": TAG}``: the status, and the snapshot unless the room is still as TAG
  (its start and version, from the last reply) says;
- ``{"op": "behave", "rules": [...], "add": false}``: the rules from now on (or one more);
- ``{"op": "stop"}``: the room stops (its sessions get ``421``), as at its time limit.

Where: ``$SMTPKIT_CLASSROOM_CONTROL``, else ``$XDG_RUNTIME_DIR/smtpkit/classroom.sock``, else
``~/.cache/smtpkit/classroom.sock``; ``smtpkit classroom --control PATH`` names another.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import socketserver
import stat
import threading
from pathlib import Path
from typing import Any

from ..server import Behaviour
from .room import chosen_rules
from .wire import WireError, dump, load_behaviour, load_snapshot, load_status

__all__ = ["ControlError", "ControlServer", "RemoteRoom", "connect_room", "control_path"]

ENV = "SMTPKIT_CLASSROOM_CONTROL"
REQUEST_LIMIT = 64 * 1024  # octets in one request line: rules are small
REPLY_LIMIT = 64 * 1024 * 1024  # a snapshot of 500 sessions stays far below
TIMEOUT = 5.0


class ControlError(Exception):
    """The control socket cannot be used: another room holds it, its folder is not private, or the
    room answered with an error."""


def control_path(path: str | os.PathLike | None = None) -> Path:
    """The control socket's path: ``path``, else the environment's, else the user's default."""
    if path:
        return Path(path)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "smtpkit" if runtime else Path.home() / ".cache" / "smtpkit"
    return base / "classroom.sock"


def _private_folder(folder: Path, *, create: bool) -> None:
    """Make sure ``folder`` is this user's alone: a real folder (not a link), owned, mode 0700."""
    if create:
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise ControlError(f"{folder} is not a folder (a link or a file): refusing it for the control socket")
    if info.st_uid != os.geteuid():
        raise ControlError(f"{folder} belongs to another user (uid {info.st_uid}): refusing it for the control socket")
    if info.st_mode & 0o077:
        raise ControlError(f"{folder} is open to others (mode {stat.S_IMODE(info.st_mode):o}); "
                           f"it must be 0700 for the control socket (chmod 700 {folder})")


def _ask(path: Path, request: dict, *, timeout: float = TIMEOUT) -> dict:
    """One request, one reply. OSError when nobody answers at ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        with sock.makefile("rb") as stream:
            line = stream.readline(REPLY_LIMIT + 1)
    if not line.endswith(b"\n"):
        raise ControlError("the room's reply was cut off or too long")
    try:
        reply = json.loads(line)
    except ValueError:
        raise ControlError("the room's reply is not JSON") from None
    if not isinstance(reply, dict) or not reply.get("ok"):
        raise ControlError(str(reply.get("error") if isinstance(reply, dict) else reply))
    return reply


class _Handler(socketserver.StreamRequestHandler):
    timeout = TIMEOUT

    def handle(self) -> None:
        line = self.rfile.readline(REQUEST_LIMIT + 1)
        try:
            if not line.endswith(b"\n"):
                raise WireError("one JSON object on one line, at most 64 KiB")
            reply = {"ok": True, **self.server.control.answer(json.loads(line))}
        except (ValueError, TypeError, RecursionError) as exc:  # WireError, JSON errors, nesting too deep
            reply = {"ok": False, "error": str(exc)}
        self.wfile.write(json.dumps(reply).encode() + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up or timed out: nothing to print into the instructor's terminal


class ControlServer:
    """Answers the deck's requests about ``room`` on the socket at ``path`` (see the module)."""

    def __init__(self, room: Any, path: str | os.PathLike | None = None) -> None:
        self.room = room
        self.path = control_path(path)
        self._server: _Server | None = None
        self._inode: int | None = None

    def start(self) -> ControlServer:
        _private_folder(self.path.parent, create=True)
        if os.path.lexists(self.path):
            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):
                raise ControlError(f"{self.path} exists and is no socket: not touching it")
            try:
                _ask(self.path, {"op": "state", "known": None}, timeout=1.0)
            except (OSError, ControlError):
                os.unlink(self.path)  # left by a room that ended without cleaning up
            else:
                raise ControlError(f"another classroom is running (control socket {self.path}); "
                                   "stop it or give this one --control PATH")
        self._server = _Server(str(self.path), _Handler)
        self._server.control = self
        os.chmod(self.path, 0o600)
        self._inode = os.lstat(self.path).st_ino
        threading.Thread(target=self._server.serve_forever, name="smtpkit-classroom-control", daemon=True).start()
        return self

    def answer(self, request: Any) -> dict:
        if not isinstance(request, dict):
            raise WireError("a request is a JSON object")
        op = request.get("op")
        if op == "state":
            # the room's start time and the model's version: a room restarted on the same socket
            # at the same version number is still news
            model = self.room.model
            reply = {"tag": f"{model.started!r}/{model.version}", "status": dump(self.room.status())}
            if request.get("known") != reply["tag"]:
                snapshot = self.room.snapshot()  # the tag of what is sent, even if the room moved meanwhile
                reply.update(tag=f"{snapshot.started!r}/{snapshot.version}", snapshot=dump(snapshot))
            return reply
        if op == "behave":
            rules = request.get("rules")
            if not isinstance(rules, list):
                raise WireError("rules: expected a list")
            loaded = [load_behaviour(rule) for rule in rules]
            if request.get("add"):
                for rule in loaded:
                    self.room.add_behaviour(rule)
            else:
                self.room.set_behaviour(*loaded)
            return {"status": dump(self.room.status())}
        if op == "stop":
            self.room.model.note("stopped from the presenter's notebook")
            self.room.stop()
            return {"status": dump(self.room.status())}
        raise WireError(f"unknown op {op!r}: state, behave or stop")

    def stop(self) -> None:
        """Stop answering and remove the socket (if it is still this server's)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        try:
            if os.lstat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass


class RemoteRoom:
    """The room `smtpkit classroom` runs, seen from the presenter's kernel: ``status()``,
    ``snapshot()``, ``version``, ``running`` and the behaviours, like `Room`; when the terminal's
    room has ended, its last status says ``running=False``."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = control_path(path)
        _private_folder(self.path.parent, create=False)
        self._version: int | None = None
        self._tag: str | None = None
        self._snapshot = None
        self._status = None
        self._lock = threading.Lock()
        self.status()  # raises OSError when nobody answers

    def _take(self, reply: dict) -> None:
        if "snapshot" in reply:
            self._snapshot = load_snapshot(reply["snapshot"])
            self._tag = reply.get("tag")
            self._version = (self._version or 0) + 1  # moves exactly when the room did
        self._status = load_status(reply["status"])

    def status(self):
        with self._lock:
            try:
                self._take(_ask(self.path, {"op": "state", "known": self._tag}))
            except OSError:
                if self._status is None:
                    raise
                self._status = dataclasses.replace(self._status, running=False, seconds_left=0.0)
            return self._status

    def snapshot(self):
        """The room now, asked again like `Room.snapshot` (an unchanged room answers with its
        status only: 0.6 ms, `benchmarks/classroom_control.py`)."""
        self.status()
        return self._snapshot

    @property
    def version(self) -> int:
        """Grows each time a changed room arrives, as of the last `status` (views ask `status` first)."""
        if self._version is None:
            self.status()
        return self._version

    @property
    def running(self) -> bool:
        return self.status().running

    @property
    def host(self) -> str:
        return self._status.host

    @property
    def port(self) -> int:
        return self._status.port

    @property
    def domain(self) -> str:
        return self._status.domain

    def _send(self, request: dict) -> None:
        with self._lock:
            self._status = load_status(_ask(self.path, request)["status"])

    def set_behaviour(self, *rules: Behaviour | None) -> None:
        """As `Room.set_behaviour`: only these rules from now on; none: back to normal."""
        self._send({"op": "behave", "rules": [dump(r) for r in chosen_rules(rules)], "add": False})

    def add_behaviour(self, rule: Behaviour) -> None:
        """As `Room.add_behaviour`: one more rule beside those on."""
        self._send({"op": "behave", "rules": [dump(r) for r in chosen_rules((rule,))], "add": True})

    def stop(self) -> None:
        """Stop the terminal's room (as its time limit would)."""
        try:
            self._send({"op": "stop"})
        except OSError:
            pass  # already gone

    def dashboard(self, *, interval: float = 1.0, **render_options: Any):
        from .widget import Dashboard

        return Dashboard(self, interval=interval, **render_options)

    def _repr_html_(self) -> str:
        from .html_view import render_html

        status = self.status()
        return render_html(self.snapshot(), status)

    def __repr__(self) -> str:
        status = self._status
        where = f"{status.host}:{status.port}" if status.running else "stopped"
        return f"<RemoteRoom @{status.domain} {where} via {self.path}>"


def connect_room(path: str | os.PathLike | None = None) -> RemoteRoom | None:
    """The room `smtpkit classroom` runs on this machine, or None when none answers.

    ``room = connect_room() or start_room(...)``: the terminal's room if there is one, else one
    in this kernel. A control folder that is not private raises `ControlError` (fail closed)."""
    target = control_path(path)
    if not os.path.lexists(target):
        return None
    try:
        return RemoteRoom(target)
    except OSError:
        return None  # a socket left behind by a room that has ended
