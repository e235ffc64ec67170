"""Widgets for the notebooks (ipywidgets, imported only when a widget is made)."""

from .console import SMTPConsole
from .diagrams import actors_diagram, rfc_timeline
from .explorer import ReplyCodeExplorer, explain_html
from .sequence import sequence_diagram

__all__ = ["actors_diagram", "rfc_timeline", "SMTPConsole", "ReplyCodeExplorer", "explain_html", "sequence_diagram"]
