"""Certificates made at run time for STARTTLS (RFC 3207): nothing is committed or reused.

Each TLS-enabled lab server gets its own throw-away certificate authority (the `trustme`
package) and a server certificate for 127.0.0.1, ::1, localhost and its host name. The
CA certificate is written to a temporary file so that clients (ours, smtplib, swaks) can
verify the server instead of trusting blindly.
"""

from __future__ import annotations

import ssl
from pathlib import Path


class LabCertificates:
    """A throw-away CA and a server certificate; ``ca_path`` is the CA's PEM file."""

    def __init__(self, hostname: str, directory: str | Path) -> None:
        import trustme

        self._ca = trustme.CA(organization_name="smtpkit lab CA (throw-away)")
        self._cert = self._ca.issue_cert("127.0.0.1", "::1", "localhost", hostname)
        self.ca_path = Path(directory) / "smtpkit-lab-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8996: no TLS 1.0/1.1
        self._cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this lab CA (and checks host names)."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self._ca.configure_trust(ctx)
        return ctx
