"""What went wrong while a notebook ran: typed records, not sentences to search.

A notebook's status (``ok``, ``timeout``, ``crashed``) is derived from the kinds of its problems,
never from their text: that text quotes students' own exception messages, which may say
anything ("ran longer than", "kernel"). Texts that reach people are capped (``clip``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "KINDS", "TIMEOUTS", "DEATHS", "clip", "notebook_status"]

#: cell_error: a cell raised; cell_timeout: a cell was interrupted at its time limit;
#: cell_died: a cell ended the kernel; call_timeout: a call was killed at its limit;
#: call_died: a call ended the kernel; notebook_timeout: the wall clock ran out;
#: start_failed: a kernel did not start; gave_up: too many kernels died.
KINDS = ("cell_error", "cell_timeout", "cell_died", "call_timeout", "call_died",
         "notebook_timeout", "start_failed", "gave_up")
TIMEOUTS = ("cell_timeout", "call_timeout", "notebook_timeout")
DEATHS = ("cell_died", "call_died", "start_failed", "gave_up")


def clip(text: str, limit: int = 4000) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was: the one way texts from a
    submission are bounded (in reports, results and every output file)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... (truncated, {len(text):,} characters in all)"


@dataclass(frozen=True)
class Problem:
    """One thing that went wrong: its kind (one of ``KINDS``) and words for people."""

    kind: str
    text: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown problem kind {self.kind!r}")

    def __str__(self) -> str:
        return self.text


def notebook_status(problems: list[Problem], expired: bool, limit: float) -> tuple[str, str]:
    """(status, reason) of a notebook from its problems: the wall clock first, then time
    limits, then dead kernels; ``ok`` when none of these happened."""
    if expired:
        return "timeout", f"the notebook ran longer than {limit:g} s; its kernel was killed"
    for kinds, status in ((TIMEOUTS, "timeout"), (DEATHS, "crashed")):
        found = [p for p in problems if p.kind in kinds]
        if found:
            return status, found[0].text
    return "ok", ""
