"""The SMTP protocol core: pure functions and value classes, no sockets, no threads.

Everything that parses or formats SMTP lives here, so the lab server, the client, the
exercise checkers and the notebooks share one tested piece (the sans-I/O idea of h11).
Each name cites the RFC 5321 section it implements.
"""

from .addresses import NULL_PATH, Address, Path, format_path, is_address_literal, parse_address, parse_path
from .codes import (
    DEFAULT_ENHANCED,
    KNOWN_CODES,
    CodeExplanation,
    explain,
    explain_enhanced,
)
from .commands import (
    KNOWN_VERBS,
    Command,
    ehlo,
    format_command,
    format_params,
    helo,
    mail_from,
    parse_bdat,
    parse_command,
    parse_params,
    rcpt_to,
)
from .data import (
    MAX_TEXT_LINE,
    ChunkReader,
    DataReader,
    decode_data,
    dot_unstuff,
    encode_data,
    find_end_of_data,
    long_lines,
    to_crlf,
)
from .errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from .extensions import EhloInfo, format_ehlo, parse_ehlo
from .received import address_literal, format_received, with_protocol
from .replies import Reply, ReplyReader, format_reply, parse_reply, split_enhanced

__all__ = [
    "NULL_PATH", "Address", "Path", "format_path", "is_address_literal", "parse_address", "parse_path",
    "DEFAULT_ENHANCED", "KNOWN_CODES", "CodeExplanation", "explain", "explain_enhanced",
    "KNOWN_VERBS", "Command", "ehlo", "format_command", "format_params", "helo", "mail_from", "parse_bdat",
    "parse_command", "parse_params", "rcpt_to",
    "MAX_TEXT_LINE", "ChunkReader", "DataReader", "decode_data", "dot_unstuff", "encode_data",
    "find_end_of_data", "long_lines", "to_crlf",
    "EhloInfo", "format_ehlo", "parse_ehlo",
    "LocalProtocolError", "ProtocolError", "RemoteProtocolError",
    "address_literal", "format_received", "with_protocol",
    "Reply", "ReplyReader", "format_reply", "parse_reply", "split_enhanced",
]
