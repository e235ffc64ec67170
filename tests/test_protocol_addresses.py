"""Unit tests for kit.protocol.addresses: mailboxes, paths and the RFC 5321 §4.5.3.1 size limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.protocol import NULL_PATH, Address, Path, ProtocolError, format_path, parse_address, parse_path
from kit.protocol.addresses import MAX_DOMAIN, MAX_LOCAL_PART, MAX_PATH


def reply_of(func, *args, **kwargs) -> str:
    with pytest.raises(ProtocolError) as info:
        func(*args, **kwargs)
    return info.value.reply


def domain_of(octets: int) -> str:
    """A valid domain of exactly `octets` ASCII octets, labels of at most 63."""
    labels, left = [], octets
    while left > 63:
        labels.append("a" * 62)
        left -= 63
    labels.append("b" * left)
    name = ".".join(labels)
    assert len(name) == octets
    return name


def test_limits_are_the_rfc_values():
    assert (MAX_LOCAL_PART, MAX_DOMAIN, MAX_PATH) == (64, 255, 256)


# -- Address ----------------------------------------------------------------------------------


def test_address_basics():
    a = Address("alice", "example.test")
    assert str(a) == "alice@example.test"
    assert a.is_ascii
    assert a == parse_address("alice@example.test")


@pytest.mark.parametrize("local", [
    "alice", "alice.smith", "a+tag", "x!#$%&'*+/=?^_`{|}~-y", "0", '"john doe"', '"a>b"', '"a@b"', '""',
    '"quoted\\"quote"', '"back\\\\slash"',
])
def test_valid_local_parts(local):
    assert Address(local, "example.test").local_part == local


@pytest.mark.parametrize("local", [
    "", ".alice", "alice.", "al..ice", "john doe", "a>b", "a<b", "a,b", "a:b", "a;b", "a@b", 'a"b', '"unclosed',
    '"bad"quote"', "a\tb", "a\x00b",
])
def test_invalid_local_parts(local):
    assert reply_of(Address, local, "example.test") == "553 5.1.3 Bad address syntax"


@pytest.mark.parametrize("domain", [
    "example.test", "EXAMPLE.TEST", "a", "a-b.example", "a--b.example", "123.example", "xn--bcher-kva.example",
    "bücher.example", "例え.jp",
])
def test_valid_domains(domain):
    assert Address("x", domain).domain == domain


@pytest.mark.parametrize("domain", [
    "", "-a.example", "a-.example", "a..example", ".example", "example.", "exa mple.test", "ex_ample.test",
    "example.test>", "[192.0.2.1", "192.0.2.1]", "[]", "exa@mple.test",
])
def test_invalid_domains(domain):
    assert reply_of(Address, "x", domain) == "553 5.1.2 Bad destination domain syntax"


# -- address literals (§4.1.3) ------------------------------------------------------------------


@pytest.mark.parametrize("literal", [
    "[192.0.2.1]", "[127.0.0.1]", "[0.0.0.0]", "[255.255.255.255]",
    "[IPv6:::1]", "[IPv6:2001:db8::1]", "[IPv6:2001:DB8:0:0:0:0:0:1]", "[IPv6:::ffff:192.0.2.1]",
    "[IPv6:fe80::1:2:3:4]", "[x-tag:some-content]",
])
def test_valid_address_literals(literal):
    assert Address("postmaster", literal).domain == literal


@pytest.mark.parametrize("literal", ["[192.0.2.1 ]", "[IPv6 ::1]", "[:content]", "[tag-:x]", "[a]", "[IPv6:::1"])
def test_invalid_address_literals(literal):
    assert reply_of(Address, "x", literal) == "553 5.1.2 Bad destination domain syntax"


@pytest.mark.parametrize("literal", ["[999.999.999.999]", "[256.0.0.1]", "[1.2]", "[...]", "[1.2.3.4.5]"])
def test_bad_ipv4_literals_are_refused(literal):
    with pytest.raises(ProtocolError):
        Address("x", literal)


@pytest.mark.parametrize("literal", ["[IPv6:hello]", "[IPv6:1:2]", "[IPv6:192.0.2.1]", "[IPv6:1::2::3]"])
def test_bad_ipv6_literals_are_refused(literal):
    with pytest.raises(ProtocolError):
        Address("x", literal)


# -- size limits (§4.5.3.1) ----------------------------------------------------------------------


def test_local_part_exactly_64_octets_accepted():
    assert len(Address("a" * 64, "example.test").local_part) == 64


def test_local_part_65_octets_refused():
    assert reply_of(Address, "a" * 65, "example.test") == "553 5.1.3 Local part too long"


def test_local_part_limit_counts_octets_not_characters():
    Address("é" * 32, "example.test")  # 64 octets in UTF-8
    assert reply_of(Address, "é" * 32 + "a", "example.test") == "553 5.1.3 Local part too long"  # 65


def test_quoted_local_part_limit_includes_quotes():
    Address('"' + "a" * 62 + '"', "example.test")
    assert reply_of(Address, '"' + "a" * 63 + '"', "example.test") == "553 5.1.3 Local part too long"


def test_domain_exactly_255_octets_accepted():
    assert len(Address("x", domain_of(255)).domain) == 255


def test_domain_256_octets_refused():
    assert reply_of(Address, "x", domain_of(256)) == "553 5.1.2 Domain too long"


def test_domain_limit_counts_octets():
    name = "ü" * 126 + "." + "b" * 2  # 252 + 1 + 2 = 255 octets
    assert len(name.encode()) == 255
    Address("x", name)
    name = "ü" * 127 + "." + "b"  # 254 + 1 + 1 = 256 octets but only 129 characters
    assert len(name.encode()) == 256 and len(name) == 129
    assert reply_of(Address, "x", name) == "553 5.1.2 Domain too long"


def test_path_exactly_256_octets_accepted():
    local = "a" * 64
    domain = domain_of(MAX_PATH - 2 - len(local) - 1)  # '<' + local + '@' + domain + '>'
    text = f"<{local}@{domain}>"
    assert len(text) == 256
    path = parse_path(text)
    assert path.address == Address(local, domain)


def test_path_257_octets_refused():
    local = "a" * 64
    domain = domain_of(MAX_PATH - 2 - len(local))
    text = f"<{local}@{domain}>"
    assert len(text) == 257
    assert reply_of(parse_path, text) == "501 5.1.3 Path too long"


def test_path_limit_counts_octets():
    domain = domain_of(256 - 2 - 2 - 1)  # local 'é' is 2 octets
    assert len(f"<é@{domain}>".encode()) == 256
    parse_path(f"<é@{domain}>")
    domain = domain_of(256 - 2 - 2)
    assert len(f"<é@{domain}>".encode()) == 257
    assert reply_of(parse_path, f"<é@{domain}>") == "501 5.1.3 Path too long"


# -- internationalised addresses (RFC 6531) --------------------------------------------------------


@pytest.mark.parametrize(("text", "ascii_"), [
    ("alice@example.test", True),
    ("jörg@example.test", False),
    ("alice@bücher.example", False),
    ("用户@例子.广告", False),
    ("alice@xn--bcher-kva.example", True),
    ('"j d"@[192.0.2.1]', True),
])
def test_is_ascii(text, ascii_):
    assert parse_address(text).is_ascii is ascii_


# -- parse_address ------------------------------------------------------------------------------------


def test_parse_address_splits_at_last_at():
    assert parse_address('"a@b"@example.test') == Address('"a@b"', "example.test")


@pytest.mark.parametrize("text", ["alice", "@example.test", "alice@", "", "@"])
def test_parse_address_needs_local_at_domain(text):
    assert reply_of(parse_address, text) == "553 5.1.3 Bad address syntax"


def test_parse_address_with_two_unquoted_ats():
    assert reply_of(parse_address, "a@b@example.test") == "553 5.1.3 Bad address syntax"


# -- Path, parse_path, format_path -------------------------------------------------------------------------


def test_null_path():
    assert NULL_PATH == Path(None)
    assert NULL_PATH.is_null
    assert str(NULL_PATH) == "<>"
    assert parse_path("<>", allow_null=True) is NULL_PATH


def test_null_path_refused_by_default():
    assert reply_of(parse_path, "<>") == "501 5.1.3 Bad recipient address syntax"


def test_parse_path_plain():
    p = parse_path("<alice@example.test>")
    assert not p.is_null
    assert p.address == Address("alice", "example.test")
    assert str(p) == "<alice@example.test>"


@pytest.mark.parametrize("text", ["alice@example.test", "<alice@example.test", "alice@example.test>", "",
                                  " <alice@example.test>", "<alice@example.test> ", "<", ">"])
def test_parse_path_needs_angle_brackets(text):
    assert reply_of(parse_path, text) == "501 5.1.3 Bad address syntax"


def test_parse_path_source_route():
    assert parse_path("<@a.example,@b.example:joe@example.test>").address == Address("joe", "example.test")
    assert parse_path("<@a.example:joe@example.test>").address == Address("joe", "example.test")


@pytest.mark.parametrize(("value", "expected"), [
    ("alice@example.test", "<alice@example.test>"),
    ("<alice@example.test>", "<alice@example.test>"),
    (None, "<>"),
    ("", "<>"),
    ("<>", "<>"),
    (Address("a", "example.test"), "<a@example.test>"),
    (Path(Address("a", "example.test")), "<a@example.test>"),
    (NULL_PATH, "<>"),
])
def test_format_path(value, expected):
    assert format_path(value) == expected


_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
_local = st.lists(_atom, min_size=1, max_size=3).map(".".join)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_domain = st.lists(_label, min_size=1, max_size=4).map(".".join)


@given(_local, _domain)
def test_round_trip_format_parse_path(local, domain):
    addr = Address(local, domain)
    assert parse_path(format_path(str(addr))) == Path(addr)
    assert parse_address(str(addr)) == addr
