"""What `LabSMTP` and `LabController` rely on inside aiosmtpd: fail loudly if it is gone.

The lab server subclasses aiosmtpd's `SMTP` and `Controller`: it overrides eleven ``smtp_*``
methods and several private ones, and reads private attributes (``_reader``, ``_writer``,
``_tls_protocol``, ...). None of that is aiosmtpd's public API, so pyproject.toml pins aiosmtpd
to the range it was tested with. If a newer aiosmtpd renames or drops one of these names,
these tests say exactly which one, instead of the lab server failing mysteriously mid-session.
"""

from __future__ import annotations

import inspect
import re
import time

import aiosmtpd
import aiosmtpd.controller
import aiosmtpd.smtp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from smtp_raw import RawClient

from kit.server import LabServer
from kit.server.controller import LabController
from kit.server.smtp import LabSMTP

TESTED = "aiosmtpd >=1.4.6,<1.5 (see the aiosmtpd line of pyproject.toml)"

#: Methods of aiosmtpd's SMTP that LabSMTP overrides: if one is gone from the base class,
#: aiosmtpd no longer calls our override and its behaviour silently changes.
OVERRIDDEN_SMTP = [
    "smtp_HELO", "smtp_EHLO", "smtp_MAIL", "smtp_RCPT", "smtp_VRFY", "smtp_EXPN", "smtp_NOOP",
    "smtp_RSET", "smtp_DATA", "smtp_STARTTLS", "smtp_HELP",  # the eleven smtp_* overrides
    "auth_PLAIN", "push", "data_received", "connection_made", "handle_exception",
    "_handle_client", "_timeout_cb", "_call_handler_hook", "_set_post_data_state",
]
#: Methods of aiosmtpd's SMTP that LabSMTP calls (besides its overrides' super() calls).
CALLED_SMTP = [
    "_set_rset_state", "_syntax_available", "_authenticate", "challenge_auth",
    "check_helo_needed", "check_auth_needed", "_cb_client_connected",
]
#: Attributes of a live aiosmtpd SMTP session that LabSMTP reads or sets.
SESSION_ATTRIBUTES = [
    "_smtp_methods", "_original_transport", "_reader", "_writer", "_tls_protocol", "_auth_methods",
    "_auth_require_tls", "_authenticator", "__ident__", "session", "envelope", "transport",
    "hostname", "data_size_limit", "tls_context", "command_size_limit", "command_size_limits",
    "event_handler", "line_length_limit", "loop", "_decode_data",
]
SESSION_FIELDS = ["peer", "host_name", "extended_smtp", "ssl", "authenticated"]
ENVELOPE_FIELDS = ["mail_from", "rcpt_tos", "mail_options", "rcpt_options", "original_content", "content",
                   "smtp_utf8"]
#: Controller internals LabController overrides or uses.
CONTROLLER = ["factory", "_factory_invoker", "_create_server", "_trigger_server", "_thread", "SMTP_kwargs",
              "loop", "ready_timeout", "handler", "ssl_context", "stop", "start"]
#: SMTP.__init__ keywords the lab server passes.
SMTP_KWARGS = ["hostname", "ident", "data_size_limit", "timeout", "loop", "tls_context", "authenticator",
               "auth_require_tls", "auth_required", "auth_exclude_mechanism"]


def _gone(what: str) -> str:
    return (f"aiosmtpd {aiosmtpd.__version__}: {what} is gone, and the lab server (kit/server/smtp.py, "
            f"kit/server/controller.py) relies on it. It was tested with {TESTED}: pin aiosmtpd back "
            f"to that range, or port LabSMTP/LabController to the new aiosmtpd and widen the pin.")


def test_installed_aiosmtpd_is_in_the_tested_range():
    major, minor, *_ = (int(x) for x in re.findall(r"\d+", aiosmtpd.__version__)[:3])
    assert (major, minor) == (1, 4), _gone(f"the 1.4 series (installed: {aiosmtpd.__version__})")


