"""DKIM (RFC 6376) on local data: a key made at run time, signing and verifying with dkimpy.

The signer adds a ``DKIM-Signature:`` field (§3.5) with its domain ``d=``, a selector
``s=``, the hash of the body ``bh=`` and the signature ``b=`` over the listed header
fields. The verifier fetches the public key from the TXT record
``<selector>._domainkey.<domain>`` (§3.6.2). Here that lookup is a function (dkimpy's
``dnsfunc=``), e.g. `LocalZones.dkim_dnsfunc`; the real DNS is never asked.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["DKIMKey", "generate_dkim_key", "sign_message", "verify_message", "DEFAULT_HEADERS"]

#: The header fields signed by default: From is required (§5.4); these are the usual ones.
DEFAULT_HEADERS = ("from", "to", "subject", "date", "message-id")


@dataclass(frozen=True)
class DKIMKey:
    """A private key (PEM) and where its public half is published."""

    domain: str
    selector: str
    private_pem: bytes
    public_b64: str

    @property
    def dns_name(self) -> str:
        """``selector._domainkey.domain`` (RFC 6376 §3.6.2.1)."""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def txt_record(self) -> str:
        """The TXT record's text (§3.6.1): ``v=DKIM1; k=rsa; p=<base64 public key>``."""
        return f"v=DKIM1; k=rsa; p={self.public_b64}"

    def zone_line(self) -> str:
        """The record as a zone-file line; long TXT data is split into 255-byte strings."""
        text = self.txt_record
        chunks = " ".join(f'"{text[i:i + 255]}"' for i in range(0, len(text), 255))
        return f"{self.dns_name}. 3600 IN TXT {chunks}"


def generate_dkim_key(domain: str, selector: str = "lab", bits: int = 2048) -> DKIMKey:
    """A fresh RSA key pair (RFC 8301: signers MUST use at least 1024 bits, SHOULD 2048)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return DKIMKey(domain, selector, private, base64.b64encode(public).decode())


def sign_message(message: bytes, key: DKIMKey, headers: tuple[str, ...] = DEFAULT_HEADERS) -> bytes:
    """``message`` with a ``DKIM-Signature:`` field on top (relaxed/simple, rsa-sha256)."""
    signature = dkim.sign(message, key.selector.encode(), key.domain.encode(), key.private_pem,
                          include_headers=[h.encode() for h in headers])
    return signature + message


def verify_message(message: bytes, dnsfunc: Callable[..., bytes | None]) -> bool:
    """True when the first DKIM signature verifies with the key ``dnsfunc`` returns."""
    return bool(dkim.verify(message, dnsfunc=dnsfunc))
