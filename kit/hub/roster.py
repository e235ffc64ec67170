"""The class list -> one account name per student.

Two forms are read:

- one student per line: an account name (``alice``) or an e-mail address (``alice@uni.example``,
  the local part is used); blank lines and ``#`` comments are skipped;
- a CSV export of an LMS (Moodle, Canvas, ILIAS): a header row, then one row per student; the
  account comes from a column named like ``username``, ``login``, ``user``, ``id number``, or
  else the e-mail column (its local part), and a display name from ``name`` or first/last name.

Account names are what ``useradd`` accepts everywhere: lower-case ASCII letters, digits, ``-``
and ``_``, starting with a letter, at most 32 characters (with the ``prefix``). Two students
that fold to the same name get ``2``, ``3``... appended; a row without any usable name is an
error that names the line.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Student", "RosterError", "read_roster", "parse_roster", "account_name"]

MAX_NAME = 32
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")
_ACCOUNT_COLUMNS = ("username", "user name", "login", "user", "userid", "user id", "account",
                    "id number", "idnumber", "sis login id")
_EMAIL_COLUMNS = ("email", "e-mail", "email address", "e-mail address", "mail")
_NAME_COLUMNS = ("name", "full name", "student", "display name")


class RosterError(ValueError):
    """The class list cannot be read; the message names the line."""


@dataclass(frozen=True)
class Student:
    """One student: the local account name and how the instructor knows them."""

    account: str
    display: str


def account_name(text: str, prefix: str = "") -> str:
    """``text`` (a name or an e-mail address) as an account name; '' when nothing is left."""
    local = text.strip().split("@", 1)[0]
    folded = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode().lower()
    name = _NOT_ALLOWED.sub("-", folded.replace(".", "-")).strip("-_")
    name = re.sub(r"^[^a-z]+", "", name)
    if not name:
        return ""
    return (prefix + name)[:MAX_NAME].rstrip("-_")


def _csv_rows(text: str) -> list[dict[str, str]]:
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]


def _pick(row: dict[str, str], names: tuple[str, ...]) -> str:
    return next((row[n] for n in names if row.get(n)), "")


def parse_roster(text: str, prefix: str = "") -> list[Student]:
    """The students of a class list given as text (see the module's docstring)."""
    text = text.lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise RosterError("the class list is empty")
    raw: list[tuple[int, str, str]] = []  # (line number, account source, display name)
    if any(sep in lines[0] for sep in ",;\t"):
        for number, row in enumerate(_csv_rows("\n".join(lines)), start=2):
            source = _pick(row, _ACCOUNT_COLUMNS) or _pick(row, _EMAIL_COLUMNS)
            display = _pick(row, _NAME_COLUMNS) or " ".join(
                p for p in (row.get("first name", ""), row.get("last name", "")) if p) or source
            raw.append((number, source, display))
        if not raw:
            raise RosterError("the class list has a header row and no students")
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                raw.append((number, line, line))
    students: list[Student] = []
    taken: set[str] = set()
    for number, source, display in raw:
        name = account_name(source, prefix)
        if not name:
            raise RosterError(f"line {number}: no account name can be made from {source!r} "
                              "(give a login or an e-mail address)")
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name[:MAX_NAME - len(str(n))]}{n}"
        taken.add(unique)
        students.append(Student(unique, display))
    return students


def read_roster(path: Path, prefix: str = "") -> list[Student]:
    """The students of the class list in ``path``; RosterError when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read the class list {path}: {exc}") from None
    return parse_roster(text, prefix)
