"""Bounded fuzzing of the lab server over real sockets: random mixes of commands, BDAT chunks
of wrong sizes, message data, bare LFs, NUL bytes and over-long lines. Whatever a client sends,
the server answers every complete line with a well-formed reply or closes the connection, keeps
serving others, stores exactly the messages it acknowledged, and every transcript renders.

Bounded: 60 examples, each one connection with at most 12 pieces and a 3-second socket timeout."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import SMTPSession
from kit.server import LabServer

COMMANDS = ["EHLO fuzz.example.test", "HELO fuzz", "MAIL FROM:<a@x.test>", "MAIL FROM:<>",
            "RCPT TO:<bob@example.test>", "RCPT TO:<x@elsewhere.test>", "DATA", "RSET", "NOOP", "VRFY bob",
            "HELP", "HELP BDAT", "BDAT 5", "BDAT 0 LAST", "BDAT 3 LAST", "BDAT x", "AUTH PLAIN", "STARTTLS",
            "EXPN x", "QUIT"]

# a server thread that dies (e.g. the committer after the loop closed) fails the test
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

TRANSACTION = b"EHLO f.example.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<bob@example.test>\r\n"

piece = st.one_of(
    st.sampled_from(COMMANDS).map(lambda c: c.encode() + b"\r\n"),
    # whole transactions, so that some messages are accepted and must be stored
    st.binary(max_size=60).map(lambda body: TRANSACTION + b"DATA\r\n" + body + b"\r\n.\r\n"),
    st.binary(max_size=60).map(lambda body: TRANSACTION + b"BDAT %d LAST\r\n" % len(body) + body),
    st.tuples(st.binary(max_size=30), st.integers(0, 40)).map(
        lambda t: TRANSACTION + b"BDAT %d\r\n" % t[1] + t[0]),  # a size that may not match
    st.binary(max_size=40),
    st.sampled_from([b"\n", b"\r\n.\r\n", b".\r\n", b"\x00\r\n", b"x" * 600 + b"\r\n", b"hello\nworld\r\n"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(piece, min_size=1, max_size=12), st.booleans())
def test_random_input_never_breaks_the_server(pieces, hang_up):
    with LabServer(domains=["example.test"], users=["bob"], idle_timeout=1) as server:
        with socket.create_connection((server.host, server.port), timeout=3) as sock:
            received = b""
            try:
                for data in pieces:
                    sock.sendall(data)
                if hang_up:  # end of input now: replies still on their way may be lost
                    sock.shutdown(socket.SHUT_WR)
                else:  # end any message data, then say goodbye and read every reply
                    sock.sendall(b"\r\n.\r\nQUIT\r\n")
                while chunk := sock.recv(65536):
                    received += chunk
            except OSError:
                pass  # the server may close first (QUIT, 421): that is an answer too
        for line in received.split(b"\r\n")[:-1]:
            assert len(line) >= 3 and line[:3].isdigit() and line[:1] in b"2345", line
            assert line[3:4] in (b" ", b"-", b""), line
        acknowledged = received.count(b"queued as ")
        server.wait_idle(5)
        with SMTPSession(server.host, server.port) as s:  # still serving
            s.ehlo("after.example.test")
            assert s.mail("a@x.test").code == 250
        stored = len(server.mailbox)
        # every 250 is a stored message; a hang-up right after the end of a message may leave one
        # stored whose 250 never arrived (RFC 5321 §6.1: a duplicate, never a loss)
        assert stored == acknowledged if not hang_up else stored >= acknowledged
        assert all(m.envelope is not None for m in server.mailbox.messages())
        for transcript in server.transcripts:
            transcript.to_text()
            transcript._repr_html_()
