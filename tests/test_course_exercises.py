"""Each course exercise's checker accepts the reference solution and rejects plausible wrong
answers with a helpful message (issue: "checkers that can fail")."""

from __future__ import annotations

import socket

import pytest

from kit.exercises import check
from kit.protocol import parse_reply


def verdict(exercise_id: str, answer) -> tuple[str, list[str]]:
    result = check(exercise_id, answer, display=False)
    return result.status, [t.message for t in result.tests if not t.passed]


# -- architecture.roles -----------------------------------------------------------------------

def test_roles():
    assert verdict("architecture.roles", lambda: ["MUA", "MSA", "MTA", "MX", "MDA", "MUA"])[0] == "passed"
    status, messages = verdict("architecture.roles", lambda: ["MUA", "MTA", "MTA", "MX", "MDA", "MUA"])
    assert status == "partial" and any("587" in m and "submission" in m for m in messages)
    status, messages = verdict("architecture.roles", lambda: ["MUA", "MSA", "MTA", "MX", "MTA", "MUA"])
    assert status == "partial" and any("into the recipient's mailbox" in m for m in messages)
    assert verdict("architecture.roles", lambda: "MUA MSA MTA MX MDA MUA")[0] == "failed"


# -- replies ---------------------------------------------------------------------------------

def parse_reply_ok(lines):
    r = parse_reply(lines)
    return {"code": r.code, "enhanced": r.enhanced, "text": list(r.lines)}


def parse_reply_first_line_only(lines):
    code, text = int(lines[0][:3]), lines[0][4:]
    enhanced = text.split()[0] if text[:1].isdigit() and text.count(".") >= 2 else None
    if enhanced:
        text = text[len(enhanced) + 1:]
    return {"code": code, "enhanced": enhanced, "text": [text]}


def parse_reply_any_enhanced(lines):
    texts, enhanced = [], None
    for line in lines:
        words = line[4:].split(" ", 1)
        if words[0].count(".") == 2:
            enhanced = enhanced or words[0]
            texts.append(words[1] if len(words) > 1 else "")
        else:
            texts.append(line[4:])
    return {"code": int(lines[0][:3]), "enhanced": enhanced, "text": texts}


def test_parse_reply():
    assert verdict("replies.parse_reply", parse_reply_ok)[0] == "passed"
    status, messages = verdict("replies.parse_reply", parse_reply_first_line_only)
    assert status == "partial" and messages
    assert verdict("replies.parse_reply", parse_reply_any_enhanced)[0] == "partial"
    assert verdict("replies.parse_reply", lambda lines: (250, None, lines))[0] == "failed"


