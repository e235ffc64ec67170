"""The kit's messages in the student's language: gettext style, one catalog per language.

Every student-facing text of the kit is written in English in the code and wrapped: ``_("...")``
where it is shown, ``N_("...")`` where it is a module constant (an exercise's title, a test's
name, a table of explanations), which only marks it for the catalog and is translated where it is
shown (gettext's deferred translation). The German texts live in
``kit/locale/de/LC_MESSAGES/kit.po``; ``python -m kit.i18n_extract`` keeps that catalog in step
with the code and a test fails on an entry that is missing, untranslated, fuzzy or obsolete.

The catalog is read from the PO file itself (with polib) at its first use and cached, not
compiled to ``.mo`` at build time: the kit is installed editable from a checkout in the seminar,
where a build step would be one more thing to forget and a stale ``.mo`` would silently show old
text; the PO is the one source, reviewed in diffs, and reading it costs a few milliseconds once.

The language is looked up at every call, never at import: a scope (``using``, e.g. the grader for
one assignment) wins over ``set_language`` (code in a notebook), which wins over the environment
variable ``SMTPKIT_LANG`` (``%env SMTPKIT_LANG=de`` in a German notebook, after ``import kit``),
and the default is English. A language without a catalog falls back to English, as does any text
the catalog does not have. English is the source itself: its output never passes a catalog.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

__all__ = ["ENV", "DEFAULT", "LOCALE_DIR", "language", "set_language", "using", "languages",
           "gettext", "ngettext", "N_", "_", "Deferred", "catalog_path"]

#: The environment variable that chooses the language (``de``, ``de_DE.UTF-8``, ``en``).
ENV = "SMTPKIT_LANG"
#: The language of the source texts.
DEFAULT = "en"
#: Where the catalogs live: ``LOCALE_DIR/<lang>/LC_MESSAGES/kit.po``.
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "kit"

_scoped: ContextVar[str | None] = ContextVar("smtpkit_lang", default=None)
_chosen: str | None = None
_lock = threading.Lock()


def _normalise(lang: str | None) -> str:
    """``de_DE.UTF-8`` -> ``de``; blank -> ''."""
    text = (lang or "").strip().lower()
    for sep in (".", "@", "_", "-"):
        text = text.split(sep, 1)[0]
    return text


def catalog_path(lang: str) -> Path:
    """The PO file of ``lang`` (which may not exist)."""
    return LOCALE_DIR / _normalise(lang) / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> list[str]:
    """The languages the kit speaks: English and every language with a catalog."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return sorted(found | {DEFAULT})


def language() -> str:
    """The language of the kit's messages right now (``en`` unless chosen and available)."""
    for wanted in (_scoped.get(), _chosen, os.environ.get(ENV)):
        lang = _normalise(wanted)
        if lang:
            return lang if lang == DEFAULT or _has_catalog(lang) else DEFAULT
    return DEFAULT


@cache
def _has_catalog(lang: str) -> bool:
    return catalog_path(lang).is_file()


def set_language(lang: str | None) -> None:
    """Choose the language in code (for this process); ``None`` goes back to ``SMTPKIT_LANG``."""
    global _chosen
    _chosen = lang or None


@contextmanager
def using(lang: str | None) -> Iterator[None]:
    """Speak ``lang`` inside the block, in this thread or task only (``None``: no change)."""
    token = _scoped.set(lang or _scoped.get())
    try:
        yield
    finally:
        _scoped.reset(token)


@cache
def _catalog(lang: str) -> dict[str, str | list[str]]:
    """msgid -> msgstr (or the plural forms) of the translated, current entries of ``lang``."""
    import polib

    with _lock:
        po = polib.pofile(str(catalog_path(lang)), wrapwidth=0)
    table: dict[str, str | list[str]] = {}
    for entry in po:
        if entry.obsolete or entry.fuzzy:
            continue
        if entry.msgid_plural:
            forms = [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
            if all(forms):
                table[entry.msgid] = forms
        elif entry.msgstr:
            table[entry.msgid] = entry.msgstr
    return table


class Deferred(str):
    """A text marked with ``N_("... {n} ...", n=3)``: the English text itself (so code that does not
    translate shows what it showed before), remembering its msgid and values for ``_``."""

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, values: dict[str, object]) -> Deferred:
        text = super().__new__(cls, msgid.format(**values))
        text.msgid, text.values = msgid, values
        return text

    def __reduce__(self):  # pickles and copies as a Deferred, not as a plain str
        return (Deferred, (self.msgid, self.values))


def gettext(message: str) -> str:
    """``message`` in the current language (itself in English or when it has no translation)."""
    lang = language()
    if isinstance(message, Deferred):
        found = _catalog(lang).get(message.msgid) if lang != DEFAULT else None
        return found.format(**message.values) if isinstance(found, str) else str.__str__(message)
    if lang == DEFAULT or not message:
        return message
    found = _catalog(lang).get(message)
    return found if isinstance(found, str) else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` (both languages of the kit: one form for n == 1)."""
    lang = language()
    english = singular if n == 1 else plural
    if lang == DEFAULT:
        return english
    forms = _catalog(lang).get(singular)
    if not isinstance(forms, list):
        return english
    return forms[0] if n == 1 or len(forms) == 1 else forms[1]


def N_(message: str, **values: object) -> str:  # noqa: N802 - gettext's name for a deferred translation
    """Mark ``message`` for the catalog and return it (formatted with ``values``, if any) in English;
    ``_`` translates it where it is shown."""
    return Deferred(message, values) if values else message


_ = gettext
