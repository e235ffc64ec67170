"""Unit tests for kit.protocol.replies: parsing, formatting and incremental reading of replies
(RFC 5321 §4.2, enhanced status codes RFC 3463), compared with smtplib where they overlap."""

from __future__ import annotations

import io
import smtplib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kit.protocol import RemoteProtocolError, Reply, ReplyReader, format_reply, parse_reply, split_enhanced
from kit.protocol.errors import ProtocolError

POSTFIX_EHLO = (
    b"250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    b"250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"
)


def smtplib_replies(data: bytes, count: int) -> list[tuple[int, bytes]]:
    """Read `count` replies from `data` exactly as smtplib.SMTP.getreply does."""
    client = smtplib.SMTP()
    client.file = io.BytesIO(data)
    return [client.getreply() for _ in range(count)]


# -- single and multi-line --------------------------------------------------------------------


def test_single_line():
    r = parse_reply("220 mail.example.test ESMTP ready\r\n")
    assert r == Reply(220, ("mail.example.test ESMTP ready",), None)
    assert r.text == "mail.example.test ESMTP ready"
    assert not r.is_multiline


def test_multi_line():
    r = parse_reply(POSTFIX_EHLO)
    assert r.code == 250
    assert r.lines[0] == "mail.example.test"
    assert r.lines[-1] == "CHUNKING"
    assert len(r.lines) == 10
    assert r.is_multiline
    assert r.text.split("\n") == list(r.lines)


@pytest.mark.parametrize("form", [
    "250-a\r\n250-b\r\n250 c\r\n",
    "250-a\n250-b\n250 c\n",
    "250-a\n250-b\n250 c",
    b"250-a\r\n250-b\r\n250 c\r\n",
    ["250-a", "250-b", "250 c"],
    [b"250-a\r\n", b"250-b\r\n", b"250 c\r\n"],
    ("250-a\n", "250-b\r\n", "250 c"),
])
def test_input_forms(form):
    assert parse_reply(form) == Reply(250, ("a", "b", "c"))


def test_code_only_line():
    assert parse_reply("250") == Reply(250, ("",))
    assert parse_reply("250 ") == Reply(250, ("",))
    assert parse_reply("250-\r\n250 x") == Reply(250, ("", "x"))


def test_text_keeps_inner_and_trailing_spaces():
    assert parse_reply("250  two  spaces ").lines == (" two  spaces ",)


def test_non_utf8_bytes_are_replaced_not_fatal():
    assert parse_reply(b"250 caf\xe9\r\n").code == 250


# -- enhanced status codes -------------------------------------------------------------------


@pytest.mark.parametrize(("line", "enhanced", "text"), [
    ("250 2.1.5 Ok", "2.1.5", "Ok"),
    ("250 2.0.0 Ok: queued as 4F2A1", "2.0.0", "Ok: queued as 4F2A1"),
    ("550 5.1.1 <nobody@example.test>: Recipient address rejected", "5.1.1",
     "<nobody@example.test>: Recipient address rejected"),
    ("451 4.7.1 Try again later", "4.7.1", "Try again later"),
    ("221 2.0.0 Bye", "2.0.0", "Bye"),
    ("250 2.0.0", "2.0.0", ""),
    ("535 5.7.8 Authentication credentials invalid", "5.7.8", "Authentication credentials invalid"),
    ("552 5.3.4 Message size exceeds fixed limit", "5.3.4", "Message size exceeds fixed limit"),
    ("250 2.123.456 x", "2.123.456", "x"),
])
def test_enhanced_code_split_off(line, enhanced, text):
    r = parse_reply(line)
    assert r.enhanced == enhanced
    assert r.lines == (text,)


@pytest.mark.parametrize("line", [
    "550 2.1.5 Ok",         # class 2 on a 5yz reply
    "250 5.1.1 oops",       # class 5 on a 2yz reply
    "354 3.0.0 go ahead",   # class 3 does not exist
    "354 End data with <CR><LF>.<CR><LF>",
    "250 2.1.5Ok",          # no space after it
    "250 2.1 Ok",
    "250 2.1.1234 Ok",      # detail is 1-3 digits
    "250 x2.1.5 Ok",
    "250 12.1.5 Ok",
])
def test_no_enhanced_code(line):
    r = parse_reply(line)
    assert r.enhanced is None
    assert r.lines == (line[4:],)


