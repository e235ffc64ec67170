"""Where the lab server puts accepted mail: a Maildir, written durably before ``250``.

Each message is one file, written into ``tmp/`` and renamed into ``new/`` (the Maildir
protocol, so a reader never sees half a message; `mailbox.Maildir` reads it back). Its
envelope, which the message itself does not carry, is appended as one JSON line to
``kit-envelopes.jsonl`` beside it. The server answers ``250`` only once both are on disk.

Durability costs a flush. A committer thread writes the messages of all sessions that
are waiting and makes them durable with one ``syncfs`` (group commit, as databases do),
so twenty sessions pay for one flush, not twenty; where ``syncfs`` is missing it falls
back to ``fsync`` of each file and directory. (`mailbox.Maildir.add` would fsync every
message by itself, which is what made per-message delivery slow.)
"""

from __future__ import annotations

import asyncio
import ctypes
import email.policy
import itertools
import json
import mailbox
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

ENVELOPE_LOG = "kit-envelopes.jsonl"
_parser = BytesParser(policy=email.policy.default)
#: How long the committer waits for other sessions' messages before one flush (seconds).
GROUP_COMMIT_WINDOW = 0.002
_JSON = json.JSONEncoder()  # json.dumps' own default encoder, without its per-call argument checks
_KEY = re.compile(r"(\d+)\.M(\d+)P\d+Q(\d+)")


