"""The seminar, live (`smtpkit present`): a 90-minute deck assembled from the course's own cells
(`deck`), presented with RISE in JupyterLab, and exported as offline HTML slides (`export`);
legible from the back row (`style`).
"""

from .deck import DECK_NAME, Deck, DeckError, Section, assemble, deck_source, references, write_deck
from .style import DECK_CSS, MIN_TEXT_PX, SLIDE_HEIGHT, SLIDE_WIDTH

__all__ = ["assemble", "write_deck", "references", "deck_source", "Deck", "DeckError", "Section", "DECK_NAME",
           "DECK_CSS", "MIN_TEXT_PX", "SLIDE_WIDTH", "SLIDE_HEIGHT"]
