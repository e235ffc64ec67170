"""CHUNKING (RFC 3030): BDAT chunks counted in octets, no dot-stuffing, no final dot; with a
raw socket (what telnet would show), pipelined, split across writes, over the size limit,
out of order, and what the transcript keeps of a large chunk."""

from __future__ import annotations

import time

from smtp_raw import RawClient

from kit import SMTPSession
from kit.server import LabServer
from kit.transcript import DATA_LINES_SHOWN


def start(raw: RawClient) -> None:
    assert raw.reply().startswith("220")
    assert "250-CHUNKING" in raw.cmd("EHLO me")
    assert raw.cmd("MAIL FROM:<a@x.test>").startswith("250")
    assert raw.cmd("RCPT TO:<bob@example.test>").startswith("250")


def test_chunks_make_one_message_byte_for_byte(server, raw):
    raw = raw()
    start(raw)
    first = b"Subject: chunks\r\n\r\nNo dot-stuffing:\r\n.\r\n..two dots\r\nQUIT\r\n"
    raw.send(b"BDAT %d\r\n" % len(first) + first)
    assert raw.reply() == f"250 2.0.0 {len(first)} octets received"
    raw.send(b"BDAT 5 LAST\r\nend\r\n")
    assert raw.reply().startswith("250 2.0.0 Ok: queued as ")
    assert raw.cmd("NOOP").startswith("250")  # the lone dot and QUIT inside were data
    stored = server.wait_for(1)[0]
    body = server.mailbox.raw(stored.key).split(b"\n\n", 1)[1]
    assert body == b"No dot-stuffing:\n.\n..two dots\nQUIT\nend\n"


def test_pipelined_in_one_write_and_split_across_writes(server, raw):
    raw = raw()
    assert raw.reply().startswith("220")
    raw.cmd("EHLO me")
    message = b"Subject: piped\r\n\r\nhello\r\n"
    raw.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT %d LAST\r\n" % len(message)
             + message[:7])
    time.sleep(0.05)  # the chunk's octets arrive in two writes
    raw.send(message[7:] + b"NOOP\r\n")
    replies = [raw.reply() for _ in range(4)]
    assert [r[:3] for r in replies] == ["250"] * 4, replies
    assert "queued as" in replies[2]
    assert server.wait_for(1)[0].message["Subject"] == "piped"


def test_out_of_order_chunks_are_read_and_refused(server, raw):
    raw = raw()
    assert raw.reply().startswith("220")
    raw.cmd("EHLO me")
    raw.send(b"BDAT 6 LAST\r\nRSET\r\n")  # no transaction: 503, and the octets are not a command
    assert raw.reply() == "503 5.5.1 Error: need RCPT command"
    raw.cmd("MAIL FROM:<a@x.test>")
    raw.cmd("RCPT TO:<bob@example.test>")
    raw.send(b"BDAT 3\r\nabc")
    assert raw.reply().startswith("250 2.0.0 3 octets")
    assert raw.cmd("DATA").startswith("503 5.5.1")  # no DATA in a BDAT transaction (§2)
    assert raw.cmd("RSET").startswith("250")
    raw.cmd("MAIL FROM:<a@x.test>")
    raw.cmd("RCPT TO:<bob@example.test>")
    assert raw.cmd("DATA").startswith("354")  # RSET ended the BDAT transaction
    assert raw.cmd("Subject: plain\r\n\r\nx\r\n.").startswith("250")
    assert len(server.wait_for(1)) == 1


def test_syntax_errors():
    with LabServer() as srv:
        raw = RawClient(srv.host, srv.port)
        start(raw)
        for bad in ("BDAT", "BDAT x", "BDAT 5 FIRST", "BDAT -1", "BDAT 1234567890"):
            assert raw.cmd(bad).startswith("501 5.5.4 Syntax: BDAT chunk-size [LAST]"), bad
        raw.send(b"BDAT 2 last\r\nhi")  # LAST in any letter case
        assert "queued as" in raw.reply()
        raw.close()


def test_too_big_is_refused_and_nothing_is_lost():
    with LabServer(max_message_size=100) as srv:
        raw = RawClient(srv.host, srv.port)
        start(raw)
        raw.send(b"BDAT 80\r\n" + b"x" * 80)
        assert raw.reply().startswith("250")
        raw.send(b"BDAT 80 LAST\r\n" + b"y" * 80)
        assert raw.reply() == "552 5.3.4 Error: message file too big"
        raw.send(b"BDAT 3 LAST\r\nzzz")  # the transaction is over
        assert raw.reply().startswith("503")
        assert raw.cmd("NOOP").startswith("250")  # in step with the client
        raw.cmd("MAIL FROM:<a@x.test>")
        raw.cmd("RCPT TO:<bob@example.test>")
        raw.send(b"BDAT 0 LAST\r\n")  # an empty last chunk ends the message
        assert "queued as" in raw.reply()
        assert len(srv.mailbox) == 1
        raw.close()


def test_transcript_keeps_the_start_of_a_large_chunk(server):
    lines = [f"line {i:05d} of a long body".encode() for i in range(5000)]
    body = b"Subject: big\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
    with SMTPSession(server.host, server.port) as s:
        s.ehlo("me")
        s.mail("a@x.test")
        s.rcpt("bob@example.test")
        assert s.bdat(body, last=True).code == 250
    server.wait_idle(5)
    text = server.transcripts.last.to_text()
    assert " -> line 00000 of a long body" in text
    assert "line 04999" not in text
    shown = [ln for ln in text.splitlines() if ln.startswith(" -> line ")]
    assert len(shown) == DATA_LINES_SHOWN - 2  # Subject and the empty line come first
    assert "more lines of data not shown)" in text
    assert text.splitlines()[-4].startswith("<-  250 2.0.0 Ok: queued as")
    assert len(server.mailbox.raw(server.mailbox.latest.key)) > 100_000  # all of it stored


def test_help_lists_data_and_bdat(server, raw):
    raw = raw()
    raw.reply()
    commands = raw.cmd("HELP").splitlines()[0]
    assert " BDAT " in commands and " DATA " in commands, commands
    assert raw.cmd("HELP BDAT") == "214 2.0.0 Syntax: BDAT chunk-size [LAST]"
    assert raw.cmd("HELP DATA") == "214 2.0.0 Syntax: DATA"
