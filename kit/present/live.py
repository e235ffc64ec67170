"""The classroom's dashboard on a slide, without widgets.

jupyterlab-rise 0.43 does not render ipywidgets 8 on its slides (jupyterlab-contrib/rise #119,
#126: a widget shows as its text), so the deck shows the room with a plain rich output that a
daemon thread replaces in place (``update_display_data``, by display id) whenever the room
changes: it works in the RISE presenter, in JupyterLab and in the static export alike. The
picture is the classroom's own (`kit.classroom.render_html`); the room is a `Room` in this kernel
or the `RemoteRoom` of ``smtpkit classroom`` (`kit.classroom.connect_room`).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["LiveBoard", "live_board"]


class LiveBoard:
    """Draws ``room`` now and again on every change, every ``interval`` seconds, until the room stops
    or `stop` is called."""

    def __init__(self, room: Any, *, interval: float = 1.0) -> None:
        from IPython.display import DisplayHandle

        if interval <= 0:
            raise ValueError("interval must be positive")
        self.room, self.interval = room, interval
        self._key: tuple | None = None
        self._running = True
        self._stop = threading.Event()
        self.handle = DisplayHandle()  # its own display id, also outside a kernel (where it prints)
        self.handle.display(self._picture())
        self._thread = threading.Thread(target=self._run, name="smtpkit-present-board", daemon=True)
        self._thread.start()

    def _picture(self, status: Any = None):
        from IPython.display import HTML

        from ..classroom import render_html

        status = status or self.room.status()
        self._key, self._running = self._key_of(status), status.running
        return HTML(render_html(self.room.snapshot(), status))

    def _key_of(self, status: Any) -> tuple:
        from ..classroom.html_view import picture_key

        return picture_key(self.room.version, status)

    def refresh(self) -> bool:
        """Redraw if the room changed; True if it did."""
        status = self.room.status()
        self._running = status.running
        if self._key_of(status) == self._key:
            return False
        self.handle.update(self._picture(status))
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # a closed kernel connection must not end in a traceback in a cell
                pass
            if not self._running:  # as of the status just asked: no second request
                break

    def stop(self) -> None:
        self._stop.set()


def live_board(room: Any, *, interval: float = 1.0) -> LiveBoard:
    """Show the room's dashboard in this cell's output and keep it current."""
    return LiveBoard(room, interval=interval)
