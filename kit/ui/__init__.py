"""Widgets for the notebooks (ipywidgets, imported only when a widget is made)."""

from .console import SMTPConsole
from .explorer import ReplyCodeExplorer, explain_html
from .sequence import sequence_diagram

__all__ = ["SMTPConsole", "ReplyCodeExplorer", "explain_html", "sequence_diagram"]
