"""Run a function under a wall-clock limit, so an endless loop cannot freeze the kernel.

In the main thread (where a Jupyter kernel runs cells) an ``ITIMER_REAL`` timer raises a private
``BaseException`` inside the running code: ``except Exception`` in the student's loop cannot
swallow it. If a bare ``except:`` does, the timer fires again 0.1 s later and installs a trace
function that raises it again on the next line, inside the ``except`` block that caught it, so
it escapes from there. The previous SIGALRM handler, trace function and timer (pytest-timeout
uses one) are restored afterwards, with the outer timer's remaining time.

Off the main thread, or without ``setitimer``, the function runs in a daemon thread that is
abandoned after the limit: it cannot be stopped, so it may keep burning CPU until it ends or
the process exits.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from ._errors import TimeLimitExceeded

__all__ = ["call_with_time_limit"]

T = TypeVar("T")
_REFIRE = 0.1


class _Alarm(BaseException):
    """Raised inside the timed code by the SIGALRM handler; never escapes this module."""


def call_with_time_limit(seconds: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Return ``fn(*args, **kwargs)``, or raise TimeLimitExceeded after ``seconds``."""
    if seconds <= 0:
        raise ValueError(f"time limit must be positive, got {seconds}")
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and hasattr(signal, "setitimer"):
        return _with_timer(seconds, fn, args, kwargs)
    return _with_thread(seconds, fn, args, kwargs)


def _with_timer(seconds: float, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    active, fired = [True], [0]
    previous_trace = sys.gettrace()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        # The first line after the handler's raise runs in the except block that caught it.
        # (A raising tracer is switched off by CPython, so each re-fire installs it again.)
        if not active[0]:
            return None
        if event == "line":
            raise _Alarm
        return trace

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if not active[0]:
            return
        fired[0] += 1
        if fired[0] > 1:  # the last _Alarm was swallowed: raise it again from the except
            sys.settrace(trace)
            while frame is not None and frame.f_code is not _with_timer.__code__:
                frame.f_trace, frame.f_trace_lines = trace, True
                frame = frame.f_back
        raise _Alarm

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds, _REFIRE)
    started = time.monotonic()
    try:
        return fn(*args, **kwargs)
    except _Alarm:
        pass
    finally:
        active[0] = False  # first: from here on the handler and the tracer do nothing
        signal.setitimer(signal.ITIMER_REAL, 0)
        if fired[0] > 1:
            sys.settrace(previous_trace)
        # None means a handler installed outside Python: the best we can restore is the default.
        restored = signal.SIG_DFL if previous_handler is None else previous_handler
        signal.signal(signal.SIGALRM, restored)
        if previous_delay > 0:
            remaining = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3), previous_interval)
    raise TimeLimitExceeded(seconds)


def _with_thread(seconds: float, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, name="kit-check", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeLimitExceeded(seconds)
    if "error" in box:
        raise box["error"]
    return box["value"]
