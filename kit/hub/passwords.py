"""One password per student, printed once for the instructor and kept only as a hash.

A seminar needs a login that works in the first minute without a university's single sign-on:
the instructor hands each student a slip with their account and password. The hub stores the
scrypt hash (RFC 7914) with a salt per student, never the password; a lost slip is replaced by
``smtpkit hub start --new-passwords``. For a university's own logins, see docs/HUB.md
(NativeAuthenticator, LTI from the LMS, OAuth/OIDC).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["new_password", "hash_password", "verify_password"]

# Letters and digits that cannot be mistaken for each other on a printed slip.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_N, _R, _P = 2**14, 8, 1


def new_password(length: int = 12) -> str:
    """A random password of ``length`` unambiguous characters, in groups of four."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return "-".join(raw[i:i + 4] for i in range(0, length, 4))


def hash_password(password: str) -> str:
    """``scrypt$<salt hex>$<hash hex>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time compare)."""
    try:
        kind, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        fresh = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=_N, r=_R, p=_P,
                               dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(fresh.hex(), digest)
