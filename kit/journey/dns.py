"""The mail world's DNS: `kit.localdns`, re-exported here (MX lookup, RFC 5321 §5)."""

from ..localdns import MX, DNSError, LocalDNS, NoSuchDomain, NullMX, zone_text

__all__ = ["MX", "LocalDNS", "DNSError", "NoSuchDomain", "NullMX", "zone_text"]
