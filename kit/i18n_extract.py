"""Keep the kit's catalogs in step with its code: ``python -m kit.i18n_extract [--check] [LANG ...]``.

The extract step reads every module of the kit that imports ``kit.i18n`` and collects the string
literals handed to ``_``, ``N_`` and ``ngettext`` (with ``ast``, the way xgettext and Babel's
extractor do, so no string is run). ``update`` merges them into ``kit/locale/<lang>/LC_MESSAGES/kit.po``:
a new text gets an empty entry, a text that left the code is dropped, translations are kept.
``problems`` is what the completeness test and ``--check`` report: a text with no entry, an
empty, fuzzy or obsolete entry, an entry no code uses, or a translation whose ``{placeholders}``
differ from the English ones.
"""

from __future__ import annotations

import argparse
import ast
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .i18n import DEFAULT, LOCALE_DIR, catalog_path, languages

__all__ = ["Message", "extract", "update", "problems", "main"]

KIT = Path(__file__).parent
_KEYWORDS = {"_": 1, "N_": 1, "gettext": 1, "ngettext": 2}


@dataclass
class Message:
    """One text of the code: its English singular (and plural) and where it is used."""

    msgid: str
    plural: str | None = None
    places: list[str] = field(default_factory=list)


def _uses_i18n(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module == "kit.i18n" or (
                node.level and (node.module or "").rpartition(".")[2] == "i18n")):
            return True
    return False


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def extract(root: Path = KIT) -> dict[str, Message]:
    """Every wrapped text under ``root``, by msgid, in order of first use."""
    found: dict[str, Message] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if not _uses_i18n(tree):
            continue
        where = path.relative_to(root.parent).as_posix()
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in _KEYWORDS and node.args):
                continue
            args = node.args[:_KEYWORDS[node.func.id]]
            if any(isinstance(a, (ast.JoinedStr, ast.BinOp)) for a in args):
                raise ValueError(f"{where}:{node.lineno}: {node.func.id}() of an f-string or an expression "
                                 "never finds its translation: translate the literal, then .format() it")
            texts = [_literal(a) for a in args]
            if any(t is None for t in texts):
                continue  # a deferred text translated where it is shown, e.g. _(exercise.title)
            message = found.setdefault(texts[0], Message(texts[0], texts[1] if len(texts) > 1 else None))
            message.places.append(f"{where}:{node.lineno}")
    return found


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def problems(lang: str, messages: dict[str, Message] | None = None) -> list[str]:
    """What keeps ``lang``'s catalog from being complete and current (empty: nothing)."""
    import polib

    messages = extract() if messages is None else messages
    path = catalog_path(lang)
    if not path.is_file():
        return [f"{path}: no catalog"]
    po = polib.pofile(str(path), wrapwidth=0)
    entries = {e.msgid: e for e in po}
    found = []
    for msgid, message in messages.items():
        entry = entries.get(msgid)
        where = message.places[0]
        if entry is None:
            found.append(f"missing ({where}): {msgid!r}")
        elif entry.obsolete:
            found.append(f"obsolete but used ({where}): {msgid!r}")
        elif entry.fuzzy:
            found.append(f"fuzzy ({where}): {msgid!r}")
        else:
            translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
            if not all(translations):
                found.append(f"untranslated ({where}): {msgid!r}")
            elif (message.plural or None) != (entry.msgid_plural or None):
                found.append(f"plural differs ({where}): {msgid!r}")
            elif any(_fields(t) != _fields(msgid) | _fields(message.plural or "") for t in translations):
                found.append(f"placeholders differ ({where}): {msgid!r}")
    found.extend(f"obsolete (no code uses it): {e.msgid!r}" for e in po
                 if e.obsolete or e.msgid not in messages)
    return found


def update(lang: str, messages: dict[str, Message] | None = None) -> Path:
    """Merge the code's texts into ``lang``'s catalog (created if needed); returns its path."""
    import polib

    messages = extract() if messages is None else messages
    path = catalog_path(lang)
    old = {e.msgid: e for e in polib.pofile(str(path), wrapwidth=0)} if path.is_file() else {}
    po = polib.POFile(wrapwidth=78)
    po.metadata = {
        "Project-Id-Version": "smtp-course-kit",
        "Language": lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    for msgid, message in messages.items():
        before = old.get(msgid)
        entry = polib.POEntry(msgid=msgid, occurrences=[tuple(p.rsplit(":", 1)) for p in message.places])
        if "{" in msgid:
            entry.flags.append("python-brace-format")
        if message.plural:
            entry.msgid_plural = message.plural
            entry.msgstr_plural = dict(before.msgstr_plural) if before and before.msgid_plural else {0: "", 1: ""}
        elif before is not None and not before.msgid_plural:
            entry.msgstr = before.msgstr
        if before is not None and before.fuzzy:
            entry.flags.append("fuzzy")
        po.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    po.save(str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    """Update the catalogs (default: every language but English), or ``--check`` them."""
    parser = argparse.ArgumentParser(prog="python -m kit.i18n_extract", description=__doc__.splitlines()[0])
    parser.add_argument("langs", nargs="*", help="languages (default: every catalog under kit/locale)")
    parser.add_argument("--check", action="store_true", help="report problems and exit 1, change nothing")
    args = parser.parse_args(argv)
    langs = args.langs or [lang for lang in languages() if lang != DEFAULT]
    messages = extract()
    failed = False
    for lang in langs:
        if args.check:
            found = problems(lang, messages)
            for line in found:
                print(f"{lang}: {line}")
            failed = failed or bool(found)
        else:
            print(update(lang, messages).relative_to(LOCALE_DIR.parent.parent))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
