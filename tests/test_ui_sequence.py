"""The sequence diagram of a transcript: the rows it draws (pure) and the figure (Agg)."""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from kit import SMTPSession
from kit.transcript import Transcript
from kit.ui.sequence import REPLY_COLOURS, sequence_diagram, steps

SEED = ["HELO identity", "MAIL FROM:<a1@ausgedacht.de>", "RCPT TO:<bob@example.test>", "DATA",
        "From: <not_exists@ausgedacht.de>", "To: <not_exists2@ausgedacht.de>", "Subject: Betreff",
        "Message-ID: <0000000@example.test>", "In-Reply-To: <123456@example.com>", "",
        "Hier ist Platz für den Inhalt der Mail.", "."]


def make(*lines: tuple[str, str], start: float = 1000.0) -> Transcript:
    t = Transcript(peer="test", started=start)
    for i, (direction, text) in enumerate(lines):
        t.add(direction, text, when=start + i)
    return t


def kinds(rows) -> list[str]:
    return [r.kind for r in rows]


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50, metadata={"Software": None})
    return buf.getvalue()


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_the_seed_session_row_by_row(server):
    with SMTPSession(server.host, server.port) as s:
        for line in SEED:
            s.send_raw(line)
        s.quit()
    rows = steps(s.transcript)
    labels = [r.label for r in rows]
    assert kinds(rows) == ["note", "reply", "command", "reply", "command", "reply", "command", "reply",
                           "command", "reply", "data", "dot", "reply", "command", "reply", "note"]
    assert labels[1] == "220 lab.example.test ESMTP smtpkit" and labels[2] == "HELO identity"
    assert "message data (7 lines)" in labels  # 7 lines between 354 and the dot, blank line included
    assert [r.code for r in rows if r.kind == "reply"][-3:] == [354, 250, 221]
    assert labels[-4].startswith("250 2.0.0 Ok: queued as ")
    # the server saw the same dialogue: same rows but for the notes
    server_rows = [r for r in steps(server.transcripts.last) if r.kind != "note"]
    assert [(r.kind, r.label) for r in server_rows] == [(r.kind, r.label) for r in rows if r.kind != "note"]


def test_directions():
    rows = steps(make(("server", "220 hi"), ("client", "NOOP"), ("server", "250 2.0.0 Ok"), ("info", "closed")))
    assert [r.direction for r in rows] == ["server", "client", "server", "info"]


def test_a_multi_line_reply_is_one_arrow():
    rows = steps(make(("client", "EHLO me"), ("server", "250-lab.example.test"), ("server", "250-PIPELINING"),
                      ("server", "250 HELP"), ("client", "QUIT")))
    assert kinds(rows) == ["command", "reply", "command"]
    assert rows[1].label == "250-lab.example.test  (+2 lines)" and rows[1].lines == 3 and rows[1].code == 250


def test_short_data_is_shown_line_by_line_and_long_data_summarised():
    short = make(("client", "DATA"), ("server", "354 go"), ("client", "Subject: x"), ("client", ""),
                 ("client", "hi"), ("client", "."), ("server", "250 2.0.0 Ok"))
    assert [r.label for r in steps(short)][2:6] == ["Subject: x", "(empty line)", "hi", ".  (end of data)"]
    long = steps(short, data_lines=2)
    assert [r.label for r in long][2:4] == ["message data (3 lines)", ".  (end of data)"]
    assert long[2].lines == 3
    one = steps(make(("client", "DATA"), ("server", "354 go"), ("client", "x"), ("client", ".")), data_lines=0)
    assert one[2].label == "message data (1 line)"


def test_lines_the_server_did_not_record_are_counted():
    t = make(("client", "DATA"), ("server", "354 go"), *[("client", f"line {i}") for i in range(60)],
             ("info", "(40 more lines of data not shown)"), ("client", "."), ("server", "250 2.0.0 Ok"))
    rows = steps(t)
    assert kinds(rows) == ["command", "reply", "data", "dot", "reply"]
    assert rows[2].label == "message data (100 lines)"


def test_data_only_after_354():
    # DATA refused (503): what follows are commands again, not message data
    rows = steps(make(("client", "DATA"), ("server", "503 5.5.1 Error: need RCPT command"), ("client", "."),
                      ("server", "500 5.5.2 Error: command not recognized")))
    assert kinds(rows) == ["command", "reply", "command", "reply"]
    assert [r.code for r in rows if r.code] == [503, 500]


