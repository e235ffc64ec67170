"""What a ``call`` may raise: the student's side of a test went wrong, and how.

A test receives ``call``, which runs the student's function: directly in the notebook, or in
the student's kernel when the grader judges. Either way ``call`` reports trouble with one of
these exceptions, so a test and the runner never need to know where the code ran. Any other
exception out of a test is a bug in the checker itself, and is reported as such.
"""

from __future__ import annotations

import sysconfig
import traceback
from pathlib import Path

from ..i18n import _
from ._shell import current_shell

__all__ = ["CallError", "NotAttempted", "TimeLimitExceeded", "StudentError", "BadResult"]


class CallError(Exception):
    """Base class: the student's code did not produce a usable result."""

    status = "error"
    #: How the call looked (``add(2, 3)``), filled in by the test that made it, for feedback.
    input: str | None = None


class NotAttempted(CallError):
    """The student's function raised NotImplementedError: it is still the released stub."""

    status = "not attempted"


class TimeLimitExceeded(CallError):
    """The student's function ran longer than the time limit and was stopped."""

    status = "timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(_("took longer than {seconds} s (endless loop, or waiting forever?)").format(
            seconds=f"{seconds:g}"))
        self.seconds = seconds


class BadResult(CallError):
    """The student's function returned something that is not a plain value."""

    status = "failed"


class StudentError(CallError):
    """The student's function raised; carries the type, message and the student's frames."""

    def __init__(self, type_name: str, message: str, traceback_text: str = "") -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text

    @classmethod
    def from_exception(cls, exc: BaseException) -> StudentError:
        """Describe ``exc`` keeping only the traceback frames of the student's own code."""
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_student(f.filename)]
        for frame in frames:
            frame.filename = _cell_name(frame.filename)
        lines = traceback.format_list(frames)
        return cls(type(exc).__qualname__, str(exc), "".join(lines).rstrip())


def _library_roots() -> tuple[str, ...]:
    kit_root = Path(__file__).resolve().parents[1]
    paths = sysconfig.get_paths()
    roots = {str(kit_root)} | {
        str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    return tuple(sorted(roots))


_LIBRARY_ROOTS = _library_roots()


def _is_student(filename: str) -> bool:
    if filename.startswith("<frozen "):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not resolved.startswith(_LIBRARY_ROOTS)


def _cell_name(filename: str) -> str:
    """``/tmp/ipykernel_1/2.py`` -> ``Cell In[5]``, as IPython itself names notebook cells."""
    number = getattr(getattr(current_shell(), "compile", None), "_filename_map", {}).get(filename)
    return f"Cell In[{number}]" if number is not None else filename
