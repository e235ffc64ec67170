"""Reference solutions of notebook 03 (reply codes), from `kit.protocol` (RFC 5321 §4.2, §4.2.1)."""

from __future__ import annotations

from ...protocol import parse_reply as _parse_reply

__all__ = ["parse_reply", "classify", "should_retry"]

_CLASSES = {2: "positive completion", 3: "positive intermediate", 4: "transient negative",
            5: "permanent negative"}


def parse_reply(lines: list[str]) -> dict:
    reply = _parse_reply(lines)
    return {"code": reply.code, "enhanced": reply.enhanced, "text": list(reply.lines)}


def classify(code: int) -> str:
    return _CLASSES.get(code // 100, "invalid") if 100 <= code <= 599 else "invalid"


def should_retry(reply: str) -> bool:
    return _parse_reply(reply).is_transient
