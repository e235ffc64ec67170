"""Where the classroom server may listen: loopback unless told, never everywhere by accident.

The default is 127.0.0.1 (the instructor's own machine). To let the room in, the instructor
names the one address of the interface the class shares (``--listen 192.0.2.10``). Every
interface at once (``0.0.0.0`` or ``::``) is refused unless ``listen_all`` says so: a
seminar server then answers on every network the laptop is on, the café's included.
"""

from __future__ import annotations

import ipaddress

LOOPBACK = "127.0.0.1"


class ListenError(ValueError):
    """The instructor's listen address is not allowed (or not an address at all)."""


def check_listen(address: str | None, *, listen_all: bool = False) -> tuple[str, list[str]]:
    """The address to bind and the warnings to print; `ListenError` if it is not allowed.

    ``None`` means loopback, or every IPv4 interface when ``listen_all`` is set.
    """
    if address is None:
        address = "0.0.0.0" if listen_all else LOOPBACK
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise ListenError(f"--listen {address!r} is not an IP address (give the address of the "
                          "interface the class shares, e.g. 192.0.2.10)") from None
    if ip.is_unspecified and not listen_all:
        raise ListenError(f"--listen {address} would accept connections on every interface of this "
                          "machine; name the one address the class uses (e.g. --listen 192.0.2.10), "
                          "or add --listen-all if you really mean every interface")
    warnings = []
    if ip.is_unspecified:
        warnings.append(f"listening on every interface ({ip}): anyone who can reach this machine, on any "
                        "network it is on, can talk to this server")
    elif not ip.is_loopback:
        warnings.append(f"listening on {ip}: other machines on that network can reach this server")
    return str(ip), warnings
