"""Reference solution of notebook 06's ``journey.mx_order``: `kit.journey.dns.LocalDNS.route`'s
rule on plain values (RFC 5321 §5.1, RFC 7505)."""

from __future__ import annotations

__all__ = ["mx_order"]


def mx_order(domain: str, records: list) -> list[str]:
    if not records:
        return [domain]
    if any(host == "." for _pref, host in records):
        return []
    return [host for _pref, host in sorted(records, key=lambda r: r[0])]
