"""The lab server reads DATA in blocks (kit.protocol.data.DataReader) where aiosmtpd reads it
line by line: the same bytes must give the same replies and the same stored message. A bare
aiosmtpd server (its own ``smtp_DATA``) is the reference, over real sockets, with the data cut
into segments in several ways, sent before the 354, and followed by pipelined commands."""

from __future__ import annotations

import random
import socket
import time
from itertools import pairwise

import pytest
from aiosmtpd.controller import Controller
from smtp_raw import RawClient

from kit.server import LabServer

LIMIT = 6000  # data_size_limit of both servers


class Keep:
    """aiosmtpd handler that keeps the content of every message."""

    def __init__(self) -> None:
        self.contents: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.contents.append(envelope.original_content)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def servers():
    keep = Keep()
    reference = Controller(keep, hostname="127.0.0.1", port=_free_port(), server_hostname="ref",
                           data_size_limit=LIMIT)
    reference.start()
    try:
        with LabServer(domains=["example.test"], max_message_size=LIMIT) as lab:
            yield reference, keep, lab
    finally:
        reference.stop()


def _lab_content(lab: LabServer, before: int) -> bytes | None:
    """The message the lab server stored after ``before`` others, without its trace fields."""
    keys = lab.mailbox.keys()
    if len(keys) == before:
        return None
    lines = lab.mailbox.raw(keys[-1]).split(b"\n")
    assert lines[0].startswith(b"Return-Path:") and lines[1].startswith(b"Received:")
    i = 2
    while i < len(lines) and lines[i][:1] == b"\t":
        i += 1
    return b"\n".join(lines[i:])


def _talk(port: int, blocks: list[bytes], early: bool) -> list[str]:
    """One transaction; the data after 354 in ``blocks`` (each its own write), or with ``early``
    in the same write as DATA. Returns the reply codes to DATA's end and to a NOOP after it."""
    c = RawClient("127.0.0.1", port)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        assert c.reply().startswith("220")
        assert c.cmd("EHLO client.example").startswith("250")
        assert c.cmd("MAIL FROM:<a@client.example>").startswith("250")
        assert c.cmd("RCPT TO:<bob@example.test>").startswith("250")
        if early:
            c.send(b"DATA\r\n" + b"".join(blocks))
            assert c.reply().startswith("354")
        else:
            assert c.cmd("DATA").startswith("354")
            for block in blocks:
                c.send(block)
                time.sleep(0.002)  # a segment of its own (mostly)
        codes = [c.reply()[:3]]  # the last block carries "NOOP": its reply follows
        codes.append(c.reply()[:3])
        return codes
    finally:
        c.close()


def _compare(servers, stream: bytes, cuts: list[list[int]]) -> None:
    reference, keep, lab = servers
    for points in cuts:
        edges = [0, *sorted({p for p in points if 0 < p < len(stream)}), len(stream)]
        blocks = [stream[a:b] for a, b in pairwise(edges)]
        for early in (False, True):
            n_ref, n_lab = len(keep.contents), len(lab.mailbox)
            ref_codes = _talk(reference.port, blocks, early)
            lab_codes = _talk(lab.port, blocks, early)
            assert lab_codes == ref_codes, (stream[:80], points, early)
            ref = keep.contents[-1] if len(keep.contents) > n_ref else None
            mine = _lab_content(lab, n_lab)
            expected = None if ref is None else ref.replace(b"\r\n", b"\n")  # a Maildir stores LF
            assert mine == expected, (stream[:80], points, early)


def _line(n: int, fill: bytes = b"y") -> bytes:
    return fill * n + b"\r\n"


