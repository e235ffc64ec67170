"""`SMTPSession`: an SMTP client over a plain socket that records what it says and hears.

Unlike `smtplib`, it hides nothing: each method sends one command and returns the parsed
`Reply`, so a student can replay a telnet session line by line, look at every reply, and
see the whole dialogue afterwards in `transcript`. Refusals are returned, not raised:
in a course, a ``550`` is something to look at, not an exception to catch.
"""

from __future__ import annotations

import base64
import socket
import ssl
from email.message import EmailMessage

from ..protocol import (
    EhloInfo,
    RemoteProtocolError,
    Reply,
    ReplyReader,
    encode_data,
    format_command,
    mail_from,
    parse_ehlo,
    rcpt_to,
)
from ..transcript import Transcript


class SMTPClientError(Exception):
    """The dialogue could not go on: the server hung up, or did not answer in time."""


class SMTPDisconnected(SMTPClientError, ConnectionError):
    pass


class SMTPTimeout(SMTPClientError, TimeoutError):
    pass


class SMTPConnectError(SMTPClientError, ConnectionError):
    """Nobody listens there (connection refused), or the address is unreachable."""


class SMTPProtocolError(SMTPClientError, RemoteProtocolError):
    """The server sent something that is not an SMTP reply (``+OK POP3 server ready``, an HTTP
    page, ...): the dialogue cannot go on, so the client hangs up. Its fault, not ours."""


def message_bytes(message: str | bytes | EmailMessage) -> bytes:
    """The message as bytes with CRLF line ends (an `EmailMessage` via its SMTP policy)."""
    if isinstance(message, EmailMessage):
        import email.policy

        return message.as_bytes(policy=email.policy.SMTPUTF8)
    return message.encode("utf-8") if isinstance(message, str) else message


