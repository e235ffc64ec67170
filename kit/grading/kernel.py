"""One student notebook in its own kernel: limits, timeouts, a dead kernel noticed at once.

``KernelSession`` owns a fresh IPython kernel (started by nbclient through the ``sandbox``
launcher) for one notebook and every call the judge makes into it. Failures are handled at
three levels:

- **per cell and per call**: a cell gets ``cell_timeout`` seconds, then SIGINT; a call gets its
  exercise's ``time_limit``, then SIGINT. If the kernel is still busy ``grace`` seconds later,
  its whole process group is killed.
- **per notebook**: a wall-clock timer kills the kernel's process group after
  ``notebook_timeout`` seconds, whatever is running (the kernel, its children, a grader-side
  call waiting on it); everything after that fails fast.
- **a dead kernel** (``os._exit``, a segfault, the CPU or memory limit) is seen by polling the
  process, not by waiting for a timeout. The session then starts a new kernel and runs the
  notebook again without the cell that killed it (at most ``MAX_STARTS`` kernels per
  notebook), so the exercises that work still earn their points. Replies to calls that the
  kernel made before it died are read back from their on-disk log (``remote.read_log``).

The grader's files of a session (connection file, Unix sockets, logs, the reply log) live in a
``KernelRoom`` folder the kernel never sees; the kernel works in a private tmpfs of its own
(``sandbox.py``). Every file of the room that the kernel could have written to is read without
following links and with a size cap. Interrupts travel as ``interrupt_request`` messages, so no
signal crosses the sandbox boundary. The notebook's outputs are never stored: the grader does
not read them, and a message larger than ``MAX_MESSAGE_BYTES`` closes the connection instead of
filling the grader's memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from traitlets import Any as AnyTrait

from ..exercises import BadResult, CallError, TimeLimitExceeded
from ..exercises._values import normalise
from .isolation import SANDBOX, KernelRoom, Sandbox, bind_in
from .notebook import CodeCell
from .problems import Problem, clip
from .remote import (
    MIME,
    KernelDied,
    call_code,
    decode_reply,
    install_code,
    new_nonce,
    read_log,
    snapshot_code,
)
from .safe_files import read_tail
from .sandbox import KERNEL_CONNECTION, REPLIES_FD
from .settings import Limits

__all__ = ["Limits", "KernelSession", "NotebookOutOfTime", "MAX_STARTS", "MAX_MESSAGE_BYTES"]

#: Kernels one notebook may use: the first, plus restarts after it died.
MAX_STARTS = 3
#: A message part from the kernel larger than this closes its connection (zmq MAXMSGSIZE):
#: three 400 MB outputs must not take the grader's memory with them.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class NotebookOutOfTime(TimeLimitExceeded):
    """The notebook's wall-clock budget ran out before this call."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.args = (f"not run: the notebook used up its {seconds:g} s time budget",)


class SandboxKernelManager(AsyncKernelManager):
    """Starts the IPython kernel of this Python through the sandbox launcher.

    The command is built here, not read from a kernelspec or from the student's notebook;
    ``plan_for(self)`` gives the launcher's plan once the connection file exists."""

    plan_for = AnyTrait()
    isolated = AnyTrait(True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        connection = KERNEL_CONNECTION if self.isolated else os.path.realpath(self.connection_file)
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection,
                  *(extra_arguments or [])]
        plan = self.plan_for(self)
        return [sys.executable, "-I", "-S", SANDBOX, json.dumps(plan), "--", *kernel]

    async def interrupt_kernel(self) -> None:
        """An ``interrupt_request`` on the control channel: the kernel interrupts itself, in
        its sandbox (a SIGINT from here would hit the launcher and bubblewrap, not the kernel)."""
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return kc


class _Client(NotebookClient):
    """nbclient, minus the outputs: the grader never trusts (so never stores) them."""

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> None:
        if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
            raise CellExecutionComplete()
        return None


