"""A real Postfix for the mail world to talk to: a private instance on 127.0.0.1 only.

The instance is made by the course's recipe ``postfix_peer.sh`` (its own config, queue, Maildirs
and log under one temporary folder; no DNS, no system mail set-up touched, nothing but
loopback). It is the MX of ``postfix.test`` (users alice and bob; other local parts land in a
catch-all, or are refused with ``strict_users``) and, with ``relay_port``, relays the
``relay_domains`` to that port on 127.0.0.1: the fixed port of a world server, so that mail
and DSNs come back into the world::

    with PostfixPeer(relay_port=2626, relay_domains=("uni.example",)) as postfix:
        world = MailWorld(peers=[postfix.peer()], ports={"mx.uni.example": 2626}).start()
        world.send("alice@uni.example", "bob@postfix.test", subject="Hi", body="x")

Postfix needs root to start (it drops to its own users) and the Debian package ``postfix``;
`unavailable` says what is missing. The benchmarks use the same class.
"""

from __future__ import annotations

import email.policy
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from .topology import Peer

__all__ = ["PostfixPeer", "RECIPE", "unavailable", "free_port", "INSTALL_HINT"]

#: The recipe script (the course's proven postfix-peer recipe, shipped with the kit);
#: ``SMTPKIT_POSTFIX_PEER`` names another copy.
RECIPE = Path(os.environ.get("SMTPKIT_POSTFIX_PEER", Path(__file__).with_name("postfix_peer.sh")))
INSTALL_HINT = ('echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections '
                "&& apt-get install -y postfix   (as root; nothing then listens on port 25)")


def unavailable() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    if not Path("/usr/sbin/postfix").exists():
        return f"Postfix is not installed (/usr/sbin/postfix missing); install it with: {INSTALL_HINT}"
    if not RECIPE.is_file():
        return f"the recipe {RECIPE} is missing (set SMTPKIT_POSTFIX_PEER to its path)"
    if os.geteuid() != 0:
        return "a private Postfix instance must be started as root"
    return None


def free_port() -> int:
    """A port on 127.0.0.1 free now (for a fixed port handed to both sides)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostfixPeer:
    """A private Postfix: ``name``/``domain`` as it calls itself, ``port`` where it listens."""

    name = "mx.postfix.test"
    domain = "postfix.test"

    def __init__(self, *, port: int | None = None, relay_port: int | None = None,
                 relay_domains: Iterable[str] = ("kit.test",), strict_users: bool = False, tls: bool = False,
                 settings: Iterable[str] = (), root: str | None = None, pin: Iterable[str] = (),
                 timeout: float = 90.0) -> None:
        self.port = port or free_port()
        self.relay_port = relay_port
        self.relay_domains = tuple(relay_domains)
        self.strict_users, self.tls = strict_users, tls
        self.settings = tuple(settings)
        self.root, self.pin, self.timeout = root, list(pin), timeout
        self.dir: Path | None = None
        self._certs: Path | None = None
        self.pid: int | None = None
        self.info: dict[str, str] = {}

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> PostfixPeer:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.dir = Path(tempfile.mkdtemp(prefix="smtpkit-postfix-", dir=self.root))
        env = dict(os.environ, PEER_RELAY_DOMAINS=" ".join(self.relay_domains),
                   PEER_STRICT_USERS="1" if self.strict_users else "0",
                   PEER_POSTCONF="\n".join(self.settings))
        if self.tls:
            env["PEER_TLS_CERT"], env["PEER_TLS_KEY"] = self._certificate()
        command = [*self.pin, "bash", str(RECIPE), "start", str(self.dir), str(self.port)]
        if self.relay_port:
            command.append(str(self.relay_port))
        out = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout, env=env)
        if out.returncode:
            self._remove()
            raise RuntimeError(f"postfix_peer.sh start failed: {out.stderr[-2000:]}")
        self.info = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        self.pid = int(self.info["PEER_MASTER_PID"])
        return self

    def _certificate(self) -> tuple[str, str]:
        import trustme

        self._certs = Path(tempfile.mkdtemp(prefix="smtpkit-postfix-tls-", dir=self.root))
        cert = trustme.CA().issue_cert("localhost", "127.0.0.1", self.name)
        chain, key = self._certs / "cert.pem", self._certs / "key.pem"
        chain.write_bytes(b"".join(p.bytes() for p in cert.cert_chain_pems))
        key.write_bytes(cert.private_key_pem.bytes())
        return str(chain), str(key)

    def stop(self, *, remove: bool = True) -> None:
        """Stop the instance (Postfix polls once a second: this takes 1-2 s) and delete its
        folder, unless ``remove`` is False (the caller deletes ``root`` later)."""
        if self.dir is None:
            return
        subprocess.run(["bash", str(RECIPE), "stop", str(self.dir)], capture_output=True, text=True, timeout=60)
        self._remove(remove)

    def _remove(self, remove: bool = True) -> None:
        for folder in (self.dir, self._certs):
            if folder is not None and remove:
                shutil.rmtree(folder, ignore_errors=True)
        self.dir = self._certs = None

    def __enter__(self) -> PostfixPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- in the world -----------------------------------------------------------------------
    def peer(self, *domains: str) -> Peer:
        """This Postfix as the world's `Peer`: the MX of postfix.test (and of ``domains``)."""
        return Peer(self.name, self.port, domains=(self.domain, *domains), role="Postfix (foreign MX)")

    # -- looking inside ---------------------------------------------------------------------
    def maildir(self, user: str = "catchall") -> Path:
        assert self.dir is not None, "not started"
        return self.dir / "mail" / user

    def messages(self, user: str = "catchall") -> list[EmailMessage]:
        """What Postfix delivered into ``user``'s Maildir, oldest first."""
        folder = self.maildir(user)
        files = sorted((p for sub in ("new", "cur") for p in (folder / sub).glob("*")), key=lambda p: p.name)
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(p.read_bytes()) for p in files]

    def wait_for(self, count: int, user: str = "catchall", timeout: float = 30.0) -> list[EmailMessage]:
        """Block until ``user`` has ``count`` messages (Postfix delivers after its 250; its
        Maildir is outside the kit, so this looks every 0.1 s, bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(user)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def queued(self) -> int:
        """Messages still in Postfix's queue (maildrop, incoming, active, deferred)."""
        assert self.dir is not None, "not started"
        return sum(len(files) for sub in ("maildrop", "incoming", "active", "deferred")
                   for _, _, files in os.walk(self.dir / "spool" / sub))

    def log(self) -> str:
        assert self.dir is not None, "not started"
        try:
            return (self.dir / "log" / "maillog").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __repr__(self) -> str:
        state = f"running on 127.0.0.1:{self.port}" if self.dir else "stopped"
        return f"<PostfixPeer {self.name} {state}>"
