"""Issue 13, the checkers: each plausible wrong answer named there is rejected with feedback that
names the mistake, and the right answer still passes."""

from __future__ import annotations

import re
import socket

from kit import SMTPSession
from kit.exercises import check
from kit.exercises._pieces import PiecesRelay
from kit.protocol import parse_reply
from kit.server import LabServer


def verdict(exercise_id: str, answer, **kwargs) -> tuple[str, list[str]]:
    result = check(exercise_id, answer, display=False, **kwargs)
    return result.status, [t.message for t in result.tests if not t.passed]


# -- replies.parse_reply: multi-digit subject and detail (RFC 3463 §2) --------------------------

def parse_reply_one_digit_regex(lines):
    """Enhanced codes read with \\d\\.\\d\\.\\d: passed every public test before issue 13."""
    code, enhanced, texts = int(lines[0][:3]), None, []
    for number, line in enumerate(lines):
        text = line[4:]
        match = re.match(r"(\d\.\d\.\d) ?", text)
        if match and match.group(1)[0] == str(code)[0]:
            enhanced = match.group(1) if number == 0 else enhanced
            text = text[match.end():]
        texts.append(text)
    return {"code": code, "enhanced": enhanced, "text": texts}


def test_parse_reply_rejects_one_digit_enhanced_codes():
    status, messages = verdict("replies.parse_reply", parse_reply_one_digit_regex)
    assert status == "partial"
    assert any("5.7.11, not '5.7.1'" in m and "RFC 3463" in m and "one to three digits" in m for m in messages)


def test_parse_reply_right_answer_still_passes():
    def right(lines):
        r = parse_reply(lines)
        return {"code": r.code, "enhanced": r.enhanced, "text": list(r.lines)}

    assert verdict("replies.parse_reply", right)[0] == "passed"


def test_452_is_named_one_way():
    """452 is insufficient system storage (RFC 5321 §4.2.2); a full mailbox is X.2.2 (RFC 3463)."""
    from kit.exercises.replies import CLASSIFY, SHOULD_RETRY

    names = [t.name for t in CLASSIFY.tests + SHOULD_RETRY.tests if "452" in t.name]
    assert names and not any("too many recipients" in n for n in names)
    assert any("insufficient system storage" in n for n in names)
    assert not any(n == "452 mailbox full" for n in names)


# -- dialogue.send_mail_raw: replies in pieces, multi-line, a message with bare \n --------------

def one_recv_per_reply(host, port, sender, recipients, message):
    """The classic lab bug (Kurose & Ross): one recv() per reply. It converts line ends."""
    with socket.create_connection((host, port), timeout=4) as sock:
        sock.recv(1024)

        def cmd(line):
            sock.sendall(line.encode() + b"\r\n")
            return sock.recv(1024).decode()

        cmd("HELO student.example.test")
        cmd(f"MAIL FROM:<{sender}>")
        for rcpt in recipients:
            cmd(f"RCPT TO:<{rcpt}>")
        cmd("DATA")
        lines = message.replace("\r\n", "\n").split("\n")
        lines = lines[:-1] if lines[-1] == "" else lines
        sock.sendall(b"".join((("." + ln) if ln.startswith(".") else ln).encode() + b"\r\n" for ln in lines)
                     + b".\r\n")
        final = sock.recv(1024).decode().strip()
        cmd("QUIT")
        return final


def whole_replies(convert: bool):
    def send_mail_raw(host, port, sender, recipients, message):
        with socket.create_connection((host, port), timeout=4) as sock:
            f = sock.makefile("rb")

            def reply():
                line = f.readline().decode()
                while line[3:4] == "-":
                    line = f.readline().decode()
                return line.rstrip("\r\n")

            def cmd(line):
                sock.sendall(line.encode() + b"\r\n")
                return reply()

            reply()
            cmd("HELO student.example.test")
            cmd(f"MAIL FROM:<{sender}>")
            for rcpt in recipients:
                cmd(f"RCPT TO:<{rcpt}>")
            cmd("DATA")
            text = message.replace("\r\n", "\n").replace("\n", "\r\n") if convert else message
            text = re.sub(r"(?m)^\.", "..", text)
            sock.sendall(text.encode() + (b"" if text.endswith("\n") else b"\r\n") + b".\r\n")
            final = reply()
            cmd("QUIT")
            return final
    return send_mail_raw


