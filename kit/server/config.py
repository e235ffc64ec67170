"""The lab server's settings, with the RFC 5321 limits as defaults (§4.5.3.1, §4.5.3.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .behaviours import Behaviour

MiB = 1024 * 1024


@dataclass
class LabConfig:
    """Everything a `LabServer` can be told. Loopback only unless ``host`` says otherwise."""

    host: str = "127.0.0.1"
    port: int | None = None
    hostname: str = "lab.example.test"
    #: Mail for these domains is accepted; any other domain is relaying and refused (554 5.7.1).
    domains: tuple[str, ...] = ("example.test",)
    #: Known local parts. None accepts any local part at a local domain (a catch-all).
    users: tuple[str, ...] | None = None
    maildir: str | None = None
    #: Flush each message to disk before answering 250 (group-committed across sessions).
    durable: bool = True
    #: VRFY answers 250/550 when on; 252 ("cannot VRFY, but will try") when off (§3.5.3).
    vrfy: bool = True
    #: EXPN answers 502 unless switched on (§3.5.3, §7.3: it helps address harvesting).
    expn: bool = False
    max_message_size: int = 10 * MiB
    #: §4.5.3.1.8: at least 100 recipients MUST be accepted; above the limit: 452 4.5.3.
    max_recipients: int = 100
    #: §4.5.3.2.7: the server timeout SHOULD be at least 5 minutes.
    idle_timeout: float = 300.0
    max_sessions: int = 50
    #: Transcripts of the last N sessions are kept (older ones are forgotten, so memory stays
    #: flat on a long-running server); None keeps all. Large enough for any notebook's sessions.
    keep_sessions: int | None = 10_000
    #: §4.5.3.1.4: a command line is at most 512 octets including CRLF.
    command_line_limit: int = 512
    behaviours: list[Behaviour] = field(default_factory=list)
    #: STARTTLS (RFC 3207) with a certificate from a throw-away CA made at start.
    tls: bool = False
    #: TLS from the first byte instead (implicit TLS, as on the submissions port 465, RFC 8314
    #: §3): no STARTTLS then, and every session counts as protected.
    implicit_tls: bool = False
    #: AUTH PLAIN and LOGIN (RFC 4954) for these user -> password pairs.
    auth: dict[str, str] | None = None
    #: Who may act as whom with AUTH PLAIN's authorization identity (RFC 4616 §2):
    #: ``{"alice": ["bob"]}`` lets alice, logged in with her own password, act as bob. Anyone
    #: may act as themselves; every other authorization identity is refused (535 5.7.8).
    auth_act_as: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Offer AUTH only after STARTTLS (the safe default; switch off to teach why it matters).
    auth_require_tls: bool = True
    #: Refuse MAIL until the client has authenticated (530 5.7.0), as a submission server does.
    require_auth: bool = False
    #: Act as a message submission agent (RFC 6409 §8): add Date and Message-ID when missing.
    submission: bool = False
    #: Let authenticated sessions name recipients in any domain, as an MSA does for its users
    #: (RFC 6409 §4.3; Postfix: permit_sasl_authenticated). Strangers are still refused.
    relay_authenticated: bool = False
    #: This server makes the final delivery and writes ``Return-Path:`` (RFC 5321 §4.4). False
    #: for a server whose mail an agent passes on (the mail world's MSA and MX spools): only
    #: final delivery writes that field, so nobody downstream has to strip it again.
    final_delivery: bool = True

    def __post_init__(self) -> None:
        self.domains = tuple(d.lower().rstrip(".") for d in self.domains)
        if self.users is not None:
            self.users = tuple(u.lower() for u in self.users)
        if self.max_recipients < 1 or self.max_sessions < 1:
            raise ValueError("max_recipients and max_sessions must be at least 1")
        if self.keep_sessions is not None and self.keep_sessions < 1:
            raise ValueError("keep_sessions must be at least 1 (or None: keep every session)")
        if self.max_message_size < 1:
            raise ValueError("max_message_size must be positive")
        if self.idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        if self.tls and self.implicit_tls:
            raise ValueError("tls (STARTTLS) and implicit_tls exclude each other (RFC 8314 §3)")
        self.auth_act_as = {user: tuple(others) if not isinstance(others, str) else (others,)
                            for user, others in (self.auth_act_as or {}).items()}
        if self.require_auth and not self.auth:
            raise ValueError("require_auth needs auth={user: password}")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not 0-65535")

    def is_local_domain(self, domain: str) -> bool:
        return domain.lower().rstrip(".") in self.domains or domain.lower() == self.hostname.lower()

    def is_known_user(self, local_part: str) -> bool:
        if local_part.lower() == "postmaster":  # §4.5.1: every server MUST have postmaster
            return True
        return self.users is None or local_part.lower() in self.users
