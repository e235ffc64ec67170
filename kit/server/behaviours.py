"""Deterministic faults, to teach what happens when mail goes wrong.

A `Behaviour` says: at this stage of the dialogue (optionally only for this sender,
recipient or session), wait, answer with this reply instead of the normal one, and/or
drop the connection after the stage. Unlike random "chaos" settings, the same dialogue
always meets the same fault, which is what exercises and graders need.

Stages: CONNECT (the greeting), HELO, EHLO, MAIL, RCPT, DATA (the DATA command), DOT
(after the final dot, before the message is stored), RSET, VRFY, NOOP, QUIT.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

STAGES = ("CONNECT", "HELO", "EHLO", "MAIL", "RCPT", "DATA", "DOT", "RSET", "VRFY", "NOOP", "QUIT")


@dataclass(frozen=True)
class Behaviour:
    """One rule. ``reply`` may use ``{sender}``, ``{recipient}`` and ``{host}``."""

    stage: str
    reply: str | None = None
    delay: float = 0.0
    disconnect: bool = False
    sender: str | None = None
    recipient: str | None = None
    session: int | None = None
    first_attempt_only: bool = False
    times: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", self.stage.upper())
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; one of {', '.join(STAGES)}")
        if self.reply is not None and not (self.reply[:3].isdigit() and self.reply[0] in "2345"):
            raise ValueError(f"reply {self.reply!r} must start with a code 2yz-5yz")
        if self.delay < 0:
            raise ValueError("delay must be >= 0 seconds")
        if self.stage != "RCPT" and self.recipient is not None and self.stage not in ("DATA", "DOT"):
            raise ValueError("recipient= only makes sense at RCPT, DATA or DOT")


def unknown_user(address: str) -> Behaviour:
    """``550 5.1.1`` for one recipient, as a server answers for a mailbox that does not exist."""
    return Behaviour("RCPT", "550 5.1.1 <{recipient}>: Recipient address rejected: User unknown",
                     recipient=address)


def mailbox_full(address: str) -> Behaviour:
    """``452 4.2.2``: a temporary failure; the sender should try again later."""
    return Behaviour("RCPT", "452 4.2.2 <{recipient}>: Mailbox full", recipient=address)


def greylist(recipient: str | None = None) -> Behaviour:
    """``451 4.7.1`` on the first attempt of each (client, sender, recipient); later ones pass."""
    return Behaviour("RCPT", "451 4.7.1 <{recipient}>: Recipient address rejected: Greylisted, try again later",
                     recipient=recipient, first_attempt_only=True)


def refuse_connections(reply: str = "421 4.3.2 {host} Service not available, closing transmission channel"
                       ) -> Behaviour:
    """Answer the connection with 421 (or another code) instead of the 220 greeting, then close."""
    return Behaviour("CONNECT", reply, disconnect=True)


def delay_reply(stage: str, seconds: float) -> Behaviour:
    return Behaviour(stage, delay=seconds)


def disconnect_after(stage: str) -> Behaviour:
    """Answer ``stage`` as usual, then drop the connection without a 221."""
    return Behaviour(stage, disconnect=True)


class BehaviourSet:
    """The rules of one server, with the counters they need; safe across sessions and threads."""

    def __init__(self, rules: Iterable[Behaviour] = ()) -> None:
        self._rules = list(rules)
        self._used: dict[int, int] = {}
        self._seen: set[tuple] = set()
        self._lock = threading.Lock()

    def add(self, rule: Behaviour) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._used.clear()
            self._seen.clear()

    @property
    def rules(self) -> list[Behaviour]:
        with self._lock:
            return list(self._rules)

    def match(self, stage: str, *, session: int, peer: str = "", sender: str | None = None,
              recipient: str | None = None) -> Behaviour | None:
        """The first rule that applies now (and count it as used), or None."""
        with self._lock:
            for i, rule in enumerate(self._rules):
                if rule.stage != stage:
                    continue
                if rule.session is not None and rule.session != session:
                    continue
                if rule.sender is not None and (sender or "").lower() != rule.sender.lower():
                    continue
                if rule.recipient is not None and (recipient or "").lower() != rule.recipient.lower():
                    continue
                if rule.times is not None and self._used.get(i, 0) >= rule.times:
                    continue
                if rule.first_attempt_only:
                    triple = (i, peer, (sender or "").lower(), (recipient or "").lower())
                    if triple in self._seen:
                        continue
                    self._seen.add(triple)
                self._used[i] = self._used.get(i, 0) + 1
                return rule
        return None
