"""Where the hub keeps its files: one folder (``--state``, default ``/var/lib/smtpkit-hub``).

::

    STATE/accounts.json        the accounts this command created (only these are ever removed)
    STATE/passwords.json       their password hashes (0600)
    STATE/hub.json             the hub's settings, read by jupyterhub_config.py
    STATE/jupyterhub_config.py two lines: apply hub.json
    STATE/release/             the student release (kit without the reference solutions + notebooks)
    STATE/env/                 the students' Python environment (`runtime`)
    STATE/hub.pid              the running hub's process id
    STATE/secrets/             JupyterHub's database and cookie secret (0700)

The folder itself is readable by everyone (students' servers read ``release/`` and ``env/``);
what is secret lies in 0600 files or the 0700 ``secrets/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HubState", "DEFAULT_STATE"]

DEFAULT_STATE = Path("/var/lib/smtpkit-hub")


def _write_json(path: Path, value: Any, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, sort_keys=True)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


@dataclass(frozen=True)
class HubState:
    """The state folder and the files in it."""

    root: Path

    def create(self) -> HubState:
        """Make the folder (0755) and ``secrets/`` (0700)."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.secrets.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.secrets, 0o700)
        return self

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def settings_file(self) -> Path:
        return self.root / "hub.json"

    @property
    def config_file(self) -> Path:
        return self.root / "jupyterhub_config.py"

    @property
    def pid_file(self) -> Path:
        return self.root / "hub.pid"

    def _read(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((self.root / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def accounts(self) -> dict[str, dict[str, Any]]:
        """account -> {"uid", "gid", "home", "display"} for every account this command made."""
        return self._read("accounts.json")

    def save_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        _write_json(self.root / "accounts.json", accounts, 0o644)

    def password_hashes(self) -> dict[str, str]:
        return self._read("passwords.json")

    def save_password_hashes(self, hashes: dict[str, str]) -> None:
        _write_json(self.root / "passwords.json", hashes, 0o600)

    def settings(self) -> dict[str, Any]:
        return self._read("hub.json")

    def save_settings(self, settings: dict[str, Any]) -> None:
        _write_json(self.settings_file, settings, 0o644)
