"""Unit tests for kit.protocol.commands: parsing and formatting SMTP commands (RFC 5321 §4.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.protocol import (
    KNOWN_VERBS,
    NULL_PATH,
    Address,
    Command,
    ProtocolError,
    format_command,
    format_params,
    helo,
    mail_from,
    parse_command,
    parse_params,
    rcpt_to,
)
from kit.protocol.commands import ehlo


def reply_of(line: str | bytes) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_command(line)
    return info.value.reply


# -- every verb -----------------------------------------------------------------------------


def test_known_verbs_are_exactly_the_documented_set():
    assert KNOWN_VERBS == {
        "HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
        "STARTTLS", "AUTH", "BDAT",
    }


def test_helo():
    cmd = parse_command("HELO client.example.test\r\n")
    assert cmd == Command("HELO", "client.example.test")
    assert cmd.path is None and cmd.params == {}
    assert cmd.line == "HELO client.example.test"
    assert str(cmd) == "HELO client.example.test"


def test_ehlo_with_domain_and_address_literal():
    assert parse_command("EHLO client.example.test").argument == "client.example.test"
    assert parse_command("EHLO [192.0.2.1]").argument == "[192.0.2.1]"
    assert parse_command("EHLO [IPv6:2001:db8::1]").argument == "[IPv6:2001:db8::1]"


@pytest.mark.parametrize("line", ["HELO", "EHLO", "HELO ", "EHLO   ", "HELO two words", "EHLO a\tb"])
def test_helo_ehlo_need_exactly_one_hostname(line):
    verb = line.split()[0]
    assert reply_of(line) == f"501 5.5.4 Syntax: {verb} hostname"


def test_mail_from_plain():
    cmd = parse_command("MAIL FROM:<alice@example.test>\r\n")
    assert cmd.verb == "MAIL"
    assert cmd.argument == "FROM:<alice@example.test>"
    assert cmd.path is not None and cmd.path.address == Address("alice", "example.test")
    assert cmd.params == {}
    assert cmd.line == "MAIL FROM:<alice@example.test>"


def test_mail_from_with_esmtp_parameters():
    cmd = parse_command("MAIL FROM:<alice@example.test> SIZE=12345 BODY=8BITMIME SMTPUTF8")
    assert str(cmd.path) == "<alice@example.test>"
    assert cmd.params == {"SIZE": "12345", "BODY": "8BITMIME", "SMTPUTF8": None}


def test_mail_parameter_keywords_are_upper_cased_values_kept():
    cmd = parse_command("MAIL FROM:<a@example.test> size=100 body=8bitmime smtputf8 ret=HDRS envid=QQ314159")
    assert cmd.params == {"SIZE": "100", "BODY": "8bitmime", "SMTPUTF8": None, "RET": "HDRS", "ENVID": "QQ314159"}


def test_mail_auth_parameter_with_angle_brackets_value():
    # RFC 4954 §5: AUTH=<> is a legal xtext value on MAIL
    assert parse_command("MAIL FROM:<a@example.test> AUTH=<>").params == {"AUTH": "<>"}


def test_mail_null_reverse_path():
    cmd = parse_command("MAIL FROM:<>")
    assert cmd.path == NULL_PATH
    assert cmd.path is not None and cmd.path.is_null
    assert cmd.params == {}


def test_mail_null_path_with_parameters():
    cmd = parse_command("MAIL FROM:<> SIZE=10")
    assert cmd.path == NULL_PATH and cmd.params == {"SIZE": "10"}


def test_rcpt_to_plain_and_with_parameters():
    cmd = parse_command("RCPT TO:<bob@example.test>")
    assert cmd.verb == "RCPT"
    assert cmd.path is not None and str(cmd.path.address) == "bob@example.test"
    cmd = parse_command("RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test")
    assert cmd.params == {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;bob@example.test"}


def test_rcpt_refuses_null_path():
    assert reply_of("RCPT TO:<>") == "501 5.1.3 Bad recipient address syntax"


@pytest.mark.parametrize("line", ["RCPT TO:<Postmaster>", "RCPT TO:<postmaster>", "RCPT TO:<POSTMASTER>"])
def test_rcpt_to_bare_postmaster_is_accepted(line):
    cmd = parse_command(line)
    assert cmd.path is not None and not cmd.path.is_null


def test_bare_postmaster_still_refused_in_mail_from():
    # the <Postmaster> exception is only for RCPT
    assert reply_of("MAIL FROM:<Postmaster>").startswith("5")


@pytest.mark.parametrize("verb", ["DATA", "RSET", "QUIT", "STARTTLS"])
def test_no_argument_verbs(verb):
    assert parse_command(f"{verb}\r\n") == Command(verb)
    assert parse_command(f"{verb.lower()}") == Command(verb)
    assert parse_command(f"{verb}  ") == Command(verb)  # trailing spaces tolerated


@pytest.mark.parametrize("verb", ["DATA", "RSET", "QUIT", "STARTTLS"])
def test_no_argument_verbs_refuse_arguments(verb):
    assert reply_of(f"{verb} now") == f"501 5.5.4 Syntax: {verb}"


@pytest.mark.parametrize("verb", ["VRFY", "EXPN"])
def test_vrfy_expn(verb):
    assert parse_command(f"{verb} alice") == Command(verb, "alice")
    assert parse_command(f"{verb} <alice@example.test>").argument == "<alice@example.test>"
    assert reply_of(verb) == f"501 5.5.4 Syntax: {verb} address"
    assert reply_of(f"{verb}   ") == f"501 5.5.4 Syntax: {verb} address"


@pytest.mark.parametrize("verb", ["NOOP", "HELP"])
def test_noop_and_help_take_an_optional_string(verb):
    assert parse_command(verb) == Command(verb)
    assert parse_command(f"{verb} whatever you like") == Command(verb, "whatever you like")


def test_auth_with_mechanism_and_initial_response():
    assert parse_command("AUTH PLAIN AGFsaWNlAHNlY3JldA==") == Command("AUTH", "PLAIN AGFsaWNlAHNlY3JldA==")
    assert parse_command("auth login") == Command("AUTH", "login")


def test_auth_without_mechanism_is_refused():
    assert reply_of("AUTH").startswith("501 ")


def test_bdat_without_size_is_refused():
    assert reply_of("BDAT").startswith("501 ")


# -- case, spaces, bytes ---------------------------------------------------------------------


@pytest.mark.parametrize("line", ["mail from:<a@example.test>", "MaIl FrOm:<a@example.test>",
                                  "MAIL from:<a@example.test>", "Mail From:<a@example.test>"])
def test_verbs_and_keywords_are_case_insensitive(line):
    cmd = parse_command(line)
    assert cmd.verb == "MAIL"
    assert cmd.path is not None and str(cmd.path.address) == "a@example.test"


def test_rcpt_to_keyword_case_insensitive():
    assert parse_command("rcpt to:<b@example.test>").verb == "RCPT"


def test_local_part_case_is_preserved():
    cmd = parse_command("RCPT TO:<Bob.Smith@Example.TEST>")
    assert cmd.path is not None and cmd.path.address == Address("Bob.Smith", "Example.TEST")


@pytest.mark.parametrize("line", ["MAIL FROM: <a@example.test>", "MAIL FROM:   <a@example.test>"])
def test_space_after_colon_is_tolerated(line):
    cmd = parse_command(line)
    assert cmd.path is not None and str(cmd.path) == "<a@example.test>"


def test_space_after_colon_with_parameters():
    cmd = parse_command("RCPT TO: <b@example.test> NOTIFY=NEVER")
    assert str(cmd.path) == "<b@example.test>" and cmd.params == {"NOTIFY": "NEVER"}


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_line_endings_are_removed(ending):
    assert parse_command(f"NOOP{ending}") == Command("NOOP")
    assert parse_command(f"HELO x.test{ending}").argument == "x.test"


def test_bytes_input():
    cmd = parse_command(b"MAIL FROM:<a@example.test> SIZE=5\r\n")
    assert cmd.path is not None and str(cmd.path.address) == "a@example.test"
    assert cmd.params == {"SIZE": "5"}


def test_bytes_input_utf8_address():
    cmd = parse_command("RCPT TO:<jörg@bücher.example> \r\n".encode())
    assert cmd.path is not None and cmd.path.address == Address("jörg", "bücher.example")
    assert cmd.path.address is not None and not cmd.path.address.is_ascii


def test_bytes_input_invalid_utf8_does_not_crash():
    assert parse_command(b"NOOP \xff\xfe\r\n").verb == "NOOP"


# -- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "local"), [
    ('MAIL FROM:<"a>b"@example.test>', '"a>b"'),
    ('MAIL FROM:<"john doe"@example.test>', '"john doe"'),
    ('RCPT TO:<"x > y"@example.test>', '"x > y"'),
    ('RCPT TO:<"a@b"@example.test>', '"a@b"'),
    ('RCPT TO:<"a\\"b>"@example.test>', '"a\\"b>"'),
])
def test_quoted_local_parts(line, local):
    cmd = parse_command(line)
    assert cmd.path is not None and cmd.path.address == Address(local, "example.test")
    assert cmd.params == {}


def test_quoted_local_part_with_space_and_gt_then_parameters():
    cmd = parse_command('MAIL FROM:<"john > doe"@example.test> SIZE=100 BODY=7BIT')
    assert cmd.path is not None and cmd.path.address == Address('"john > doe"', "example.test")
    assert cmd.params == {"SIZE": "100", "BODY": "7BIT"}


@pytest.mark.parametrize("line", [
    "MAIL FROM:<@relay.example:alice@example.test>",
    "MAIL FROM:<@relay1.example,@relay2.example:alice@example.test>",
    "RCPT TO:<@[192.0.2.1]:alice@example.test>",
])
def test_source_routes_are_accepted_and_dropped(line):
    cmd = parse_command(line)
    assert cmd.path is not None and cmd.path.address == Address("alice", "example.test")


@pytest.mark.parametrize("line", [
    "MAIL FROM:alice@example.test",
    "MAIL FROM:<alice@example.test",
    "MAIL FROM:alice@example.test>",
    "RCPT TO:bob@example.test",
    "RCPT TO:<bob@example.test",
])
def test_missing_angle_brackets(line):
    assert reply_of(line) == "501 5.1.3 Bad address syntax"


@pytest.mark.parametrize(("line", "reply"), [
    ("MAIL FROM:<alice>", "553 5.1.3 Bad address syntax"),
    ("MAIL FROM:<alice@>", "553 5.1.3 Bad address syntax"),
    ("MAIL FROM:<@example.test>", "553 5.1.3 Bad address syntax"),
    ("MAIL FROM:<a..b@example.test>", "553 5.1.3 Bad address syntax"),
    ("RCPT TO:<bob@-bad.example>", "553 5.1.2 Bad destination domain syntax"),
    ("RCPT TO:<bob@bad_domain.example>", "553 5.1.2 Bad destination domain syntax"),
    ("RCPT TO:<bob@example..test>", "553 5.1.2 Bad destination domain syntax"),
])
def test_bad_addresses(line, reply):
    assert reply_of(line) == reply


# -- unknown verbs, bad arguments -------------------------------------------------------------


@pytest.mark.parametrize("line", ["FOO", "HELLO world", "MAILFROM:<a@example.test>", "XYZZY\r\n", "ÉHLO x"])
def test_unknown_verb_is_500(line):
    reply = reply_of(line)
    assert reply.startswith("500 ")
    assert reply == "500 5.5.2 Error: command not recognized"


@pytest.mark.parametrize("line", ["", "\r\n", "\n", " NOOP", "   "])
def test_empty_command_is_500(line):
    assert reply_of(line).startswith("500 ")


@pytest.mark.parametrize(("line", "usage"), [
    ("MAIL", "MAIL FROM:<address>"),
    ("MAIL FROM", "MAIL FROM:<address>"),
    ("MAIL FROM <a@example.test>", "MAIL FROM:<address>"),
    ("MAIL TO:<a@example.test>", "MAIL FROM:<address>"),
    ("MAIL FROM:", "MAIL FROM:<address>"),
    ("MAIL FROM:   ", "MAIL FROM:<address>"),
    ("RCPT", "RCPT TO:<address>"),
    ("RCPT FROM:<a@example.test>", "RCPT TO:<address>"),
    ("RCPT TO:", "RCPT TO:<address>"),
    ("RCPT TO <b@example.test>", "RCPT TO:<address>"),
])
def test_mail_rcpt_bad_syntax_is_501(line, usage):
    assert reply_of(line) == f"501 5.5.4 Syntax: {usage}"


@pytest.mark.parametrize("params", ["SIZE=", "=100", "-X=1", "SIZE=a=b", "SI_ZE=1", "SIZE=\x01", "B@D"])
def test_bad_esmtp_parameters_are_501(params):
    assert reply_of(f"MAIL FROM:<a@example.test> {params}") == "501 5.5.4 Bad parameter syntax"


def test_bad_parameters_on_rcpt_are_501():
    assert reply_of("RCPT TO:<b@example.test> NOTIFY=") == "501 5.5.4 Bad parameter syntax"


def test_protocol_error_is_value_error_with_reply():
    with pytest.raises(ValueError):
        parse_command("FOO")
    err = ProtocolError("x")
    assert err.reply == "501 5.5.4 Syntax error in parameters"


# -- parse_params / format_params -------------------------------------------------------------


def test_parse_params():
    assert parse_params("") == {}
    assert parse_params("   ") == {}
    assert parse_params("SIZE=100 SMTPUTF8 body=8BITMIME") == {"SIZE": "100", "SMTPUTF8": None, "BODY": "8BITMIME"}
    assert parse_params("X-EXT=1") == {"X-EXT": "1"}


def test_format_params():
    assert format_params({}) == ""
    assert format_params({"SIZE": "100", "SMTPUTF8": None, "BODY": "8BITMIME"}) == "SIZE=100 SMTPUTF8 BODY=8BITMIME"


# -- format helpers ---------------------------------------------------------------------------


def test_format_command():
    assert format_command("helo", "me.example") == "HELO me.example"
    assert format_command("noop") == "NOOP"
    assert format_command("QUIT", "") == "QUIT"


def test_package_exports_the_ehlo_function():
    import kit.protocol

    assert callable(kit.protocol.ehlo)
    assert kit.protocol.ehlo("client.example.test") == "EHLO client.example.test"


def test_helo_ehlo_helpers():
    assert helo("client.example.test") == "HELO client.example.test"
    assert ehlo("client.example.test") == "EHLO client.example.test"
    assert ehlo("[127.0.0.1]") == "EHLO [127.0.0.1]"


def test_mail_from_helper():
    assert mail_from("a@example.test") == "MAIL FROM:<a@example.test>"
    assert mail_from("<a@example.test>") == "MAIL FROM:<a@example.test>"
    assert mail_from(None) == "MAIL FROM:<>"
    assert mail_from("") == "MAIL FROM:<>"
    assert mail_from("<>") == "MAIL FROM:<>"
    assert mail_from("a@example.test", SIZE="100") == "MAIL FROM:<a@example.test> SIZE=100"
    assert mail_from("a@example.test", SIZE="100", BODY="8BITMIME", SMTPUTF8=None) == \
        "MAIL FROM:<a@example.test> SIZE=100 BODY=8BITMIME SMTPUTF8"
    assert mail_from(Address("a", "example.test")) == "MAIL FROM:<a@example.test>"
    assert mail_from(NULL_PATH) == "MAIL FROM:<>"


def test_rcpt_to_helper():
    assert rcpt_to("b@example.test") == "RCPT TO:<b@example.test>"
    assert rcpt_to("b@example.test", NOTIFY="NEVER") == "RCPT TO:<b@example.test> NOTIFY=NEVER"


@pytest.mark.parametrize("bad", ["x\r\nRSET", "x\nRSET", "x\rRSET", "\r\n", "a@b>\r\nRCPT TO:<c@d>"])
def test_format_command_refuses_cr_lf_injection(bad):
    with pytest.raises(ProtocolError):
        format_command("NOOP", bad)


def test_helpers_refuse_injection():
    with pytest.raises(ProtocolError):
        helo("me\r\nMAIL FROM:<x@y>")
    with pytest.raises(ProtocolError):
        ehlo("me\nQUIT")
    with pytest.raises(ProtocolError):
        mail_from("a@example.test>\r\nRCPT TO:<victim@example.test")
    with pytest.raises(ProtocolError):
        rcpt_to("b@example.test", NOTIFY="NEVER\r\nDATA")


def test_format_command_refuses_cr_lf_in_verb():
    with pytest.raises(ProtocolError):
        format_command("NOOP\r\nQUIT")


# -- round trips ------------------------------------------------------------------------------

_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-",
                min_size=1, max_size=10)
_local = st.lists(_atom, min_size=1, max_size=3).map(".".join)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_domain = st.lists(_label, min_size=1, max_size=4).map(".".join)
_keyword = st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,8}", fullmatch=True)
_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="="),
                 min_size=1, max_size=10)
_params = st.dictionaries(_keyword, st.none() | _value, max_size=4)


@given(_local, _domain, _params)
def test_round_trip_mail_from(local, domain, params):
    cmd = parse_command(mail_from(f"{local}@{domain}", **params))
    assert cmd.verb == "MAIL"
    assert cmd.path is not None and cmd.path.address == Address(local, domain)
    assert cmd.params == params


@given(_local, _domain, _params)
def test_round_trip_rcpt_to(local, domain, params):
    cmd = parse_command(rcpt_to(f"{local}@{domain}", **params))
    assert cmd.verb == "RCPT"
    assert cmd.path is not None and cmd.path.address == Address(local, domain)
    assert cmd.params == params


@given(_params)
def test_round_trip_null_path(params):
    cmd = parse_command(mail_from(None, **params))
    assert cmd.path == NULL_PATH and cmd.params == params


@given(_domain)
def test_round_trip_helo_ehlo(domain):
    assert parse_command(helo(domain)) == Command("HELO", domain)
    assert parse_command(ehlo(domain)) == Command("EHLO", domain)


@given(st.sampled_from(sorted(KNOWN_VERBS - {"HELO", "EHLO", "MAIL", "RCPT", "VRFY", "EXPN", "AUTH", "BDAT"})))
def test_round_trip_bare_verbs(verb):
    assert parse_command(format_command(verb.lower())) == Command(verb)


@given(_local, _domain)
def test_command_line_reproduces_wire_form(local, domain):
    line = mail_from(f"{local}@{domain}", SIZE="1")
    assert parse_command(line + "\r\n").line == line


@pytest.mark.parametrize("argument, expected", [("12 LAST", (12, True)), ("0 last", (0, True)), ("5", (5, False)),
                                                ("  7  ", (7, False))])
def test_parse_bdat(argument, expected):
    from kit.protocol import parse_bdat

    assert parse_bdat(argument) == expected


@pytest.mark.parametrize("argument", ["", "x", "12 FIRST", "-1", "1234567890", "12 LAST x", "1.5"])
def test_parse_bdat_refuses(argument):
    from kit.protocol import parse_bdat

    with pytest.raises(ProtocolError) as info:
        parse_bdat(argument)
    assert info.value.reply == "501 5.5.4 Syntax: BDAT chunk-size [LAST]"
    with pytest.raises(ProtocolError):
        parse_command(f"BDAT {argument}")