def classify_ok(code):
    return {2: "positive completion", 3: "positive intermediate", 4: "transient negative",
            5: "permanent negative"}.get(code // 100, "invalid") if 100 <= code < 600 else "invalid"


def test_classify():
    assert verdict("replies.classify", classify_ok)[0] == "passed"

    def four_is_permanent(code):
        return "permanent negative" if code // 100 in (4, 5) else classify_ok(code)

    def old_slides(code):  # 1yz as "positive preliminary", as the seed's slide lists it
        return "positive preliminary" if code // 100 == 1 else classify_ok(code)

    for wrong in (four_is_permanent, old_slides):
        status, messages = verdict("replies.classify", wrong)
        assert status == "partial" and messages


def test_should_retry():
    assert verdict("replies.should_retry", lambda reply: reply[0] == "4")[0] == "passed"
    status, _ = verdict("replies.should_retry", lambda reply: "try again" in reply.lower())
    assert status == "partial"
    assert verdict("replies.should_retry", lambda reply: reply[0] == "5")[0] in ("failed", "partial")
    status, _ = verdict("replies.should_retry", lambda reply: reply.split()[1].startswith("4"))
    assert status == "partial"


# -- dialogue.dot_stuff --------------------------------------------------------------------

def dot_stuff_ok(text):
    return "".join("." + line if line.startswith(".") else line for line in text.splitlines(keepends=True))


def test_dot_stuff():
    assert verdict("dialogue.dot_stuff", dot_stuff_ok)[0] == "passed"
    assert verdict("dialogue.dot_stuff", lambda t: "\n".join(
        "." + ln if ln.startswith(".") else ln for ln in t.split("\n")))[0] == "passed"  # the notebook's hint
    assert verdict("dialogue.dot_stuff", lambda t: t.replace("\r\n.", "\r\n.."))[0] == "partial"  # misses line 1
    assert verdict("dialogue.dot_stuff", lambda t: t.replace(".", ".."))[0] == "partial"  # every dot
    assert verdict("dialogue.dot_stuff", lambda t: t)[0] == "partial"


def test_dot_stuff_is_not_answered_by_a_ready_made_stuffer():
    """The kit has no dot_stuff to import any more (it answered the exercise in full), and the
    stuffers still at hand convert line ends, which the exercise forbids: they do not pass."""
    import smtplib

    import kit.protocol

    assert not hasattr(kit.protocol, "dot_stuff")
    status, messages = verdict("dialogue.dot_stuff", smtplib.quotedata)
    assert status == "partial" and any("differs at position 3" in m for m in messages), messages
    status, _ = verdict("dialogue.dot_stuff", lambda t: kit.protocol.encode_data(t).decode()[:-3])
    assert status != "passed"


# -- dialogue.send_mail_raw --------------------------------------------------------------

def make_send_mail_raw(eol=b"\r\n", stuff=True, final_dot=True, quit=True, all_rcpts=True):
    def send_mail_raw(host, port, sender, recipients, message):
        with socket.create_connection((host, port), timeout=4) as sock:
            f = sock.makefile("rb")

            def reply():
                lines = [f.readline().decode()]
                while lines[-1][3:4] == "-":
                    lines.append(f.readline().decode())
                return lines[-1].rstrip("\r\n")

            def cmd(line):
                sock.sendall(line.encode() + eol)
                return reply()

            reply()
            cmd("HELO student.example.test")
            cmd(f"MAIL FROM:<{sender}>")
            for rcpt in recipients if all_rcpts else recipients[:1]:
                cmd(f"RCPT TO:<{rcpt}>")
            cmd("DATA")
            lines = message.replace("\r\n", "\n").split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            data = b"".join((("." + ln) if stuff and ln.startswith(".") else ln).encode() + eol for ln in lines)
            sock.sendall(data + (b"." + eol if final_dot else b""))
            final = reply()
            if quit:
                cmd("QUIT")
            return final
    return send_mail_raw


def test_send_mail_raw_solution_passes():
    result = check("dialogue.send_mail_raw", make_send_mail_raw(), display=False)
    assert result.status == "passed", [t.message for t in result.tests]


def test_send_mail_raw_without_dot_stuffing():
    status, messages = verdict("dialogue.send_mail_raw", make_send_mail_raw(stuff=False))
    assert status == "partial"
    assert any("dot doubled" in m for m in messages)


def test_send_mail_raw_with_bare_lf_gets_a_wire_diagnosis():
    result = check("dialogue.send_mail_raw", make_send_mail_raw(eol=b"\n"), time_limit=1.5, display=False)
    assert result.status == "timeout"
    assert any("\\r\\n" in t.message and "bare" not in t.message.lower() or "\\n alone" in t.message
               for t in result.tests if not t.passed)


def test_send_mail_raw_without_final_dot():
    result = check("dialogue.send_mail_raw", make_send_mail_raw(final_dot=False), time_limit=1.5, display=False)
    assert result.status == "timeout"
    assert any("single dot" in t.message for t in result.tests if not t.passed)


def test_send_mail_raw_only_first_recipient_and_no_quit():
    status, messages = verdict("dialogue.send_mail_raw", make_send_mail_raw(all_rcpts=False))
    assert status == "partial" and any("one RCPT TO" in m for m in messages)
    status, messages = verdict("dialogue.send_mail_raw", make_send_mail_raw(quit=False))
    assert status == "partial" and any("QUIT" in m for m in messages)


def quit_only(host, port, sender, recipients, message):
    """Connects, says QUIT at once and returns the 221: no mail was sent."""
    with socket.create_connection((host, port), timeout=4) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"QUIT\r\n")
        return f.readline().decode().strip()


