"""Start JupyterLab on the course: the pieces ``smtpkit lab`` is made of.

- ``find_course``: the ``notebooks/`` folder (and the ``solutions/`` beside it, if any): the one
  in the current folder, else the one next to the installed ``kit`` package.
- ``prepare_notebooks``: write student notebooks that are missing (never overwrite one: students
  write into them), and name those that differ from ``solutions/``.
- ``trust_course``: sign the kit's own notebooks (exactly as the release wrote them) in
  Jupyter's notebook signature store, as ``jupyter trust`` would, so JupyterLab does not call
  them untrusted; a notebook from elsewhere, or one changed since, is left as it is.
- ``preflight``: JupyterLab importable, the ipywidgets extension installed, the ``python3``
  kernel running this Python.
- ``choose_port`` / ``port_in_use``: 8888 if free, else a free port; a port given by the user is
  checked first, with a clear message when it is taken.
- ``jupyter_command``: the command line. JupyterLab listens on 127.0.0.1 only
  (``ServerApp.ip``), never moves to another port behind our back (``port_retries=0``), opens
  the first notebook (``LabApp.default_url``), and takes its token from ``JUPYTER_TOKEN`` in its
  environment (a token on the command line would show in ``ps``). Its contents manager
  (`CourseContentsManager`) shows a notebook as released with the kernel's own ``kernelspec``
  and ``language_info``, so that opening one does not mark it as changed.
- ``quiet_config_path`` / ``lab_environment``: Jupyter's news question and update check are off
  by default (a default only: a student's own setting wins); for the German course (``lang``),
  JupyterLab's display language is German the same way, for that lab only, and the kernels get
  ``SMTPKIT_LANG``.
- ``wait_until_serving``: poll until the server answers HTTP, or its process ends.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..notebook_file import DEFAULT_LANG, LANGUAGES

__all__ = [
    "DEFAULT_PORT", "FIRST_NOTEBOOK", "HOST", "Course", "LabError", "choose_port", "find_course",
    "first_notebook", "free_port", "jupyter_command", "lab_url", "port_in_use", "preflight",
    "prepare_notebooks", "trust_course", "wait_until_serving", "quiet_config_path", "lab_environment",
    "QUIET_SETTINGS", "CONTENTS_MANAGER", "as_the_kernel_reports", "LAB_LOCALES", "lab_settings",
    "language_pack_installed",
]

HOST = "127.0.0.1"  # the only address the course's JupyterLab listens on
DEFAULT_PORT = 8888  # Jupyter's usual port, used when free
FIRST_NOTEBOOK = "00_start_here.ipynb"
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
#: JupyterLab settings whose defaults the course changes: no "get notified about Jupyter news?"
#: question over the first notebook, no update check (both would reach the internet).
QUIET_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
CONTENTS_MANAGER = "kit.course.lab.CourseContentsManager"
#: JupyterLab's display language for a course language: the locale of the language pack the ``lab``
#: extra installs (``jupyterlab-language-pack-de-DE`` provides ``de_DE``). English is JupyterLab's own.
LAB_LOCALES = {"de": "de_DE"}
TRANSLATION_PLUGIN = "@jupyterlab/translation-extension:plugin"


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
    lang: str = DEFAULT_LANG  # the course's language: English, or a translation in notebooks/<lang>/
    #: The release's text of each student notebook (from one `ReleasePlan`), once computed.
    released: dict[str, str] | None = None
    #: Cells of a translation still shown in English (its catalogs are not complete).
    untranslated: int = 0


def _has_notebooks(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.ipynb"))


def find_course(notebooks: Path | None = None, solutions: Path | None = None,
                cwd: Path | None = None, lang: str = DEFAULT_LANG) -> Course:
    """The course to open: ``notebooks`` if given, else ``./notebooks``, else the ``notebooks/``
    beside the installed ``kit`` package (an editable install or a student release); for a
    translation (``lang`` "de"), the ``<lang>/`` folder inside it. The solutions default to the
    ``solutions/`` folder next to the (English) notebooks, when there is one: a translation is
    made from them and their catalogs."""
    if lang not in LANGUAGES:
        raise LabError(f"unknown language {lang!r}: the course has {', '.join(LANGUAGES)}")
    cwd = Path.cwd() if cwd is None else cwd
    if notebooks is None:
        package_root = Path(__file__).resolve().parents[2]
        candidates = [cwd / "notebooks", package_root / "notebooks"]
        base = next((c for c in candidates if _has_notebooks(c) or (c.parent / "solutions").is_dir()),
                    candidates[0])
        notebooks = base if lang == DEFAULT_LANG else base / lang
    notebooks = Path(notebooks).absolute()
    english = notebooks.parent if lang != DEFAULT_LANG and notebooks.name == lang else notebooks
    if solutions is None:
        solutions = english.parent / "solutions"
        solutions = solutions if solutions.is_dir() else None
    elif not Path(solutions).is_dir():
        raise LabError(f"solutions folder not found: {solutions}")
    return Course(notebooks=notebooks, solutions=Path(solutions).absolute() if solutions else None, lang=lang)


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
        from ..authoring import AuthoringError, EditedNotebooks
        from ..authoring.plan import ReleasePlan
        from ..authoring.release import folder_drift, write_release

        try:
            edition = ReleasePlan(course.solutions).edition(course.lang)  # rendered once, used for all below
            course.released = edition.student
            course.untranslated = sum(1 for p in edition.problems if p.kind != "obsolete")
            if release_all:
                course.written = write_release(course.notebooks, course.released).written
            problems = folder_drift(course.notebooks, course.released)
            missing = [name for name, why in problems if why == "missing"]
            if missing:
                course.written += write_release(course.notebooks, course.released, names=missing).written
            course.differ = [name for name, why in problems if why == "out of date"]
        except EditedNotebooks as exc:
            raise LabError(f"{', '.join(exc.names)} changed since the last release (your work?), so --release "
                           "leaves them alone and starts nothing. Keep them: run `smtpkit lab` without --release; "
                           "or replace them with `smtpkit release --force`, which backs them up first") from None
        except AuthoringError as exc:
            raise LabError(f"cannot write the student notebooks: {exc}") from None
    if not _has_notebooks(course.notebooks) and course.lang != DEFAULT_LANG and course.solutions is None:
        raise LabError(f"the {course.lang} course is not here: no notebooks in {course.notebooks} (a student "
                       "release holds a translation only once it is complete); `smtpkit lab` opens the English one")
    if not _has_notebooks(course.notebooks):
        raise LabError(f"no notebooks in {course.notebooks}: run `smtpkit lab` in the course folder "
                       "(the one holding notebooks/), or name the folder with --notebooks DIR")
    return course


def trust_course(course: Course, notary: Any = None) -> list[str]:
    """Sign the kit's own notebooks in ``course.notebooks`` as trusted (Jupyter's notebook
    signature store, the one ``jupyter trust`` and JupyterLab use); return their names.

    "The kit's own" is exact: the bytes the release recorded in the folder's manifest, or those
    a release from ``course.solutions`` writes now. Anything else (a notebook from elsewhere, or
    one saved since; JupyterLab signs those itself when it saves them with trusted output) is
    left as it is.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    from ..authoring import AuthoringError
    from ..authoring.plan import ReleasePlan
    from ..authoring.workspace import digest, read_manifest

    manifest = read_manifest(course.notebooks)
    fresh = course.released
    if fresh is None:
        try:
            fresh = ReleasePlan(course.solutions).edition(course.lang).student if course.solutions is not None else {}
        except AuthoringError:
            fresh = {}
    notary = NotebookNotary() if notary is None else notary
    Path(notary.data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)  # where its secret key goes
    trusted = []
    for path in sorted(course.notebooks.glob("*.ipynb")):
        data = path.read_bytes()
        entry = manifest.get(path.name) or {}
        if data != fresh.get(path.name, "").encode("utf-8") and digest(data) != entry.get("sha256"):
            continue
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not notary.check_signature(notebook):
            notary.sign(notebook)
        trusted.append(path.name)
    return trusted


