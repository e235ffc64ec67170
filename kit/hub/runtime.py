"""The Python students' servers run: a virtual environment every account may run.

The instructor's own environment is often not usable by other accounts (a Python under
``/root/.pyenv`` cannot even be started by a student) and holds the kit with its reference
solutions (an editable install of the instructor's checkout). So the hub gives students an
environment of their own: the dependencies of the student release (JupyterLab, ipywidgets,
aiosmtpd, ...) and ``jupyterhub`` at the hub's own version (for ``jupyterhub-singleuser``), in a
venv made from a Python all accounts can run; the kit itself is the student release's
(``PYTHONPATH``), so a new release needs no reinstall. The environment is reused while its
requirements are the same (``.smtpkit-requirements``); the first build downloads and takes a
minute or two.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from .errors import HubError

__all__ = ["student_environment", "world_runnable", "requirements_of"]

MARKER = ".smtpkit-requirements"


def world_runnable(path: Path) -> bool:
    """Whether any account can reach ``path`` (every folder above it searchable by others)."""
    real = Path(os.path.realpath(path))
    for folder in [*real.parents][::-1]:
        try:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    try:
        return bool(os.stat(real).st_mode & (stat.S_IXOTH | stat.S_IROTH))
    except OSError:
        return False


def _base_python() -> str:
    """A Python of this version that every account can run (with its standard library)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable] if world_runnable(Path(sys.base_prefix) / "lib" / version) else []
    candidates += [p for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}") if os.path.exists(p)]
    for candidate in candidates:
        if world_runnable(Path(candidate)):
            return candidate
    raise HubError(f"no {version} that every account can run: the students' servers need one "
                   f"(e.g. apt-get install {version}-venv), or give --student-env")


def requirements_of(release: Path) -> list[str]:
    """The student release's dependencies and ``jupyterhub`` at the hub's version."""
    import tomllib
    from jupyterhub import __version__ as hub_version

    project = tomllib.loads((release / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project.get("dependencies", []), f"jupyterhub=={hub_version}"]


def student_environment(env: Path, release: Path, say=print) -> Path:
    """The environment's Python, made or brought up to date for ``release``."""
    wanted = "\n".join(requirements_of(release)) + "\n"
    python = env / "bin" / "python"
    marker = env / MARKER
    if python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return python
    base = _base_python()
    say(f"preparing the students' Python environment in {env} (from {base}; the first time this "
        "downloads JupyterLab and takes a minute or two) ...")
    if env.exists() and not python.exists():
        shutil.rmtree(env)
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(env)], check=True, timeout=300)
    done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                           *wanted.split()], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise HubError(f"could not install the students' environment in {env}:\n"
                       + done.stderr.strip()[-2000:])
    marker.write_text(wanted, encoding="utf-8")
    os.chmod(env, 0o755)
    return python