def test_ends_with_quit_needs_the_whole_dialogue_before_quit():
    result = check("dialogue.send_mail_raw", quit_only, display=False)
    assert result.points == 0, [(t.name, t.points) for t in result.tests]
    quit_test = next(t for t in result.tests if t.name == "ends with QUIT")
    assert not quit_test.passed and "HELO/EHLO, MAIL FROM, RCPT TO, DATA" in quit_test.message
    # QUIT after a refused message is not a complete session either
    result = check("dialogue.send_mail_raw", make_send_mail_raw(final_dot=False, quit=True), time_limit=1.5,
                   display=False)
    assert not next(t for t in result.tests if t.name == "ends with QUIT").passed
    right = check("dialogue.send_mail_raw", make_send_mail_raw(), display=False)
    assert next(t for t in right.tests if t.name == "ends with QUIT").passed


def test_ends_with_quit_takes_bdat_as_the_message_too():
    """CHUNKING (RFC 3030) sends the message with BDAT instead of DATA; its chunks are no commands."""
    from kit import SMTPSession

    def with_bdat(host, port, sender, recipients, message):
        with SMTPSession(host, port) as s:
            s.ehlo("me")
            s.mail(sender)
            for rcpt in recipients:
                s.rcpt(rcpt)
            half = len(message) // 2
            s.bdat(message[:half])
            final = s.bdat(message[half:], last=True)
            s.quit()
        return str(final)

    result = check("dialogue.send_mail_raw", with_bdat, display=False)
    assert next(t for t in result.tests if t.name == "ends with QUIT").passed, result.tests


def test_send_mail_raw_claiming_success_without_sending_earns_nothing():
    status, _ = verdict("dialogue.send_mail_raw", lambda *a: "250 2.0.0 Ok: queued as 0123456789")
    assert status == "failed"


# -- dialogue.send_to_many -----------------------------------------------------------------

def make_send_to_many(stop_at_first_refusal=False, data_even_if_none=False):
    from kit import SMTPSession

    def send_to_many(host, port, sender, recipients, message):
        accepted, refused = [], []
        with SMTPSession(host, port) as s:
            s.ehlo("me")
            s.mail(sender)
            for rcpt in recipients:
                reply = s.rcpt(rcpt)
                if reply.is_positive:
                    accepted.append(rcpt)
                else:
                    refused.append(rcpt)
                    if stop_at_first_refusal:
                        s.rset()
                        return {"accepted": [], "refused": recipients}
            if accepted or data_even_if_none:
                s.data(message)
            else:
                s.rset()
        return {"accepted": accepted, "refused": refused}
    return send_to_many


def test_send_to_many():
    assert verdict("dialogue.send_to_many", make_send_to_many())[0] == "passed"
    status, messages = verdict("dialogue.send_to_many", make_send_to_many(stop_at_first_refusal=True))
    # it never asks for the recipients after the first refusal, so even "nobody accepted" fails
    assert status == "failed" and any("must not stop the mail to the others" in m for m in messages)
    status, messages = verdict("dialogue.send_to_many", make_send_to_many(data_even_if_none=True))
    assert status == "partial" and any("do not send DATA" in m for m in messages)


def test_send_to_many_that_never_connects_earns_nothing():
    """"nobody accepted" asks for evidence on the wire: a RCPT TO for every recipient, answered."""

    def guesses(host, port, sender, recipients, message):
        return {"accepted": [], "refused": list(recipients)}

    result = check("dialogue.send_to_many", guesses, display=False)
    assert result.points == 0, [(t.name, t.points) for t in result.tests]
    nobody = next(t for t in result.tests if t.name == "nobody accepted")
    assert "no RCPT TO for ghost@example.test, x@elsewhere.test" in nobody.message
    assert "never connected" in nobody.message


def test_send_to_many_without_mail_from_is_not_a_transaction():
    """RCPT TO without MAIL FROM gets 503 for everyone: "all refused" then is no evidence."""
    from kit import SMTPSession

    def no_mail_from(host, port, sender, recipients, message):
        with SMTPSession(host, port) as s:
            s.ehlo("me")
            replies = {r: s.rcpt(r) for r in recipients}
        return {"accepted": [r for r in recipients if replies[r].is_positive],
                "refused": [r for r in recipients if not replies[r].is_positive]}

    result = check("dialogue.send_to_many", no_mail_from, display=False)
    nobody = next(t for t in result.tests if t.name == "nobody accepted")
    assert not nobody.passed and "send MAIL FROM:<sender> first" in nobody.message
    assert result.points == 0


@pytest.mark.parametrize("exercise_id", ["dialogue.send_mail_raw", "dialogue.send_to_many", "replies.classify"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError("TODO")
    assert check(exercise_id, stub, display=False).status == "not attempted"
