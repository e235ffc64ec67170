"""How the deck looks from the back row: one style sheet for the live deck (RISE) and the
offline export (reveal.js), sized for a 1280x720 slide.

Reveal.js lays a slide out at ``SLIDE_WIDTH`` x ``SLIDE_HEIGHT`` and scales it to the screen, so a
24 px letter here stays 24 px on a 1280x720 projector and becomes 36 px on 1920x1080. Every text
rule below is at least ``MIN_TEXT_PX``; figures are held inside the slide (``max-height``) so a
matplotlib picture never runs off its bottom edge.
"""

from __future__ import annotations

__all__ = ["SLIDE_WIDTH", "SLIDE_HEIGHT", "MIN_TEXT_PX", "DECK_CSS", "rise_settings"]

SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
MIN_TEXT_PX = 24

DECK_CSS = f"""\
/* smtpkit present: legible from the back row ({MIN_TEXT_PX} px at least, slides of {SLIDE_WIDTH}x{SLIDE_HEIGHT}) */
.reveal {{ font-size: 28px; }}
.reveal .slides {{ text-align: left; }}
.reveal .slides section, .reveal .slides section p, .reveal .slides section li,
.reveal .slides section td, .reveal .slides section th,
.reveal .jp-RenderedHTMLCommon, .reveal .jp-RenderedHTMLCommon p, .reveal .jp-RenderedHTMLCommon li,
.reveal .jp-RenderedHTMLCommon td, .reveal .jp-RenderedHTMLCommon th, .reveal .jp-RenderedHTMLCommon code {{
  font-size: 28px; line-height: 1.3;
}}
.reveal h1, .reveal .jp-RenderedHTMLCommon h1 {{ font-size: 56px; }}
.reveal h2, .reveal .jp-RenderedHTMLCommon h2 {{ font-size: 44px; }}
.reveal h3, .reveal .jp-RenderedHTMLCommon h3 {{ font-size: 34px; }}
.reveal pre, .reveal code, .reveal .jp-OutputArea-output pre, .reveal .jp-RenderedText pre,
.reveal .CodeMirror, .reveal .cm-editor, .reveal .cm-content, .reveal .jp-InputArea-editor,
.reveal .highlight pre {{
  font-size: {MIN_TEXT_PX}px !important; line-height: 1.25;
}}
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt {{ font-size: {MIN_TEXT_PX}px; }}
.reveal .widget-html-content, .reveal .widget-label, .reveal .widget-radio-box label,
.reveal .jupyter-widgets, .reveal .widget-text input, .reveal .widget-button {{
  font-size: {MIN_TEXT_PX}px !important;
}}
.reveal img, .reveal .jp-RenderedImage img, .reveal .jp-OutputArea-output img {{
  max-width: 100%; max-height: {SLIDE_HEIGHT - 200}px; width: auto; height: auto; object-fit: contain;
}}
.reveal .kit-deck-timing {{ font-size: {MIN_TEXT_PX}px; color: #555; }}
.reveal table {{ border-collapse: collapse; }}
.reveal td, .reveal th {{ padding: 0.15em 0.5em; border-bottom: 1px solid #ccc; }}
aside.notes {{ display: none; }}
/* a long course cell scrolls inside its slide instead of running off it */
.reveal .slides > section, .reveal .slides > section > section {{ max-height: {SLIDE_HEIGHT}px; overflow-y: auto; }}
"""


def rise_settings() -> dict:
    """The notebook's ``rise`` metadata: jupyterlab-rise reads it over its own settings."""
    return {"theme": "white", "transition": "none", "width": SLIDE_WIDTH, "height": SLIDE_HEIGHT,
            "scroll": True, "slideNumber": "c/t", "center": False, "start_slideshow_at": "beginning",
            "autolaunch": True, "enable_chalkboard": False}
