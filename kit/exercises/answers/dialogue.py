"""Reference solution of notebook 02's ``dialogue.dot_stuff`` (RFC 5321 §4.5.2)."""

from __future__ import annotations

import re

__all__ = ["dot_stuff"]


def dot_stuff(text: str) -> str:
    """Double the leading dot of every line, the first included; nothing else changes (line ends
    stay as they are: this is transparency, not line-end conversion)."""
    return re.sub(r"(?m)^\.", "..", text)
