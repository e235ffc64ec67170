"""Start JupyterLab on the course: the pieces ``smtpkit lab`` is made of.

- ``find_course``: the ``notebooks/`` folder (and the ``solutions/`` beside it, if any): the one
  in the current folder, else the one next to the installed ``kit`` package.
- ``prepare_notebooks``: write student notebooks that are missing (never overwrite one: students
  write into them), and name those that differ from ``solutions/``.
- ``preflight``: JupyterLab importable, the ipywidgets extension installed, the ``python3``
  kernel running this Python.
- ``choose_port`` / ``port_in_use``: 8888 if free, else a free port; a port given by the user is
  checked first, with a clear message when it is taken.
- ``jupyter_command``: the command line. JupyterLab listens on 127.0.0.1 only
  (``ServerApp.ip``), never moves to another port behind our back (``port_retries=0``), opens
  the first notebook (``LabApp.default_url``), and takes its token from ``JUPYTER_TOKEN`` in its
  environment (a token on the command line would show in ``ps``).
- ``wait_until_serving``: poll until the server answers HTTP, or its process ends.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_PORT", "FIRST_NOTEBOOK", "HOST", "Course", "LabError", "choose_port", "find_course",
    "first_notebook", "free_port", "jupyter_command", "lab_url", "port_in_use", "preflight",
    "prepare_notebooks", "wait_until_serving",
]

HOST = "127.0.0.1"  # the only address the course's JupyterLab listens on
DEFAULT_PORT = 8888  # Jupyter's usual port, used when free
FIRST_NOTEBOOK = "00_start_here.ipynb"
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"


class LabError(Exception):
    """Something the user must fix before JupyterLab can start; the message says what.
    ``exit_code`` is 2, as for a bad argument: a port that is taken or not allowed, a missing
    course, JupyterLab not installed."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- #
# the course folder
# --------------------------------------------------------------------------- #
@dataclass
class Course:
    """Where the student notebooks are, and the instructor sources if this is the repository."""

    notebooks: Path
    solutions: Path | None = None
    written: list[str] = field(default_factory=list)  # student notebooks written now
    differ: list[str] = field(default_factory=list)  # student notebooks unlike their solution