@pytest.mark.parametrize("name", OVERRIDDEN_SMTP)
def test_overridden_methods_still_exist_in_aiosmtpd(name):
    assert callable(getattr(SMTP, name, None)), _gone(f"SMTP.{name}() (LabSMTP overrides it)")
    assert name in vars(LabSMTP), f"LabSMTP no longer overrides {name}: update OVERRIDDEN_SMTP"


@pytest.mark.parametrize("name", CALLED_SMTP)
def test_called_methods_still_exist(name):
    assert callable(getattr(SMTP, name, None)), _gone(f"SMTP.{name}() (LabSMTP calls it)")


def test_smtp_init_takes_the_keywords_we_pass():
    params = inspect.signature(SMTP.__init__).parameters
    missing = [k for k in SMTP_KWARGS if k not in params]
    assert not missing, _gone(f"the SMTP(...) keyword(s) {missing}")


def test_signatures_of_hooks_we_override():
    assert list(inspect.signature(SMTP._call_handler_hook).parameters) == ["self", "command", "args"], \
        _gone("SMTP._call_handler_hook(command, *args)")
    assert list(inspect.signature(SMTP.push).parameters) == ["self", "status"], _gone("SMTP.push(status)")
    assert list(inspect.signature(SMTP.data_received).parameters)[:2] == ["self", "data"], \
        _gone("SMTP.data_received(data)")
    assert "when" in inspect.signature(aiosmtpd.smtp.syntax).parameters, _gone("syntax(..., when=...)")
    assert "extended" in inspect.signature(aiosmtpd.smtp.syntax).parameters, _gone("syntax(..., extended=...)")
    for name in ("MISSING", "AuthResult", "LoginPassword", "TLSSetupException", "syntax"):
        assert hasattr(aiosmtpd.smtp, name), _gone(f"aiosmtpd.smtp.{name}")


@pytest.mark.parametrize("name", CONTROLLER)
def test_controller_internals_still_exist(name):
    if name in ("_thread", "SMTP_kwargs", "loop", "ready_timeout", "handler", "ssl_context"):
        controller = Controller(object(), hostname="127.0.0.1", port=1)  # not started: binds nothing
        assert hasattr(controller, name), _gone(f"Controller().{name}")
    else:
        assert callable(getattr(Controller, name, None)), _gone(f"Controller.{name}()")


def test_a_live_session_has_every_attribute_we_touch():
    """On a real session over a real socket: the instance attributes aiosmtpd sets up."""
    with LabServer() as server:
        c = RawClient(server.host, server.port)
        try:
            assert c.reply().startswith("220")
            assert c.cmd("EHLO client.example").startswith("250")
            assert c.cmd("MAIL FROM:<a@client.example>").startswith("250")
            deadline = time.monotonic() + 5
            while not server._state.sessions and time.monotonic() < deadline:
                time.sleep(0.01)
            (protocol,) = list(server._state.sessions)
            assert isinstance(protocol, LabSMTP)
            for name in SESSION_ATTRIBUTES:
                assert hasattr(protocol, name), _gone(f"the SMTP session attribute {name}")
            assert isinstance(protocol._smtp_methods, dict) and "DATA" in protocol._smtp_methods, \
                _gone("SMTP._smtp_methods as a dict of verb -> method")
            for name in SESSION_FIELDS:
                assert hasattr(protocol.session, name), _gone(f"Session.{name}")
            for name in ENVELOPE_FIELDS:
                assert hasattr(protocol.envelope, name), _gone(f"Envelope.{name}")
            assert protocol._tls_protocol is None and protocol._original_transport is None
            # LabSMTP.smtp_DATA reads the octets the stream reader holds when DATA begins
            assert isinstance(protocol._reader._buffer, bytearray), \
                "asyncio.StreamReader._buffer is gone: LabSMTP._read_data needs another way to take it"
        finally:
            c.sock.close()
        assert isinstance(server._controller, LabController)
        assert server._controller._thread is not None, _gone("Controller._thread (set while running)")


