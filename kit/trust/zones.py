"""A DNS made of zone files in memory, read with dnspython; no query leaves the machine.

SPF and DKIM both publish their data in the DNS (TXT records). The notebooks need lookups
with real DNS semantics that never touch the network: `LocalZones` is `kit.localdns.LocalDNS`
(the DNS the mail world reads too) with a log of the questions asked and the TXT lookup
dkimpy wants.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..localdns import LocalDNS

__all__ = ["LocalZones"]


class LocalZones(LocalDNS):
    """Zones by origin; ``lookup(name, "TXT" | "A" | "AAAA" | "MX")`` answers from them."""

    def __init__(self, zones, **kwargs) -> None:
        super().__init__(zones, **kwargs)
        #: Every lookup made, as ``(name, rdtype)``: the notebooks show what was asked.
        self.queries: list[tuple[str, str]] = []

    @classmethod
    def from_texts(cls, texts: Iterable[str], **kwargs) -> LocalZones:
        """Zone files, each with its ``$ORIGIN`` (SOA and NS may be left out)."""
        kwargs.setdefault("check_origin", False)
        return super().from_texts(texts, **kwargs)

    def lookup(self, name: str, rdtype: str) -> list[str]:
        self.queries.append((name.rstrip(".").lower(), rdtype.upper()))
        return super().lookup(name, rdtype)

    def dkim_dnsfunc(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        """The TXT lookup in the shape dkimpy's ``verify(..., dnsfunc=)`` expects."""
        text = name.decode() if isinstance(name, bytes) else name
        records = self.lookup(text, "TXT")
        return records[0].encode() if records else None

    def __repr__(self) -> str:
        return f"<LocalZones {', '.join(sorted(self.zones))}>"
