"""Errors that say whose fault a protocol problem is (the idea comes from h11).

A student's feedback needs exactly this distinction: *your* client broke the protocol
(`LocalProtocolError`), or the *other side* sent something that is not SMTP
(`RemoteProtocolError`). Both are `ProtocolError`, itself a `ValueError`.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Something is not valid SMTP; `reply` is the reply code a server would send."""

    def __init__(self, message: str, reply: str = "501 5.5.4 Syntax error in parameters") -> None:
        super().__init__(message)
        self.reply = reply


class LocalProtocolError(ProtocolError):
    """We (the caller of this library) were about to break the protocol."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not valid SMTP.

    ``lines``: the offending lines as received (when a reader knows them); ``replies``: the
    complete replies a reader had parsed before it met them, so that none is lost.
    """

    def __init__(self, message: str, reply: str = "501 5.5.4 Syntax error in parameters", *,
                 lines: tuple[str, ...] = (), replies: list | None = None) -> None:
        super().__init__(message, reply)
        self.lines = lines
        self.replies = replies if replies is not None else []