def test_our_own_private_names_do_not_shadow_aiosmtpd_ones():
    """LabSMTP keeps state in private attributes of its own; none may be one of aiosmtpd's (or
    asyncio's StreamReaderProtocol's), or both would write the same slot."""
    import asyncio.streams

    ours = set(re.findall(r"self\.(_[a-z][a-z0-9_]*)\s*(?::[^=\n]*)?=(?!=)", inspect.getsource(LabSMTP)))
    # aiosmtpd's own dicts, rebuilt on purpose: bound to each session from a template, and
    # the smtp_* methods wrapped by the behaviours
    ours -= {"_smtp_methods", "_auth_methods"}
    theirs = set(re.findall(r"self\.(_[a-z][a-z0-9_]*)", inspect.getsource(aiosmtpd.smtp)))
    theirs |= set(re.findall(r"self\.(_[a-z][a-z0-9_]*)", inspect.getsource(asyncio.streams)))
    clash = sorted(ours & theirs)
    assert not clash, f"LabSMTP's private attribute(s) {clash} are also used by aiosmtpd/asyncio: rename ours"
    assert ours, "found no private attributes of LabSMTP: the pattern above is broken"


def test_a_session_from_the_template_is_what_smtp_init_would_make():
    """LabSMTP runs aiosmtpd's SMTP.__init__ once per server (it costs ~150 µs per connection,
    mostly inspect.getmembers) and copies the result into each session. Every attribute that
    SMTP.__init__ sets must be there, equal, or bound to the session itself."""
    import asyncio

    from aiosmtpd.smtp import _AuthMechAttr

    assert _AuthMechAttr._fields == ("method", "is_builtin"), _gone("_AuthMechAttr(method, is_builtin)")
    with LabServer(tls=True, auth={"alice": "pw"}) as server:
        controller = server._controller
        kwargs = dict(controller.SMTP_kwargs, loop=controller.loop)
        first = controller.factory()
        session = controller.factory()
        reference = LabSMTP.__new__(LabSMTP)
        SMTP.__init__(reference, controller.handler, **dict(
            kwargs, hostname=server.config.hostname, ident="ESMTP smtpkit",
            data_size_limit=server.config.max_message_size, timeout=server.config.idle_timeout))
        bare = set(vars(asyncio.StreamReaderProtocol(asyncio.StreamReader(), client_connected_cb=print,
                                                     loop=controller.loop)))
        for name, value in vars(reference).items():
            assert name in vars(session), f"a session lacks {name}, which SMTP.__init__ sets"
            mine = getattr(session, name)
            if name in bare:
                continue  # asyncio's own state: made fresh by StreamReaderProtocol.__init__ (below)
            elif name == "_smtp_methods":
                assert set(mine) == set(value)
                for verb, method in mine.items():
                    assert method.__self__ is session
                    assert getattr(method.__func__, "__wrapped__", method.__func__) is value[verb].__func__
            elif name == "_auth_methods":
                assert set(mine) == set(value) == {"LOGIN", "PLAIN"}
                for mech, attr in mine.items():
                    assert attr.is_builtin == value[mech].is_builtin
                    assert attr.method.__self__ is session and attr.method.__func__ is value[mech].method.__func__
            elif name in ("command_size_limit", "command_size_limits"):
                continue  # LabSMTP's own limits, set after
            else:
                assert mine == value or type(mine) is type(value) and callable(value), f"{name}: {mine!r} != {value!r}"
        assert session._stream_reader is not first._stream_reader
        assert session._closed is not first._closed and not session._closed.done()
        assert session._strong_reader is session._stream_reader


def test_the_template_is_rebuilt_when_the_server_restarts():
    server = LabServer()
    try:
        keys = []
        for _ in range(2):
            server.start()
            c = RawClient(server.host, server.port)
            try:
                assert c.reply().startswith("220")
                assert c.cmd("EHLO client.example").startswith("250")
                assert c.cmd("QUIT").startswith("221")
            finally:
                c.sock.close()
            server.wait_idle()
            keys.append(server._state.smtp_template[0])
            server.stop()
        assert keys[0] != keys[1]  # a new handler and loop: no session of the new server uses the old ones
        assert len(server.transcripts) == 2
    finally:
        server.stop()
