"""Unit tests for kit.protocol.ehlo: reading and writing the EHLO reply (RFC 5321 §4.1.1.1, §2.2)."""

from __future__ import annotations

import io
import smtplib

import pytest

from kit.protocol import EhloInfo, Reply, format_ehlo, parse_ehlo, parse_reply

POSTFIX = (
    "250-mail.example.test\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 10240000\r\n"
    "250-VRFY\r\n"
    "250-ETRN\r\n"
    "250-STARTTLS\r\n"
    "250-AUTH PLAIN LOGIN\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n"
    "250-DSN\r\n"
    "250-SMTPUTF8\r\n"
    "250 CHUNKING\r\n"
)


def test_parse_postfix_like_reply():
    info = parse_ehlo(parse_reply(POSTFIX))
    assert info.domain == "mail.example.test"
    assert info.greeting == ""
    assert info.extensions == {
        "PIPELINING": (), "SIZE": ("10240000",), "VRFY": (), "ETRN": (), "STARTTLS": (),
        "AUTH": ("PLAIN", "LOGIN"), "ENHANCEDSTATUSCODES": (), "8BITMIME": (), "DSN": (), "SMTPUTF8": (),
        "CHUNKING": (),
    }
    assert info.size_limit == 10240000


def test_same_extensions_as_smtplib():
    client = smtplib.SMTP()
    client.file = io.BytesIO(POSTFIX.encode())
    client.sock = object()  # only so that ehlo() does not think it is disconnected
    client.send = lambda _data: None
    code, _ = client.ehlo("client.example.test")
    assert code == 250
    info = parse_ehlo(parse_reply(POSTFIX))
    assert {k.lower() for k in info.extensions} == set(client.esmtp_features)
    for keyword, params in info.extensions.items():
        assert " ".join(params) == client.esmtp_features[keyword.lower()].strip()


def test_greeting_and_single_line_reply():
    info = parse_ehlo(parse_reply("250 mail.example.test Hello client.example.test [192.0.2.1]"))
    assert info.domain == "mail.example.test"
    assert info.greeting == "Hello client.example.test [192.0.2.1]"
    assert info.extensions == {}
    assert info.size_limit is None


def test_keywords_are_upper_cased_and_supports_ignores_case():
    info = parse_ehlo(parse_reply("250-mx.example\r\n250-size 1000\r\n250-8bitmime\r\n250 Pipelining"))
    assert set(info.extensions) == {"SIZE", "8BITMIME", "PIPELINING"}
    assert info.supports("pipelining") and info.supports("PIPELINING") and info.supports("Size")
    assert not info.supports("STARTTLS")
    assert info.size_limit == 1000


def test_parameter_case_is_kept():
    info = parse_ehlo(parse_reply("250-mx.example\r\n250 AUTH plain Login"))
    assert info.extensions["AUTH"] == ("plain", "Login")


@pytest.mark.parametrize(("line", "limit"), [
    ("250 SIZE 52428800", 52428800), ("250 SIZE 0", None), ("250 SIZE", None), ("250 SIZE abc", None),
    ("250 PIPELINING", None), ("250 SIZE -5", None),
])
def test_size_limit(line, limit):
    info = parse_ehlo(parse_reply(f"250-mx.example\r\n{line}\r\n"))
    assert info.size_limit == limit


@pytest.mark.parametrize("reply", [
    Reply(502, ("5.5.1 Error: command not implemented",)),
    Reply(500, ("Command unrecognized",)),
    Reply(421, ("mx.example Service not available",)),
    Reply(554, ("No SMTP service here",)),
    Reply(354, ("go",)),
])
def test_refused_ehlo_raises(reply):
    with pytest.raises(ValueError, match=str(reply.code)):
        parse_ehlo(reply)


@pytest.mark.parametrize("blank", ["250-", "250- "])
def test_blank_extension_line_is_skipped(blank):
    info = parse_ehlo(parse_reply(f"250-mx.example\r\n{blank}\r\n250 PIPELINING\r\n"))
    assert info.extensions == {"PIPELINING": ()}


def test_ehlo_info_defaults():
    info = EhloInfo("mx.example")
    assert info.greeting == "" and info.extensions == {} and not info.supports("SIZE")


def test_format_ehlo():
    lines = format_ehlo("mail.example.test", "Hello client.example.test",
                        {"SIZE": ("10240000",), "8BITMIME": (), "AUTH": ("PLAIN", "LOGIN"), "PIPELINING": ()})
    assert lines == [
        "250-mail.example.test Hello client.example.test",
        "250-SIZE 10240000",
        "250-8BITMIME",
        "250-AUTH PLAIN LOGIN",
        "250 PIPELINING",
    ]


def test_format_ehlo_without_greeting_or_extensions():
    assert format_ehlo("mail.example.test", "", {}) == ["250 mail.example.test"]
    assert format_ehlo("mail.example.test", "", ["PIPELINING"]) == ["250-mail.example.test", "250 PIPELINING"]


def test_format_ehlo_round_trip():
    extensions = {"SIZE": ("1000",), "STARTTLS": (), "AUTH": ("PLAIN", "LOGIN", "CRAM-MD5"), "SMTPUTF8": ()}
    wire = format_ehlo("mx.example", "greets you", extensions)
    assert parse_ehlo(parse_reply(wire)) == EhloInfo("mx.example", "greets you", extensions)
    wire = "\r\n".join(format_ehlo("mx.example", "", ["SIZE 1000", "DSN"])) + "\r\n"
    assert parse_ehlo(parse_reply(wire.encode())) == EhloInfo("mx.example", "", {"SIZE": ("1000",), "DSN": ()})