def first_notebook(folder: Path) -> str | None:
    """``00_start_here.ipynb`` if present, else the first notebook by name (None if none)."""
    if (folder / FIRST_NOTEBOOK).is_file():
        return FIRST_NOTEBOOK
    names = sorted(p.name for p in folder.glob("*.ipynb"))
    return names[0] if names else None


# --------------------------------------------------------------------------- #
# checks before starting
# --------------------------------------------------------------------------- #
def language_pack_installed(locale: str) -> bool:
    """True when a JupyterLab language pack for ``locale`` (``de_DE``) is installed (the entry point
    group JupyterLab's server finds them by)."""
    from importlib.metadata import entry_points

    return any(ep.name == locale for ep in entry_points(group="jupyterlab.languagepack"))


def preflight(lang: str = DEFAULT_LANG) -> list[str]:
    """Warnings about the Jupyter installation (empty when all is well); LabError when
    JupyterLab itself is missing. For a translated course, also the language pack."""
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
    locale = LAB_LOCALES.get(lang)
    if locale and not language_pack_installed(locale):
        package = "jupyterlab-language-pack-" + locale.replace("_", "-")
        warnings.append(f"JupyterLab's {lang} language pack is missing, so its menus stay English: "
                        f"run `pip install {package}` (the course's `lab` extra installs it)")
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
    cmd.append(f"--ServerApp.contents_manager_class={CONTENTS_MANAGER}")
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
    """Poll ``http://127.0.0.1:port/api`` (the server's version: it needs no token, so the probe
    leaves no ``403`` in JupyterLab's log) until the server answers anything; False if
    ``process`` ended first or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answers: serving
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.2)
    return False


# --------------------------------------------------------------------------- #
# a quiet JupyterLab
# --------------------------------------------------------------------------- #
def lab_settings(lang: str = DEFAULT_LANG) -> dict[str, dict]:
    """The setting defaults of the course's JupyterLab: `QUIET_SETTINGS`, and for a translated
    course its display language (`LAB_LOCALES`)."""
    settings = json.loads(json.dumps(QUIET_SETTINGS))
    if lang in LAB_LOCALES:
        settings[TRANSLATION_PLUGIN] = {"locale": LAB_LOCALES[lang]}
    return settings


@contextmanager
def quiet_config_path(lang: str = DEFAULT_LANG) -> Iterator[Path]:
    """A temporary Jupyter config folder holding the course's setting defaults
    (``labconfig/default_setting_overrides.json``: `lab_settings`); removed afterwards.

    JupyterLab reads it because `lab_environment` appends it to ``JUPYTER_CONFIG_PATH``: the
    language is set for this lab only, as a default, and never written into the user's settings
    (``~/.jupyter/lab/user-settings``). A language the user chose there (Settings -> Language)
    still wins, as any setting of their own does. Known with the German pack (JupyterLab 4.5):
    theme CSS overrides such as ``code-font-family`` are ignored (jupyterlab/jupyterlab#18520);
    the course sets none."""
    with tempfile.TemporaryDirectory(prefix="smtpkit-lab-") as folder:
        labconfig = Path(folder) / "labconfig"
        labconfig.mkdir()
        (labconfig / "default_setting_overrides.json").write_text(json.dumps(lab_settings(lang), indent=1),
                                                                   encoding="utf-8")
        yield Path(folder)


def lab_environment(token: str, config_path: Path | None = None,
                    base: Mapping[str, str] | None = None, lang: str | None = None) -> dict[str, str]:
    """JupyterLab's environment: ``base`` (default ``os.environ``) with the token, and
    ``config_path`` appended to ``JUPYTER_CONFIG_PATH`` (after the user's own folders, so their
    settings win over the course's defaults). With ``lang``, ``SMTPKIT_LANG`` too, so that the
    kit speaks the course's language in every kernel of this lab (the translated notebooks also
    set it themselves, for kernels started elsewhere)."""
    env = dict(os.environ if base is None else base, JUPYTER_TOKEN=token)
    if lang is not None:
        env["SMTPKIT_LANG"] = lang
    if config_path is not None:
        paths = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([*paths, str(config_path)])
    return env


# --------------------------------------------------------------------------- #
# notebooks as the kernel will describe them (imported inside JupyterLab only)
# --------------------------------------------------------------------------- #
def as_the_kernel_reports(notebook: dict, kernelspec: dict | None, language_info: dict | None) -> bool:
    """Fill in the notebook metadata a kernel reports when JupyterLab connects to it, for a
    notebook still as released (``kernelspec`` python3 "Python 3", ``language_info`` only the
    language name); True if it changed. JupyterLab writes both into the notebook once the kernel
    answers and marks the notebook changed when they differ, which every released notebook did (the
    display name "Python 3 (ipykernel)", the Python version); a release cannot know the Python a
    student will run, the server starting the kernel does. Any other notebook is left as it is."""
    from ..authoring.release import RELEASED_METADATA

    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict) or kernelspec is None or language_info is None:
        return False
    if {k: metadata.get(k) for k in RELEASED_METADATA} != RELEASED_METADATA:
        return False
    if kernelspec.get("name") != RELEASED_METADATA["kernelspec"]["name"]:
        return False
    if language_info.get("name") != RELEASED_METADATA["language_info"]["name"]:
        return False
    metadata["kernelspec"] = dict(kernelspec)
    metadata["language_info"] = json.loads(json.dumps(language_info))
    return True


def _contents_manager_class() -> type:
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    class CourseContentsManager(AsyncLargeFileManager):
        """JupyterLab's usual file contents manager; a notebook still as released is shown with
        the metadata its python3 kernel will report (`as_the_kernel_reports`). The file itself is
        not changed: only a save writes, as it always does."""

        _kernel_metadata: tuple[dict | None, dict | None] | None = None

        def _python3_metadata(self) -> tuple[dict | None, dict | None]:
            if self._kernel_metadata is None:
                try:
                    manager = getattr(self.parent, "kernel_spec_manager", None)
                    if manager is None:
                        from jupyter_client.kernelspec import KernelSpecManager

                        manager = KernelSpecManager()
                    spec = manager.get_kernel_spec("python3")
                    from ipykernel.ipkernel import IPythonKernel

                    kernelspec = {"name": "python3", "display_name": spec.display_name, "language": spec.language}
                    self._kernel_metadata = (kernelspec, dict(IPythonKernel.language_info))
                except Exception as exc:  # noqa: BLE001 - only a nicety: show the file as it is
                    self.log.debug("smtpkit: no python3 kernel metadata (%s)", exc)
                    self._kernel_metadata = (None, None)
            return self._kernel_metadata

        async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002
            model = await super().get(path, content=content, type=type, format=format, **kwargs)
            if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
                as_the_kernel_reports(model["content"], *self._python3_metadata())
            return model

    CourseContentsManager.__module__ = __name__
    CourseContentsManager.__qualname__ = "CourseContentsManager"
    return CourseContentsManager


def __getattr__(name: str) -> Any:
    # PEP 562: `CourseContentsManager` is made on first use, so that importing this module (for
    # `smtpkit lab` itself) does not import jupyter_server; JupyterLab imports it by name.
    if name == "CourseContentsManager":
        cls = _contents_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
