"""`LabServer`: a real SMTP server on 127.0.0.1 that a student starts with one line.

::

    with LabServer(domains=["example.test"]) as server:
        send_mail(server.host, server.port, "alice@example.test", ["bob@example.test"], "Hi")
        server.wait_for(1)
        print(server.transcripts.last)

It binds loopback and a free port unless told otherwise, stores mail durably in a Maildir,
records every session, can be given faults (`Behaviour`), and never relays: mail for a
domain it does not own is refused with ``554 5.7.1``.
"""

from __future__ import annotations

import html
import logging
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from ..notebook_instance import NotebookInstance
from ..transcript import Direction, Transcript, Transcripts
from .behaviours import Behaviour, BehaviourSet
from .config import LabConfig
from .controller import LabController, bind_socket
from .handler import LabHandler
from .mailbox import Mailbox, StoredMessage

LineListener = Callable[[Transcript, Direction, str], None]

# aiosmtpd logs warnings (e.g. for unknown commands) that would otherwise be printed into
# whichever notebook cell happens to run; the transcript already shows them.
_aiosmtpd_log = logging.getLogger("mail.log")
_aiosmtpd_log.addHandler(logging.NullHandler())
_aiosmtpd_log.propagate = False


class LabState:
    """What all sessions of one server share: config, rules, transcripts, live sessions."""

    def __init__(self, config: LabConfig, listeners: list[LineListener]) -> None:
        self.config = config
        self.behaviours = BehaviourSet(config.behaviours)
        self.transcripts = Transcripts(keep=config.keep_sessions)
        self.listeners = listeners
        self.sessions: set[Any] = set()
        self._count = 0
        self._told: dict[int, int] = {}
        #: What aiosmtpd's SMTP.__init__ computes, once per server (see LabSMTP._init_from_template).
        self.smtp_template: tuple | None = None

    @property
    def active(self) -> int:
        return len(self.sessions)

    def open_session(self, protocol) -> tuple[int, Transcript]:
        self._count += 1
        peer = protocol.session.peer
        transcript = Transcript(peer=f"{peer[0]}:{peer[1]}" if peer else "")
        self.transcripts.append(transcript)
        self.sessions.add(protocol)
        self.record(transcript, "info", f"connection from {transcript.peer}")
        return self._count, transcript

    def close_session(self, protocol) -> None:
        self.sessions.discard(protocol)
        if protocol.transcript is not None:
            self.record(protocol.transcript, "info", "connection closed")
            self._told.pop(protocol.transcript.session_id, None)

    def record(self, transcript: Transcript, direction: Direction, text: str) -> None:
        transcript.add(direction, text)
        if self.listeners:
            self._tell_listeners(transcript)

    def record_chunk(self, transcript: Transcript, data: bytes) -> None:
        transcript.add_chunk(data)
        if self.listeners:
            self._tell_listeners(transcript)

    def _tell_listeners(self, transcript: Transcript) -> None:
        """Hand the lines that are complete now to the listeners (e.g. `smtpkit serve`)."""
        start = self._told.get(transcript.session_id, 0)
        lines = transcript.new_lines(start)
        self._told[transcript.session_id] = start + len(lines)
        for line in lines:
            for listener in self.listeners:
                try:
                    listener(transcript, line.direction, line.text)
                except Exception:  # a broken listener must not break the session
                    pass

    def shutdown_sessions(self) -> None:
        """Tell every connected client 421 and close (runs on the server's loop)."""
        for protocol in list(self.sessions):
            transport = protocol.transport
            if transport is not None and not transport.is_closing():
                line = f"421 4.3.2 {self.config.hostname} Service shutting down, closing transmission channel"
                self.record(protocol.transcript, "server", line)
                transport.write(f"{line}\r\n".encode())
                transport.close()


