"""Plain values: the only things that cross between a student's code and the judge.

The grader runs student code in another process (a Jupyter kernel) and gets results back as
JSON, so every test input and every result must be a plain value: ``None``, ``bool``, ``int``,
``float``, ``str``, ``list``, ``dict`` with ``str`` keys. Tuples become lists, exactly as they
would after a JSON round trip, so a check gives the same verdict in the notebook and in the
grader. Types are checked with ``type(x) is ...``: a ``str`` subclass or an object whose
``__eq__`` always says True is rejected, never compared (nbgrader and otter both gave such an
object full marks; see GRADING-ANCHORS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..i18n import N_, _, ngettext

__all__ = ["NotPlainValue", "normalise", "exact", "Compare", "short_repr"]

#: A comparison returns None when ``got`` is acceptable, else a short explanation for the student.
Compare = Callable[[Any, Any], str | None]

_SCALARS = (type(None), bool, int, float, str)
_MAX_DEPTH = 100
_KIND = {
    type(None): "None",
    bool: N_("a bool"),
    int: N_("an int"),
    float: N_("a float"),
    str: N_("a str"),
    list: N_("a list"),
    dict: N_("a dict"),
}


class NotPlainValue(TypeError):
    """A value is not plain (JSON-able with exact built-in types); the message says why."""


def _where(path: str) -> str:
    return _(" at {path}").format(path=path) if path else ""


def _reject(value: Any, path: str) -> NotPlainValue:
    name = type(value).__qualname__
    for base in (bool, int, float, str, list, dict, tuple):
        if isinstance(value, base):
            return NotPlainValue(
                _("got a {name}{where}, a subclass of {base}; return a plain {base}, e.g. {base}(value)").format(
                    name=name, where=_where(path), base=base.__name__)
            )
    if isinstance(value, (bytes, bytearray)):
        return NotPlainValue(_("got bytes{where}; return a str, e.g. data.decode()").format(where=_where(path)))
    if isinstance(value, (set, frozenset)):
        return NotPlainValue(_("got a {name}{where}; return a list instead").format(name=name, where=_where(path)))
    return NotPlainValue(
        _("got a {name} object{where}; return a plain value (str, int, float, bool, None, list or dict)").format(
            name=name, where=_where(path))
    )


def normalise(value: Any, _path: str = "", _depth: int = 0) -> Any:
    """Return a fresh plain copy of ``value`` (tuples become lists) or raise NotPlainValue."""
    if _depth > _MAX_DEPTH:
        raise NotPlainValue(_("value nested deeper than {depth} levels{where}").format(
            depth=_MAX_DEPTH, where=_where(_path)))
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        return [normalise(item, f"{_path}[{i}]", _depth + 1) for i, item in enumerate(value)]
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise NotPlainValue(
                    _("dict keys must be plain str, got key {key} ({type}){where}").format(
                        key=short_repr(key), type=type(key).__qualname__, where=_where(_path))
                )
            out[key] = normalise(item, f"{_path}[{key!r}]", _depth + 1)
        return out
    raise _reject(value, _path)


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters, for one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _str_diff(expected: str, got: str) -> str:
    i = next((k for k, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), None)
    if i is None:
        i = min(len(expected), len(got))
        text = (_("the str is longer than expected ({got} characters, expected {expected}); they differ from "
                  "position {i}: expected {tail}, got {got_tail}") if len(got) > len(expected) else
                _("the str is shorter than expected ({got} characters, expected {expected}); they differ from "
                  "position {i}: expected {tail}, got {got_tail}"))
        return text.format(got=len(got), expected=len(expected), i=i, tail=short_repr(expected[i:i + 20]),
                           got_tail=short_repr(got[i:i + 20]))
    lo = max(0, i - 10)
    return _("the str differs at position {i}: expected ...{expected}, got ...{got}").format(
        i=i, expected=short_repr(expected[lo:i + 10]), got=short_repr(got[lo:i + 10]))


#: Differences listed for one structured answer (the rest are counted).
MAX_DIFFERENCES = 6


def _diffs(expected: Any, got: Any, path: str) -> list[str]:
    """Every difference between ``expected`` and ``got`` (depth first), so a student can fix a
    structured answer in one round instead of one difference per round."""
    where = f"{path}: " if path else ""
    if type(expected) is not type(got):
        if got is None:
            return [where + _("got None; did you print the answer instead of returning it?")]
        return [where + _("expected {kind} ({expected}), got {got_kind} ({got})").format(
            kind=_(_KIND[type(expected)]), expected=short_repr(expected), got_kind=_(_KIND[type(got)]),
            got=short_repr(got))]
    if type(expected) is list:
        found = []
        if len(expected) != len(got):
            found.append(where + _("expected a list of {expected} items, got {got} items").format(
                expected=len(expected), got=len(got)))
        for i, (e, g) in enumerate(zip(expected, got, strict=False)):
            found += _diffs(e, g, f"{path}[{i}]")
        return found
    if type(expected) is dict:
        found = []
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing:
            found.append(where + _("missing key(s) {keys}").format(keys=", ".join(map(repr, missing))))
        if extra:
            found.append(where + _("unexpected key(s) {keys}").format(keys=", ".join(map(repr, extra))))
        for key in expected:
            if key in got:
                found += _diffs(expected[key], got[key], f"{path}[{key!r}]")
        return found
    if type(expected) is float and math.isnan(expected) and math.isnan(got):
        return []
    if expected == got:
        return []
    if type(expected) is str:
        return [where + _str_diff(expected, got)]
    return [where + _("expected {expected}, got {got}").format(expected=short_repr(expected), got=short_repr(got))]


def _diff(expected: Any, got: Any, path: str) -> str | None:
    """All differences in one message ('; '-separated, at most ``MAX_DIFFERENCES``), or None."""
    found = _diffs(expected, got, path)
    if not found:
        return None
    shown = "; ".join(found[:MAX_DIFFERENCES])
    more = len(found) - MAX_DIFFERENCES
    return shown + (ngettext("; and {n} more difference", "; and {n} more differences", more).format(n=more)
                    if more > 0 else "")


def exact(expected: Any, got: Any) -> str | None:
    """Compare plain values exactly, types included (``1``, ``1.0`` and ``True`` all differ).

    Both sides are normalised first, so a non-plain ``got`` is a mismatch, never a match.
    """
    expected = normalise(expected)
    try:
        got = normalise(got)
    except NotPlainValue as exc:
        return str(exc)
    return _diff(expected, got, "")


def explained(why: Callable[[Any], str | None], base: Compare = exact) -> Compare:
    """``base`` (default `exact`), but a mismatch is told by ``why(got)``: a message aimed at the
    likely mistake instead of a bare difference. ``why`` may return None to keep ``base``'s own."""

    def compare(expected: Any, got: Any) -> str | None:
        problem = base(expected, got)
        if problem is None:
            return None
        return why(got) or problem

    return compare
