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
