"""The hub's settings: ``settings(...)`` makes them (hub.json), ``apply(c, path)`` turns them into
JupyterHub's configuration (``jupyterhub_config.py`` is two lines calling it).

What it sets, and why:

- the public address (127.0.0.1 unless the instructor names one), the hub's and the proxy's own
  API on 127.0.0.1, on ports chosen free at start; HTTPS when a certificate is given;
- the database, cookie secret and proxy token in the state's 0700 ``secrets/``;
- the login (`authenticator`), only the class's accounts allowed, nobody an admin (the
  instructor works with ``smtpkit hub``);
- the spawner: `spawner.CourseSpawner` (LocalProcessSpawner with cgroup limits), or
  SystemdSpawner with ``mem_limit``/``cpu_limit`` where systemd runs and it is installed;
- each server opens ``~/smtp-course/00_start_here.ipynb``; its Python imports the kit of the
  student release first (no reference solutions), speaks the chosen language (SMTPKIT_LANG, and
  JupyterLab's own language and quiet defaults as in ``smtpkit lab``: `write_lab_defaults`), and
  its lab servers refuse other users' connections (SMTPKIT_LAB_OWNER_ONLY, `kit.server.owner`);
- before a server starts, the release is copied into the home (never over a student's file);
- ``jupyterhub-idle-culler`` as a hub service: servers idle for ``cull_minutes`` are stopped.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
from pathlib import Path
from typing import Any

from .homes import COURSE_FOLDER

__all__ = ["settings", "apply", "config_text", "systemd_available", "write_lab_defaults"]

FIRST_NOTEBOOK = "00_start_here.ipynb"


def systemd_available() -> bool:
    """systemd runs this machine and SystemdSpawner is installed."""
    if not os.path.isdir("/run/systemd/system"):
        return False
    from importlib.util import find_spec

    return find_spec("systemdspawner") is not None


def settings(state_dir: Path, *, ip: str, port: int, hub_port: int, proxy_api_port: int,
             notebooks: Path, lang: str, accounts: list[str], cert: str | None = None,
             key: str | None = None, memory_mb: int = 1024, processes: int = 256, cpus: float = 1.0,
             cull_minutes: int = 60) -> dict[str, Any]:
    """Everything the hub's configuration needs, as JSON-ready values."""
    bin_dir = Path(sys.executable).parent
    return {"state": str(state_dir), "ip": ip, "port": port, "hub_port": hub_port,
            "proxy_api_port": proxy_api_port, "notebooks": str(notebooks), "lang": lang,
            "accounts": sorted(accounts), "cert": cert, "key": key, "memory_mb": memory_mb,
            "processes": processes, "cpus": cpus, "cull_minutes": cull_minutes,
            "python": sys.executable,
            "singleuser": str(bin_dir / "jupyterhub-singleuser"),
            "proxy": shutil.which("configurable-http-proxy") or "configurable-http-proxy",
            "spawner": "systemd" if systemd_available() else "local"}


def write_lab_defaults(state_dir: Path, lang: str) -> None:
    """JupyterLab's defaults for students' servers, as ``smtpkit lab`` sets them (no news
    question, no update check, the display language of the course: `kit.course.lab.lab_settings`),
    in ``STATE/jupyter-config`` (their ``JUPYTER_CONFIG_PATH``); a student's own setting wins."""
    from ..course.lab import lab_settings

    folder = state_dir / "jupyter-config" / "labconfig"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (state_dir / "jupyter-config", folder):
        os.chmod(path, 0o755)
    target = folder / "default_setting_overrides.json"
    target.write_text(json.dumps(lab_settings(lang), indent=1) + "\n", encoding="utf-8")
    os.chmod(target, 0o644)


def config_text(settings_file: Path) -> str:
    """The ``jupyterhub_config.py`` that reads ``settings_file``."""
    return ("# written by smtpkit hub start; the settings are in hub.json\n"
            "from kit.hub.config import apply\n"
            f"apply(c, {str(settings_file)!r})  # noqa: F821 - c is JupyterHub's config\n")


def _release_hook(notebooks: str):
    def pre_spawn(spawner) -> None:
        from .homes import release_into_home

        entry = pwd.getpwnam(spawner.user.name)
        written = release_into_home(Path(notebooks), Path(entry.pw_dir), (entry.pw_uid, entry.pw_gid))
        if written:
            spawner.log.info("smtpkit: released %d notebook(s) into %s", len(written), entry.pw_dir)

    return pre_spawn


def apply(c: Any, settings_file: str) -> None:
    """Set JupyterHub's config object ``c`` from the settings in ``settings_file``."""
    s = json.loads(Path(settings_file).read_text(encoding="utf-8"))
    state = Path(s["state"])
    secrets = state / "secrets"
    c.JupyterHub.ip = s["ip"]
    c.JupyterHub.port = s["port"]
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s["hub_port"]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['proxy_api_port']}"
    c.ConfigurableHTTPProxy.command = [s["proxy"]]
    c.ConfigurableHTTPProxy.pid_file = str(secrets / "proxy.pid")
    if s.get("cert"):
        c.JupyterHub.ssl_cert = s["cert"]
        c.JupyterHub.ssl_key = s["key"]
    c.JupyterHub.db_url = f"sqlite:///{secrets / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(secrets / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "hub.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.authenticator_class = "kit.hub.authenticator.ClassPasswordAuthenticator"
    c.ClassPasswordAuthenticator.state_dir = str(state)
    c.Authenticator.allowed_users = set(s["accounts"])
    c.Authenticator.admin_users = set()
    c.Spawner.cmd = [s["singleuser"]]
    c.Spawner.notebook_dir = "~"
    c.Spawner.default_url = f"/lab/tree/{COURSE_FOLDER}/{FIRST_NOTEBOOK}"
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 90
    c.Spawner.args = ["--LabApp.news_url=None",
                      "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                      "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp: the hub's browser test
    c.Spawner.environment = {
        "PYTHONPATH": str(state / "release"),
        "SMTPKIT_LANG": s["lang"],
        "SMTPKIT_LAB_OWNER_ONLY": "1",
        "JUPYTER_CONFIG_PATH": str(state / "jupyter-config"),
    }
    c.Spawner.pre_spawn_hook = _release_hook(s["notebooks"])
    c.Spawner.mem_limit = f"{s['memory_mb']}M"
    c.Spawner.cpu_limit = float(s["cpus"])
    if s["spawner"] == "systemd":
        c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
        c.SystemdSpawner.dynamic_users = False
        c.SystemdSpawner.isolate_tmp = True
        c.SystemdSpawner.disable_user_sudo = True
    else:
        c.JupyterHub.spawner_class = "kit.hub.spawner.CourseSpawner"
        c.CourseSpawner.memory_mb = s["memory_mb"]
        c.CourseSpawner.processes = s["processes"]
        c.CourseSpawner.cpus = s["cpus"]
    c.JupyterHub.services = [{
        "name": "idle-culler",
        "command": [s["python"], "-m", "jupyterhub_idle_culler", f"--timeout={s['cull_minutes'] * 60}"],
    }]
    c.JupyterHub.load_roles = [{
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }]
