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

__all__ = ["NotPlainValue", "normalise", "exact", "Compare", "short_repr"]

#: A comparison returns None when ``got`` is acceptable, else a short explanation for the student.
Compare = Callable[[Any, Any], str | None]

_SCALARS = (type(None), bool, int, float, str)
_MAX_DEPTH = 100
_KIND = {
    type(None): "None",
    bool: "a bool",
    int: "an int",
    float: "a float",
    str: "a str",
    list: "a list",
    dict: "a dict",
}


class NotPlainValue(TypeError):
    """A value is not plain (JSON-able with exact built-in types); the message says why."""


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _reject(value: Any, path: str) -> NotPlainValue:
    name = type(value).__qualname__
    for base in (bool, int, float, str, list, dict, tuple):
        if isinstance(value, base):
            return NotPlainValue(
                f"got a {name}{_where(path)}, a subclass of {base.__name__}; "
                f"return a plain {base.__name__}, e.g. {base.__name__}(value)"
            )
    if isinstance(value, (bytes, bytearray)):
        return NotPlainValue(f"got bytes{_where(path)}; return a str, e.g. data.decode()")
    if isinstance(value, (set, frozenset)):
        return NotPlainValue(f"got a {name}{_where(path)}; return a list instead")
    return NotPlainValue(
        f"got a {name} object{_where(path)}; return a plain value "
        "(str, int, float, bool, None, list or dict)"
    )


def normalise(value: Any, _path: str = "", _depth: int = 0) -> Any:
    """Return a fresh plain copy of ``value`` (tuples become lists) or raise NotPlainValue."""
    if _depth > _MAX_DEPTH:
        raise NotPlainValue(f"value nested deeper than {_MAX_DEPTH} levels{_where(_path)}")
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
                    f"dict keys must be plain str, got key {short_repr(key)} "
                    f"({type(key).__qualname__}){_where(_path)}"
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
        longer = "longer" if len(got) > len(expected) else "shorter"
        return (
            f"the str is {longer} than expected ({len(got)} characters, expected "
            f"{len(expected)}); they differ from position {i}: expected "
            f"{short_repr(expected[i:i + 20])}, got {short_repr(got[i:i + 20])}"
        )
    lo = max(0, i - 10)
    return (
        f"the str differs at position {i}: expected ...{short_repr(expected[lo:i + 10])}, "
        f"got ...{short_repr(got[lo:i + 10])}"
    )


#: Differences listed for one structured answer (the rest are counted).
MAX_DIFFERENCES = 6


def _diffs(expected: Any, got: Any, path: str) -> list[str]:
    """Every difference between ``expected`` and ``got`` (depth first), so a student can fix a
    structured answer in one round instead of one difference per round."""
    where = f"{path}: " if path else ""
    if type(expected) is not type(got):
        if got is None:
            return [f"{where}got None; did you print the answer instead of returning it?"]
        return [f"{where}expected {_KIND[type(expected)]} ({short_repr(expected)}), "
                f"got {_KIND[type(got)]} ({short_repr(got)})"]
    if type(expected) is list:
        found = []
        if len(expected) != len(got):
            found.append(f"{where}expected a list of {len(expected)} items, got {len(got)} items")
        for i, (e, g) in enumerate(zip(expected, got, strict=False)):
            found += _diffs(e, g, f"{path}[{i}]")
        return found
    if type(expected) is dict:
        found = []
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing:
            found.append(f"{where}missing key(s) {', '.join(map(repr, missing))}")
        if extra:
            found.append(f"{where}unexpected key(s) {', '.join(map(repr, extra))}")
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
    return [f"{where}expected {short_repr(expected)}, got {short_repr(got)}"]


def _diff(expected: Any, got: Any, path: str) -> str | None:
    """All differences in one message ('; '-separated, at most ``MAX_DIFFERENCES``), or None."""
    found = _diffs(expected, got, path)
    if not found:
        return None
    shown = "; ".join(found[:MAX_DIFFERENCES])
    more = len(found) - MAX_DIFFERENCES
    return shown + (f"; and {more} more difference{'s' if more > 1 else ''}" if more > 0 else "")


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
