"""Running `LabSMTP` in a thread of its own, on a port the operating system picks.

aiosmtpd's threaded `Controller` runs its own event loop in a daemon thread, so a lab
server works beside a Jupyter kernel's loop. Two of its habits are mended here:
``port=0`` does not work (its start-up probe connects to port 0, aiosmtpd#276), and the
probe shows up as an empty session. We bind the socket ourselves (port 0 gives a free
port with no race) and build the first protocol object directly instead of probing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from .owner import guard, owner_only
from .smtp import LabSMTP

_here = threading.local()


@contextmanager
def sockets_from(provider: Callable[[str, int], socket.socket] | None) -> Iterator[None]:
    """In this thread, lab servers take their socket from ``provider(host, port)``: the grader
    uses it to listen on a sandboxed kernel's private loopback. ``None``: bind in this
    process's own network again (a judge's server that only the judge talks to)."""
    previous = getattr(_here, "provider", None)
    _here.provider = provider
    try:
        yield
    finally:
        _here.provider = previous


def own_sockets() -> contextlib.AbstractContextManager[None]:
    """``sockets_from(None)``: this thread's lab servers bind in this process's own network."""
    return sockets_from(None)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (0 = any free port)."""
    provider = getattr(_here, "provider", None)
    if provider is not None:
        return provider(host, port)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class LabController(Controller):
    def __init__(self, handler, lab, sock: socket.socket, **kwargs) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self.lab = lab
        self._sock = sock

    def factory(self) -> LabSMTP:
        return LabSMTP(self.handler, lab=self.lab, loop=self.loop, **self.SMTP_kwargs)

    #: Refuse peers of other users where ``SMTPKIT_LAB_OWNER_ONLY`` asks for it (a student's lab
    #: server on a shared hub, `kit.server.owner`); a server meant for everyone sets it False.
    owner_guard = True

    def _create_server(self):
        factory = (guard(self._factory_invoker) if self.owner_guard and owner_only()
                   else self._factory_invoker)
        return self.loop.create_server(factory, sock=self._sock, ssl=self.ssl_context)

    def _trigger_server(self) -> None:
        async def build() -> None:
            self._factory_invoker()

        asyncio.run_coroutine_threadsafe(build(), self.loop).result(self.ready_timeout)
