"""The lab server: a real SMTP server on loopback, built on aiosmtpd (see `LabServer`)."""

from .behaviours import (
    STAGES,
    Behaviour,
    BehaviourSet,
    delay_reply,
    disconnect_after,
    greylist,
    mailbox_full,
    refuse_connections,
    unknown_user,
)
from .config import LabConfig
from .handler import new_queue_id
from .lab_server import LabServer, start_lab, stop_lab
from .mailbox import Envelope, Mailbox, StoredMessage
from .spool import Spooled, SpoolReader

__all__ = [
    "STAGES", "Behaviour", "BehaviourSet", "delay_reply", "disconnect_after", "greylist",
    "mailbox_full", "refuse_connections", "unknown_user", "LabConfig", "LabServer",
    "start_lab", "stop_lab", "Envelope", "Mailbox", "StoredMessage", "new_queue_id",
    "SpoolReader", "Spooled",
]
