"""The widgets' logic, driven through the same methods their buttons call (real ipywidgets
objects; the browser test of issue 7 clicks the real thing)."""

from __future__ import annotations

import html
import re

from kit.ui import ReplyCodeExplorer, SMTPConsole, explain_html


def test_console_plays_telnet_against_the_lab_server(server):
    console = SMTPConsole(server.host, server.port)
    assert "220 lab.example.test ESMTP smtpkit" in console.log.value
    for line in ["EHLO me", "MAIL FROM:<a@x.test>", "RCPT TO:<b@example.test>", "DATA"]:
        console.submit(line)
    assert "message data" in console.status.value
    for line in ["Subject: console", "", "typed by hand", "."]:
        console.submit(line)
    assert "250 2.0.0 Ok: queued as" in console.log.value
    assert "250-PIPELINING" in console.log.value
    assert console.command.value == ""
    console.command.value = "NOOP"  # what pressing Enter in the text field does
    assert console.log.value.count("250 2.0.0 Ok") >= 1 and console.command.value == ""
    console.submit("QUIT")
    assert "closed" in console.status.value
    console.submit("NOOP")
    assert "not connected" in console.status.value
    console.connect()
    assert console.session.connected
    assert server.mailbox.latest.subject == "console"


def test_console_escapes_and_colours():
    from kit.server import LabServer

    with LabServer() as srv:
        console = SMTPConsole(srv.host, srv.port)
        console.submit("VRFY <script>alert(1)</script>")
        assert "<script>" not in console.log.value and "&lt;script&gt;" in console.log.value
        assert "#1f5fa8" in console.log.value and "#1e7b34" in console.log.value


def test_console_colours_replies_by_their_first_digit_as_the_diagram_does():
    from kit.server import LabServer
    from kit.transcript import Line
    from kit.ui.console import line_style
    from kit.ui.sequence import CLIENT_COLOUR, NOTE_COLOUR, REPLY_COLOURS

    assert line_style(Line("client", "EHLO me", 0.0)) == ("kit-console-client", CLIENT_COLOUR)
    for text, digit in [("250-lab.example.test", 2), ("250 2.0.0 Ok", 2), ("354 End data with", 3),
                        ("421 4.3.2 bye", 4), ("451", 4), ("500 5.5.2 Error", 5), ("503 5.5.1 Bad", 5)]:
        assert line_style(Line("server", text, 0.0)) == (f"kit-console-reply-{digit}yz", REPLY_COLOURS[digit])
    assert line_style(Line("server", "+OK POP3 ready", 0.0)) == ("kit-console-server", NOTE_COLOUR)
    assert line_style(Line("server", "2500 not a reply", 0.0))[0] == "kit-console-server"
    assert line_style(Line("info", "connected", 0.0)) == ("kit-console-info", NOTE_COLOUR)

    with LabServer() as srv:
        console = SMTPConsole(srv.host, srv.port)
        for line in ["HELO", "RCPT TO:<b@example.test>", "EHLO me", "NOOP"]:
            console.submit(line)
    rows = re.findall(r"<div class='([\w-]+)' style='color:(#[0-9a-f]+);[^']*'>([^<]*)</div>", console.log.value)
    by_text = {html.unescape(text).strip(): (css, colour) for css, colour, text in rows}
    assert len(rows) == console.log.value.count("<div"), "every line has its class and colour"
    greeting = next(t for t in by_text if t.startswith("<-  220"))
    assert by_text[greeting] == ("kit-console-reply-2yz", REPLY_COLOURS[2])
    refused = [(t, c) for t, c in by_text.items() if t.startswith("<-  5")]
    assert len(refused) == 2 and all(c == ("kit-console-reply-5yz", "#b00020") for _, c in refused), rows
    assert by_text["-> HELO"] == ("kit-console-client", CLIENT_COLOUR)
    assert not [t for t, (css, _) in by_text.items() if t.startswith("<-  5") and "2yz" in css]


def test_console_reports_a_server_that_is_not_there():
    from kit.server import LabServer

    with LabServer() as srv:
        port = srv.port
    console = SMTPConsole("127.0.0.1", port, timeout=2)
    assert "cannot connect" in console.status.value


def test_explorer_explains_digits_and_enhanced_codes():
    explorer = ReplyCodeExplorer()
    explorer.code.value = "451"
    text = explorer.result.value
    assert "local error in processing" in text and "Transient negative" in text and "Mail system" in text
    explorer.pick.value = "354"
    assert explorer.code.value == "354" and "Start mail input" in explorer.result.value
    assert "Bad destination mailbox address" in explain_html("550 5.1.1 User unknown")
    assert "not part of SMTP" in explain_html("150") and "Not a valid SMTP reply" in explain_html("150")
    assert "not a" in explain_html("abc") or "not a three-digit" in explain_html("abc")
    assert "read it digit by digit" in explain_html("259")


def test_explorer_output_carries_html_for_views_without_widgets():
    """A RISE slide or a static page cannot draw the widget: the same output brings the explanation
    of the cell's code as HTML; JupyterLab still gets the widget view."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(ReplyCodeExplorer("550 5.1.1 User unknown"))
    assert "application/vnd.jupyter.widget-view+json" in data
    page = data["text/html"]
    assert "Bad destination mailbox address" in page and "Permanent negative" in page
    assert "kit-reply-explorer-static" in page and "run it again" in page
    other = DisplayFormatter().format(ReplyCodeExplorer("421"))[0]["text/html"]
    assert "closing transmission channel" in other and "Bad destination" not in other