def test_enhanced_code_on_every_line_of_a_multiline_reply():
    r = parse_reply("250-2.0.0 first\r\n250 2.0.0 second\r\n")
    assert r.enhanced == "2.0.0"
    assert r.lines == ("first", "second")


def test_split_enhanced():
    assert split_enhanced(250, "2.1.5 Ok") == ("2.1.5", "Ok")
    assert split_enhanced(550, "2.1.5 Ok") == (None, "2.1.5 Ok")
    assert split_enhanced(421, "4.4.2 timeout") == ("4.4.2", "timeout")
    assert split_enhanced(250, "Ok") == (None, "Ok")
    assert split_enhanced(250, "") == (None, "")


# -- predicates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "flags"), [
    (220, (True, False, False, False)),
    (250, (True, False, False, False)),
    (334, (False, True, False, False)),
    (354, (False, True, False, False)),
    (421, (False, False, True, False)),
    (451, (False, False, True, False)),
    (500, (False, False, False, True)),
    (554, (False, False, False, True)),
    (150, (False, False, False, False)),
])
def test_predicates(code, flags):
    r = Reply(code, ("x",))
    assert (r.is_positive, r.is_intermediate, r.is_transient, r.is_permanent) == flags
    assert r.first_digit == code // 100


@pytest.mark.parametrize("code", [0, 99, 600, 999, -250])
def test_reply_refuses_codes_out_of_range(code):
    with pytest.raises(ValueError):
        Reply(code)


def test_reply_str_and_wire_lines():
    r = Reply(250, ("first", "second"), "2.0.0")
    assert r.wire_lines() == ["250-2.0.0 first", "250 2.0.0 second"]
    assert str(r) == "250-2.0.0 first\n250 2.0.0 second"
    assert str(Reply(354, ("End data with <CR><LF>.<CR><LF>",))) == "354 End data with <CR><LF>.<CR><LF>"


# -- malformed replies ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "250-first\r\n251 second\r\n",            # codes differ
    "250-first\r\n250-second\r\n",            # hyphen on the last line
    "250 first\r\n250 second\r\n",            # missing hyphen before the last
    "250-a\r\n250 b\r\n250 c\r\n",            # ends early
    "hello world\r\n",
    "25 short\r\n",
    "2500 long\r\n",
    "250x\r\n",
    "250_text\r\n",
    "600 out of range\r\n",
    "099 out of range\r\n",
    " 250 leading space\r\n",
    "\r\n",
    "",
    "250-ok\r\n\r\n250 ok\r\n",               # empty line inside
    "abc-def\r\n",
])
def test_malformed_replies_raise(text):
    with pytest.raises(RemoteProtocolError):
        parse_reply(text)


def test_empty_list_raises():
    with pytest.raises(RemoteProtocolError):
        parse_reply([])


def test_remote_protocol_error_is_a_protocol_and_value_error():
    with pytest.raises(ProtocolError):
        parse_reply("junk")
    with pytest.raises(ValueError):
        parse_reply("junk")


# -- format_reply -----------------------------------------------------------------------------------------


def test_format_reply():
    assert format_reply(250, "Ok", "2.1.0") == ["250 2.1.0 Ok"]
    assert format_reply(250, "Ok") == ["250 Ok"]
    assert format_reply(250) == ["250"]
    assert format_reply(250, []) == ["250"]
    assert format_reply(250, "", "2.0.0") == ["250 2.0.0 "]
    assert format_reply(250, "a\nb\nc") == ["250-a", "250-b", "250 c"]
    assert format_reply(250, ["a", "b"], "2.0.0") == ["250-2.0.0 a", "250 2.0.0 b"]
    assert format_reply(250, ["a", "", "c"]) == ["250-a", "250-", "250 c"]
    assert format_reply(354, "End data with <CR><LF>.<CR><LF>") == ["354 End data with <CR><LF>.<CR><LF>"]


def test_format_reply_round_trip_examples():
    for code, lines, enhanced in [(250, ("Ok",), "2.1.0"), (250, ("a", "b"), None), (550, ("no",), "5.1.1"),
                                  (221, ("",), "2.0.0"), (354, ("go",), None)]:
        assert parse_reply(format_reply(code, lines, enhanced)) == Reply(code, lines, enhanced)


