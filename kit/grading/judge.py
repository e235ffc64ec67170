"""Judge a notebook's exercises from the grader's process, with ``kit.exercises.run_exercise``.

The tests (public and hidden), their inputs and expected answers stay here; the student's code
is reached only through ``RemoteCall``, which asks the kernel and gets JSON back. Protocol
exercises start their ``LabServer`` here too, in the judge's thread; its listening socket is
made on the kernel's private loopback by the kernel's launcher (``KernelSession.bind_socket``),
so the server listens on the 127.0.0.1 the student's code can see, and nothing else is
reachable from the kernel.

Hidden tests run after every public test of the notebook: a hidden input the student's code
keeps in a global can only come back in a hidden test's result, which students never see.

Each notebook is judged in a new, short-lived thread (a thread in another namespace must not
go back to a pool). Calls are scheduled on the event loop that owns the kernel's connection.
Before each exercise a dead kernel is replaced (``KernelSession.revive``), so one exercise that
crashes the kernel costs only its own points.
The pure-function cases of an exercise (``Case``) are sent in one batch before its tests run:
``RemoteCall`` then answers from that batch when the arguments match, in order, and asks the
kernel otherwise, so batching changes the cost, never the verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..exercises import Case, CheckResult, Exercise, NotAttempted, TestResult, run_exercise
from ..exercises._values import normalise
from ..i18n import using
from ..server.controller import sockets_from
from .kernel import KernelSession
from .remote import AnswerCellFailed, KernelDied

__all__ = ["RemoteCall", "judge_exercises", "judge_in_thread", "unjudged"]

#: Longest a judge thread waits for one batch of calls beyond its own time limits.
_SLACK = 30.0


class RemoteCall:
    """The ``call`` a test receives: runs the student's function in the kernel."""

    def __init__(self, session: KernelSession, loop: asyncio.AbstractEventLoop,
                 exercise: Exercise) -> None:
        self.__name__ = exercise.function
        self._session, self._loop, self._exercise = session, loop, exercise
        self._limit = session.limits.call_limit(exercise.time_limit)
        self._ahead: list[tuple[list, dict, Any]] = []
        self._missing: NotAttempted | None = None
        self._dead = False  # a call ended the kernel: the rest of this exercise is not run

    def _run(self, calls: list[tuple[list, dict]]) -> list[Any]:
        ex = self._exercise
        future = asyncio.run_coroutine_threadsafe(
            self._session.calls(ex.id, ex.function, calls, self._limit), self._loop)
        budget = self._limit * len(calls) + self._session.limits.grace + _SLACK
        return future.result(timeout=budget)

    def prefetch(self, calls: list[tuple[list, dict]]) -> None:
        """Make these calls now, in one round trip; ``__call__`` answers from them in order."""
        if not calls:
            return
        plain = [(normalise(list(a)), normalise(dict(k))) for a, k in calls]
        results = self._explained(self._run(plain))
        self._ahead = [(a, k, r) for (a, k), r in zip(plain, results, strict=False)]
        self._note_missing(results)

    def _explained(self, results: list[Any]) -> list[Any]:
        """A missing function whose answer cell raised is that cell's error, said as such."""
        failed = self._session.cell_errors.get(self._exercise.id)
        if not failed:
            return results
        return [AnswerCellFailed(failed) if isinstance(r, NotAttempted) and getattr(r, "missing", False)
                else r for r in results]

    def _note_missing(self, results: list[Any]) -> None:
        for result in results:
            if isinstance(result, AnswerCellFailed) or (
                    isinstance(result, NotAttempted) and getattr(result, "missing", False)):
                self._missing = result
            self._dead = self._dead or isinstance(result, KernelDied)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._missing is not None:
            if isinstance(self._missing, AnswerCellFailed):
                raise AnswerCellFailed(self._missing.detail)
            raise NotAttempted(str(self._missing))
        if self._dead and not self._ahead:
            raise KernelDied("not run: your code ended the kernel in an earlier test")
        plain_args, plain_kwargs = normalise(list(args)), normalise(dict(kwargs))
        if self._ahead:
            want_args, want_kwargs, result = self._ahead[0]
            if want_args == plain_args and want_kwargs == plain_kwargs:
                self._ahead.pop(0)
                return _deliver(result)
            self._ahead = []  # the test asked for something else: from now on, ask live
        results = self._explained(self._run([(plain_args, plain_kwargs)]))
        self._note_missing(results)
        return _deliver(results[0])


def _deliver(result: Any) -> Any:
    if isinstance(result, BaseException):
        raise result
    return result


