"""What students type, made safe to show: control characters visible, length cut.

Everything on the dashboard that a student chose (HELO names, commands, addresses, subjects)
passes through `visible` first; the HTML view then escapes it (`html.escape`). A projector
must never ring a bell, move a cursor (ANSI escapes), reverse text (bidi overrides, the
"Trojan Source" trick) or freeze on a 10 MB line.
"""

from __future__ import annotations

#: Characters shown by default before a text is cut.
DEFAULT_LIMIT = 120


def _picture(ch: str) -> str:
    """A visible stand-in for one control or format character."""
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400 "CONTROL PICTURES": ␀ ␇ ␉ ␊ ␍ ␛ ...
    if code == 0x7F:
        return "\u2421"  # ␡
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """``text`` with every control, format or separator character shown as a picture or a
    code (``\\x1b`` -> ``␛``, U+202E -> ``\\u202e``), cut to at most ``limit`` characters;
    a cut text ends in ``…`` and says how long it was. Not HTML-escaped: the HTML view does that.
    """
    if limit < 8:
        raise ValueError("limit must be at least 8 characters")
    head = text[: limit + 1]  # only what can be shown is looked at: a 10 MB line costs nothing
    out: list[str] = []
    size = 0
    for ch in head:
        piece = ch if ch.isprintable() else _picture(ch)  # "Other" and "Separator" (but space)
        out.append(piece)
        size += len(piece)
        if size > limit:
            break
    shown = "".join(out)
    if len(text) <= limit and len(shown) <= limit:
        return shown
    tail = f"… [{len(text):,} chars]"
    return shown[: max(limit - len(tail), 1)] + tail
