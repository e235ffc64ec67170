"""Unit tests for kit.protocol.codes: reply codes digit by digit (RFC 5321 §4.2) and enhanced codes (RFC 3463)."""

from __future__ import annotations

import pytest

from kit.protocol import DEFAULT_ENHANCED, KNOWN_CODES, CodeExplanation, explain, explain_enhanced
from kit.protocol.codes import FIRST_DIGIT, SECOND_DIGIT

# RFC 5321 §4.2.2/§4.2.3 plus the common extension codes listed in CURRICULUM §5
RFC5321_CODES = {211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 455,
                 500, 501, 502, 503, 504, 550, 551, 552, 553, 554, 555}
EXTENSION_CODES = {235, 334, 432, 454, 530, 534, 535, 538, 521, 556}


def test_known_codes_cover_the_rfcs():
    assert RFC5321_CODES | EXTENSION_CODES <= set(KNOWN_CODES)
    for code in RFC5321_CODES:
        assert KNOWN_CODES[code][1].startswith("RFC 5321"), code


@pytest.mark.parametrize("code", sorted(KNOWN_CODES))
def test_explain_every_known_code(code):
    e = explain(code)
    assert isinstance(e, CodeExplanation)
    assert e.code == code
    meaning, source, occurs = KNOWN_CODES[code]
    assert (e.meaning, e.source, e.occurs) == (meaning, source, occurs)
    assert e.first == FIRST_DIGIT[code // 100]
    assert e.second == SECOND_DIGIT[code // 10 % 10]
    assert e.third
    assert e.valid_in_smtp is True
    text = str(e)
    assert text.startswith(f"{code}: {meaning}")
    assert f"source: {source}" in text
    assert f"{code // 100}yz" in text and f"x{code // 10 % 10}z" in text and f"xy{code % 10}" in text


@pytest.mark.parametrize(("code", "meaning"), [
    (250, "Requested mail action okay, completed"),
    (354, "Start mail input; end with <CRLF>.<CRLF>"),
    (421, "<domain> Service not available, closing transmission channel"),
    (452, "Requested action not taken: insufficient system storage"),
    (500, "Syntax error, command unrecognized (also: command line too long)"),
    (502, "Command not implemented"),
    (503, "Bad sequence of commands"),
    (552, "Requested mail action aborted: exceeded storage allocation"),
])
def test_specific_meanings(code, meaning):
    assert explain(code).meaning == meaning


@pytest.mark.parametrize(("code", "first_starts"), [
    (250, "Positive completion"),
    (354, "Positive intermediate"),
    (451, "Transient negative"),
    (550, "Permanent negative"),
])
def test_first_digit_meanings(code, first_starts):
    assert explain(code).first.startswith(first_starts)


@pytest.mark.parametrize(("code", "second_starts"), [
    (500, "Syntax"), (214, "Information"), (421, "Connections"), (530, "Unspecified"), (540, "Unspecified"),
    (250, "Mail system"),
])
def test_second_digit_meanings(code, second_starts):
    assert explain(code).second.startswith(second_starts)


def test_first_digit_wording_follows_the_rfc():
    assert "SHOULD try again" in FIRST_DIGIT[4]
    assert "SHOULD NOT repeat" in FIRST_DIGIT[5]
    assert "354" in FIRST_DIGIT[3]


@pytest.mark.parametrize("code", [100, 150, 105, 110, 159])
def test_1yz_is_explained_as_not_smtp(code):
    e = explain(code)
    assert e.valid_in_smtp is False
    assert "not part of SMTP" in e.first
    assert "RFC 821" in e.first
    assert e.meaning is None and e.source is None


def test_unknown_but_valid_code():
    e = explain(259)
    assert e.valid_in_smtp is True
    assert e.meaning is None and e.source is None and e.occurs is None
    assert str(e).startswith("259: not a code the RFCs define")
    assert "source:" not in str(e)


@pytest.mark.parametrize("value", ["250", " 250 ", "250 Ok", "250-PIPELINING", "550 5.1.1 nope"])
def test_explain_accepts_strings_and_reply_lines(value):
    assert explain(value).code == int(value.strip()[:3])


@pytest.mark.parametrize("value", [600, 99, "abc", 270, 260, 599 + 1, 0, -250, "", "2x0", 199, 299, 261, "990"])
def test_invalid_codes_raise(value):
    with pytest.raises(ValueError):
        explain(value)


@pytest.mark.parametrize("value", [2500, 5500, 1000, "2509"])
def test_four_digit_codes_raise(value):
    with pytest.raises(ValueError):
        explain(value)


# -- enhanced status codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "text"), [
    ("5.1.1", "Permanent failure / Addressing status / Bad destination mailbox address"),
    ("2.1.5", "Success / Addressing status / Destination address valid"),
    ("4.7.1", "Persistent transient failure / Security or policy status / "
              "Delivery not authorized, message refused"),
    ("2.0.0", "Success / Other or undefined status / Other undefined status"),
    ("5.3.4", "Permanent failure / Mail system status / Message too big for system"),
    ("5.5.1", "Permanent failure / Mail delivery protocol status / Invalid command"),
    ("5.7.8", "Permanent failure / Security or policy status / Authentication credentials invalid (RFC 4954)"),
    ("4.2.2", "Persistent transient failure / Mailbox status / Mailbox full"),
])
def test_explain_enhanced(status, text):
    assert explain_enhanced(status) == text


def test_explain_enhanced_unknown_detail():
    assert explain_enhanced("5.1.99") == "Permanent failure / Addressing status / detail not in the registry excerpt"


@pytest.mark.parametrize("status", ["3.1.1", "1.0.0", "6.0.0", "5.8.1", "2.9.0", "5.1", "5.1.1.1", "", "a.b.c",
                                    "5..1", "5.1.", "x", "250"])
def test_explain_enhanced_errors(status):
    with pytest.raises(ValueError):
        explain_enhanced(status)


def test_default_enhanced_classes_match_first_digits():
    for code, status in DEFAULT_ENHANCED.items():
        assert status.split(".")[0] == str(code)[0], code
        explain_enhanced(status)  # each is well formed
        assert code in KNOWN_CODES, code


def test_default_enhanced_values():
    assert DEFAULT_ENHANCED[250] == "2.0.0"
    assert DEFAULT_ENHANCED[221] == "2.0.0"
    assert DEFAULT_ENHANCED[550] == "5.1.1"
    assert DEFAULT_ENHANCED[503] == "5.5.1"
    assert DEFAULT_ENHANCED[535] == "5.7.8"
    assert DEFAULT_ENHANCED[552] == "5.3.4"
    assert 354 not in DEFAULT_ENHANCED and 334 not in DEFAULT_ENHANCED  # 3yz carry no enhanced code