CASES = {
    "plain": b"Subject: x\r\n\r\nhello\r\n",
    "empty": b"",
    "dots": b"..leading\r\n...\r\n. space\r\nmid.dle.\r\n..\r\n",
    "smuggling": b"a\n.\nMAIL FROM:<e@x>\r\nb\r.\rc\r\n.\nd\n.\r\ne\r\n",
    "bare cr lf": b"\r\r\n\n\r\n\r\n\r\n",
    **{f"line {n}": b"a\r\n" + _line(n) + b"b\r\n" for n in (997, 998, 999, 1000, 1001, 1002, 1003, 2500)},
    "size at the limit": _line(98) * 60,  # 6000 octets
    "one over": _line(98) * 59 + _line(99),
    "long and too big (counted first)": _line(998) * 5 + _line(1000) + _line(10),
    "longer and too big (counted first)": _line(998) * 5 + _line(1001) + _line(10),
    "long and too big (too long first)": _line(998) * 5 + _line(1002) + _line(10),
    "too big then too long": _line(900) * 7 + _line(1500),
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_replies_and_content_as_aiosmtpd(servers, name):
    stream = CASES[name] + b".\r\nNOOP\r\n"
    cuts = [[], [1, 2, 3], [len(stream) - 9, len(stream) - 8, len(stream) - 7, len(stream) - 6],
            list(range(97, len(stream), 97))]
    _compare(servers, stream, cuts)


def test_random_streams_against_aiosmtpd(servers):
    """Bounded: 12 random messages of up to ~7 KB, each cut at random points."""
    rng = random.Random(14)
    pieces = [b"\r\n", b".", b"\r", b"\n", b"a", b"\r\n.", b"..", b"x" * 60, b"y" * 999, b"\r\n.\r\n"[:4]]
    for _ in range(12):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        if stream.startswith(b".\r\n"):
            stream = b".\r\nNOOP\r\n"  # empty data
        else:  # up to the first end of data, then a pipelined NOOP
            stream += b"\r\n.\r\n"
            stream = stream[:stream.find(b"\r\n.\r\n") + 5] + b"NOOP\r\n"
        cuts = [sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(1, 6))))]
        _compare(servers, stream, cuts)


def test_a_100_kb_message_in_many_segments_is_stored_byte_for_byte(servers):
    _, _, lab = servers
    rng = random.Random(7)
    body = b"".join(b"." * rng.randint(0, 2) + bytes(rng.choices(b"abc .\r", k=rng.randint(0, 200))) + b"\r\n"
                    for _ in range(1200))
    body = body.replace(b"\r\n.\r\n", b"\r\n..\r\n")
    wire = body + b".\r\nNOOP\r\n"
    with LabServer(domains=["example.test"]) as big:
        n = len(big.mailbox)
        points = sorted(rng.sample(range(1, len(wire)), 40))
        codes = _talk(big.port, [wire[a:b] for a, b in pairwise([0, *points, len(wire)])], False)
        assert codes == ["250", "250"]
        lines = body.split(b"\r\n")[:-1]
        expected = b"".join((ln[1:] if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)
        assert _lab_content(big, n) == expected.replace(b"\r\n", b"\n")


def test_a_bdat_chunk_over_the_limit_is_read_refused_and_the_session_goes_on(servers):
    """RFC 3030 §2: the chunk's octets are read whatever the answer; beyond the limit they are
    only counted (the server keeps at most the room left, not the 2 MB announced)."""
    _, _, lab = servers
    n = len(lab.mailbox)
    c = RawClient(lab.host, lab.port)
    try:
        assert c.reply().startswith("220")
        assert c.cmd("EHLO client.example").startswith("250")
        assert c.cmd("MAIL FROM:<a@client.example>").startswith("250")
        assert c.cmd("RCPT TO:<bob@example.test>").startswith("250")
        chunk = (b"x" * 998 + b"\r\n") * 2000
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk + b"NOOP\r\n")
        assert c.reply() == "552 5.3.4 Error: message file too big"
        assert c.reply() == "250 2.0.0 Ok"  # the NOOP after the chunk is a command again
        assert c.cmd("MAIL FROM:<a@client.example>").startswith("250")
        assert c.cmd("RCPT TO:<bob@example.test>").startswith("250")
        c.send(b"BDAT 5\r\nHi\r\nxBDAT 0 LAST\r\n")
        assert c.reply() == "250 2.0.0 5 octets received"
        assert c.reply().startswith("250 2.0.0 Ok: queued as")
    finally:
        c.close()
    assert _lab_content(lab, n) == b"Hi\nx"
