"""The kit's SMTP client: `SMTPSession` for line-by-line work, `send_mail` for one call."""

from .relay import forward
from .send import Parameters, SendResult, compose, send_mail
from .session import (
    SMTPClientError,
    SMTPConnectError,
    SMTPDisconnected,
    SMTPProtocolError,
    SMTPSession,
    SMTPTimeout,
    message_bytes,
)

__all__ = ["forward", "Parameters", "SendResult", "compose", "send_mail", "SMTPClientError", "SMTPConnectError",
           "SMTPDisconnected", "SMTPProtocolError", "SMTPSession", "SMTPTimeout", "message_bytes"]
