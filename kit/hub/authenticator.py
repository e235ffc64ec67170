"""The hub's login for a seminar: the account and the password from the instructor's slip.

It checks the password against the scrypt hash ``smtpkit hub start`` stored (`passwords`);
only the students of the class list can log in (the hub's ``allowed_users``). For a
university's own logins, JupyterHub's NativeAuthenticator (self sign-up approved by the
instructor), ltiauthenticator (from Moodle/Canvas) or oauthenticator (OIDC, GitHub) replace
this class in the hub's configuration; see docs/HUB.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from .passwords import verify_password
from .state import HubState

__all__ = ["ClassPasswordAuthenticator"]


class ClassPasswordAuthenticator(Authenticator):
    """Account + password as printed by ``smtpkit hub start``."""

    state_dir = Unicode(help="the hub's state folder (its passwords.json)").tag(config=True)

    async def authenticate(self, handler, data):
        name = self.normalize_username(str(data.get("username", "")))
        stored = HubState(Path(self.state_dir)).password_hashes().get(name)
        if not stored:
            return None
        ok = await asyncio.to_thread(verify_password, str(data.get("password", "")), stored)
        return name if ok else None
