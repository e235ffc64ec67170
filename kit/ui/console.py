"""An SMTP console widget: play telnet inside the notebook.

Type a command, press Enter or *Send* (*Send* on an empty field sends an empty line),
and the dialogue grows below, client lines in blue, server lines coloured by the reply's first
digit as the sequence diagram draws them (`kit.ui.sequence.REPLY_COLOURS`, RFC 5321 §4.2.1:
2yz green, 3yz teal, 4yz orange, 5yz red; a line that is no reply is grey). Each line also
carries a class (``kit-console-client``, ``kit-console-reply-5yz``, ...) for tests and styles.
After ``354`` the lines you type are message data, until a line with a single dot. It drives a
real `SMTPSession` against a real server; `submit` is what the button calls, so the logic can be
tested without a browser.
"""

from __future__ import annotations

import html
import re

from ..client import SMTPClientError, SMTPSession
from ..i18n import _
from ..transcript import ARROWS, Line, note_text
from .sequence import CLIENT_COLOUR, NOTE_COLOUR, REPLY_COLOURS

_REPLY = re.compile(r"([2-5])\d\d(?:[ -]|$)")


def line_style(line: Line) -> tuple[str, str]:
    """``(css class, colour)`` of one transcript line in the console: the client's lines blue,
    the server's by their reply's first digit (as the sequence diagram), anything else grey."""
    if line.direction == "client":
        return "kit-console-client", CLIENT_COLOUR
    if line.direction == "server":
        match = _REPLY.match(line.text)
        if match:
            digit = int(match.group(1))
            return f"kit-console-reply-{digit}yz", REPLY_COLOURS[digit]
        return "kit-console-server", NOTE_COLOUR
    return "kit-console-info", NOTE_COLOUR


class SMTPConsole:
    """``SMTPConsole(server.host, server.port)``; display it as the last line of a cell."""

    def __init__(self, host: str = "127.0.0.1", port: int = 25, *, timeout: float = 10.0) -> None:
        import ipywidgets as w

        self.host, self.port, self.timeout = host, port, timeout
        self.session: SMTPSession | None = None
        self.command = w.Text(placeholder=_("e.g. EHLO me, then MAIL FROM:<you@example.test>"),
                              layout=w.Layout(width="60%"), description=_("command:"),
                              continuous_update=False)
        self.send_button = w.Button(description=_("Send"), button_style="primary")
        self.reconnect_button = w.Button(description=_("Reconnect"))
        self.status = w.HTML()
        self.log = w.HTML(layout=w.Layout(border="1px solid #ccc", padding="4px", min_height="120px"))
        # Enter (or leaving the field) commits the value; an empty line (the blank line between
        # header and body) is sent with the button, since an unchanged value fires no event.
        self._resetting = False
        self.command.observe(self._on_value, names="value")
        self.send_button.on_click(lambda _: self.submit(self.command.value))
        self.reconnect_button.on_click(lambda _: self.connect())
        self.widget = w.VBox([w.HBox([self.command, self.send_button, self.reconnect_button]),
                              self.status, self.log])
        self.widget.add_class("kit-smtp-console")
        self.connect()

    def _on_value(self, change: dict) -> None:
        if not self._resetting and change["new"] != "":
            self.submit(change["new"])

    def connect(self) -> None:
        """(Re)open the connection and show the greeting."""
        if self.session is not None:
            self.session.close()
        self.session = SMTPSession(self.host, self.port, timeout=self.timeout, connect=False)
        try:
            self.session.connect()
            self.status.value = self._connected()
        except SMTPClientError as exc:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
        self._render()

    def submit(self, line: str) -> None:
        """Send one typed line (what Enter and the Send button do)."""
        self._resetting = True
        self.command.value = ""
        self._resetting = False
        if self.session is None or not self.session.connected:
            self.status.value = _("not connected: press Reconnect")
            return
        try:
            reply = self.session.send_raw(line)
            if reply is not None and reply.code in (221, 421):  # the server closes after these
                self.session.close()
            in_data = self.session._in_data
            self.status.value = (_("message data: end with a line holding only '.'") if in_data
                                 else self._connected())
            if not self.session.connected:
                self.status.value = _("the server closed the connection")
        except ValueError as exc:
            self.status.value = html.escape(str(exc))
        except SMTPClientError as exc:
            self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
        self._render()

    def _connected(self) -> str:
        return _("connected to {host}:{port}").format(host=html.escape(self.host), port=self.port)

    def _render(self) -> None:
        rows = []
        for ln in self.session.transcript.lines if self.session else []:
            css, colour = line_style(ln)
            text = note_text(ln.text) if ln.direction == "info" else ln.text
            rows.append(f"<div class='{css}' style='color:{colour};font-family:monospace;white-space:pre'>"
                        f"{html.escape(ARROWS[ln.direction] + text)}</div>")
        self.log.value = "".join(rows)

    @property
    def transcript_text(self) -> str:
        return self.session.transcript.to_text() if self.session else ""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
