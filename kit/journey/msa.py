"""The MSA: a lab server in submission mode that relays for the users who logged in.

A submission server (RFC 6409) accepts mail from its own users for any domain: that is
its job. It knows them because they authenticate (RFC 6409 §4.3, RFC 4954); strangers get
``530 5.7.0 Authentication required`` before they can name a recipient. A lab server
otherwise refuses every domain it does not own (``554 5.7.1 Relay access denied``), which is
right for an MX and for the lab; the MSA switches on one rule, ``relay_authenticated``: an
authenticated session may name recipients anywhere (Postfix: ``permit_sasl_authenticated``).
Unknown recipients in the MSA's own domains are still refused.
"""

from __future__ import annotations

from typing import Any

from ..server import LabServer

__all__ = ["SubmissionServer"]


class SubmissionServer(LabServer):
    """A `LabServer` with ``submission``, ``require_auth`` and ``relay_authenticated`` on.
    Takes `LabServer`'s keyword arguments (``auth`` is required)."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("submission", True)
        settings.setdefault("require_auth", True)
        settings.setdefault("relay_authenticated", True)
        super().__init__(**settings)
