"""The lab server's protocol engine: aiosmtpd's `SMTP` class, taught to talk like Postfix.

aiosmtpd reads command lines, enforces their limits and does STARTTLS and AUTH. The message
data (DATA, BDAT chunks) is read in blocks by the sans-I/O `kit.protocol.data.DataReader` and
`ChunkReader`, with aiosmtpd's limits and replies (only ``<CRLF>.<CRLF>`` ends the data).
This subclass also changes what the server *says*:

* commands are parsed by `kit.protocol`, the same code the client and checkers use;
* every 2yz/4yz/5yz reply carries an RFC 3463 enhanced status code (ENHANCEDSTATUSCODES,
  RFC 2034), except the greeting and the replies to HELO and EHLO, as RFC 2034 §3 says;
* every line in both directions is recorded in the session's `Transcript`;
* `Behaviour` rules can delay, replace or cut off any stage.

Policy (local domains, users, storage) lives in `LabHandler`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import functools
import re
import ssl
import types
from typing import TYPE_CHECKING

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, TLSSetupException, syntax

from ..i18n import N_
from ..protocol import DEFAULT_ENHANCED, ProtocolError, format_ehlo, parse_bdat, parse_command, split_enhanced
from ..protocol.data import LINE_TOO_LONG, ChunkReader, DataReader
from .behaviours import STAGES, Behaviour

if TYPE_CHECKING:
    from .lab_server import LabState

#: Bytes of message data a transcript keeps per message; beyond that only lines are counted.
DATA_BYTES_KEPT = 16 * 1024
#: Command-line octets a session's transcript keeps (the rest is counted, not kept): a client
#: that sends one 10 MB line, or millions of short ones, cannot grow the server's memory.
COMMAND_BYTES_KEPT = 64 * 1024

# aiosmtpd's own replies, reworded as Postfix words them (and with RFC 3463 codes).
_REWRITE = {
    "552 Error: Too much mail data": "552 5.3.4 Error: message file too big",
    "500 Line too long (see RFC5321 4.5.3.1.6)":
        "500 5.5.2 Error: text line too long (RFC 5321 §4.5.3.1.6 allows 1000 octets)",
    "500 Command line too long": "500 5.5.2 Error: command line too long (RFC 5321 §4.5.3.1.4 allows 512 octets)",
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO/EHLO first",
    "503 Error: send EHLO first": "503 5.5.1 Error: send HELO/EHLO first",
    "503 Error: need RCPT command": "503 5.5.1 Error: need RCPT command",
    "501 Syntax: DATA": "501 5.5.4 Syntax: DATA",
    "501 Syntax: QUIT": "501 5.5.4 Syntax: QUIT",
    "502 5.5.1 Too many unrecognized commands, goodbye.": "421 4.7.0 Error: too many unrecognized commands, goodbye",
}
_UNKNOWN_COMMAND = re.compile(r'500 Error: command "(.*)" not recognized')
_NO_ENHANCED = {334, 354}


@functools.lru_cache(maxsize=512)  # the same few replies, four or more per message
def with_enhanced_code(reply: str, *, greeting: bool = False) -> str:
    """Give a reply its RFC 3463 code if it has none (``503 Error`` -> ``503 5.5.1 Error``).

    The greeting keeps none (RFC 2034 §3); a later 220 (STARTTLS's) gets ``2.0.0``.
    """
    if reply in _REWRITE:
        return _REWRITE[reply]
    if reply.startswith("500 Error: command") and _UNKNOWN_COMMAND.fullmatch(reply):
        return "500 5.5.2 Error: command not recognized"
    code_text = reply[:3]
    if not code_text.isdigit():
        return reply
    code = int(code_text)
    if (code == 220 and greeting) or code in _NO_ENHANCED or code not in DEFAULT_ENHANCED:
        return reply
    sep, text = reply[3:4], reply[4:]
    if text[:1] == str(code // 100) and split_enhanced(code, text)[0] is not None:
        return reply
    return f"{code}{sep or ' '}{DEFAULT_ENHANCED[code]} {text}".rstrip()


#: Transcript note when the client began the TLS handshake and then broke it off with an alert
#: (RFC 8446 §6.2), as a client does that refuses the server's certificate. OpenSSL reports an
#: alert only once it has read the client's ClientHello and answered it, so the note is evidence
#: that the handshake really started; a hang-up right after ``220`` gives another note.
TLS_ABORTED_NOTE = "the client aborted the TLS handshake"
#: Transcript note when the STARTTLS handshake succeeded (the client accepted the certificate).
TLS_STARTED_NOTE = "TLS started"


def tls_failure_note(error: BaseException | None) -> str:
    """The transcript note for a STARTTLS handshake that failed with ``error`` (its cause)."""
    reason = getattr(error, "reason", None) or ""
    if isinstance(error, ssl.SSLError) and "_ALERT_" in reason:
        alert = reason.split("_ALERT_", 1)[1].replace("_", " ").lower()
        return N_("the client aborted the TLS handshake with the alert '{alert}' (RFC 8446 §6.2)",
                  alert=alert)
    if error is None or isinstance(error, (ConnectionError, EOFError)):
        return N_("the TLS handshake did not happen: the client closed the connection without a TLS "
                  "alert")
    return N_("the TLS handshake failed: {reason}", reason=reason.replace("_", " ").lower() or error)


_NOTIFY = {"SUCCESS", "FAILURE", "DELAY"}


def _check_dsn_mail(params: dict) -> str | None:
    """Take RET and ENVID (RFC 3461 §4.3, §4.4) out of ``params``; a reply if malformed."""
    ret = params.pop("RET", "")
    if ret and ret.upper() not in ("FULL", "HDRS"):
        return "501 5.5.4 Error: RET must be FULL or HDRS (RFC 3461 §4.3)"
    if "ENVID" in params and not params.pop("ENVID"):
        return "501 5.5.4 Error: ENVID needs a value (RFC 3461 §4.4)"
    return None


def _check_dsn_rcpt(params: dict) -> str | None:
    """Take NOTIFY and ORCPT (RFC 3461 §4.1, §4.2) out of ``params``; a reply if malformed."""
    notify = params.pop("NOTIFY", None)
    if notify is not None:
        values = {v.upper() for v in notify.split(",")}
        if not (values == {"NEVER"} or (values and values <= _NOTIFY)):
            return "501 5.5.4 Error: NOTIFY is NEVER or a list of SUCCESS,FAILURE,DELAY (RFC 3461 §4.1)"
    orcpt = params.pop("ORCPT", None)
    if orcpt is not None and ";" not in orcpt:
        return "501 5.5.4 Error: ORCPT is addr-type;address, e.g. rfc822;bob@example.test (RFC 3461 §4.2)"
    return None


def _command_line(verb: str, arg: str | None) -> str:
    return f"{verb} {arg}" if arg else verb


class LabSMTP(SMTP):
    """One SMTP session of a `LabServer` (aiosmtpd makes one object per connection)."""

    # The challenges most servers send for AUTH LOGIN (aiosmtpd's own end in a NUL byte).
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, handler, *, lab: LabState, **kwargs) -> None:
        config = lab.config
        kwargs.update(hostname=config.hostname, ident="ESMTP smtpkit", data_size_limit=config.max_message_size,
                      timeout=config.idle_timeout)
        self._init_from_template(handler, lab, kwargs)
        self.lab = lab
        self.config = config
        # Instance-level limits: aiosmtpd's are a class-level dict shared by all sessions.
        limit = config.command_line_limit - 2  # the limit includes CRLF (§4.5.3.1.4)
        self.command_size_limit = limit
        self.command_size_limits = collections.defaultdict(lambda: limit)
        # Extensions may raise the limit (§4.5.3.1.4): SIZE +26 (RFC 1870), SMTPUTF8 +10
        # (RFC 6531), DSN +100 for MAIL and +500 for RCPT (RFC 3461).
        self.command_size_limits.update(MAIL=limit + 26 + 10 + 14 + 100, RCPT=limit + 500)
        self.transcript = None
        self.session_no = 0
        self._in_data = False
        self._data_bytes = 0
        self._tail = b""
        self._drop_after_354 = False
        self._greeted = False
        self._drop_after_command = False
        # BDAT (RFC 3030): the recorder's view of chunk octets still to come, and the chunks
        # of the current transaction (None: no BDAT in it)
        self._bdat_left = 0
        self._bdat_kept = 0
        self._line_tail = b""
        self._command_kept = 0
        self._bdat_chunks: list[bytes] | None = None
        self._bdat_size = 0
        # DATA in progress: the block reader that data_received feeds, and who waits for it
        self._data_reader: tuple[DataReader | ChunkReader, asyncio.Future] | None = None

    # -- construction, once per server instead of once per connection ------------------------
    def _init_from_template(self, handler, lab: LabState, kwargs: dict) -> None:
        """What ``SMTP.__init__(handler, **kwargs)`` does, at a fraction of its cost.

        aiosmtpd's ``__init__`` runs ``inspect.getmembers()`` over the session object and the
        handler and ``dir()`` over both, on every connection, to find the ``auth_*``,
        ``handle_*`` and ``smtp_*`` methods: most of a short session's CPU. The answer is the
        same for every session of one server, so ``SMTP.__init__`` runs once, on a template
        that never serves, and each session copies the template's attributes, binds the
        methods to itself and gets a fresh stream reader (asyncio's own state). The template is
        rebuilt whenever the handler, loop or settings change (a restart).
        """
        key = (type(self), handler, kwargs.get("loop"), tuple(sorted((k, id(v)) for k, v in kwargs.items())))
        template = lab.smtp_template
        if template is None or template[0] != key:
            template = (key, *self._build_template(handler, kwargs), tuple(kwargs.values()))
            lab.smtp_template = template
        _, attributes, smtp_functions, builtin_auth, _keep_alive = template
        self.__dict__.update(attributes)
        loop = attributes["loop"]
        asyncio.StreamReaderProtocol.__init__(
            self, asyncio.StreamReader(loop=loop, limit=self.line_length_limit),
            client_connected_cb=self._cb_client_connected, loop=loop)
        bind = types.MethodType
        self._smtp_methods = {verb: bind(function, self) for verb, function in smtp_functions}
        auth = dict(self._auth_methods)
        for name, function in builtin_auth:
            auth[name] = auth[name]._replace(method=bind(function, self))
        self._auth_methods = auth

    @classmethod
    def _build_template(cls, handler, kwargs: dict):
        """Run aiosmtpd's ``SMTP.__init__`` once; return what each session copies and binds."""
        template = cls.__new__(cls)
        SMTP.__init__(template, handler, **kwargs)
        loop = template.loop
        bare = asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop),
                                            client_connected_cb=template._cb_client_connected, loop=loop)
        own = set(vars(bare))  # asyncio's per-connection state: never copied, made fresh
        attributes = {k: v for k, v in vars(template).items() if k not in own}
        # A BDAT chunk must be read whatever a behaviour says, or its octets would be taken
        # for commands: behaviours apply to BDAT through the DATA hook at the last chunk.
        smtp_functions = tuple((verb, m.__func__ if verb == "BDAT" else cls._with_behaviours(verb, m.__func__))
                               for verb, m in template._smtp_methods.items())
        builtin_auth = tuple((name, attr.method.__func__) for name, attr in template._auth_methods.items()
                             if attr.is_builtin)
        return attributes, smtp_functions, builtin_auth

    # -- recording ----------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        """Every byte from the client goes to the transcript as it arrives (cut into lines
        only when the transcript is read), except long message data, which is counted."""
        transcript = self.transcript
        if transcript is not None:
            if self._in_data and self._data_bytes + len(data) > DATA_BYTES_KEPT:
                room = max(DATA_BYTES_KEPT - self._data_bytes, 0)
                keep = data.rfind(b"\n", 0, room) + 1  # whole lines only
                if keep:
                    self._data_bytes += keep
                    self.lab.record_chunk(transcript, data[:keep])
                self._record_over_budget(transcript, data[keep:])
            elif self._in_data:
                self._data_bytes += len(data)
                self.lab.record_chunk(transcript, data)
            else:
                self._record_commands(transcript, data)
        if self._data_reader is not None:
            self._feed_data_reader(data)
        else:
            super().data_received(data)  # to the stream reader: command lines

    def _record_commands(self, transcript, data: bytes) -> None:
        """Command lines go to the transcript as they came; the octets after a ``BDAT n``
        line are a chunk of message data (RFC 3030 §2), kept like DATA's up to the budget."""
        if not self._bdat_left and b"BDAT" not in (self._line_tail + data).upper():
            self._keep_command(transcript, data)  # the common case: no chunk in sight
            self._line_tail = (self._line_tail + data).rpartition(b"\n")[2][-1024:]
            return
        i = 0
        while i < len(data):
            if self._bdat_left:
                piece = data[i:i + self._bdat_left]
                room = max(DATA_BYTES_KEPT - self._bdat_kept, 0)
                if room:
                    transcript.add_payload(piece[:room])
                    self._bdat_kept += min(room, len(piece))
                if len(piece) > room:
                    transcript.add_skipped(piece[room:].count(b"\n"))
                self._bdat_left -= len(piece)
                i += len(piece)
                if not self._bdat_left:
                    transcript.add_payload(b"", end=True)
                continue
            end = data.find(b"\n", i)
            if end < 0:
                self._keep_command(transcript, data[i:])
                self._line_tail = (self._line_tail + data[i:])[-1024:]
                return
            self._keep_command(transcript, data[i:end + 1])
            line, self._line_tail = self._line_tail + data[i:end + 1], b""
            i = end + 1
            verb, _, argument = line.decode("latin-1").strip("\r\n").partition(" ")
            if verb.upper() == "BDAT":
                try:
                    self._bdat_left, self._bdat_kept = parse_bdat(argument)[0], 0
                except ProtocolError:
                    pass  # answered 501: no chunk follows

    def _keep_command(self, transcript, data: bytes) -> None:
        """Command octets into the transcript up to `COMMAND_BYTES_KEPT`; past it, only the
        count of lines that were not kept."""
        room = COMMAND_BYTES_KEPT - self._command_kept
        if room > 0:
            self.lab.record_chunk(transcript, data[:room])
            self._command_kept += min(room, len(data))
        if len(data) > max(room, 0):
            transcript.add_skipped(data[max(room, 0):].count(b"\n"))

    def _record_over_budget(self, transcript, data: bytes) -> None:
        """Past the data budget keep only the end of data and what follows it."""
        window = self._tail + data
        end = window.find(b"\r\n.\r\n")
        if end < 0:
            transcript.add_skipped(data.count(b"\n"))
            self._tail = data[-4:]
            return
        # The marker may straddle two chunks (its start in the tail): count the skipped
        # lines within this chunk, then keep the final dot and everything after it.
        transcript.add_skipped(data[: max(end + 2 - len(self._tail), 0)].count(b"\n"))
        self._in_data, self._tail = False, b""
        self.lab.record_chunk(transcript, b".\r\n" + window[end + 5:])

    async def push(self, status: str | bytes) -> None:
        text = status.decode("utf-8", errors="replace") if isinstance(status, bytes) else status
        text = with_enhanced_code(text, greeting=not self._greeted)
        self._greeted = True
        if self.transcript is not None:
            self.lab.record(self.transcript, "server", text)
        self._in_data = text.startswith("354")
        self._data_bytes, self._tail = 0, b""
        await super().push(text)
        if text.startswith("354") and self._drop_after_354:
            self._drop("dropped the connection after 354 (behaviour)")

    async def _push_lines(self, lines: list[str]) -> None:
        """Send a multi-line reply in one write (the replies to EHLO are several lines)."""
        for line in lines:
            self.lab.record(self.transcript, "server", line)
        self._writer.write("".join(f"{ln}\r\n" for ln in lines).encode("utf-8"))
        await self._writer.drain()

    def _drop(self, why: str) -> None:
        if self.transcript is not None:
            self.lab.record(self.transcript, "info", why)
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport) -> None:
        tls_done = self._original_transport is not None and self.transport is not None
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if tls_done and self.transcript is not None:
            what = f"{ssl_object.version()} {ssl_object.cipher()[0]}" if ssl_object else "TLS"
            self.lab.record(self.transcript, "info",
                            N_("TLS started ({what}); the client must say EHLO again", what=what))
        elif ssl_object is not None:  # implicit TLS (RFC 8314 §3): protected from the first byte
            self.session.ssl = {"ssl_object": ssl_object, "cipher": ssl_object.cipher(),
                                "peercert": ssl_object.getpeercert()}

    # -- session life -------------------------------------------------------------------
    async def _handle_client(self) -> None:
        self.session_no, self.transcript = self.lab.open_session(self)
        if self.session.ssl is not None and self._original_transport is None:
            cipher = self.session.ssl["cipher"]
            self.lab.record(self.transcript, "info", f"TLS from the first byte ({cipher[1]} {cipher[0]}): implicit TLS")
        try:
            peer = self.session.peer[0] if self.session.peer else ""
            if self.lab.active > self.config.max_sessions:
                await self.push(f"421 4.7.0 {self.hostname} Error: too many connections")
                self._drop("refused: too many concurrent sessions")
                return
            rule = self.lab.behaviours.match("CONNECT", session=self.session_no, peer=peer)
            if rule is not None:
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                if rule.reply:
                    await self.push(rule.reply.format(host=self.hostname, sender="", recipient=""))
                    self._drop("closed after the greeting (behaviour)")
                    return
                if rule.disconnect:
                    await self.push(f"220 {self.hostname} {self.__ident__}")
                    self._drop("closed after the greeting (behaviour)")
                    return
            await super()._handle_client()
        finally:
            self.lab.close_session(self)

    def _timeout_cb(self) -> None:
        # §4.5.3.2: a server that gives up on an idle client says so with 421 before closing.
        if self.transport is not None and not self.transport.is_closing():
            line = f"421 4.4.2 {self.hostname} Error: timeout exceeded"
            if self.transcript is not None:
                self.lab.record(self.transcript, "server", line)
            self.transport.write(f"{line}\r\n".encode())
        super()._timeout_cb()

    async def handle_exception(self, error: Exception) -> str:
        if self.transcript is not None:
            if isinstance(error, TLSSetupException):  # STARTTLS's handshake failed: the client's doing
                self.lab.record(self.transcript, "info", tls_failure_note(error.__cause__))
            else:
                self.lab.record(self.transcript, "info", f"server error: {type(error).__name__}: {error}")
        return "451 4.3.0 Error: local error in processing"

    # -- behaviours -----------------------------------------------------------------------
    @staticmethod
    def _with_behaviours(verb: str, method):
        """``method`` (an unbound ``smtp_*`` function) run through the `Behaviour` rules."""
        if verb not in STAGES:
            return method

        @functools.wraps(method)
        async def run(self, arg: str | None) -> None:
            rule = self._match(verb, arg)
            if rule is None:
                await method(self, arg)
                if self._drop_after_command:  # set by a DOT rule while DATA ran
                    self._drop("dropped the connection after the final dot (behaviour)")
                return
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.reply:
                await self.push(self._format_rule_reply(rule, arg))
            else:
                self._drop_after_354 = rule.disconnect and verb == "DATA"
                await method(self, arg)
            if (rule.disconnect and verb != "DATA") or self._drop_after_command:
                self._drop(f"dropped the connection after {verb} (behaviour)")

        return run

    def _addresses(self, verb: str, arg: str | None) -> tuple[str | None, str | None]:
        sender = self.envelope.mail_from if self.envelope else None
        recipient = self.envelope.rcpt_tos[0] if self.envelope and self.envelope.rcpt_tos else None
        if verb in ("MAIL", "RCPT"):
            try:
                cmd = parse_command(_command_line(verb, arg))
            except ProtocolError:
                return sender, recipient
            addr = str(cmd.path.address) if cmd.path and cmd.path.address else ""
            return (addr, None) if verb == "MAIL" else (sender, addr)
        return sender, recipient

    def _match(self, stage: str, arg: str | None) -> Behaviour | None:
        if not self.lab.behaviours.rules:
            return None
        sender, recipient = self._addresses(stage, arg)
        peer = self.session.peer[0] if self.session.peer else ""
        return self.lab.behaviours.match(stage, session=self.session_no, peer=peer,
                                         sender=sender, recipient=recipient)

    def _format_rule_reply(self, rule: Behaviour, arg: str | None) -> str:
        sender, recipient = self._addresses(rule.stage, arg)
        return rule.reply.format(host=self.hostname, sender=sender or "", recipient=recipient or "")

    async def _call_handler_hook(self, command: str, *args):
        if command == "DATA" and self.lab.behaviours.rules:
            rule = self._match("DOT", None)
            if rule is not None:
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                self._drop_after_command = rule.disconnect
                if rule.reply:
                    return self._format_rule_reply(rule, None)
        return await super()._call_handler_hook(command, *args)

    # -- commands (RFC 5321 §4.1.1) ---------------------------------------------------------
    async def _parse(self, verb: str, arg: str | None):
        try:
            return parse_command(_command_line(verb, arg))
        except ProtocolError as exc:
            await self.push(exc.reply)
            return None

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str | None) -> None:
        if await self._parse("HELO", hostname) is None:
            return
        self._set_rset_state()
        self.session.extended_smtp = False
        status = await self._call_handler_hook("HELO", hostname)
        await self._push_lines([status])

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str | None) -> None:
        if await self._parse("EHLO", hostname) is None:
            return
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        extensions = ["PIPELINING", f"SIZE {self.data_size_limit}"]
        if self.config.vrfy:
            extensions.append("VRFY")
        if self.tls_context and not self._tls_protocol:
            extensions.append("STARTTLS")
        if self._auth_methods and (not self._auth_require_tls or self._tls_protocol):
            extensions.append("AUTH " + " ".join(sorted(self._auth_methods)))
        extensions += ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING", "HELP"]
        await self._push_lines(format_ehlo(self.hostname, "", extensions))

    @syntax("MAIL FROM:<address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("MAIL"):
            return
        cmd = await self._parse("MAIL", arg)
        if cmd is None:
            return
        if self.envelope.mail_from:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        params = dict(cmd.params)
        if params and not self.session.extended_smtp:
            await self.push("501 5.5.4 Error: parameters need EHLO, not HELO (RFC 5321 §4.1.2)")
            return
        body = params.pop("BODY", None)
        if body is not None and body.upper() not in ("7BIT", "8BITMIME"):
            await self.push("501 5.5.4 Error: BODY must be 7BIT or 8BITMIME (RFC 6152)")
            return
        smtputf8 = "SMTPUTF8" in params
        if smtputf8 and params.pop("SMTPUTF8") is not None:
            await self.push("501 5.5.4 Error: SMTPUTF8 takes no value (RFC 6531)")
            return
        address = cmd.path.address
        if address is not None and not address.is_ascii and not smtputf8:
            await self.push("553 5.6.7 Error: a non-ASCII address needs SMTPUTF8 (RFC 6531 §3.4)")
            return
        size = params.pop("SIZE", None)
        if size is not None:
            if not size.isdigit():
                await self.push("501 5.5.4 Error: SIZE needs a number (RFC 1870)")
                return
            if int(size) > self.data_size_limit:
                await self.push("552 5.3.4 Error: message file too big")
                return
        params.pop("AUTH", None)  # RFC 4954 §5: accepted; we trust no submitter's claim
        problem = _check_dsn_mail(params)
        if problem:
            await self.push(problem)
            return
        if params:
            await self.push(f"555 5.5.4 Error: unsupported MAIL parameter {next(iter(params))}")
            return
        self.envelope.smtp_utf8 = smtputf8
        options = (arg or "").split()[1:]
        status = await self._call_handler_hook("MAIL", "<>" if address is None else str(address), options)
        await self.push(status)

    @syntax("RCPT TO:<address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("RCPT"):
            return
        if not self.envelope.mail_from:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        cmd = await self._parse("RCPT", arg)
        if cmd is None:
            return
        params = dict(cmd.params)
        problem = _check_dsn_rcpt(params)
        if problem:
            await self.push(problem)
            return
        if params:
            await self.push(f"555 5.5.4 Error: unsupported RCPT parameter {next(iter(params))}")
            return
        address = cmd.path.address
        if not address.is_ascii and not self.envelope.smtp_utf8:
            await self.push("553 5.6.7 Error: a non-ASCII address needs SMTPUTF8 (RFC 6531 §3.4)")
            return
        options = (arg or "").split()[1:]
        status = await self._call_handler_hook("RCPT", str(address), options)
        if status.startswith("2"):
            self.envelope.rcpt_dsn = getattr(self.envelope, "rcpt_dsn", {})
            self.envelope.rcpt_dsn[str(address)] = options
        await self.push(status)

    @syntax("VRFY <address>")
    async def smtp_VRFY(self, arg: str | None) -> None:
        if await self._parse("VRFY", arg) is None:
            return
        await self.push(await self._call_handler_hook("VRFY", arg.strip()))

    @syntax("EXPN <list>")
    async def smtp_EXPN(self, arg: str | None) -> None:
        if not self.config.expn:
            await self.push("502 5.5.1 Error: command not implemented")
            return
        if await self._parse("EXPN", arg) is None:
            return
        await self.push(await self._call_handler_hook("VRFY", arg.strip()))

    @syntax("NOOP [ignored]")
    async def smtp_NOOP(self, arg: str | None) -> None:
        await self.push(await self._call_handler_hook("NOOP", arg))

    @syntax("RSET")
    async def smtp_RSET(self, arg: str | None) -> None:
        if await self._parse("RSET", arg) is None:
            return
        self._set_rset_state()
        await self.push(await self._call_handler_hook("RSET"))

    # -- CHUNKING (RFC 3030) --------------------------------------------------------------
    def _set_post_data_state(self) -> None:
        super()._set_post_data_state()
        self._bdat_chunks, self._bdat_size = None, 0

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        """DATA (RFC 5321 §4.1.1.4) as aiosmtpd does it, same replies and limits, but the data
        is read in blocks (`DataReader`) instead of line by line through the stream reader,
        which cost about 3 µs per line: most of the CPU of a 100 KB message."""
        if self._bdat_chunks is not None:  # RFC 3030 §2: no DATA in a BDAT transaction
            await self.push("503 5.5.1 Error: BDAT in progress; DATA is not allowed in this transaction")
            return
        if self._decode_data:  # text content: aiosmtpd's own reader (the lab server never asks for it)
            await super().smtp_DATA(arg)
            return
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        reader = DataReader(max_size=self.data_size_limit, max_line=self.line_length_limit)
        await self._read_data(reader)
        if reader.problem:  # answered only after the end of data (§4.2.5), as aiosmtpd does
            await self.push("500 5.5.2 Error: text line too long (RFC 5321 §4.5.3.1.6 allows 1000 octets)"
                            if reader.problem == LINE_TOO_LONG else "552 5.3.4 Error: message file too big")
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = reader.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self, reader: DataReader | ChunkReader) -> None:
        """Wait until ``reader`` has the whole data (DATA's, or a BDAT chunk). Meanwhile
        `data_received` hands each block to it; octets the stream reader already holds (sent
        before the 354, or with the BDAT line) come first, and what follows the end goes back to
        the stream reader as the next commands."""
        if reader.done:  # BDAT 0
            return
        waiter = self.loop.create_future()
        self._data_reader = (reader, waiter)
        try:
            pending = len(self._reader._buffer)
            if pending:  # read() returns at once when the buffer holds data: nothing arrives meanwhile
                self._feed_data_reader(await self._reader.read(pending))
            if not waiter.done():
                await waiter
        except asyncio.CancelledError:  # the connection closed meanwhile (aiosmtpd does the same)
            self._writer.close()
            raise
        finally:
            self._data_reader = None

    def _feed_data_reader(self, data: bytes) -> None:
        reader, waiter = self._data_reader
        end = reader.feed(data)
        if end < 0:
            return
        self._data_reader = None
        if not waiter.done():
            waiter.set_result(None)
        if end < len(data):
            super().data_received(data[end:])

    @syntax("BDAT chunk-size [LAST]")
    async def smtp_BDAT(self, arg: str | None) -> None:
        try:
            size, last = parse_bdat(arg or "")
        except ProtocolError as exc:
            await self.push(exc.reply)
            return
        # The chunk is read whatever the answer will be, or its octets would pass for commands;
        # beyond the size limit it is only counted (the answer is 552 then).
        room = self.data_size_limit - self._bdat_size if self.data_size_limit else None
        reader = ChunkReader(size, keep=room)
        await self._read_data(reader)
        chunk = reader.content
        if await self.check_helo_needed() or await self.check_auth_needed("BDAT"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if self._bdat_chunks is None:
            self._bdat_chunks = []
        self._bdat_chunks.append(chunk)
        self._bdat_size += size
        if self._bdat_size > self.data_size_limit:
            self._set_post_data_state()  # the transaction is over; later chunks get 503
            await self.push("552 5.3.4 Error: message file too big")
            return
        if not last:
            await self.push(f"250 2.0.0 {size} octets received")
            return
        content = b"".join(self._bdat_chunks)
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    # -- STARTTLS (RFC 3207) and AUTH PLAIN (RFC 4954, RFC 4616) ------------------------------
    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str | None) -> None:
        """STARTTLS, refused for good where it can never work (aiosmtpd answers ``454``, "try
        again later", and on a second STARTTLS even starts another handshake):

        * TLS already on, from the first byte (implicit TLS, RFC 8314 §3) or after an earlier
          STARTTLS: ``503 5.5.1``. RFC 3207 §4.2 forbids the client to start TLS again; RFC
          5321 §4.2.4/§4.3.2 answer a command that is valid but out of sequence with 503 (Bad
          sequence of commands), and RFC 3463 X.5.1 is "invalid command". 454 would be wrong:
          it promises that a later try may work, and on this connection it never will.
        * no TLS here at all (not offered in EHLO): ``502 5.5.1`` (command not implemented).
        """
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS (RFC 3207 §4: no parameters)")
            return
        if self._tls_protocol is not None or self.session.ssl is not None:
            await self.push("503 5.5.1 Error: TLS already active (RFC 3207 §4.2)")
            return
        if not self.tls_context:
            await self.push("502 5.5.1 Error: command not implemented")
            return
        await super().smtp_STARTTLS(arg)

    async def auth_PLAIN(self, _, args: list[str]) -> AuthResult:
        """AUTH PLAIN: ``authzid NUL authcid NUL passwd`` (RFC 4616 §2). aiosmtpd drops the
        authorization identity; RFC 4616 §2 has the server check the password of authcid *and*
        that authcid may act as authzid. Empty authzid: act as oneself. Any other is refused with
        ``535 5.7.8`` (RFC 4954 §6: "invalid or insufficient authentication credentials")
        unless ``auth_act_as`` allows it; then the session acts as authzid."""
        if len(args) == 1:
            blob = await self.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                await self.push("501 5.5.2 Error: cannot decode base64")
                return AuthResult(success=False, handled=True)
        parts = blob.split(b"\0")
        if len(parts) != 3:
            await self.push("501 5.5.2 Error: AUTH PLAIN wants authzid NUL authcid NUL password (RFC 4616 §2)")
            return AuthResult(success=False, handled=True)
        authzid, authcid, password = parts
        result = self._authenticate("PLAIN", LoginPassword(authcid, password))
        if not result.success or not authzid:
            return result
        acting, user = authzid.decode("utf-8", "replace"), authcid.decode("utf-8", "replace")
        if acting == user or acting in self.config.auth_act_as.get(user, ()):
            return AuthResult(success=True, auth_data=acting)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Error: authentication failed: not authorized to act as "
                                  "that authorization identity (RFC 4616 §2)")

    @syntax("HELP [command]")
    async def smtp_HELP(self, arg: str | None) -> None:
        if arg:
            method = self._smtp_methods.get(arg.upper())
            if method is None or not self._syntax_available(method):
                await self.push(f"504 5.5.4 HELP: unknown command {arg}")
                return
            await self.push(f"214 2.0.0 Syntax: {method.__smtp_syntax__}")
            return
        auth = self._authenticator is not None and (not self._auth_require_tls or self._tls_protocol)
        verbs = sorted(v for v, m in self._smtp_methods.items()
                       if self._syntax_available(m) and (v != "AUTH" or auth))
        await self._push_lines([f"214-2.0.0 Commands: {' '.join(verbs)}",
                                "214 2.0.0 See RFC 5321 section 4.1 for each command"])