def _case_calls(exercise: Exercise) -> list[tuple[list, dict]]:
    """The calls of an exercise made only of ``Case`` tests (none when it has other kinds)."""
    if not all(isinstance(t, Case) for t in exercise.tests):
        return []
    return [(list(t.args), dict(t.kwargs)) for t in exercise.tests]


def unjudged(exercise: Exercise, status: str, message: str) -> CheckResult:
    """The result of an exercise whose tests could not run at all (every test 0 points); the
    reason is said once, for the exercise."""
    tests = [TestResult(t.name, False, 0, t.points, "", hidden=t.hidden, status=status)
             for t in exercise.tests]
    return replace(CheckResult.from_tests(exercise.id, exercise.title, tests, exercise.hint),
                   message=message)


def said_once(result: CheckResult) -> CheckResult:
    """When every test failed with the same message (the function is missing, its cell did not
    run, the kernel is gone), say it once for the exercise instead of once per test."""
    messages = {t.message for t in result.tests}
    if (len(result.tests) < 2 or len(messages) != 1 or not next(iter(messages))
            or any(t.passed for t in result.tests) or all(t.hidden for t in result.tests)):
        return result
    return replace(result, message=result.message or next(iter(messages)),
                   tests=[replace(t, message="") for t in result.tests])


def _judge_one(session: KernelSession, loop: asyncio.AbstractEventLoop,
               exercise: Exercise) -> CheckResult:
    try:
        asyncio.run_coroutine_threadsafe(session.revive(), loop).result(
            timeout=max(session.remaining, 0) + _SLACK)
        call = RemoteCall(session, loop, exercise)
        call.prefetch(_case_calls(exercise))
        return run_exercise(exercise, call)
    except Exception as exc:  # our bug or the machine's: this exercise, not the batch
        return unjudged(exercise, "error", f"the grader could not judge this exercise "
                        f"({type(exc).__name__}: {exc}); please tell your instructor")


def _skipped(exercise: Exercise, why: str) -> CheckResult:
    tests = [TestResult(t.name, False, 0, t.points, why, hidden=t.hidden, status="skipped")
             for t in exercise.tests]
    return CheckResult.from_tests(exercise.id, exercise.title, tests, exercise.hint)


def judge_exercises(session: KernelSession, loop: asyncio.AbstractEventLoop,
                    exercises: list[Exercise]) -> dict[str, tuple[CheckResult, float]]:
    """Run every exercise's tests against the kernel of ``session`` (blocking; a judge thread):
    first every public test, then every hidden one.

    Returns exercise id -> (result, seconds spent judging it)."""
    parts: dict[str, list[CheckResult]] = {e.id: [] for e in exercises}
    seconds: dict[str, float] = {e.id: 0.0 for e in exercises}
    isolated = session.sandbox is not None and session.sandbox.isolate
    with sockets_from(session.bind_socket) if isolated else contextlib.nullcontext():
        for hidden in (False, True):
            for exercise in exercises:
                tests = tuple(t for t in exercise.tests if t.hidden == hidden)
                if not tests:
                    continue
                part = replace(exercise, tests=tests)
                started = time.monotonic()
                if hidden and parts[exercise.id] and parts[exercise.id][0].status == "timeout":
                    result = _skipped(part, "not run: an earlier test timed out")
                else:
                    result = _judge_one(session, loop, part)
                parts[exercise.id].append(result)
                seconds[exercise.id] += time.monotonic() - started
    results: dict[str, tuple[CheckResult, float]] = {}
    for exercise in exercises:
        tests = [t for part in parts[exercise.id] for t in part.tests]
        order = {t.name: i for i, t in enumerate(exercise.tests)}
        tests.sort(key=lambda t: order.get(t.name, len(order)))
        merged = CheckResult.from_tests(exercise.id, exercise.title, tests, exercise.hint)
        message = next((p.message for p in parts[exercise.id] if p.message), "")
        results[exercise.id] = (said_once(replace(merged, message=message)), seconds[exercise.id])
    return results


async def judge_in_thread(session: KernelSession, exercises: list[Exercise],
                          lang: str | None = None) -> dict[str, tuple[CheckResult, float]]:
    """Run ``judge_exercises`` in a fresh thread while this event loop serves its calls; the
    checks' messages are in ``lang`` (the assignment's language; a thread does not inherit
    the caller's choice, so it is set in the thread)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not done.done():
            setter(value)

    def work() -> None:
        try:
            with using(lang):
                value = judge_exercises(session, loop, exercises)
        except BaseException as exc:  # handed to the event loop's side
            loop.call_soon_threadsafe(deliver, done.set_exception, exc)
        else:
            loop.call_soon_threadsafe(deliver, done.set_result, value)

    threading.Thread(target=work, name="smtpkit-judge", daemon=True).start()
    return await done
