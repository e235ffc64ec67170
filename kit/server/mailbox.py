"""Where the lab server puts accepted mail: a Maildir, written durably before ``250``.

Each message is written with the standard `mailbox.Maildir` (into ``tmp/``, then renamed
into ``new/``, so a reader never sees half a message), and its envelope, which the message
itself does not carry, goes beside it as JSON in ``kit-envelopes/``. The server answers
``250`` only once both are on disk.

Durability costs a flush per message. A committer thread batches the flushes of
concurrent sessions into one ``syncfs`` (group commit, as databases do), so twenty
sessions pay for one flush, not twenty; where ``syncfs`` is missing it falls back to
``fsync`` of each file and directory.
"""

from __future__ import annotations

import asyncio
import ctypes
import email.policy
import json
import mailbox
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

ENVELOPE_DIR = "kit-envelopes"
_parser = BytesParser(policy=email.policy.default)
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
        for sub in ("tmp", "new", "cur", ENVELOPE_DIR):  # an existing empty folder becomes a Maildir
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self._maildir = mailbox.Maildir(self.path, factory=None, create=False)
        self._cond = threading.Condition()
        self._delivered = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._committer: threading.Thread | None = None

    # -- delivery ---------------------------------------------------------------------
    def _write(self, content: bytes, envelope: Envelope) -> tuple[str, list[str]]:
        """Write one message and its envelope (not yet flushed); return the key and paths."""
        data = content.replace(b"\r\n", b"\n")  # Maildir files use the local line ending
        key = self._maildir.add(data)
        env_path = self.path / ENVELOPE_DIR / f"{key}.json"
        tmp = env_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(envelope)))
        os.replace(tmp, env_path)
        return key, [str(self.path / "new" / key), str(env_path)]

    def _flush(self, paths: list[str]) -> None:
        if not self.durable or not paths:
            return
        if _SYNCFS is not None:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                if _SYNCFS(fd) == 0:
                    return
            finally:
                os.close(fd)
        for p in paths:
            _fsync_path(p)
        for d in ("new", ENVELOPE_DIR):
            _fsync_path(self.path / d, directory=True)

    def _notify(self, count: int) -> None:
        with self._cond:
            self._delivered += count
            self._cond.notify_all()

    def deliver(self, content: bytes, envelope: Envelope) -> str:
        """Store a message durably, in the calling thread; return its Maildir key."""
        key, paths = self._write(content, envelope)
        self._flush(paths)
        self._notify(1)
        return key

    async def deliver_async(self, content: bytes, envelope: Envelope) -> str:
        """Store durably without blocking the event loop; concurrent calls share one flush."""
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
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
            stop = batch[-1] is None
            batch = [b for b in batch if b is not None]
            results, paths = [], []
            for content, envelope, loop, fut in batch:
                try:
                    key, written = self._write(content, envelope)
                    paths += written
                    results.append((loop, fut, key, None))
                except Exception as exc:  # disk full, permissions: the client gets a 451
                    results.append((loop, fut, None, exc))
            flush_error = None
            try:
                self._flush(paths)
            except OSError as exc:
                flush_error = exc
            self._notify(sum(1 for r in results if r[3] is None and flush_error is None))
            for loop, fut, key, exc in results:
                exc = exc or flush_error
                loop.call_soon_threadsafe(_settle, fut, key, exc)
            if stop:
                return

    def close(self) -> None:
        """Stop the committer thread (after it has written what it holds)."""
        if self._committer is not None:
            self._queue.put(None)
            self._committer.join(timeout=10)
            self._committer = None

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

    def get(self, key: str) -> StoredMessage:
        raw = self._maildir.get_bytes(key)
        env_path = self.path / ENVELOPE_DIR / f"{key}.json"
        envelope = Envelope.from_dict(json.loads(env_path.read_text())) if env_path.exists() else None
        return StoredMessage(key, _parser.parsebytes(raw), envelope)

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
            (self.path / ENVELOPE_DIR / f"{key}.json").unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"<Mailbox {self.path} with {len(self)} message(s)>"


def _settle(fut: asyncio.Future, key: str | None, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(key)
