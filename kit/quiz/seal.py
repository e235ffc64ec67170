"""Answers as salted hashes: a quiz can say "right" without the right answer in its text.

The bank holds, per question, ``sha256("smtpkit-quiz|<question id>|<choice index>")``. Checking a
choice hashes it the same way and compares in constant time. The question id salts every hash,
so equal answers of two questions never look alike. This keeps the answers out of the student
release's plain text (notebooks, kit source); it is not a secret against a student who tries every
choice, which is what a quiz invites anyway. The instructors' answer key is
``solutions/quiz/answers.json``; a test checks it against the bank.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["seal", "matches"]

_PREFIX = "smtpkit-quiz"


def seal(question_id: str, index: int) -> str:
    """The stored form of "choice ``index`` is the answer to ``question_id``"."""
    return hashlib.sha256(f"{_PREFIX}|{question_id}|{int(index)}".encode()).hexdigest()


def matches(question_id: str, index: int, sealed: str) -> bool:
    """Whether choice ``index`` is the sealed answer."""
    return hmac.compare_digest(seal(question_id, index), sealed)
