"""Unit tests for kit.protocol.data.DataReader: the server's block reader of DATA (RFC 5321
§4.1.1.4, §4.5.2, §4.5.3.1.6/7). A line-by-line model, transcribed from aiosmtpd's
``SMTP.smtp_DATA`` loop, is the reference: the block reader must agree with it for every input
and every way of cutting the input into blocks. tests/test_server_data_reader.py compares
the lab server with the real aiosmtpd over sockets."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.protocol.data import LINE_TOO_LONG, TOO_MUCH_DATA, ChunkReader, DataReader


def line_model(stream: bytes, max_size: int | None, max_line: int) -> tuple[str | None, bytes, int] | None:
    """aiosmtpd's DATA loop, line by line: (problem, content, octets after the end) or None."""
    problem, kept, count, pos = None, [], 0, 0
    while True:
        i = stream.find(b"\r\n", pos)
        if i < 0:
            return None  # the data has not ended
        line, pos = stream[pos:i + 2], i + 2
        if line == b".\r\n":
            break
        n = len(line) - 2
        if problem is None and n > max_line:  # the stream reader's limit overruns
            problem = LINE_TOO_LONG
        count += n + 2
        if problem is None and max_size and count > max_size:
            problem = TOO_MUCH_DATA
        if problem is None and n + 2 > max_line:
            problem = LINE_TOO_LONG
        if problem is None:
            kept.append(line[1:] if line.startswith(b".") else line)
    return problem, (b"".join(kept) if problem is None else b""), len(stream) - pos


def run(blocks: list[bytes], **limits) -> tuple[str | None, bytes, int] | None:
    reader = DataReader(**limits)
    for n, block in enumerate(blocks):
        end = reader.feed(block)
        if end >= 0:
            rest = len(block) - end + sum(len(b) for b in blocks[n + 1:])
            return reader.problem, reader.content, rest
    return None


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(stream) + 1) for p in points})
    edges = [0, *points, len(stream)]
    return [stream[a:b] for a, b in pairwise(edges) if b > a] or [b""]


@pytest.mark.parametrize(("stream", "content", "rest"), [
    (b".\r\n", b"", 0),
    (b".\r\nQUIT\r\n", b"", 6),
    (b"a\r\n.\r\n", b"a\r\n", 0),
    (b"..a\r\n.\r\nNOOP\r\n", b".a\r\n", 6),
    (b"a\r\n...\r\nb\r\n.\r\n", b"a\r\n..\r\nb\r\n", 0),
    (b"a\n.\nb\r.\rc\r\n.\r\n", b"a\n.\nb\r.\rc\r\n", 0),  # only CRLF.CRLF ends the data (smuggling)
    (b"\r\n\r\n.\r\n", b"\r\n\r\n", 0),
    (b"x.\r\n.\r\n", b"x.\r\n", 0),
])
def test_examples(stream, content, rest):
    assert run([stream]) == (None, content, rest)
    assert run([bytes([b]) for b in stream]) == (None, content, rest)  # one octet at a time


def test_not_ended_yet():
    reader = DataReader()
    for block in (b"a\r\n.", b"x\r", b"\n.", b"\r"):  # ".x" is a stuffed line, not the end
        assert reader.feed(block) == -1
    assert not reader.done
    assert reader.feed(b"\nRSET\r\n") == 1
    assert reader.content == b"a\r\nx\r\n"


def test_first_line_a_dot_ends_empty_data_even_in_pieces():
    reader = DataReader()
    assert reader.feed(b".") == -1
    assert reader.feed(b"\r") == -1
    assert reader.feed(b"\nMAIL") == 1
    assert (reader.done, reader.content) == (True, b"")


def test_feeding_after_the_end_is_an_error():
    reader = DataReader()
    reader.feed(b".\r\n")
    with pytest.raises(ValueError, match="already ended"):
        reader.feed(b"x")


@pytest.mark.parametrize(("n", "problem"), [(998, None), (999, None), (1000, LINE_TOO_LONG), (1001, LINE_TOO_LONG),
                                            (1002, LINE_TOO_LONG), (5000, LINE_TOO_LONG)])
def test_line_limit_is_1001_octets_with_crlf(n, problem):
    stream = b"a\r\n" + b"y" * n + b"\r\nb\r\n.\r\nQUIT\r\n"
    assert run([stream])[0] == problem
    assert run([stream]) == line_model(stream, None, 1001)
    assert run([stream[:700], stream[700:1500], stream[1500:]]) == line_model(stream, None, 1001)


@pytest.mark.parametrize(("n", "problem"), [
    (1000, TOO_MUCH_DATA),  # within the stream limit: counted first, and too much
    (1001, TOO_MUCH_DATA),
    (1002, LINE_TOO_LONG),  # beyond the stream limit: too long before it is counted
])
def test_which_limit_breaks_first(n, problem):
    stream = b"y" * n + b"\r\n.\r\n"
    assert run([stream], max_size=500) == (problem, b"", 0)
    assert line_model(stream, 500, 1001) == (problem, b"", 0)


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11])
def test_size_limit_counts_lines_with_crlf_before_unstuffing(size):
    stream = b"..ab\r\nc\r\n.\r\n"  # 6 + 3 = 9 octets before un-stuffing
    expected = TOO_MUCH_DATA if 0 < size < 9 else None
    assert run([stream], max_size=size or None)[0] == expected
    assert run([stream], max_size=size) == line_model(stream, size, 1001)


