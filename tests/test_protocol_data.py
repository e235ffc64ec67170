"""Unit tests for kit.protocol.data: line endings, dot-stuffing and end of data (RFC 5321 §2.3.8, §4.5.2),
compared with smtplib.quotedata / SMTP.data."""

from __future__ import annotations

import smtplib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.protocol import (
    MAX_TEXT_LINE,
    decode_data,
    dot_unstuff,
    encode_data,
    find_end_of_data,
    long_lines,
    to_crlf,
)

# text rich in the characters that matter here
_texty = st.lists(st.sampled_from(["\r", "\n", ".", "a", " ", "é", "\r\n", ".\r\n", "\n."]), max_size=30).map("".join)
_any_text = st.text() | _texty


def smtplib_payload(message: str) -> bytes:
    """What smtplib.SMTP.data sends after the 354 (with UTF-8 instead of its ASCII-only encode)."""
    q = smtplib.quotedata(message).encode("utf-8")
    if q[-2:] != b"\r\n":
        q += b"\r\n"
    return q + b".\r\n"


# -- to_crlf ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("a\nb", "a\r\nb"),
    ("a\rb", "a\r\nb"),
    ("a\r\nb", "a\r\nb"),
    ("a\n\rb", "a\r\n\r\nb"),
    ("a\r\r\nb", "a\r\n\r\nb"),
    ("a\n\nb", "a\r\n\r\nb"),
    ("\r", "\r\n"),
    ("\n", "\r\n"),
    ("", ""),
    ("no newline", "no newline"),
    ("a\r\n\nb\rc\r\n", "a\r\n\r\nb\r\nc\r\n"),
])
def test_to_crlf(text, expected):
    assert to_crlf(text) == expected
    assert to_crlf(text.encode()) == expected.encode()


@given(_any_text)
def test_to_crlf_is_idempotent_and_leaves_no_bare_cr_or_lf(text):
    once = to_crlf(text)
    assert to_crlf(once) == once
    assert "\r" not in once.replace("\r\n", "") and "\n" not in once.replace("\r\n", "")
    assert to_crlf(text.encode()) == once.encode()


# -- dot stuffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "stuffed"), [
    (".", ".."),
    ("..", "..."),
    (".hidden\r\n", "..hidden\r\n"),
    ("a\r\n.\r\nb", "a\r\n..\r\nb"),
    ("a.b\r\n", "a.b\r\n"),
    ("a\n.b", "a\r\n..b"),
    (" .x", " .x"),
    ("", ""),
])
def test_encode_data_stuffs_dots_and_dot_unstuff_removes_them(text, stuffed):
    wire = stuffed.encode() + (b"" if stuffed.endswith("\r\n") else b"\r\n") + b".\r\n"
    assert encode_data(text) == wire
    assert encode_data(text.encode()) == wire
    assert dot_unstuff(stuffed) == to_crlf(text)
    assert dot_unstuff(stuffed.encode()) == to_crlf(text).encode()


def test_dot_unstuff_removes_one_dot_only():
    assert dot_unstuff("...\r\n..x\r\n.y\r\nz") == "..\r\n.x\r\ny\r\nz"
    assert dot_unstuff(b"..\r\n") == b".\r\n"


def test_no_separate_dot_stuff_it_is_an_exercise():
    """The students write dot_stuff (notebook 02); the kit does it only inside encode_data."""
    import kit.protocol
    import kit.protocol.data

    assert not hasattr(kit.protocol, "dot_stuff") and not hasattr(kit.protocol.data, "dot_stuff")


# -- encode_data / decode_data -----------------------------------------------------------------------