@dataclass
class CellOutcome:
    """What happened to one cell: 'ok', 'error' (it raised), 'timeout' (interrupted), 'died'
    (it ended the kernel), 'killed' (it ran out of time and was killed with its kernel)."""

    cell: CodeCell
    state: str
    detail: str = ""
    seconds: float = 0.0


def _where(cell: CodeCell) -> str:
    """``cell 12 (`def add(a, b):`)``: its number and first line, for a student who sees no
    cell numbers in JupyterLab."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {cell.number} (`{clip(first, 60)}`)" if first else f"cell {cell.number}"


def _error_text(cell: CodeCell, name: str, value: str) -> str:
    """``SyntaxError: expected ':' (line 3 of the cell: `def f(x)`)``: where in the student's
    own cell, not IPython's internal file name."""
    if name in ("SyntaxError", "IndentationError", "TabError"):
        try:
            compile(cell.source, "<cell>", "exec")
        except SyntaxError as exc:
            line = (exc.text or "").strip()
            where = f"line {exc.lineno} of the cell" + (f": `{clip(line, 80)}`" if line else "")
            return f"{name}: {exc.msg} ({where})"
        except (ValueError, OverflowError, RecursionError, MemoryError):
            pass
    text = f"{name}: {value}" if value else name
    return clip(text, 300)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class KernelSession:
    """The kernel of one notebook. Use ``async with``; ``run()`` executes the cells, ``calls()``
    invokes a student's function, ``revive()`` restarts after a death."""

    cells: list[CodeCell]
    limits: Limits = field(default_factory=Limits)
    #: exercise id -> (cell position, function name): snapshot the function after that cell.
    snapshots: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: How kernels are isolated (built once per grading run); None: no sandbox (unsafe).
    sandbox: Sandbox | None = None

    def __post_init__(self) -> None:
        self.sandbox = self.sandbox or Sandbox(isolate=False)
        self.problems: list[Problem] = []
        #: exercise id -> what its answer cell raised (the last run), for the exercise's feedback
        self.cell_errors: dict[str, str] = {}
        self.outcomes: list[CellOutcome] = []
        self.bad_cells: set[int] = set()
        self.starts = 0
        self.timed_out = False  # a cell hit its time limit, or a call had to be killed
        self.crashed = False  # a kernel died at least once
        self.expired = False  # the notebook's wall clock ran out
        self.started_once = False  # some kernel started and answered
        self._killed_by_us: str | None = None
        self._started = time.monotonic()
        self._deadline = self._started + self.limits.notebook_timeout
        self._timer: threading.Timer | None = None
        self._room: KernelRoom | None = None
        self._client: _Client | None = None
        self._km: SandboxKernelManager | None = None
        self._lock = threading.Lock()
        self._installed = 0  # the kernel (by start number) the call helper is defined in

    def note(self, kind: str, text: str) -> None:
        """Record a problem (typed; the text is for people and capped)."""
        self.problems.append(Problem(kind, clip(text, 1000)))

    # -- life cycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> KernelSession:
        self._room = KernelRoom(self.sandbox, self.limits.memory_mb, self.limits.rlimits())
        self._timer = threading.Timer(self.limits.notebook_timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._stop_kernel()
        if self._room is not None:
            self._room.close()

    @property
    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    @property
    def kernel_pid(self) -> int | None:
        provisioner = getattr(self._km, "provisioner", None)
        return getattr(provisioner, "pid", None)

    def bind_socket(self, host: str, port: int) -> socket.socket:
        """A socket on the loopback the student's code sees (the kernel's private one when
        isolated), for a judge's lab server."""
        if not self.sandbox.isolate or self._room is None:
            from ..server.controller import bind_socket

            return bind_socket(host, port)
        return bind_in(self._room.control, host, port)

    def _expire(self) -> None:
        self.expired = True
        self.timed_out = True
        self.kill(f"the notebook ran longer than {self.limits.notebook_timeout:g} s")

    def kill(self, why: str) -> None:
        """SIGKILL the kernel's process group and cgroup (thread-safe; the kernel may be gone)."""
        with self._lock:
            pid = self.kernel_pid
            pgid = getattr(getattr(self._km, "provisioner", None), "pgid", None)
            if pid is None:
                return
            self._killed_by_us = self._killed_by_us or why
            try:
                os.killpg(pgid or pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self._room is not None:
                self._room.kill_all()

    def _plan(self, km: SandboxKernelManager) -> dict:
        assert self._room is not None
        ports = [int(getattr(km, key)) for key in
                 ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
        return self._room.plan(km.connection_file, km.ip, ports, self._env)

    async def _start_kernel(self) -> None:
        assert self._room is not None
        self.starts += 1
        self._killed_by_us = None
        room = self._room.folder
        if not self.sandbox.isolate:
            (room / "work").mkdir(mode=0o700, exist_ok=True)
        km = SandboxKernelManager(kernel_name="python3", transport="ipc",
                                  ip=str(room / "ipc" / f"k{self.starts}"),
                                  connection_file=str(room / f"connection-{self.starts}.json"))
        self._env = self.limits.kernel_env(self.sandbox.isolate, str(room / "work"))
        km.plan_for = self._plan
        km.isolated = self.sandbox.isolate
        km.cache_ports = False
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(c.source) for c in self.cells])
        client = _Client(
            nb, km=km, timeout=max(1, int(self.limits.cell_timeout)), interrupt_on_timeout=True,
            allow_errors=True, record_timing=False, shutdown_kernel="immediate",
            startup_timeout=int(min(self.limits.startup_timeout, max(self.remaining, 1))),
            iopub_timeout=2, raise_on_iopub_timeout=False, kernel_name="python3",
        )
        self._km, self._client = km, client
        # The grader's own file, created here (O_EXCL, no links); the kernel only inherits it.
        fd = os.open(room / f"kernel-{self.starts}.log",
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        self._log = os.fdopen(fd, "wb")
        await client.async_start_new_kernel(cwd=str(room), env=self._env, stdout=self._log,
                                            stderr=self._log)
        await client.async_start_new_kernel_client()

    async def _stop_kernel(self) -> None:
        client, km = self._client, self._km
        if client is not None and client.kc is not None:
            try:
                client.kc.stop_channels()
            except Exception:
                pass
        if km is not None and km.has_kernel:
            try:
                await asyncio.wait_for(km.shutdown_kernel(now=True), 10)
            except Exception:
                self.kill("cleanup")
        if self._room is not None:
            self._room.kill_all()
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    async def alive(self) -> bool:
        km = self._km
        if km is None or not km.has_kernel:
            return False
        return bool(await km.is_alive())

    def death_reason(self) -> str:
        """Why the kernel is gone, in words for a student."""
        if self._killed_by_us:
            return self._killed_by_us
        process = getattr(getattr(self._km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "the kernel stopped answering"
        if self.sandbox.isolate and code > 128:
            code = -(code - 128)  # bubblewrap reports a child's signal as 128 + its number
        if code < 0:
            number = -code
            if number == signal.SIGXCPU:
                return f"the kernel used more than its {self.limits.cpu_limit} s of CPU time"
            if number == signal.SIGKILL:
                return "the kernel was killed (out of memory?)"
            return f"the kernel crashed ({_signal_name(number)})"
        tail = self._log_tail()
        if "MemoryError" in tail:
            return f"the kernel ran out of memory (limit {self.limits.memory_mb} MB) and exited"
        return f"the kernel exited with status {code} (os._exit()?)"

    def _log_tail(self) -> str:
        if self._room is None:
            return ""
        return read_tail(self._room.folder / f"kernel-{self.starts}.log", 4000)

    # -- running the notebook -----------------------------------------------------------------
    async def run(self) -> bool:
        """Start a kernel and run every cell (skipping those that killed an earlier kernel).

        Returns True when a kernel is alive afterwards, ready for calls. A kernel that dies
        is replaced and the notebook run again without the cell that killed it."""
        while self.starts < MAX_STARTS and not self.expired:
            await self._stop_kernel()
            try:
                await self._start_kernel()
            except Exception as exc:
                if self.expired:
                    break
                detail = self._log_tail().strip().splitlines()
                self.note("start_failed", f"the kernel could not start ({type(exc).__name__}: "
                          f"{exc})" + (f": {detail[-1]}" if detail else ""))
                self.crashed = True
                continue
            self.started_once = True
            self.outcomes = []
            self.cell_errors = {}
            if await self._run_cells():
                return True
        if not self.expired and self.starts >= MAX_STARTS:
            self.note("gave_up", f"gave up after {MAX_STARTS} kernels died")
        return False

    async def revive(self) -> bool:
        """After the kernel died during a call: a new kernel with the notebook run again."""
        if await self.alive():
            return True
        return await self.run()

    async def _run_cells(self) -> bool:
        assert self._client is not None
        for position, cell in enumerate(self.cells):
            if position in self.bad_cells or cell.skip:
                continue
            outcome = await self._run_cell(position, cell)
            self.outcomes.append(outcome)
            if outcome.state in ("died", "killed"):
                self.bad_cells.add(position)
                self.crashed = not self.expired and outcome.state == "died"
                kind = {"died": "cell_died", "killed": "cell_timeout"}[outcome.state]
                self.note("notebook_timeout" if self.expired else kind,
                          f"{_where(cell)}: {outcome.detail}"
                          + ("" if self.expired else "; ran the notebook again without it"))
                return False
            if outcome.state in ("error", "timeout"):
                self.note(f"cell_{outcome.state}", f"{_where(cell)}: {outcome.detail}")
                if cell.exercise and outcome.state == "error":
                    self.cell_errors[cell.exercise] = outcome.detail
            await self._snapshot_after(position)
        return True

    async def _run_cell(self, position: int, cell: CodeCell) -> CellOutcome:
        client = self._client
        assert client is not None
        replies: list[dict] = []
        client.on_cell_executed = lambda **kw: replies.append(kw.get("execute_reply") or {})
        started = time.monotonic()
        task = asyncio.ensure_future(client.async_execute_cell(client.nb.cells[position], position))
        budget = min(self.limits.cell_timeout + self.limits.grace, max(self.remaining, 0.01))
        done, _ = await asyncio.wait({task}, timeout=budget)
        seconds = time.monotonic() - started
        if not done:
            if not self.expired:
                self.timed_out = True
                self.kill(f"ran longer than {self.limits.cell_timeout:g} s and did not stop when "
                          "interrupted, so the kernel was killed")
            await asyncio.wait({task}, timeout=3)
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return CellOutcome(cell, "killed", self.death_reason(), seconds)
        error = task.exception()
        if isinstance(error, DeadKernelError) or (error is None and not await self.alive()):
            return CellOutcome(cell, "died", self.death_reason(), seconds)
        if error is not None:
            return CellOutcome(cell, "error", f"{type(error).__name__}: {error}", seconds)
        content = (replies[-1].get("content") if replies else None) or {}
        if content.get("status") == "error":
            name, value = str(content.get("ename", "")), str(content.get("evalue", ""))
            if name == "KeyboardInterrupt" and seconds >= self.limits.cell_timeout:
                self.timed_out = True
                return CellOutcome(cell, "timeout", f"ran longer than {self.limits.cell_timeout:g} s "
                                   "and was interrupted", seconds)
            return CellOutcome(cell, "error", f"raised {_error_text(cell, name, value)}", seconds)
        return CellOutcome(cell, "ok", "", seconds)

    async def _snapshot_after(self, position: int) -> None:
        for exercise_id, (where, name) in self.snapshots.items():
            if where == position:
                await self._quiet(snapshot_code(exercise_id, name))

    async def _quiet(self, code: str, timeout: float = 5.0) -> None:
        """Run grader code in the kernel and wait for its reply (no output, no history)."""
        kc = self._client.kc if self._client else None
        if kc is None:
            return
        msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + min(timeout, max(self.remaining, 0.01))
        while time.monotonic() < deadline:
            try:
                msg = await kc.shell_channel.get_msg(timeout=0.25)
            except Empty:
                if not await self.alive():
                    return
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return

    # -- calls from the judge -----------------------------------------------------------------
    async def calls(self, exercise_id: str, name: str, calls: list[tuple[list, dict]],
                    time_limit: float) -> list[Any]:
        """Call the student's ``name`` in the kernel once per ``(args, kwargs)``, in order.

        Returns one entry per call made: its plain value, or the ``CallError`` it ended with.
        Each call gets ``time_limit`` seconds from the previous reply; after a timeout, or a
        dead kernel, the remaining calls are not made (the list is shorter)."""
        if self.expired:
            return [NotebookOutOfTime(self.limits.notebook_timeout)]
        if not await self.alive():
            return [KernelDied(f"not run: the kernel is gone ({self.death_reason()})")]
        kc = self._client.kc
        if self._installed != self.starts:
            await self._quiet(install_code())
            self._installed = self.starts
        nonce = new_nonce()
        plain = [(normalise(list(a)), normalise(dict(k))) for a, k in calls]
        log = self._room.replies(self._room.count) if self._room else None
        msg_id = kc.execute(call_code(nonce, exercise_id, name, plain, REPLIES_FD), silent=True,
                            store_history=False, allow_stdin=False)
        results: list[Any] = []

        def take(reply: Any) -> bool:
            """Record one reply; False when the batch stops here."""
            try:
                results.append(decode_reply(reply, nonce, name, time_limit, len(results)))
            except CallError as exc:
                results.append(exc)
                if isinstance(exc, TimeLimitExceeded) or getattr(exc, "missing", False):
                    return False
            return True

        soft = time.monotonic() + time_limit
        hard: float | None = None
        while len(results) < len(calls):
            now = time.monotonic()
            limit = hard if hard is not None else soft
            if now >= limit:
                if hard is None:
                    await self._km.interrupt_kernel()
                    hard = now + self.limits.grace
                    continue
                self.timed_out = True
                why = (f"{name}() ran longer than {time_limit:g} s in a test and did not stop when "
                       "interrupted, so the kernel was killed")
                self.note("call_timeout", why)
                self.kill(why)
                results.append(TimeLimitExceeded(time_limit))
                break
            try:
                msg = await kc.iopub_channel.get_msg(timeout=min(limit - now, 0.25))
            except Empty:
                if not await self.alive():
                    stopped = False
                    if log:  # replies made before the death, whose messages died with the kernel
                        saved = read_log(log, nonce)
                        while len(results) < len(calls) and len(results) in saved:
                            if not take(saved[len(results)]):
                                stopped = True
                                break
                    if stopped or len(results) >= len(calls):
                        break
                    if self.expired:
                        results.append(NotebookOutOfTime(self.limits.notebook_timeout))
                    else:
                        self.crashed = True
                        reason = self.death_reason()
                        self.note("call_died", f"{name}() ended the kernel during a test: {reason}")
                        results.append(KernelDied(f"{reason} during this test"))
                    break
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "display_data" and MIME in msg["content"].get("data", {}):
                if not take(msg["content"]["data"][MIME]):
                    break
                soft, hard = time.monotonic() + time_limit, None
            elif kind == "status" and msg["content"].get("execution_state") == "idle":
                if len(results) < len(calls):
                    results.append(BadResult(
                        "the call ended without sending its result back to the grader (did the "
                        "notebook replace IPython's display machinery?)"))
                break
        return results