def test_a_broken_limit_keeps_nothing_and_memory_stays_bounded():
    reader = DataReader(max_size=100)
    for _ in range(2000):  # 2 MB of lines, then a line of 1 MB without CRLF
        assert reader.feed(b"z" * 998 + b"\r\n") == -1
    for _ in range(1000):
        assert reader.feed(b"w" * 1000) == -1
        assert len(reader._tail) <= 3 and not reader._parts
    assert reader.feed(b"\r\n.\r\nRSET\r\n") == 5
    assert (reader.problem, reader.content) == (TOO_MUCH_DATA, b"")


def test_a_line_too_long_is_noticed_before_its_end_arrives():
    reader = DataReader()
    reader.feed(b"ok\r\n" + b"x" * 1003)
    assert reader.problem == LINE_TOO_LONG
    assert len(reader._tail) <= 3


def test_bad_max_line():
    with pytest.raises(ValueError, match="max_line"):
        DataReader(max_line=2)


# bytes rich in what matters: CR, LF, dots, line ends, and long runs near the limits
_piece = st.sampled_from([b"\r", b"\n", b".", b"a", b"\r\n", b".\r\n", b"\r\n.", b"..", b"\r\n.\r\n",
                          b"x" * 40, b"y" * 997, b"y" * 998, b"y" * 999, b"y" * 1000, b"y" * 1001])
_streams = st.lists(_piece, max_size=40).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(_streams, st.lists(st.integers(0, 50_000), max_size=8), st.sampled_from([None, 50, 1000, 3000]),
       st.sampled_from([1001, 80, 3]))
def test_blocks_agree_with_the_line_model(stream, points, max_size, max_line):
    stream += b"\r\n.\r\nQUIT\r\n"  # always ends (maybe earlier)
    expected = line_model(stream, max_size, max_line)
    assert run([stream], max_size=max_size, max_line=max_line) == expected
    assert run(cut(stream, points), max_size=max_size, max_line=max_line) == expected


@settings(max_examples=200, deadline=None)
@given(_streams)
def test_unended_stream_never_ends(stream):
    stream = stream.replace(b".", b",")  # no dot, no end
    assert line_model(stream, None, 1001) is None
    assert run([stream]) is None
    assert run([bytes([b]) for b in stream[:300]]) is None


# -- ChunkReader (BDAT, RFC 3030 §2) ---------------------------------------------------------------


def test_chunk_takes_exactly_its_size_whatever_the_octets():
    reader = ChunkReader(7)
    assert reader.feed(b".\r\n") == -1
    assert reader.feed(b"ab\r\n.\r\nBDAT 1 LAST\r\n") == 4  # 3 + 4 = 7; the rest is the next command
    assert (reader.done, reader.content) == (True, b".\r\nab\r\n")
    with pytest.raises(ValueError, match="already ended"):
        reader.feed(b"x")


def test_empty_chunk_is_done_at_once():
    assert ChunkReader(0).done and ChunkReader(0).content == b""
    with pytest.raises(ValueError):
        ChunkReader(-1)


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6), st.integers(0, 300),
       st.one_of(st.none(), st.integers(-5, 400)))
def test_chunk_in_any_blocks(data, points, size, keep):
    size = min(size, len(data))
    reader = ChunkReader(size, keep=keep)
    taken, rest = 0, None
    for block in cut(data, points):
        if reader.done:
            break
        end = reader.feed(block)
        if end >= 0:
            rest = block[end:]
        taken += len(block) if end < 0 else end
    if size == 0:
        assert reader.done and reader.content == b""
        return
    assert reader.done and taken == size
    kept = size if keep is None else max(min(keep, size), 0)
    assert reader.content == data[:kept]
    assert data[size:].startswith(rest)


def test_a_huge_announced_chunk_costs_no_memory_beyond_keep():
    reader = ChunkReader(50_000_000, keep=1000)
    for _ in range(100):
        reader.feed(b"z" * 65536)
    assert sum(map(len, reader._parts)) == 1000


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 1200), min_size=1, max_size=30), st.sampled_from([3, 4, 80, 1001]),
       st.binary(max_size=3))
def test_the_window_check_never_misses_a_long_line(lengths, max_line, filler):
    from kit.protocol.data import _may_have_long_line

    fill = (filler.replace(b"\r", b"a").replace(b"\n", b"b") or b"y") * 1200
    lines = b"".join(fill[:n] + b"\r\n" for n in lengths)
    if max(lengths) + 2 > max_line:
        assert _may_have_long_line(lines, max_line)
    if max_line == 1001 and max(lengths) < 498:
        assert not _may_have_long_line(lines, max_line)  # ordinary mail takes the fast path