@pytest.mark.parametrize(("message", "wire"), [
    ("Subject: hi\n\nbody\n", b"Subject: hi\r\n\r\nbody\r\n.\r\n"),
    ("no final newline", b"no final newline\r\n.\r\n"),
    (".", b"..\r\n.\r\n"),
    ("a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
    ("", b"\r\n.\r\n"),
    ("\r", b"\r\n.\r\n"),
    ("x\r\n", b"x\r\n.\r\n"),
    (b"bytes\nok", b"bytes\r\nok\r\n.\r\n"),
    ("é\n", "é\r\n.\r\n".encode()),
])
def test_encode_data(message, wire):
    assert encode_data(message) == wire


@given(_any_text)
def test_encode_data_matches_smtplib_data(text):
    assert encode_data(text) == smtplib_payload(text)


@given(_any_text)
def test_encoded_data_has_exactly_one_end_marker_at_the_end(text):
    wire = encode_data(text)
    assert find_end_of_data(wire) == len(wire)


@given(_any_text)
def test_decode_inverts_encode(text):
    expected = to_crlf(text).encode()
    if not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert decode_data(encode_data(text)) == expected


@given(st.binary())
def test_decode_inverts_encode_bytes(raw):
    expected = to_crlf(raw)
    if not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert decode_data(encode_data(raw)) == expected


def test_decode_data():
    assert decode_data(b".\r\n") == b""
    assert decode_data(b"\r\n.\r\n") == b"\r\n"
    assert decode_data(b"..x\r\nabc\r\n.\r\n") == b".x\r\nabc\r\n"


@pytest.mark.parametrize("payload", [b"", b"abc", b"abc\r\n", b"abc\n.\n", b"abc\r\n.\n", b"abc\n.\r\n",
                                     b"abc\r\n..\r\n", b".", b".\n"])
def test_decode_data_needs_crlf_dot_crlf(payload):
    with pytest.raises(ValueError):
        decode_data(payload)


# -- find_end_of_data -------------------------------------------------------------------------------


@pytest.mark.parametrize(("buffer", "start", "end"), [
    (b"Subject: x\r\n\r\nbody\r\n.\r\n", 0, 23),
    (b".\r\n", 0, 3),                              # empty data
    (b"DATA\r\n.\r\n", 6, 9),                      # empty data after start
    (b"\r\n.\r\n", 0, 5),                          # one empty line
    (b"a\r\n.\r\nQUIT\r\n", 0, 6),                 # pipelined command after the dot
    (b"a\r\n.\r\nb\r\n.\r\n", 0, 6),               # first end wins
    (b"x\r\n.\r\n", 1, 6),
])
def test_find_end_of_data(buffer, start, end):
    assert find_end_of_data(buffer, start) == end


@pytest.mark.parametrize("buffer", [
    b"body\n.\n",          # bare LF dot LF: SMTP smuggling
    b"body\r\n.\n",
    b"body\n.\r\n",
    b"body\r.\r",
    b"body\r.\r\n",
    b"body\r\n.\r",
    b"body\r\n..\r\n",     # a stuffed dot
    b"body\r\n. \r\n",
    b"body\r\n.",
    b"body\r\n",
    b"",
    b"..\r\n",
    b"\n.\n",
    b"x.\r\n",
    b"body\n.\nMAIL FROM:<evil@example.test>\r\n",
])
def test_find_end_of_data_refuses_everything_else(buffer):
    assert find_end_of_data(buffer) == -1


def test_find_end_of_data_honours_start():
    buf = b"a\r\n.\r\nb\r\n.\r\n"
    assert find_end_of_data(buf, 6) == len(buf)
    assert find_end_of_data(b"a\r\n.\r\n", 7) == -1


def test_smuggled_message_stays_inside_the_data():
    buf = b"one\n.\nMAIL FROM:<x@example.test>\r\nRCPT TO:<y@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n"
    assert find_end_of_data(buf) == len(buf)


# -- long_lines -----------------------------------------------------------------------------------------


def test_max_text_line():
    assert MAX_TEXT_LINE == 1000


def test_long_lines():
    ok = b"a" * 998
    long = b"b" * 999
    assert long_lines(ok + b"\r\n") == []
    assert long_lines(long + b"\r\n") == [1]
    assert long_lines(b"short\r\n" + long + b"\r\n" + ok + b"\r\n" + long) == [2, 4]
    assert long_lines(b"") == []
