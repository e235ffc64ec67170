"""What a receiver can check about a mail: SPF, DKIM and DMARC, all on local data.

SMTP itself lets a client claim any sender, any route and any content (RFC 5321 §7.1). The
answers the Internet added later each check one claim:

* `spf`: may this IP address send mail for the MAIL FROM domain? (RFC 7208)
* `signing`: DKIM signatures over header fields and body, keys made at run time (RFC 6376)
* `dmarc`: does the domain a receiver *sees*, in ``From:``, align with a domain that
  SPF or DKIM vouched for? (RFC 7489)
* `zones`: a DNS made of zone files in memory (dnspython), so nothing ever leaves the machine.

::

    from kit.trust import LocalZones, check_host
    zones = LocalZones.from_texts([ZONE])
    check_host("192.0.2.10", "uni.example", "alice@uni.example", zones.lookup).result   # 'pass'
"""

from __future__ import annotations

from .dmarc import DMARCResult, aligned, dmarc_check, organizational_domain
from .signing import DKIMKey, generate_dkim_key, sign_message, verify_message
from .spf import SPF_RESULTS, SPFResult, check_host
from .zones import LocalZones

__all__ = [
    "DMARCResult", "aligned", "dmarc_check", "organizational_domain",
    "DKIMKey", "generate_dkim_key", "sign_message", "verify_message",
    "SPF_RESULTS", "SPFResult", "check_host", "LocalZones",
]
