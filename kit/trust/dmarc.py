"""DMARC alignment (RFC 7489 §3.1): does ``From:`` match a domain SPF or DKIM vouched for?

A reader sees only the ``From:`` header field (RFC 5322 §3.6.2); SPF checks the envelope's
MAIL FROM domain and DKIM the signature's ``d=`` domain, and either may differ from it.
DMARC passes when at least one of them *passed* for a domain *aligned* with ``From:``
(§3.1, §4.2). Relaxed alignment (the default, ``aspf=r``/``adkim=r``) compares
*organizational domains*; strict alignment wants the very same name.

The organizational domain is the registered name below a public suffix (§3.2), found with
the Public Suffix List. This kit keeps no copy of that list: `organizational_domain` takes
the last two labels, which is right for the ``.example``/``.test`` names of the course and
for ``example.com``, but wrong for ``co.uk``-style suffixes. Say so when you use it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["organizational_domain", "aligned", "DMARCResult", "dmarc_check"]


def organizational_domain(domain: str) -> str:
    """The last two labels, lower case (a stand-in for the Public Suffix List lookup)."""
    labels = domain.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


def aligned(domain: str, from_domain: str, *, strict: bool = False) -> bool:
    """RFC 7489 §3.1.1/§3.1.2: identical names (strict), or the same organizational domain."""
    a, b = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not a or not b:
        return False
    return a == b if strict else organizational_domain(a) == organizational_domain(b)


def _domain(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[2].lower()


@dataclass(frozen=True)
class DMARCResult:
    """``passed`` and why: which identifier aligned and passed, if any."""

    passed: bool
    from_domain: str
    spf_aligned: bool
    dkim_aligned: tuple[str, ...]
    reason: str

    @property
    def result(self) -> str:
        return "pass" if self.passed else "fail"


def dmarc_check(header_from: str, mail_from: str, spf: str, dkim: list[dict] | tuple = (),
                *, strict: bool = False) -> DMARCResult:
    """The DMARC verdict for one message (RFC 7489 §4.2).

    ``header_from`` and ``mail_from`` are addresses; ``spf`` is the SPF result for the
    MAIL FROM domain; ``dkim`` lists the signatures as ``{"d": domain, "result": "pass"|...}``.
    """
    from_domain = _domain(header_from)
    spf_ok = spf == "pass" and aligned(_domain(mail_from), from_domain, strict=strict)
    dkim_ok = tuple(sig["d"] for sig in dkim
                    if sig.get("result") == "pass" and aligned(sig["d"], from_domain, strict=strict))
    if spf_ok or dkim_ok:
        how = "SPF" if spf_ok else f"DKIM d={dkim_ok[0]}"
        return DMARCResult(True, from_domain, spf_ok, dkim_ok, f"{how} passed and is aligned with From: {from_domain}")
    return DMARCResult(False, from_domain, False, (),
                       f"neither SPF nor DKIM passed for a domain aligned with From: {from_domain}")
