"""Transcripts: the same model for server and client, rendered as swaks-style text and HTML."""

from __future__ import annotations

from kit import send_mail
from kit.transcript import Transcript


def test_server_transcript_mirrors_the_client_transcript(server):
    result = send_mail(server.host, server.port, "a@x.test", "b@example.test", subject="mirror")
    server_t = server.transcripts.last
    assert server_t.client_lines() == result.transcript.client_lines()
    assert server_t.server_lines() == result.transcript.server_lines()
    assert [r.code for r in server_t.replies()] == [220, 250, 250, 250, 354, 250, 221]


def test_text_rendering_in_swaks_style():
    t = Transcript(peer="127.0.0.1:1")
    t.add("server", "220 hi", when=t.started)
    t.add("client", "EHLO me", when=t.started + 0.25)
    t.add("info", "note", when=t.started + 0.5)
    assert t.to_text() == "<-  220 hi\n -> EHLO me\n=== note"
    assert t.to_text(times=True).splitlines()[1] == "[  0.250s]  -> EHLO me"


def test_html_escapes_everything():
    t = Transcript(peer="<peer>")
    t.add("client", "MAIL FROM:<evil@x.test><script>")
    html = t._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;peer&gt;" in html


def test_long_data_is_summarised_in_the_transcript(server):
    body = "\n".join(f"line {i}" for i in range(500))
    send_mail(server.host, server.port, "a@x.test", "b@example.test", subject="long", body=body)
    text = server.transcripts.last.to_text()
    assert "more lines of data not shown" in text
    assert len(server.transcripts.last) < 120
    assert server.mailbox.latest.message.get_content().count("\n") == 500


def test_to_dict_is_json_ready(server):
    import json

    send_mail(server.host, server.port, "a@x.test", "b@example.test")
    data = json.loads(json.dumps(server.transcripts.last.to_dict()))
    assert data["lines"][0]["direction"] == "info"
    assert any(line["text"].startswith("220 ") for line in data["lines"])


def test_big_message_keeps_a_bounded_transcript(server):
    body = "\n".join(f"line {i:06d} " + "x" * 60 for i in range(5000))  # ~360 KB
    result = send_mail(server.host, server.port, "a@x.test", "b@example.test", subject="big", body=body)
    assert result.ok
    t = server.transcripts.last
    text = t.to_text()
    assert "line 000000" in text and "line 004999" not in text
    hidden = int(text.split("(", 1)[1].split(" more lines")[0])
    shown = sum(1 for ln in t.lines if ln.text.startswith("line "))
    assert shown + hidden >= 5000  # every data line is shown or counted
    assert " -> .\n<-  250 2.0.0 Ok: queued as" in text
    assert t.client_lines()[-1] == "QUIT"
    assert sum(len(ln.text) for ln in t.lines) < 40_000


def test_chunks_are_cut_into_lines_across_boundaries():
    t = Transcript()
    t.add("server", "220 hi")
    t.add_chunk(b"EHLO m")
    t.add_chunk(b"e\r\nNOOP\n")
    assert [(ln.direction, ln.text) for ln in t.lines] == [
        ("server", "220 hi"), ("client", "EHLO me"), ("client", "NOOP"),
        ("info", "the line above ended in a bare LF; SMTP lines end in CRLF (RFC 5321 §2.3.8)")]


def test_client_transcript_shows_reply_lines_as_received():
    from tiny_peer import TinyPeer

    def answer(line: str, state: dict) -> tuple[bytes, bool]:
        if line.upper().startswith("QUIT"):
            return b"221 2.0.0 Bye\r\n", True
        return b"250-2.0.0 first line\r\n250 second line\r\n", False

    from kit import SMTPSession

    with TinyPeer(b"220 peer.example.test ESMTP\r\n", answer) as peer:
        with SMTPSession(peer.host, peer.port, timeout=5) as s:
            s.noop()
    assert s.transcript.server_lines()[1:3] == ["250-2.0.0 first line", "250 second line"]
