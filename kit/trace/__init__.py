"""Tracing a message through its ``Received:`` fields (RFC 5321 §4.4).

    from kit.trace import trace
    t = trace(open("message.eml", "rb").read())   # bytes, str or email.message.Message
    t                                              # a table in Jupyter; print(t) for text
    t.plot()                                       # a timeline (matplotlib)

The pieces, each in its own module: `lexer` (RFC 5322 unfolding, comments, quoted
strings), `dates` (the date-time after the ``;``), `received` (one field into clauses),
`hops` (the chain in travel order, delays, clock skew), `render` (text, HTML, plot) and
`command` (``smtpkit trace``). Nothing here imports Jupyter; matplotlib is imported only
by ``plot()``.
"""

from __future__ import annotations

import sys
import types

from .dates import DateStamp, parse_date
from .hops import Hop, MessageLike, Trace, hops, trace
from .received import ReceivedField, parse_received
from .render import format_delay

__all__ = [
    "DateStamp",
    "Hop",
    "MessageLike",
    "ReceivedField",
    "Trace",
    "format_delay",
    "hops",
    "parse_date",
    "parse_received",
    "trace",
]


class _CallableModule(types.ModuleType):
    """Lets ``kit.trace(message)`` work although ``kit.trace`` is also this package.

    ``from kit import trace`` is the public API (DESIGN.md §4), but Python binds the
    subpackage ``kit.trace`` to the attribute ``trace`` of ``kit`` as soon as it is
    imported, so that name ends up being this module rather than the function.
    Making the module callable keeps both readings right.
    """

    def __call__(self, message: MessageLike) -> Trace:
        return trace(message)

    def __repr__(self) -> str:
        return f"<module {self.__name__!r}, callable as trace(message)>"


sys.modules[__name__].__class__ = _CallableModule