class LabServer:
    """A lab SMTP server. Use as a context manager, or call `start()` and `stop()`.

    Keyword arguments are those of `LabConfig` (host, port, hostname, domains, users,
    maildir, durable, vrfy, expn, max_message_size, max_recipients, idle_timeout,
    max_sessions, keep_sessions, behaviours, ...). ``keep_sessions`` (default 10,000) bounds
    the transcripts kept: the last N sessions; ``None`` keeps all.
    ``on_line(transcript, direction, text)`` is called from the server's thread for every
    line (also of sessions no longer kept); leave it unset in notebooks.
    """

    def __init__(self, *, on_line: LineListener | None = None, **settings: Any) -> None:
        if "domains" in settings and isinstance(settings["domains"], str):
            settings["domains"] = (settings["domains"],)
        for key in ("domains", "users"):
            if settings.get(key) is not None:
                settings[key] = tuple(settings[key])
        settings["behaviours"] = list(settings.get("behaviours") or [])
        self.config = LabConfig(**settings)
        self._listeners: list[LineListener] = [on_line] if on_line else []
        self._tmp: tempfile.TemporaryDirectory | None = None
        if self.config.maildir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="smtpkit-maildir-")
            path = self._tmp.name
        else:
            path = self.config.maildir
        self.mailbox = Mailbox(path, durable=self.config.durable)
        self._state = LabState(self.config, self._listeners)
        self.mailbox.concurrency = lambda: self._state.active
        self._controller: LabController | None = None
        self.certificates = None
        self._certdir = tempfile.TemporaryDirectory(prefix="smtpkit-tls-")
        self._lock = threading.Lock()
        self._address: tuple[str, int] | None = None
        self._finalizer = weakref.finalize(self, LabServer._cleanup, None, self.mailbox, self._tmp)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> LabServer:
        """Bind and serve; returns self. Starting a running server does nothing."""
        with self._lock:
            if self._controller is not None:
                return self
            sock = bind_socket(self.config.host, self.config.port or 0)
            controller = self._controller_for(sock)
            try:
                controller.start()
            except BaseException:
                controller.stop(no_assert=True)
                sock.close()
                raise
            self._controller = controller
            self._address = sock.getsockname()[:2]
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, LabServer._cleanup, controller, self.mailbox, self._tmp)
            return self

    def _controller_for(self, sock: Any) -> LabController:
        """The controller that serves ``sock``: the one place a subclass (the classroom's
        server) changes how sessions are made, keeping `start`'s life cycle."""
        return LabController(LabHandler(self.config, self.mailbox), self._state, sock,
                             ready_timeout=5.0, **self._smtp_options())

    def _smtp_options(self) -> dict[str, Any]:
        """aiosmtpd's TLS and AUTH settings for this configuration."""
        options: dict[str, Any] = {}
        if (self.config.tls or self.config.implicit_tls) and self.certificates is None:
            from .tls import LabCertificates

            self.certificates = LabCertificates(self.config.hostname, self._certdir.name)
        if self.config.tls:
            options["tls_context"] = self.certificates.server_context()
        if self.config.implicit_tls:
            options["ssl_context"] = self.certificates.server_context()  # the listening socket speaks TLS
        if self.config.auth:
            options["authenticator"] = _Authenticator(dict(self.config.auth))
            # with implicit TLS every session is protected, so "AUTH only over TLS" always holds
            options["auth_require_tls"] = self.config.auth_require_tls and not self.config.implicit_tls
            options["auth_required"] = self.config.require_auth
        else:
            options["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]
        return options

    @property
    def ca_path(self) -> str | None:
        """The PEM file of the CA that signed this server's certificate (``tls=True`` only)."""
        return str(self.certificates.ca_path) if self.certificates else None

    @property
    def ca_pem(self) -> str | None:
        """The same CA certificate as PEM text (``ssl.create_default_context(cadata=...)``): it
        travels where a file path would not, e.g. into a grading sandbox with its own ``/tmp``."""
        return self.certificates.ca_path.read_text() if self.certificates else None

    def client_tls_context(self):
        """An ``ssl.SSLContext`` for clients that trusts this server's throw-away CA."""
        if self.certificates is None:
            raise RuntimeError("this server has no TLS: create it with tls=True and start it")
        return self.certificates.client_context()

    def stop(self) -> None:
        """Close every session (421), stop serving and free the port. Idempotent."""
        with self._lock:
            controller, self._controller = self._controller, None
            if controller is None:
                return
            LabServer._cleanup(controller, self.mailbox, None)

    @staticmethod
    def _cleanup(controller: LabController | None, mailbox: Mailbox, tmp) -> None:
        if controller is not None and controller._thread is not None:
            state = controller.lab
            done = threading.Event()

            def shut() -> None:
                state.shutdown_sessions()
                done.set()

            controller.loop.call_soon_threadsafe(shut)
            done.wait(2.0)
            controller.stop(no_assert=True)
        mailbox.close()
        if tmp is not None:
            tmp.cleanup()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the server offers --------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def host(self) -> str:
        return self._address[0] if self._address else self.config.host

    @property
    def port(self) -> int:
        if self._address is None:
            raise RuntimeError("the server has not been started: call start() or use 'with'")
        return self._address[1]

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def transcripts(self) -> Transcripts:
        return self._state.transcripts

    @property
    def behaviours(self) -> BehaviourSet:
        return self._state.behaviours

    def add_behaviour(self, rule: Behaviour) -> None:
        self._state.behaviours.add(rule)

    def add_listener(self, listener: LineListener) -> None:
        self._listeners.append(listener)

    @property
    def active_sessions(self) -> int:
        return self._state.active

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no client is connected (so transcripts are complete); TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while self._state.active:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._state.active} session(s) still open after {timeout:.1f}s")
            time.sleep(0.01)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[StoredMessage]:
        """Wait until ``n`` messages have been delivered; returns all messages."""
        return self.mailbox.wait_for(n, timeout)

    def reset(self) -> None:
        """Forget messages, transcripts and behaviours (between exercises)."""
        self.mailbox.clear()
        self._state.transcripts.clear()
        self._state.behaviours.clear()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.running else "stopped"
        return f"<LabServer {self.config.hostname} {where}, {len(self.mailbox)} message(s)>"

    def _repr_html_(self) -> str:
        state = (f"listening on <code>{self.host}:{self.port}</code>" if self.running else "stopped")
        return (f"<div><b>LabServer</b> {html.escape(self.config.hostname)}: {state}; domains "
                f"{html.escape(', '.join(self.config.domains))}; {len(self.mailbox)} message(s), "
                f"{len(self.transcripts)} session(s); Maildir <code>{html.escape(str(self.mailbox.path))}</code></div>")


class _Authenticator:
    """aiosmtpd authenticator for AUTH PLAIN/LOGIN against a user -> password table."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in self.users and self.users[login] == password:
                return AuthResult(success=True, auth_data=login)
        # handled=False: aiosmtpd then answers 535 5.7.8 (with True it would answer nothing)
        return AuthResult(success=False, handled=False)


_instance: NotebookInstance[LabServer] = NotebookInstance(LabServer)


def start_lab(**settings: Any) -> LabServer:
    """The notebook's one line: a running lab server, reused when the cell runs again.

    Re-running a cell with the same settings returns the same server; with other settings
    the old one is stopped first, so no orphan keeps a port (aiosmtpd pitfall: a second
    controller on the same port fails only after a timeout).
    """
    return _instance.start(**settings)


def stop_lab() -> None:
    """Stop the server `start_lab` made, if any."""
    _instance.stop()


