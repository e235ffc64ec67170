"""The SMTP course kit: a lab server, a recording client, tracing tools, widgets and checkers.

The names below are imported lazily, so `import kit` stays cheap and a script that only
needs the protocol core never pulls in aiosmtpd or Jupyter packages.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["LabServer", "SMTPSession", "send_mail", "trace", "check", "__version__"]
__version__ = "0.1.0"

_LAZY = {
    "LabServer": ("kit.server", "LabServer"),
    "SMTPSession": ("kit.client", "SMTPSession"),
    "send_mail": ("kit.client", "send_mail"),
    "trace": ("kit.trace", "trace"),
    "check": ("kit.exercises", "check"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'kit' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return sorted(__all__)