def test_send_mail_raw_rejects_one_recv_per_reply():
    status, messages = verdict("dialogue.send_mail_raw", one_recv_per_reply)
    assert status in ("partial", "failed")
    assert any("one recv() is not one reply" in m and "RFC 5321 §4.2.1" in m for m in messages)
    assert len(messages) >= 4


def test_send_mail_raw_rejects_a_message_sent_with_its_bare_lf():
    status, messages = verdict("dialogue.send_mail_raw", whole_replies(convert=False))
    assert status == "partial"
    assert len(messages) == 1 and "\\n line ends" in messages[0] and "RFC 5321 §2.3.8" in messages[0]


def test_send_mail_raw_right_answer_passes_through_the_relay():
    result = check("dialogue.send_mail_raw", whole_replies(convert=True), display=False)
    assert result.status == "passed", [t.message for t in result.tests]
    assert "a message with \\n line ends" in [t.name for t in result.tests]


def test_relay_cuts_replies_and_lengthens_the_greeting():
    with LabServer(domains=["example.test"], durable=False) as server, PiecesRelay(server.host, server.port,
                                                                                   pause=0.2) as relay:
        with socket.create_connection((relay.host, relay.port), timeout=4) as sock:
            first = sock.recv(4096)
            assert len(first) < 10 and not first.endswith(b"\r\n")  # the reply came in pieces
            f = sock.makefile("rb")
            rest = [first + f.readline()]
            while rest[-1][3:4] == b"-":
                rest.append(f.readline())
            assert len(rest) == 4 and rest[0].startswith(b"220-") and rest[-1].startswith(b"220 ")
            sock.sendall(b"QUIT\r\n")
            assert f.readline().startswith(b"221")
        relay.wait_idle(1)
        assert relay.early == [] and not relay.bare_lf
        # the server saw the client's bytes unchanged
        assert server.transcripts.last.client_lines() == ["QUIT"]


# -- dialogue.send_to_many: one transaction per recipient --------------------------------------

def one_transaction_per_recipient(host, port, sender, recipients, message):
    accepted, refused = [], []
    for rcpt in recipients:
        with SMTPSession(host, port) as s:
            s.ehlo("me")
            s.mail(sender)
            if s.rcpt(rcpt).is_positive:
                s.data(message)
                accepted.append(rcpt)
            else:
                refused.append(rcpt)
    return {"accepted": accepted, "refused": refused}


def test_send_to_many_names_one_transaction_per_recipient():
    status, messages = verdict("dialogue.send_to_many", one_transaction_per_recipient)
    assert status == "failed"
    assert messages and all("one transaction" in m and "RFC 5321 §3.3" in m for m in messages)
    assert "3 transactions and the server stored 2 messages" in messages[0]


# -- architecture.roles: feedback is no answer key; step 4 accepts MX and MTA ------------------

def test_roles_feedback_does_not_reveal_the_roles():
    result = check("architecture.roles", lambda: ["MUA"] * 6, display=False)
    wrong = [t for t in result.tests if not t.passed]
    assert [t.name for t in wrong] == ["step 2", "step 3", "step 4", "step 5"]
    for t in wrong:
        shown = f"{t.message} {t.expected}"
        assert t.expected == "one of MUA, MSA, MTA, MX, MDA"
        for _role, words in (("MSA", "Submission Agent"), ("MDA", "Delivery Agent"), ("MTA", "Transfer Agent"),
                            ("MX", "mail exchanger")):
            assert words not in t.message, (t.name, t.message)
        assert not re.search(r"\b(MSA|MTA|MDA)\b", t.message), shown


def test_roles_step_4_takes_mx_or_mta():
    assert verdict("architecture.roles", lambda: ["MUA", "MSA", "MTA", "MX", "MDA", "MUA"])[0] == "passed"
    assert verdict("architecture.roles", lambda: ["MUA", "MSA", "MTA", "MTA", "MDA", "MUA"])[0] == "passed"
    status, messages = verdict("architecture.roles", lambda: ["MUA", "MSA", "MTA", "MDA", "MDA", "MUA"])
    assert status == "partial" and messages == ["step 4: this server is named by the MX record of the "
                                                "recipient's domain (RFC 5321 §5.1)"]
