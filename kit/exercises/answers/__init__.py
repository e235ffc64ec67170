"""Reference solutions of the course exercises: grader-only, never in a student's hands.

This package is listed in ``kit.exercises.GRADER_ONLY``: ``smtpkit release --student`` leaves it
out (and refuses a kit that still holds a reference solution elsewhere), and the grading sandbox
hides it from the student's kernel. Nothing outside it may define a reference solution.

One module per topic, one function per exercise, named as the students name theirs
(``answers.replies.parse_reply`` answers ``replies.parse_reply``). ``ANSWERS`` maps each exercise
id to its function. The topic modules in ``kit.exercises`` compute the expected values of their
public tests with them when this package is there (in the grader, for instructors), and
``smtpkit release`` writes the same values into ``kit/exercises/expected.json`` for the student
release. Instructors may use them in hidden tests (docs/GRADING.md §3)::

    from kit.exercises.answers import replies
    HIDDEN = {"replies.classify": [Case("a 3yz code", (334,), replies.classify(334))]}

Exercises judged on the wire (``dialogue.send_mail_raw``, ``esmtp.secure_send``, ...) or by a
validator (``message.build_message``) have no answer function here: their truth is what the
judge's own lab server saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dialogue, esmtp, journey, message, replies, tracing, trust

__all__ = ["ANSWERS", "dialogue", "esmtp", "journey", "message", "replies", "tracing", "trust"]

#: exercise id -> the reference solution (same arguments and plain result as the student's).
ANSWERS: dict[str, Callable[..., Any]] = {
    "dialogue.dot_stuff": dialogue.dot_stuff,
    "replies.parse_reply": replies.parse_reply,
    "replies.classify": replies.classify,
    "replies.should_retry": replies.should_retry,
    "message.disagreements": message.disagreements,
    "tracing.parse_received": tracing.parse_received,
    "tracing.hops": tracing.hops,
    "journey.mx_order": journey.mx_order,
    "esmtp.parse_ehlo": esmtp.parse_ehlo,
    "esmtp.auth_plain": esmtp.auth_plain,
    "trust.retry_policy": trust.retry_policy,
    "trust.forged_hop": trust.forged_hop,
    "trust.spoofed": trust.spoofed,
}
