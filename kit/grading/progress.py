"""A one-line progress bar on stderr, drawn only when stderr is a terminal.

``ProgressBar()(done, total, label)`` redraws the line; ``close()`` ends it. In a log file or a
CI job nothing is written, so the output stays clean for scripts.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["ProgressBar", "format_duration"]


def format_duration(seconds: float) -> str:
    """``0:07``, ``1:02:03``."""
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """``[#########.........]  12/40 notebooks  0:12, ~0:30 left  alice/02_dialogue.ipynb``"""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None,
                 width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.width = width
        self._started = time.monotonic()
        self._drawn = False
        self._lock = threading.Lock()

    def line(self, done: int, total: int, label: str = "") -> str:
        """The text of the bar (without the carriage return)."""
        filled = self.width * done // total if total else self.width
        elapsed = time.monotonic() - self._started
        text = f"[{'#' * filled}{'.' * (self.width - filled)}] {done:>{len(str(total))}}/{total} notebooks"
        text += f"  {format_duration(elapsed)}"
        if 0 < done < total:
            text += f", ~{format_duration(elapsed / done * (total - done))} left"
        if label:
            text += f"  {label}"
        return text[:160]

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if not self.enabled:
            return
        with self._lock:
            self.stream.write("\r\x1b[K" + self.line(done, total, label))
            self.stream.flush()
            self._drawn = True

    def close(self) -> None:
        with self._lock:
            if self.enabled and self._drawn:
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False