_codes = st.integers(200, 599).filter(lambda c: c // 10 % 10 <= 5)
_text_line = st.from_regex(r"([A-Za-z<\[(][ -~]*[!-~])?", fullmatch=True).filter(lambda t: "\r" not in t)


@st.composite
def replies(draw) -> Reply:
    code = draw(_codes)
    lines = tuple(draw(st.lists(_text_line, min_size=1, max_size=5)))
    enhanced = None
    if code // 100 != 3 and draw(st.booleans()):
        enhanced = f"{code // 100}.{draw(st.integers(0, 7))}.{draw(st.integers(0, 999))}"
    return Reply(code, lines, enhanced)


@given(replies())
def test_format_parse_round_trip(reply):
    assume(all(split_enhanced(reply.code, t)[0] is None for t in reply.lines))
    wire = format_reply(reply.code, reply.lines, reply.enhanced)
    assert parse_reply(wire) == reply
    assert parse_reply("\r\n".join(wire) + "\r\n") == reply
    assert reply.wire_lines() == wire


# -- comparison with smtplib.SMTP.getreply -----------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"220 mail.example.test ESMTP Postfix\r\n",
    b"250 2.1.5 Ok\r\n",
    b"354 End data with <CR><LF>.<CR><LF>\r\n",
    POSTFIX_EHLO,
    b"550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try again.\r\n",
    b"421 4.7.0 Try again later, closing connection.\r\n",
    b"250\r\n",
    b"250-a\n250 b\n",
])
def test_same_code_and_text_as_smtplib(data):
    [(code, msg)] = smtplib_replies(data, 1)
    r = parse_reply(data)
    assert r.code == code
    prefix = f"{r.enhanced} " if r.enhanced else ""
    assert [f"{prefix}{t}".strip() for t in r.lines] == msg.decode().split("\n")


@given(st.lists(replies(), min_size=1, max_size=4))
def test_reader_agrees_with_smtplib_on_streams(replies_):
    assume(all(split_enhanced(r.code, t)[0] is None for r in replies_ for t in r.lines))
    data = b"".join(("\r\n".join(r.wire_lines()) + "\r\n").encode() for r in replies_)
    got = ReplyReader().feed(data)
    expected = smtplib_replies(data, len(replies_))
    assert [r.code for r in got] == [c for c, _ in expected]
    for r, (_, msg) in zip(got, expected, strict=True):
        prefix = f"{r.enhanced} " if r.enhanced else ""
        assert "\n".join(f"{prefix}{t}".strip() for t in r.lines) == msg.decode()


# -- ReplyReader ----------------------------------------------------------------------------------------------


def test_reader_whole_reply():
    reader = ReplyReader()
    assert reader.feed(b"220 ready\r\n") == [Reply(220, ("ready",))]
    assert not reader.has_partial


def test_reader_byte_by_byte():
    reader = ReplyReader()
    got: list[Reply] = []
    for i in range(len(POSTFIX_EHLO)):
        out = reader.feed(POSTFIX_EHLO[i:i + 1])
        if i < len(POSTFIX_EHLO) - 1:
            assert out == []
            assert reader.has_partial
        got += out
    assert got == [parse_reply(POSTFIX_EHLO)]
    assert not reader.has_partial


def test_reader_multiline_split_mid_line():
    reader = ReplyReader()
    assert reader.feed(b"250-mail.exa") == []
    assert reader.has_partial
    assert reader.feed(b"mple.test\r\n250-PIPE") == []
    assert reader.feed(b"LINING\r") == []
    assert reader.feed(b"\n250 SIZE 1000") == []
    assert reader.has_partial
    assert reader.feed(b"\r\n") == [Reply(250, ("mail.example.test", "PIPELINING", "SIZE 1000"))]
    assert not reader.has_partial


def test_reader_pipelined_replies_in_one_chunk():
    reader = ReplyReader()
    out = reader.feed(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n"
                      b"354 End data with <CR><LF>.<CR><LF>\r\n")
    assert [(r.code, r.enhanced) for r in out] == [(250, "2.1.0"), (250, "2.1.5"), (550, "5.1.1"), (354, None)]
    assert not reader.has_partial


