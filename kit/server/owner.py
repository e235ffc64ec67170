"""Only the server's own user may talk to it: the owner of a loopback peer, from /proc/net/tcp.

Loopback is shared by every account of a machine. On a JupyterHub where each student is a local
user, student B can connect to the lab server student A's notebook started (its port is easy to
find) and put mail into A's mailbox, which A's exercise checks then count. With
``SMTPKIT_LAB_OWNER_ONLY=1`` in its environment (``smtpkit hub`` sets it for students' servers), a
lab server closes every connection whose client socket belongs to another user than its own
(root excepted, as for files). The client's socket is found in the kernel's socket table
(``/proc/net/tcp`` and ``tcp6``: local address = the peer, remote address = us, and its uid);
a peer that cannot be found there (another network namespace, another machine) is refused too.
Linux only; elsewhere the variable has no effect and the server says so in its transcript.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["ENV", "owner_only", "peer_uid", "allowed", "guard"]

ENV = "SMTPKIT_LAB_OWNER_ONLY"


def owner_only() -> bool:
    """Whether this process's lab servers accept only their own user (``SMTPKIT_LAB_OWNER_ONLY``)."""
    return os.environ.get(ENV, "") not in ("", "0") and os.path.exists("/proc/net/tcp")


def _hex_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp writes it: the IP in host byte order per 32-bit word."""
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    packed = ip.packed
    words = struct.unpack(f"{len(packed) // 4}I", packed)  # native order, as the kernel prints
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def peer_uid(peer: tuple, local: tuple) -> int | None:
    """The uid owning the client socket ``peer`` connected to our ``local`` address, or None."""
    want_local, want_remote = _hex_address(peer[0], peer[1]), _hex_address(local[0], local[1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 7 and fields[1] == want_local and fields[2] == want_remote:
                        return int(fields[7])
        except OSError:
            continue
    return None


def allowed(peer: tuple | None, local: tuple | None) -> bool:
    """Whether the client at ``peer`` may talk to this process's server at ``local``."""
    if not peer or not local:
        return False
    uid = peer_uid(peer, local)
    return uid is not None and uid in (os.getuid(), 0)


def guard(factory: Callable[[], Any]) -> Callable[[], Any]:
    """``factory`` whose protocols drop, before a byte is sent, connections of other users."""

    def make() -> Any:
        protocol = factory()
        connection_made = protocol.connection_made

        def checked(transport) -> None:
            sock = transport.get_extra_info("socket")
            peer = transport.get_extra_info("peername")
            local = transport.get_extra_info("sockname")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6) \
                    and not allowed(peer, local):
                protocol.connection_lost = lambda exc: None  # no session was opened to close
                transport.abort()
                return
            connection_made(transport)

        protocol.connection_made = checked
        return protocol

    return make
