"""The world's one worker thread: asleep until a spool commits a message or a retry is due.

Nothing polls. A server's spool calls `Worker.wake` when it has committed a message
(`Mailbox.on_commit`); the worker then runs rounds (``step``) until a round finds nothing
to do, and sleeps again until the next wake-up or until the earliest retry is due
(``next_due``), whichever comes first. `wait_until_idle` waits on the same condition: it
returns when the worker is asleep and nothing is left (``busy`` says what is left: queued
entries, committed mail not yet taken).

A round that raises is recorded (``on_error``) and the worker pauses a moment, so an entry
that fails every time can never spin the thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..i18n import _

__all__ = ["Worker", "ERROR_PAUSE", "MIN_WAIT"]

#: After a round that raised, the worker waits this long (seconds) before the next round.
ERROR_PAUSE = 0.5
#: A retry said to be due but left undone by a round is looked at again after this wait.
MIN_WAIT = 0.05


class Worker:
    """Runs ``step()`` (returns how much it did) in one thread, woken by `wake` or by time."""

    def __init__(self, step: Callable[[], int], *, next_due: Callable[[], float | None],
                 busy: Callable[[], bool], on_error: Callable[[Exception], None],
                 lock: threading.RLock | None = None, name: str = "kit-mail-world",
                 clock: Callable[[], float] = time.time) -> None:
        self._step, self._next_due, self._busy, self._on_error = step, next_due, busy, on_error
        self.lock = lock or threading.RLock()  # held during a round: others may take it to look
        self.name, self.clock = name, clock
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._woken = True  # the first round looks at everything
        self._asleep = False
        self.rounds = 0

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping, self._woken = False, True
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Something happened (a commit in a spool): run a round soon. Any thread may call it."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    # -- the thread -------------------------------------------------------------------------
    def _sleep(self, pause: float | None) -> bool:
        """Sleep until woken, stopped, or the next retry is due (or ``pause`` is over);
        False when stopping."""
        with self._cond:
            deadline = None if pause is None else self.clock() + pause
            while not self._stopping and not self._woken:
                if deadline is not None:
                    wait: float | None = deadline - self.clock()
                else:
                    due = self._next_due()
                    wait = None if due is None else due - self.clock()
                if wait is not None and wait <= 0:
                    break
                self._asleep = True
                self._cond.notify_all()  # wait_until_idle looks now
                self._cond.wait(wait)
            self._asleep = False
            self._woken = False
            return not self._stopping

    def _run(self) -> None:
        pause: float | None = None
        while self._sleep(pause):
            pause = None
            try:
                with self.lock:
                    worked = self._step()
                self.rounds += 1
            except Exception as exc:  # keep the error, go on after a pause
                self._on_error(exc)
                pause = ERROR_PAUSE
                continue
            if worked:
                with self._cond:
                    self._woken = True  # more may be waiting: another round
            else:
                due = self._next_due()
                if due is not None and due <= self.clock():
                    pause = MIN_WAIT  # due but nothing done: never spin

    # -- waiting ----------------------------------------------------------------------------
    def wait_until_idle(self, timeout: float, describe: Callable[[], str] = lambda: "") -> None:
        """Block until the worker is asleep with nothing left to do; TimeoutError otherwise."""
        def idle() -> bool:
            return not self.running or (self._asleep and not self._woken and not self._busy())

        with self._cond:
            if not self._cond.wait_for(idle, timeout):
                raise TimeoutError(_("mail still moving after {timeout:.1f} s: {what}").format(
                    timeout=timeout, what=describe()))
        if not self.running:
            raise RuntimeError(_("the world is not running: call start()"))

    def cpu_seconds(self) -> float:
        """CPU time the worker thread has used (Linux: its thread CPU clock); 0.0 if unknown."""
        thread = self._thread
        if thread is None or thread.ident is None:
            return 0.0
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (AttributeError, OSError):
            return 0.0
