"""The live dashboard in a notebook: an ipywidgets ``HTML`` redrawn while the room runs.

A daemon thread looks at the room every ``interval`` seconds and redraws only when something
changed (the model's version, the minutes left, the behaviours, the refusals), so an idle room
sends nothing to the browser. When the room stops, the dashboard draws once more and rests.
``refresh()`` redraws at once (tests call it instead of waiting).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .html_view import picture_key, render_html

if TYPE_CHECKING:
    from .room import Room


class Dashboard:
    """``Dashboard(room)``; show it as the last line of a cell (or ``room.dashboard()``). ``room``: a
    `Room`, or the `RemoteRoom` of ``smtpkit classroom``."""

    def __init__(self, room: Room, *, interval: float = 1.0, **render_options: Any) -> None:
        import ipywidgets as w

        if interval <= 0:
            raise ValueError("interval must be positive")
        self.room, self.interval, self.render_options = room, interval, render_options
        self.widget = w.HTML(layout=w.Layout(width="100%"))
        self.widget.add_class("kit-classroom-dashboard")
        self._key: tuple | None = None
        self._running = True
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="smtpkit-classroom-dashboard", daemon=True)
        self._thread.start()

    def refresh(self) -> bool:
        """Redraw if anything changed; True if it did."""
        with self._lock:
            status = self.room.status()
            self._running = status.running
            key = picture_key(self.room.version, status)
            if key == self._key:
                return False
            self._key = key
            self.widget.value = render_html(self.room.snapshot(), status, **self.render_options)
            return True

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # a closed front end must not kill the thread with a traceback in a cell
                pass
            if not self._running:  # as of the status just asked: no second request
                break

    def close(self) -> None:
        """Stop redrawing (the widget keeps its last picture)."""
        self._closed.set()

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)
