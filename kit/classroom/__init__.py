"""The room on one server (`smtpkit classroom`): the whole class speaks SMTP to one lab
server, and the projector shows every session live.

`Room` runs it (safe defaults, limits per address, a time limit, behaviours switched live);
`RoomModel` is what the dashboard knows; `render_html`/`Dashboard` show it in a notebook or a
slide, `render_text`/`format_event` in a console; `connect_room` gives the deck the room that
``smtpkit classroom`` runs in a terminal (`RemoteRoom`, over a private control socket).
"""

from .control import ControlError, ControlServer, RemoteRoom, connect_room, control_path
from .html_view import render_html
from .limits import Limits, PeerGuard
from .listen import ListenError, check_listen
from .model import Event, Exchange, Mail, Mistake, Place, RoomModel, RoomSnapshot, RoomStatus, SessionView
from .room import Room, describe, start_room, stop_room
from .server import ClassroomServer
from .text import visible
from .text_view import format_event, render_text

__all__ = [
    "Room", "start_room", "stop_room", "describe", "connect_room", "RemoteRoom", "ControlServer", "ControlError",
    "control_path", "Limits", "PeerGuard", "ListenError", "check_listen",
    "RoomModel", "RoomSnapshot", "RoomStatus", "SessionView", "Exchange", "Mail", "Mistake", "Place", "Event",
    "ClassroomServer", "render_html", "render_text", "format_event", "visible",
]