class SMTPSession:
    """One SMTP connection. ``with SMTPSession(host, port) as s: s.ehlo("me"); ...``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 25, *, timeout: float = 10.0,
                 connect: bool = True, implicit_tls: ssl.SSLContext | None = None) -> None:
        """``implicit_tls``: speak TLS from the first byte, with this context deciding whom to
        trust (the submissions port 465, RFC 8314 §3), instead of upgrading with STARTTLS."""
        self.host, self.port, self.timeout = host, port, timeout
        self.implicit_tls = implicit_tls
        self.transcript = Transcript(peer=f"{host}:{port}")
        self.greeting: Reply | None = None
        self.extensions: EhloInfo | None = None
        self._sock: socket.socket | None = None
        self._reader = ReplyReader()
        self._replies: list[Reply] = []
        self._in_data = False
        #: The reply after which the server closed the connection (a 421, RFC 5321 §3.8), if any.
        self.closed_after: Reply | None = None
        self._last_reply: Reply | None = None
        self._broken: SMTPProtocolError | None = None
        self._unreadable: RemoteProtocolError | None = None
        if connect:
            self.connect()

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> Reply:
        """Open the TCP connection and read the greeting (220, or 421/554 if refused)."""
        if self._sock is not None:
            raise SMTPClientError("already connected")
        self.closed_after, self._last_reply, self._broken, self._unreadable = None, None, None, None
        self._reader, self._replies = ReplyReader(), []
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise SMTPTimeout(f"no connection to {self.host}:{self.port} within {self.timeout}s") from None
        except OSError as exc:
            raise SMTPConnectError(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        self.transcript.add("info", f"connected to {self.host}:{self.port}")
        if self.implicit_tls is not None:
            try:
                self._sock = self.implicit_tls.wrap_socket(self._sock, server_hostname=self.host)
            except (ssl.SSLError, OSError) as exc:
                self.close()
                raise SMTPClientError(f"TLS handshake failed: {exc}") from None
            self.transcript.add("info", f"TLS from the first byte ({self._sock.version()} {self._sock.cipher()[0]})")
        self.greeting = self.read_reply()
        return self.greeting

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self.transcript.add("info", "connection closed")

    def __enter__(self) -> SMTPSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None and not self._in_data:
            try:
                self.quit()
            except (SMTPClientError, OSError):
                pass
        self.close()

    # -- the wire -------------------------------------------------------------------------
    def _not_connected(self) -> SMTPClientError:
        """The error for a command when there is no connection, saying why there is none."""
        if self._broken is not None:
            return self._broken
        if self.closed_after is not None:
            return SMTPDisconnected(f"not connected: the server closed the connection after "
                                    f"{self.closed_after.summary}")
        return SMTPDisconnected("not connected")

    def _hung_up(self, how: str) -> SMTPDisconnected:
        """The server closed the connection: say so, naming its last word if it was a refusal."""
        self.close()
        last = self._last_reply
        if last is not None and not last.is_positive and not last.is_intermediate:
            self.closed_after = self.closed_after or last
            return SMTPDisconnected(f"{how}, after {last.summary}")
        return SMTPDisconnected(how)

    def _send(self, data: bytes, shown: list[str]) -> None:
        if self._sock is None:
            raise self._not_connected()
        for line in shown:
            self.transcript.add("client", line)
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self._read_what_is_left()
            if self._replies:  # the server hung up, but its last words are still to be read
                self.close()
                return
            raise self._hung_up(f"the server closed the connection ({exc.strerror or exc})") from None

    def _read_what_is_left(self, limit: int = 65536) -> None:
        """After a failed write: read what the server sent before it hung up (a 421, say),
        briefly and boundedly, so that its reason is not lost."""
        try:
            self._sock.settimeout(0.5)
            got = 0
            while got < limit:
                chunk = self._sock.recv(limit)
                if not chunk:
                    break
                got += len(chunk)
                self._replies.extend(self._reader.feed(chunk))
        except (OSError, RemoteProtocolError):
            pass

    def read_reply(self) -> Reply:
        """Read the next complete reply (multi-line replies are joined).

        Raises `SMTPProtocolError` (after recording the line and hanging up) if what comes
        is not an SMTP reply, `SMTPDisconnected` if the server hangs up, `SMTPTimeout`."""
        while not self._replies:
            if self._unreadable is not None:  # the replies before it have all been read
                exc, self._unreadable = self._unreadable, None
                self._broken = self._not_smtp(exc)
                raise self._broken
            if self._sock is None:
                raise self._not_connected()
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise SMTPTimeout(f"no reply within {self.timeout}s") from None
            except OSError as exc:
                raise self._hung_up(f"the server closed the connection ({exc.strerror or exc})") from None
            if not chunk:
                raise self._hung_up("the server closed the connection")
            try:
                self._replies.extend(self._reader.feed(chunk))
            except RemoteProtocolError as exc:
                self._replies.extend(exc.replies)  # what came before the bad line still counts
                self._unreadable = exc
        reply = self._replies.pop(0)
        for line in reply.wire_lines():
            self.transcript.add("server", line)
        self._last_reply = reply
        if reply.code == 354:
            self._in_data = True
        if reply.code in (221, 421):  # the server closes the channel after these (§3.8, §4.2.2)
            if reply.code == 421:
                self.closed_after = reply
            self.close()
        return reply

    def _not_smtp(self, exc: RemoteProtocolError) -> SMTPProtocolError:
        """Record what the peer said that is not SMTP, hang up, and make the error to raise."""
        for line in exc.lines:
            self.transcript.add("server", line)
        said = exc.lines[0] if exc.lines else ""
        shown = said if len(said) <= 80 else said[:77] + "..."
        message = (f"the server's reply is not SMTP: {shown!r} (RFC 5321 §4.2: a reply starts with a "
                   f"three-digit code)" if exc.lines else f"the server's reply is not SMTP: {exc}")
        self.transcript.add("info", message + "; hanging up")
        self.close()
        return SMTPProtocolError(message)

    def command(self, line: str) -> Reply:
        """Send one command line (CRLF added) and return the server's reply."""
        self._send(f"{line}\r\n".encode(), [line])
        return self.read_reply()

    def send_raw(self, line: str) -> Reply | None:
        """Telnet-style: send one line as typed. After 354 the lines are message data, which
        get no reply until the line ``.`` (then the final reply is returned); else None."""
        if "\n" in line or "\r" in line:
            raise ValueError("send_raw sends one line; call it once per line")
        if self._in_data:
            self._send(f"{line}\r\n".encode(), [line])
            if line == ".":
                self._in_data = False
                return self.read_reply()
            return None
        return self.command(line)

    def pipeline(self, lines: list[str]) -> list[Reply]:
        """Send several commands in one write and read one reply each (RFC 2920)."""
        self._send("".join(f"{ln}\r\n" for ln in lines).encode(), lines)
        return [self.read_reply() for _ in lines]

    # -- commands -----------------------------------------------------------------------
    def helo(self, name: str = "client.example.test") -> Reply:
        return self.command(format_command("HELO", name))

    def ehlo(self, name: str = "client.example.test") -> Reply:
        reply = self.command(format_command("EHLO", name))
        self.extensions = parse_ehlo(reply) if reply.is_positive else None
        return reply

    def mail(self, sender: str | None, **params: str | None) -> Reply:
        return self.command(mail_from(sender, **params))

    def rcpt(self, recipient: str, **params: str | None) -> Reply:
        return self.command(rcpt_to(recipient, **params))

    def bdat(self, chunk: str | bytes, last: bool = False) -> Reply:
        """``BDAT n [LAST]`` and the chunk's octets as they are: no dot-stuffing, no final dot;
        the size says where the chunk ends (CHUNKING, RFC 3030 §2)."""
        data = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
        line = f"BDAT {len(data)}{' LAST' if last else ''}"
        self._send(f"{line}\r\n".encode() + data, [line, *_shown_lines(data)])
        return self.read_reply()

    def data(self, message: str | bytes | EmailMessage) -> Reply:
        """DATA, then the message (CRLF, dot-stuffed, final dot) if the server said 354."""
        reply = self.command("DATA")
        if reply.code != 354:
            return reply
        payload = encode_data(message_bytes(message))
        self._send(payload, _shown_lines(payload))
        self._in_data = False
        return self.read_reply()

    def rset(self) -> Reply:
        return self.command("RSET")

    def noop(self) -> Reply:
        return self.command("NOOP")

    def vrfy(self, address: str) -> Reply:
        return self.command(format_command("VRFY", address))

    def help(self, topic: str = "") -> Reply:
        return self.command(format_command("HELP", topic))

    def starttls(self, context: ssl.SSLContext | None = None) -> Reply:
        """STARTTLS (RFC 3207): on 220, wrap the connection in TLS; say EHLO again afterwards.

        ``context`` decides whom to trust (e.g. ``server.client_tls_context()`` for a lab
        server); the default trusts the system's CAs and checks the host name.
        """
        reply = self.command("STARTTLS")
        if reply.code != 220:
            return reply
        context = context or ssl.create_default_context()
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=self.host)
        except (ssl.SSLError, OSError) as exc:
            self.close()
            raise SMTPClientError(f"TLS handshake failed: {exc}") from None
        # Anything received before the handshake is discarded (RFC 3207 §4.2).
        self._reader, self._replies = ReplyReader(), []
        self.extensions = None
        self.transcript.add("info", f"TLS started ({self._sock.version()} {self._sock.cipher()[0]})")
        return reply

    @property
    def tls(self) -> bool:
        return isinstance(self._sock, ssl.SSLSocket)

    def auth(self, user: str, password: str, mechanism: str = "PLAIN") -> Reply:
        """AUTH PLAIN or LOGIN (RFC 4954, RFC 4616); credentials travel base64-encoded, not
        encrypted: without TLS anyone on the path can read them."""
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            return self.command(f"AUTH PLAIN {token}")
        if mechanism == "LOGIN":
            reply = self.command("AUTH LOGIN")
            for answer in (user, password):
                if reply.code != 334:
                    return reply
                reply = self.command(base64.b64encode(answer.encode()).decode())
            return reply
        raise ValueError(f"mechanism {mechanism!r}: this client knows PLAIN and LOGIN")

    def quit(self) -> Reply:
        return self.command("QUIT")

    def __repr__(self) -> str:
        return f"<SMTPSession {self.host}:{self.port} {'open' if self.connected else 'closed'}>"

    def _repr_html_(self) -> str:
        return self.transcript._repr_html_()


def _shown_lines(data: bytes) -> list[str]:
    """Message octets as the transcript shows them: one entry per line, without line ends."""
    lines = data.decode("utf-8", errors="backslashreplace").split("\n")
    if lines[-1] == "":
        lines.pop()
    return [ln.removesuffix("\r") for ln in lines]
