"""The hub's one error: something the instructor must fix; the message says what."""

from __future__ import annotations

__all__ = ["HubError"]


class HubError(Exception):
    """``smtpkit hub`` cannot go on; the command prints the message and exits with 2."""