@dataclass(frozen=True)
class Envelope:
    """What the SMTP dialogue said about a message, as opposed to its header (RFC 5321 §2.3.1)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: str
    helo: str
    received_at: float
    queue_id: str
    mail_options: tuple[str, ...] = ()
    protocol: str = "ESMTP"
    #: ESMTP parameters given with each accepted RCPT (e.g. NOTIFY, ORCPT of RFC 3461).
    rcpt_options: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> Envelope:
        data = dict(data)
        data["rcpt_tos"] = tuple(data.get("rcpt_tos", ()))
        data["mail_options"] = tuple(data.get("mail_options", ()))
        data["rcpt_options"] = {k: tuple(v) for k, v in data.get("rcpt_options", {}).items()}
        return cls(**data)


@dataclass(frozen=True)
class StoredMessage:
    """A message as delivered: its Maildir key, the parsed message and its envelope."""

    key: str
    message: EmailMessage = field(repr=False)
    envelope: Envelope | None

    def __getitem__(self, header: str) -> str | None:
        return self.message[header]

    @property
    def subject(self) -> str | None:
        return self.message["Subject"]

    def _repr_html_(self) -> str:
        import html
        env = self.envelope
        head = (f"MAIL FROM:&lt;{html.escape(env.mail_from)}&gt; RCPT TO: "
                f"{html.escape(', '.join(env.rcpt_tos))}<br>" if env else "")
        return f"<div>{head}<pre>{html.escape(self.message.as_string())}</pre></div>"


def _syncfs_function():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _syncfs_function()


def _fsync_path(path: str | os.PathLike, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Mailbox:
    """The lab server's Maildir: deliver to it (durably), list, find and read messages."""

    def __init__(self, path: str | os.PathLike, *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        for sub in ("tmp", "new", "cur"):  # an existing empty folder becomes a Maildir
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self._tmp, self._new = str(self.path / "tmp"), str(self.path / "new")
        self._log_path = self.path / ENVELOPE_LOG
        self._log_fd = os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._dir_fds: tuple[int, int] | None = None  # tmp/ and new/, opened at the first delivery
        self._envelopes: dict[str, Envelope] = {}
        self._log_offset = 0
        self._log_lock = threading.Lock()  # readers in several threads (MTA, MDA, notebook) share the offset
        self._counter = itertools.count(1)
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        self._maildir = mailbox.Maildir(self.path, factory=None, create=False)
        self._cond = threading.Condition()
        self._delivered = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        #: How many sessions might be delivering now (the server sets it; 1 = never wait).
        self.concurrency: Callable[[], int] = lambda: 1
        self._listeners: list[Callable[[], None]] = []
        self._committer: threading.Thread | None = None

    # -- delivery ---------------------------------------------------------------------
    def _new_key(self) -> str:
        """A unique Maildir name, as `mailbox.Maildir` makes them: time, pid, counter, host."""
        now = time.time()
        return f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(self._counter)}.{self._host}"

    def _open_dirs(self) -> tuple[int, int]:
        flags = os.O_RDONLY | os.O_DIRECTORY
        return os.open(self._tmp, flags), os.open(self._new, flags)

    def _write(self, content: bytes, envelope: Envelope) -> tuple[str, bytes, str]:
        """Write one message (tmp/ then new/), not yet flushed; return key, log line, path.

        Four system calls (open, write, close, rename), relative to the folders' descriptors,
        so the kernel does not walk the Maildir's path twice per message."""
        data = content.replace(b"\r\n", b"\n")  # Maildir files use the local line ending
        key = self._new_key()
        if self._dir_fds is None:  # the first delivery, or after close() (a restarted server)
            self._dir_fds = self._open_dirs()
        tmp_fd, new_fd = self._dir_fds
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=tmp_fd)
        try:
            written = os.write(fd, data)
            if written < len(data):
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.rename(key, key, src_dir_fd=tmp_fd, dst_dir_fd=new_fd)
        record = dict(vars(envelope))  # the dataclass's fields, in order
        record["key"] = key
        return key, (_JSON.encode(record) + "\n").encode(), f"{self._new}/{key}"

    def _log(self, lines: list[bytes]) -> None:
        if self._log_fd is None:  # closed by close(); a restarted server writes again
            self._log_fd = os.open(self._log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        data = b"".join(lines)
        while data:
            data = data[os.write(self._log_fd, data):]

    def _flush(self, paths: list[str]) -> None:
        if not self.durable or not paths:
            return
        if self._dir_fds is None:
            self._dir_fds = self._open_dirs()
        if _SYNCFS is not None and _SYNCFS(self._dir_fds[1]) == 0:  # any descriptor of the file system
            return
        for p in paths:
            _fsync_path(p)
        os.fsync(self._log_fd)
        os.fsync(self._dir_fds[1])  # new/: the renames

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each commit (message and envelope on disk), from the
        committing thread: readers of the spool (`kit.server.spool`) are woken, never poll."""
        self._listeners.append(listener)

    def _notify(self, count: int) -> None:
        with self._cond:
            self._delivered += count
            self._cond.notify_all()
        for listener in self._listeners:
            listener()

    def deliver(self, content: bytes, envelope: Envelope) -> str:
        """Store a message durably, in the calling thread; return its Maildir key."""
        key, line, path = self._write(content, envelope)
        self._log([line])
        self._flush([path])
        self._notify(1)
        return key

    async def deliver_async(self, content: bytes, envelope: Envelope) -> str:
        """Store durably without blocking the event loop; concurrent calls share one flush."""
        if not self.durable:  # nothing to wait for: write in place (as aiosmtpd's Mailbox does)
            return self.deliver(content, envelope)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        self._ensure_committer()
        self._queue.put((content, envelope, loop, fut))
        return await fut

    def _ensure_committer(self) -> None:
        if self._committer is None:
            self._committer = threading.Thread(target=self._commit_loop, name="kit-maildir-commit", daemon=True)
            self._committer.start()

    def _commit_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            if batch[0] is None:
                return
            # Group commit: while other sessions are likely to finish a message soon, wait a
            # moment for them, so that one flush covers many (a lone session never waits).
            others = self.concurrency() - 1
            deadline = time.monotonic() + GROUP_COMMIT_WINDOW
            while batch[-1] is not None:
                try:
                    if len(batch) > others:
                        batch.append(self._queue.get_nowait())
                    else:
                        batch.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0)))
                except queue.Empty:
                    break
            stop = batch[-1] is None
            batch = [b for b in batch if b is not None]
            results, paths, lines = [], [], []
            for content, envelope, loop, fut in batch:
                try:
                    key, line, path = self._write(content, envelope)
                    paths.append(path)
                    lines.append(line)
                    results.append((loop, fut, key, None))
                except Exception as exc:  # disk full, permissions: the client gets a 451
                    results.append((loop, fut, None, exc))
            flush_error = None
            try:
                self._log(lines)
                self._flush(paths)
            except OSError as exc:
                flush_error = exc
            self._notify(sum(1 for r in results if r[3] is None and flush_error is None))
            by_loop: dict = {}
            for loop, fut, key, exc in results:
                by_loop.setdefault(loop, []).append((fut, key, exc or flush_error))
            for loop, settled in by_loop.items():  # one wake-up per event loop, not per message
                try:
                    loop.call_soon_threadsafe(_settle_all, settled)
                except RuntimeError:  # the server stopped meanwhile: nobody waits for a 250, the mail is kept
                    pass
            if stop:
                return

    def close(self) -> None:
        """Stop the committer thread (after it has written what it holds)."""
        if self._committer is not None:
            self._queue.put(None)
            self._committer.join(timeout=10)
            self._committer = None
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        if self._dir_fds is not None:
            for fd in self._dir_fds:
                os.close(fd)
            self._dir_fds = None

    # -- reading ----------------------------------------------------------------------
    def keys(self) -> list[str]:
        """Keys of all messages, oldest first (Maildir keys start with the delivery time)."""
        self._maildir._refresh()
        return sorted(self._maildir.keys(), key=lambda k: (self._order(k), k))

    @staticmethod
    def _order(key: str) -> tuple[int, ...]:
        """Maildir keys of Python's `mailbox` read ``SECONDS.M<usec>P<pid>Q<count>.host``."""
        m = _KEY.match(key)
        return tuple(int(g) for g in m.groups()) if m else (0, 0, 0)

    def _read_log(self) -> None:
        """Load the envelopes appended since the last read."""
        with self._log_lock:
            self._read_log_locked()

    def _read_log_locked(self) -> None:
        try:
            with open(self._log_path, "rb") as f:
                f.seek(self._log_offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            record = json.loads(line)
            key = record.pop("key")
            self._envelopes[key] = Envelope.from_dict(record)
        self._log_offset += end

    def envelope(self, key: str) -> Envelope | None:
        if key not in self._envelopes:
            self._read_log()
        return self._envelopes.get(key)

    def get(self, key: str) -> StoredMessage:
        raw = self._maildir.get_bytes(key)
        return StoredMessage(key, _parser.parsebytes(raw), self.envelope(key))

    def raw(self, key: str) -> bytes:
        return self._maildir.get_bytes(key)

    def messages(self) -> list[StoredMessage]:
        return [self.get(k) for k in self.keys()]

    def __iter__(self) -> Iterator[StoredMessage]:
        return iter(self.messages())

    def __len__(self) -> int:
        self._maildir._refresh()
        return len(self._maildir)

    def __getitem__(self, index: int) -> StoredMessage:
        return self.get(self.keys()[index])

    @property
    def latest(self) -> StoredMessage | None:
        keys = self.keys()
        return self.get(keys[-1]) if keys else None

    def find(self, *, subject: str | None = None, sender: str | None = None,
             recipient: str | None = None) -> list[StoredMessage]:
        """Messages whose Subject contains ``subject``, whose envelope sender is ``sender``,
        or which were addressed (in the envelope) to ``recipient``."""
        out = []
        for m in self.messages():
            env = m.envelope
            if subject is not None and subject not in (m.subject or ""):
                continue
            if sender is not None and (env is None or env.mail_from != sender):
                continue
            if recipient is not None and (env is None or recipient not in env.rcpt_tos):
                continue
            out.append(m)
        return out

    def wait_for(self, n: int, timeout: float = 5.0) -> list[StoredMessage]:
        """Block until at least ``n`` messages are in the Maildir; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            count = len(self)
            if count >= n:
                return self.messages()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"expected {n} message(s) within {timeout:.1f}s, found {count}")
            with self._cond:
                self._cond.wait(min(remaining, 0.05))

    def clear(self) -> None:
        """Delete every message and envelope (between exercises)."""
        for key in list(self._maildir.keys()):
            self._maildir.discard(key)
        with self._log_lock:
            os.truncate(self._log_path, 0)
            self._envelopes.clear()
            self._log_offset = 0

    def __repr__(self) -> str:
        return f"<Mailbox {self.path} with {len(self)} message(s)>"


def _settle_all(settled: list[tuple[asyncio.Future, str | None, BaseException | None]]) -> None:
    for fut, key, exc in settled:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(key)