def test_a_session_cut_during_data():
    rows = steps(make(("client", "DATA"), ("server", "354 go"), ("client", "a"), ("info", "connection closed")))
    assert kinds(rows) == ["command", "reply", "data", "note"]


def test_pipelined_commands_go_out_before_their_replies(server):
    with SMTPSession(server.host, server.port) as s:
        s.ehlo("me")
        s.pipeline(["MAIL FROM:<a@x.test>", "RCPT TO:<bob@example.test>", "RCPT TO:<x@elsewhere.test>"])
    rows = [r for r in steps(s.transcript) if r.kind != "note"]
    assert kinds(rows)[3:9] == ["command"] * 3 + ["reply"] * 3
    assert [r.code for r in rows[6:9]] == [250, 250, 554]


def test_long_labels_are_cut():
    rows = steps(make(("client", "RCPT TO:<" + "x" * 200 + "@example.test>")))
    assert len(rows[0].label) <= 64 and rows[0].label.endswith("…")


def test_elapsed_is_from_the_start():
    rows = steps(make(("server", "220 hi"), ("client", "QUIT"), start=50.0))
    assert [r.elapsed for r in rows] == [0.0, 1.0]


def test_the_figure_draws_one_arrow_per_row_in_order():
    t = make(("server", "220 hi"), ("client", "MAIL FROM:<a@x.test>"), ("server", "550 5.1.1 no"),
             ("info", "connection closed"))
    fig = sequence_diagram(t, title="a session")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    arrows = [a for a in ax.texts if a.get_text() == "" and hasattr(a, "xy")]
    assert len(arrows) == 3
    # top to bottom (y grows downwards), right-to-left for replies, left-to-right for commands
    ys = [a.xy[1] for a in arrows]
    assert ys == sorted(ys)
    assert [(a.xyann[0], a.xy[0]) for a in arrows] == [(1.0, 0.0), (0.0, 1.0), (1.0, 0.0)]
    colours = [a.arrow_patch.get_edgecolor() for a in arrows]
    from matplotlib.colors import to_rgba
    assert colours[0] == to_rgba(REPLY_COLOURS[2]) and colours[2] == to_rgba(REPLY_COLOURS[5])
    shown = texts(fig)
    for label in ["SMTP client", "SMTP server", "220 hi", "MAIL FROM:<a@x.test>", "550 5.1.1 no",
                  "connection closed"]:
        assert label in shown
    assert ax.get_title() == "a session"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["client → server", "2yz done", "5yz refused"]


def test_the_figure_is_deterministic():
    a = make(("server", "220 hi"), ("client", "NOOP"), ("server", "250 2.0.0 Ok"), start=1.0)
    b = make(("server", "220 hi"), ("client", "NOOP"), ("server", "250 2.0.0 Ok"), start=99999.0)
    assert png(sequence_diagram(a)) == png(sequence_diagram(a)) == png(sequence_diagram(b))


def test_times_and_names():
    t = make(("server", "220 hi"), ("client", "QUIT"))
    shown = texts(sequence_diagram(t, times=True, client="telnet", server="Postfix"))
    assert "0.000s" in shown and "1.000s" in shown and "telnet" in shown and "Postfix" in shown


def test_a_session_object_and_an_empty_transcript(server):
    with SMTPSession(server.host, server.port) as s:
        s.noop()
    assert "NOOP" in texts(sequence_diagram(s))
    fig = sequence_diagram(Transcript())
    assert "(no lines in this transcript)" in texts(fig)
    assert fig.axes[0].get_legend() is None
    png(fig)  # renders


@pytest.mark.parametrize("code, colour", [(221, REPLY_COLOURS[2]), (354, REPLY_COLOURS[3]),
                                          (451, REPLY_COLOURS[4]), (554, REPLY_COLOURS[5])])
def test_reply_colours_follow_the_first_digit(code, colour):
    from matplotlib.colors import to_rgba

    fig = sequence_diagram(make(("server", f"{code} text")))
    arrow = next(a for a in fig.axes[0].texts if hasattr(a, "arrow_patch") and a.arrow_patch is not None)
    assert arrow.arrow_patch.get_edgecolor() == to_rgba(colour)