def _has_notebooks(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.ipynb"))


def find_course(notebooks: Path | None = None, solutions: Path | None = None,
                cwd: Path | None = None) -> Course:
    """The course to open: ``notebooks`` if given, else ``./notebooks``, else the ``notebooks/``
    beside the installed ``kit`` package (an editable install or a student release). The
    solutions default to the ``solutions/`` folder next to the notebooks, when there is one."""
    cwd = Path.cwd() if cwd is None else cwd
    if notebooks is None:
        package_root = Path(__file__).resolve().parents[2]
        candidates = [cwd / "notebooks", package_root / "notebooks"]
        notebooks = next((c for c in candidates if _has_notebooks(c) or (c.parent / "solutions").is_dir()),
                         candidates[0])
    notebooks = Path(notebooks).absolute()
    if solutions is None:
        solutions = notebooks.parent / "solutions"
        solutions = solutions if solutions.is_dir() else None
    elif not Path(solutions).is_dir():
        raise LabError(f"solutions folder not found: {solutions}")
    return Course(notebooks=notebooks, solutions=Path(solutions).absolute() if solutions else None)


def prepare_notebooks(course: Course, *, release_all: bool = False) -> Course:
    """Bring ``course.notebooks`` up to what the student needs, without losing their work.

    With ``solutions/``: student notebooks that are missing are written (all of them when the
    folder is empty or new); those that exist but differ from a fresh release (a student's edits
    and outputs, or a course change) are listed in ``course.differ`` and left alone. With
    ``release_all`` every notebook is brought up to date as ``smtpkit release`` does, which
    replaces only notebooks nobody changed since the last release: changed ones are refused
    (LabError naming them; ``smtpkit release --force`` replaces them after a backup). Without
    solutions the folder must already hold notebooks.
    """
    if course.solutions is not None:
        from ..authoring import AuthoringError, EditedNotebooks, drift, release

        try:
            if release_all:
                course.written = release(course.solutions, course.notebooks).written
            problems = drift(course.solutions, course.notebooks)
            missing = [name for name, why in problems if why == "missing"]
            if missing:
                course.written += release(course.solutions, course.notebooks, names=missing).written
            course.differ = [name for name, why in problems if why == "out of date"]
        except EditedNotebooks as exc:
            raise LabError(f"{', '.join(exc.names)} changed since the last release (your work?), so --release "
                           "leaves them alone and starts nothing. Keep them: run `smtpkit lab` without --release; "
                           "or replace them with `smtpkit release --force`, which backs them up first") from None
        except AuthoringError as exc:
            raise LabError(f"cannot write the student notebooks: {exc}") from None
    if not _has_notebooks(course.notebooks):
        raise LabError(f"no notebooks in {course.notebooks}: run `smtpkit lab` in the course folder "
                       "(the one holding notebooks/), or name the folder with --notebooks DIR")
    return course


def first_notebook(folder: Path) -> str | None:
    """``00_start_here.ipynb`` if present, else the first notebook by name (None if none)."""
    if (folder / FIRST_NOTEBOOK).is_file():
        return FIRST_NOTEBOOK
    names = sorted(p.name for p in folder.glob("*.ipynb"))
    return names[0] if names else None


# --------------------------------------------------------------------------- #
# checks before starting
# --------------------------------------------------------------------------- #
def preflight() -> list[str]:
    """Warnings about the Jupyter installation (empty when all is well); LabError when
    JupyterLab itself is missing."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        raise LabError(f"JupyterLab is not installed for {sys.executable}: run `make lab`, or "
                       "`pip install -e \".[lab]\"` in the course folder") from None
    warnings = []
    from jupyter_core.paths import jupyter_path

    if not any((Path(d) / WIDGETS_EXTENSION / "package.json").is_file() for d in jupyter_path("labextensions")):
        warnings.append("the ipywidgets extension for JupyterLab is missing, so the course's widgets "
                        "will not show: run `pip install \"ipywidgets>=8\" jupyterlab_widgets`")
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
        except NoSuchKernel:
            argv0 = sys.executable  # ipykernel provides it on the fly with this Python
        # jupyter_client runs a bare "python"/"python3" as the server's own interpreter
        bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
        if argv0 not in bare and Path(argv0).absolute() != Path(sys.executable).absolute():
            warnings.append(f"the notebooks' python3 kernel runs {argv0}, not {sys.executable}; if `import kit` "
                            "fails in a notebook, run `python -m ipykernel install --sys-prefix` with this Python")
    except ImportError:
        warnings.append("jupyter_client is missing: reinstall the course (`pip install -e \".[lab]\"`)")
    return warnings


# --------------------------------------------------------------------------- #
# ports
# --------------------------------------------------------------------------- #
def port_in_use(port: int, host: str = HOST) -> bool:
    """True when ``host:port`` cannot be bound (another program listens there). Binds the way
    JupyterLab's server does (SO_REUSEADDR), so a port in TIME_WAIT counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if os.name != "nt":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)):
                return True
            if exc.errno == errno.EACCES:
                raise LabError(f"not allowed to listen on port {port}: choose one above 1023 with --port") from None
            raise
    return False


def free_port(host: str = HOST) -> int:
    """A port the operating system reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def choose_port(requested: int | None) -> int:
    """The port to use: ``requested`` if it is free (LabError saying so if not), else 8888 if
    free, else any free port."""
    if requested is not None:
        if port_in_use(requested):
            raise LabError(f"port {requested} on {HOST} is already in use (another JupyterLab?): "
                           "choose another with --port N, or leave --port out to use a free one")
        return requested
    return DEFAULT_PORT if not port_in_use(DEFAULT_PORT) else free_port()


# --------------------------------------------------------------------------- #
# the command
# --------------------------------------------------------------------------- #
def jupyter_command(root: Path, port: int, *, first: str | None = FIRST_NOTEBOOK, open_browser: bool = True,
                    verbose: bool = False, allow_root: bool | None = None,
                    python: str | None = None) -> list[str]:
    """The ``jupyter lab`` command line for the course (the token comes from the environment)."""
    if allow_root is None:
        allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
    cmd = [python or sys.executable, "-m", "jupyterlab",
           f"--ServerApp.ip={HOST}",
           f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root}",
           f"--ServerApp.open_browser={open_browser}"]
    if first:
        cmd.append(f"--LabApp.default_url=/lab/tree/{first}")
    if not verbose:
        cmd.append("--ServerApp.log_level=WARN")
    if allow_root:
        cmd.append("--ServerApp.allow_root=True")
    return cmd


def lab_url(port: int, token: str | None = None, first: str | None = FIRST_NOTEBOOK) -> str:
    """The address to open: the first notebook, with the token when there is one."""
    url = f"http://{HOST}:{port}/lab" + (f"/tree/{first}" if first else "")
    return url + (f"?token={token}" if token else "")


def wait_until_serving(port: int, process, timeout: float = 120.0) -> bool:
    """Poll ``http://127.0.0.1:port/api/status`` until the server answers anything (the answer
    may be 403 without a token); False if ``process`` ended first or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api/status", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answers: serving
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.2)
    return False