def test_reader_keeps_the_rest_for_later():
    reader = ReplyReader()
    assert reader.feed(b"250 ok\r\n250-a\r\n") == [Reply(250, ("ok",))]
    assert reader.has_partial
    assert reader.feed(b"250 b\r\n221 bye") == [Reply(250, ("a", "b"))]
    assert reader.feed(b"\r\n") == [Reply(221, ("bye",))]


def test_reader_bare_lf_tolerated():
    reader = ReplyReader()
    assert reader.feed(b"250-a\n250 b\n220 c\n") == [Reply(250, ("a", "b")), Reply(220, ("c",))]


def test_reader_has_partial_initially_false():
    assert not ReplyReader().has_partial


def test_reader_garbage_raises():
    with pytest.raises(RemoteProtocolError):
        ReplyReader().feed(b"HTTP/1.1 400 Bad Request\r\n")


def test_reader_mixed_codes_raise():
    reader = ReplyReader()
    assert reader.feed(b"250-a\r\n") == []
    with pytest.raises(RemoteProtocolError):
        reader.feed(b"251 b\r\n")


def test_reader_overlong_partial_line_raises():
    reader = ReplyReader(max_line=100)
    with pytest.raises(RemoteProtocolError):
        reader.feed(b"250 " + b"x" * 200)


def test_reader_overlong_line_fed_byte_by_byte_raises():
    reader = ReplyReader(max_line=100)
    with pytest.raises(RemoteProtocolError):
        for byte in b"250 " + b"x" * 200 + b"\r\n":
            reader.feed(bytes([byte]))


def test_reader_line_at_limit_is_fine():
    reader = ReplyReader(max_line=100)
    line = b"250 " + b"x" * 96
    assert reader.feed(line) == []
    assert reader.feed(b"\n") == [Reply(250, ("x" * 96,))]


def test_reader_default_limit_allows_rfc_reply_lines():
    line = b"250 " + b"x" * 506 + b"\r\n"  # 512 octets, §4.5.3.1.5
    assert ReplyReader().feed(line)[0].lines == ("x" * 506,)


def test_reader_overlong_complete_line_in_one_chunk_raises():
    reader = ReplyReader(max_line=100)
    with pytest.raises(RemoteProtocolError):
        reader.feed(b"250 " + b"x" * 200 + b"\r\n")


@given(st.lists(replies(), min_size=1, max_size=4), st.data())
def test_reader_any_chunking_gives_the_same_replies(replies_, data):
    assume(all(split_enhanced(r.code, t)[0] is None for r in replies_ for t in r.lines))
    wire = b"".join(("\r\n".join(r.wire_lines()) + "\r\n").encode() for r in replies_)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    reader = ReplyReader()
    got: list[Reply] = []
    start = 0
    for cut in [*cuts, len(wire)]:
        got += reader.feed(wire[start:cut])
        start = cut
    assert got == replies_
    assert not reader.has_partial


# -- wire lines are kept as received (issue 13) -------------------------------------------------------


def test_reader_keeps_wire_lines_exactly_as_received():
    data = b"250-2.0.0 first line\r\n250 second line\r\n"
    (reply,) = ReplyReader().feed(data)
    assert reply.wire_lines() == ["250-2.0.0 first line", "250 second line"]
    assert str(reply) == "250-2.0.0 first line\n250 second line"
    assert reply.enhanced == "2.0.0" and reply.lines == ("first line", "second line")


def test_reader_wire_lines_round_trip():
    for data in (b"220 mx.example.test ESMTP\r\n", b"250-mx.example.test\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
                 b"550 5.1.1  two spaces kept \r\n", b"421-4.7.0 one\r\n421-4.7.0 two\r\n421 4.7.0 three\r\n",
                 b"250\r\n", b"354 \r\n", b"250-2.1.0 a\r\n250 2.1.5 b\r\n", b"250-first\r\n250 2.0.0 second\r\n"):
        (reply,) = ReplyReader().feed(data)
        assert "".join(f"{line}\r\n" for line in reply.wire_lines()).encode() == data


def test_parse_reply_keeps_wire_lines_too():
    reply = parse_reply(["250-2.0.0 first line", "250 second line"])
    assert reply.wire_lines() == ["250-2.0.0 first line", "250 second line"]
    assert reply == Reply(250, ("first line", "second line"), "2.0.0")  # same reply, whatever its spelling
