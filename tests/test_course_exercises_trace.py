"""The checkers of notebooks 04 (message format) and 05 (header tracing) accept the reference
solutions and reject plausible wrong answers, each with a message that names the mistake."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from pathlib import Path

import pytest

from kit.exercises import check
from kit.exercises import message as message_ex
from kit.exercises import tracing as tracing_ex
from kit.exercises.answers import tracing as tracing_answers
from kit.trace import trace

DATA = Path(__file__).parent / "data" / "received"


def verdict(exercise_id: str, answer) -> tuple[str, list[str]]:
    result = check(exercise_id, answer, display=False)
    return result.status, [t.message for t in result.tests if not t.passed]


def assert_rejected(exercise_id: str, answer, *fragments: str) -> list[str]:
    status, messages = verdict(exercise_id, answer)
    assert status in ("partial", "failed"), (status, messages)
    for fragment in fragments:
        assert any(fragment in m for m in messages), (fragment, messages)
    return messages


# == message.build_message =====================================================================

def build_message_ok(sender, recipients, subject, body):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg.set_content(body)
    return msg.as_string(policy=email.policy.SMTP)


def raw_message(sender, recipients, subject, body, *, date=True, msgid=None, eol="\r\n", mime=False,
                to=None):
    lines = [f"From: {sender}", f"To: {', '.join(to if to is not None else recipients)}", f"Subject: {subject}"]
    if date is True:
        lines.append(f"Date: {format_datetime(datetime.now(timezone.utc))}")
    elif date:
        lines.append(f"Date: {date}")
    lines.append(f"Message-ID: {msgid or make_msgid(domain='example.test')}")
    if mime:
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return eol.join(lines) + eol + eol + body.replace("\n", eol)


def test_build_message_solution_passes():
    assert verdict("message.build_message", build_message_ok) == ("passed", [])


def test_build_message_hand_written_ascii_passes_the_ascii_tests():
    status, messages = verdict("message.build_message", raw_message)
    assert status == "partial"
    assert len(messages) == 1 and "header fields must be US-ASCII" in messages[0]


def test_build_message_bare_lf():
    def lf(*args):
        return build_message_ok(*args).replace("\r\n", "\n")
    assert_rejected("message.build_message", lf, "\\r\\n (CRLF)", "RFC 5322 §2.1")
    assert_rejected("message.build_message", lambda *a: raw_message(*a, eol="\n"), "CRLF")


def test_build_message_default_policy_writes_lf():
    def as_string_default(sender, recipients, subject, body):
        msg = email.message_from_string(build_message_ok(sender, recipients, subject, body),
                                        policy=email.policy.default)
        return msg.as_string()
    assert_rejected("message.build_message", as_string_default, "email.policy.SMTP")


def test_build_message_as_the_seed_says_from_and_to_only():
    messages = assert_rejected("message.build_message", lambda *a: raw_message(*a, date=False),
                               "requires exactly one Date")
    assert all("§3.6" in m for m in messages if "Date" in m)


def test_build_message_bad_dates():
    assert_rejected("message.build_message",
                    lambda *a: raw_message(*a, date=datetime.now(timezone.utc).isoformat()),
                    "not an RFC 5322 date-time", "format_datetime")
    assert_rejected("message.build_message",
                    lambda *a: raw_message(*a, date="Tue, 12 Mar 2024 10:15:02 +0100"), "is not now")
    assert_rejected("message.build_message",
                    lambda *a: raw_message(*a, date="Tue, 12 Mar 2024 10:15:02"), "with a zone")


def test_build_message_message_ids():
    assert_rejected("message.build_message",
                    lambda *a: raw_message(*a, msgid=f"{uuid.uuid4().hex}@example.test"),
                    "is not a msg-id", "angle brackets")
    status, messages = verdict("message.build_message", lambda *a: raw_message(*a, msgid="<1@example.test>"))
    assert status == "partial" and any("unique" in m and "make_msgid" in m for m in messages)

    def no_msgid(*a):
        return re.sub(r"Message-ID: .*\r\n", "", build_message_ok(*a))
    assert_rejected("message.build_message", no_msgid, "Message-ID", "§3.6.4")


def test_build_message_recipients_and_sender():
    assert_rejected("message.build_message", lambda s, r, *a: raw_message(s, r, *a, to=r[:1]), "To: must list")
    assert_rejected("message.build_message",
                    lambda s, *a: raw_message("postmaster@example.test", *a), "From: must name the sender")


def test_build_message_non_ascii_without_mime():
    def encoded_subject_raw_body(sender, recipients, subject, body):
        msg = EmailMessage()
        msg["Subject"] = subject
        encoded = msg.as_string(policy=email.policy.SMTP).split("\r\n")[0]
        text = raw_message(sender, recipients, "X", body)
        return text.replace("Subject: X", encoded)
    assert_rejected("message.build_message", encoded_subject_raw_body, "MIME-Version")

    def no_cte(sender, recipients, subject, body):
        msg = EmailMessage()
        msg["Subject"] = subject
        encoded = msg.as_string(policy=email.policy.SMTP).split("\r\n")[0]
        return raw_message(sender, recipients, "X", body, mime=True).replace("Subject: X", encoded)
    assert_rejected("message.build_message", no_cte, "Content-Transfer-Encoding", "RFC 2045 §6")


def test_build_message_problems_are_named_in_order():
    args = ("alice@example.test", ["bob@example.test"], "Hi", "Hello\n")
    assert message_ex.problems_of(build_message_ok(*args), *args) is None
    assert "str" in message_ex.problems_of(None, *args)
    assert "empty line" in message_ex.problems_of("From: a@b\r\nTo: c@d\r\n", *args)
    assert "998" in message_ex.problems_of(raw_message(*args[:3], "x" * 1200), *args)
    # the email package never writes such a line: it switches to quoted-printable
    assert "got 'xxx" in message_ex.problems_of(build_message_ok(*args[:3], "x" * 1200), *args)
    text = build_message_ok(*args).replace("Subject: Hi", "Subject: Hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000")
    assert "exactly one Date" in message_ex.problems_of(text, *args)


# == message.disagreements ====================================================================

def disagreements_ok(envelope, header_text):
    msg = email.message_from_string(header_text)

    def addresses(*names):
        values = [v for name in names for v in msg.get_all(name, [])]
        return {addr.lower() for _, addr in getaddresses(values) if addr}

    items = [] if addresses("From") == {envelope["mail_from"].lower()} else ["From"]
    in_header = addresses("To", "Cc")
    in_envelope = {r.lower() for r in envelope["rcpt_tos"]}
    items += [f"envelope only: {a}" for a in in_envelope - in_header]
    items += [f"header only: {a}" for a in in_header - in_envelope]
    return sorted(items)


def test_disagreements_solution_passes():
    assert verdict("message.disagreements", disagreements_ok) == ("passed", [])


def test_disagreements_on_the_seed():
    assert disagreements_ok({"mail_from": "a1@ausgedacht.de", "rcpt_tos": ["jhuelsmann@techfak.uni-bielefeld.de"]},
                            message_ex.SEED_HEADER) == [
        "From", "envelope only: jhuelsmann@techfak.uni-bielefeld.de", "header only: not_exists2@ausgedacht.de"]


def test_disagreements_comparing_whole_fields():
    def raw_fields(envelope, header_text):
        msg = email.message_from_string(header_text)
        items = [] if msg["From"] == envelope["mail_from"] else ["From"]
        to = [a.strip() for a in (msg["To"] or "").split(",")]
        items += [f"envelope only: {r}" for r in envelope["rcpt_tos"] if r not in to]
        return sorted(items)
    assert_rejected("message.disagreements", raw_fields, "compare addresses only")


def test_disagreements_naive_comma_split():
    def split_commas(envelope, header_text):
        msg = email.message_from_string(header_text)
        header = set()
        for name in ("To", "Cc"):
            for part in " ".join((msg[name] or "").split()).split(","):
                addr = part.strip().rpartition("<")[2].rstrip(">").lower()
                if addr:
                    header.add(addr)
        return disagreements_ok(envelope, header_text) if not header else sorted(
            ([] if getaddresses([msg["From"]])[0][1].lower() == envelope["mail_from"].lower() else ["From"])
            + [f"envelope only: {r.lower()}" for r in envelope["rcpt_tos"] if r.lower() not in header]
            + [f"header only: {a}" for a in header if a not in {r.lower() for r in envelope["rcpt_tos"]}])
    assert_rejected("message.disagreements", split_commas, "a comma inside a quoted display name")


def test_disagreements_forgetting_cc_case_and_order():
    def to_only(envelope, header_text):
        return disagreements_ok(envelope, re.sub(r"(?m)^Cc:.*\r\n", "", header_text))
    assert_rejected("message.disagreements", to_only, "Cc recipients are in the header too")

    def case_sensitive(envelope, header_text):
        msg = email.message_from_string(header_text)
        header = {a for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if a}
        from_ = [a for _, a in getaddresses(msg.get_all("From", [])) if a]
        items = [] if from_ == [envelope["mail_from"]] else ["From"]
        items += [f"envelope only: {a}" for a in set(envelope["rcpt_tos"]) - header]
        items += [f"header only: {a}" for a in header - set(envelope["rcpt_tos"])]
        return sorted(items)
    assert_rejected("message.disagreements", case_sensitive, "case-insensitively")
    assert_rejected("message.disagreements", lambda e, h: disagreements_ok(e, h)[::-1], "sorted")


def test_disagreements_counting_an_empty_group_as_an_address():
    def keeps_empty(envelope, header_text):
        items = disagreements_ok(envelope, header_text)
        return sorted(items + ["header only: "]) if "undisclosed" in header_text else items
    assert_rejected("message.disagreements", keeps_empty, "an empty group contains no address")


# == tracing.parse_received ===================================================================

KEYWORDS = ("from", "by", "with", "id", "for")


def words(text):
    found, word, depth, quoted = [], "", 0, False
    for c in text:
        if depth:
            depth += {"(": 1, ")": -1}.get(c, 0)
        elif quoted:
            word += c
            quoted = c != '"'
        elif c == '"':
            word += c
            quoted = True
        elif c in "(;" or c.isspace():
            if word:
                found.append(word)
            word = ""
            if c == "(":
                depth = 1
            elif c == ";":
                found.append(";")
        else:
            word += c
    return found + [word] if word else found


def utc_date(text, *, minus_zero_is_utc=True, to_utc=True, guess_utc=False):
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        if guess_utc or (minus_zero_is_utc and re.search(r"(^|\s)-0000(\s|$)", text)):
            when = when.replace(tzinfo=timezone.utc)
        else:
            return None
    return (when.astimezone(timezone.utc) if to_utc else when).isoformat()


def make_parse_received(first_semicolon=False, **date_options):
    def parse_received(value):
        tokens = words(value)
        result = dict.fromkeys(KEYWORDS + ("date",))
        if ";" in tokens:
            cut = tokens.index(";") if first_semicolon else len(tokens) - 1 - tokens[::-1].index(";")
            tokens, rest = [t for t in tokens[:cut] if t != ";"], tokens[cut + 1:]
            result["date"] = utc_date(" ".join(rest), **date_options)
        i = 0
        while i < len(tokens) - 1:
            key = tokens[i].lower()
            if key in KEYWORDS and result[key] is None:
                result[key] = tokens[i + 1]
                i += 2
            else:
                i += 1
        return result
    return parse_received


parse_received_ok = make_parse_received()


def test_parse_received_solution_passes():
    assert verdict("tracing.parse_received", parse_received_ok) == ("passed", [])


def test_parse_received_expected_values_follow_the_statement():
    seed = tracing_ex._FIELDS[0][1]
    assert tracing_answers.parse_received(seed) == {
        "from": "identity", "by": "smarthost.TechFak.Uni-Bielefeld.DE", "with": "SMTP", "id": "3489AB000F",
        "for": "<jhuelsmann@techfak.uni-bielefeld.de>", "date": "2014-11-22T19:25:31+00:00"}
    qmail = tracing_answers.parse_received("(qmail 11769 invoked from network); 22 Aug 2016 14:23:01 -0000")
    assert qmail == {"from": None, "by": None, "with": None, "id": None, "for": None,
                     "date": "2016-08-22T14:23:01+00:00"}
    # the reference solution agrees with kit.trace on every case (the statement and the kit agree)
    for _, value, _ in tracing_ex._FIELDS:
        assert parse_received_ok(value) == tracing_answers.parse_received(value)


def naive_regexes(value):
    """Keyword search over the whole text, comments included, date after the first ';'."""
    text = " ".join(value.split())
    result = {}
    for key in KEYWORDS:
        m = re.search(rf"\b{key} (\S+)", text, re.IGNORECASE)
        result[key] = m.group(1).rstrip(";") if m else None
    _, semi, date = text.partition(";")
    result["date"] = utc_date(date) if semi else None
    return result


def test_parse_received_keywords_inside_comments():
    assert_rejected("tracing.parse_received", naive_regexes,
                    "'from network' is inside a comment", "'with cipher' sits inside a comment",
                    "the first ';' is inside the comment")


def test_parse_received_dates_inside_comments():
    date_pattern = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), +\d+ \w+ \d{4} [\d:]+ [+-]\d{4}")

    def first_date_anywhere(value):
        result = parse_received_ok(value)
        m = date_pattern.search(value)
        result["date"] = utc_date(m.group(0)) if m else result["date"]
        return result
    assert_rejected("tracing.parse_received", first_date_anywhere,
                    "the only date is inside a comment")


def test_parse_received_date_after_the_last_semicolon():
    """Issue 13: 'id X; for <a@b>; date' lost its date; RFC 5321 §4.4: the stamp ends with ';' date-time."""
    assert_rejected("tracing.parse_received", make_parse_received(first_semicolon=True),
                    "only the last ';' ends them, and the date follows it")


def test_parse_received_date_mistakes():
    assert_rejected("tracing.parse_received", make_parse_received(to_utc=False), "convert to UTC")
    assert_rejected("tracing.parse_received", make_parse_received(minus_zero_is_utc=False),
                    "-0000 is Universal Time")
    assert_rejected("tracing.parse_received", make_parse_received(guess_utc=True), "never guess UTC")


def test_parse_received_shape_mistakes():
    status, messages = verdict("tracing.parse_received", lambda v: list(parse_received_ok(v).values()))
    assert status == "failed" and "return a dict" in messages[0]

    def from_underscore(value):
        result = parse_received_ok(value)
        result["from_"] = result.pop("from")
        return result
    status, messages = verdict("tracing.parse_received", from_underscore)
    assert status == "failed" and "missing key 'from'" in messages[0]

    def lower_case(value):
        return {k: v.lower() if isinstance(v, str) and k != "date" else v for k, v in parse_received_ok(value).items()}
    assert_rejected("tracing.parse_received", lower_case, "keep the value as written")


# == tracing.hops ============================================================================

def make_hops(*, top_down=False, clip=False, absolute=False, wrap=False, last_known=False, as_int=False,
              parse=parse_received_ok):
    def hops(message_text):
        fields = email.message_from_string(message_text).get_all("Received", [])
        if not top_down:
            fields = fields[::-1]
        result, previous = [], None
        for value in fields:
            field = parse(value)
            date, delay = field["date"], None
            if date is not None and previous is not None:
                diff = datetime.fromisoformat(date) - datetime.fromisoformat(previous)
                delay = float(diff.seconds) if wrap else diff.total_seconds()
                if clip:
                    delay = max(0.0, delay)
                if absolute:
                    delay = abs(delay)
                if as_int:
                    delay = int(delay)
            result.append({"from": field["from"], "by": field["by"], "date": date, "delay": delay})
            if date is not None or not last_known:
                previous = date
        return result
    return hops


def test_hops_solution_passes():
    assert verdict("tracing.hops", make_hops()) == ("passed", [])


def test_hops_top_down():
    assert_rejected("tracing.hops", make_hops(top_down=True), "your hops are top-down", "bottom-most field")


def test_hops_clock_skew_must_stay_negative():
    assert_rejected("tracing.hops", make_hops(clip=True), "clock skew", "never clip them to 0")
    assert_rejected("tracing.hops", make_hops(absolute=True), "never abs()")
    assert_rejected("tracing.hops", make_hops(wrap=True), "timedelta.seconds", "total_seconds()")


def test_hops_delay_to_last_known_date_is_not_the_delay_to_the_previous_hop():
    assert_rejected("tracing.hops", make_hops(last_known=True), "previous hop's date is unknown")


def test_hops_integer_delays_and_comment_dates():
    assert_rejected("tracing.hops", make_hops(as_int=True), "return float seconds")

    def comment_dates(value):
        result = parse_received_ok(value)
        m = re.search(r"\d+ \w{3} \d{4} [\d:]+ [+-]\d{4}", value)
        if result["date"] is None and m:
            result["date"] = utc_date(m.group(0))
        return result
    assert_rejected("tracing.hops", make_hops(parse=comment_dates), "a date counts only after the ';'")


def test_hops_expected_values_match_the_corpus_and_the_kit():
    seed = tracing_answers.hops(tracing_ex.SEED_MESSAGE)
    assert [h["delay"] for h in seed] == [None, 123.0, 0.0, 0.0]
    assert seed[0]["from"] == "identity" and seed[-1]["by"] == "imap.TechFak.Uni-Bielefeld.DE"
    skew = tracing_answers.hops(tracing_ex.sample("spamassassin_nice_002_exim_fetchmail.eml"))
    assert skew[-1]["delay"] == -1.0 and skew[-2]["delay"] == 51910.0
    # the seed text in the exercise is the corpus transcription, fields and all
    corpus = trace((DATA / "seed_bielefeld_postfix_dovecot.eml").read_bytes()).to_dict()
    assert [h["raw"].split() for h in corpus["hops"]] == [
        h["raw"].split() for h in trace(tracing_ex.SEED_MESSAGE).to_dict()["hops"]]


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(tracing_ex.__file__).parent.parent
                                                           / "trace" / "samples").glob("*.eml")))
def test_shipped_samples_are_copies_of_the_corpus(name):
    assert tracing_ex.sample(name) == (DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("exercise_id", ["message.build_message", "message.disagreements",
                                         "tracing.parse_received", "tracing.hops"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError("TODO")
    assert check(exercise_id, stub, display=False).status == "not attempted"


@pytest.mark.parametrize("exercise_id", ["message.build_message", "message.disagreements",
                                         "tracing.parse_received", "tracing.hops"])
def test_returning_none_fails_with_a_message(exercise_id):
    status, messages = verdict(exercise_id, lambda *args: None)
    assert status == "failed" and all(messages)
