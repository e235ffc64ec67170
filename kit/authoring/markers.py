"""Solution markers: turn an instructor's code cell into the student's stub.

Code between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines is replaced by one line at the
indentation of the BEGIN line: ``raise NotImplementedError("TODO: ...")``, whose text comes from
an optional ``# TODO: ...`` comment right after BEGIN. The convention is nbgrader's, with a
stub that ``kit.exercises.check`` reports as "not attempted" instead of failing "Run All".
"""

from __future__ import annotations

import json
import re

from .errors import MarkerError

__all__ = ["BEGIN", "END", "DEFAULT_TODO", "strip_solutions", "has_markers"]

BEGIN = re.compile(r"(?P<indent>[ \t]*)#+\s*BEGIN SOLUTION\s*")
END = re.compile(r"[ \t]*#+\s*END SOLUTION\s*")
TODO = re.compile(r"[ \t]*#\s*TODO:\s*(?P<text>.*?)\s*")
DEFAULT_TODO = "write your solution here"


def _stub(indent: str, todo: str, newline: str) -> str:
    # json.dumps gives a double-quoted literal whose escapes Python reads the same way.
    literal = json.dumps(f"TODO: {todo}", ensure_ascii=False)
    return f"{indent}raise NotImplementedError({literal}){newline}"


def strip_solutions(source: str, notebook: str = "<notebook>", cell: int = 0) -> str:
    """Replace every solution block of ``source``; MarkerError names notebook, cell and line."""
    out: list[str] = []
    lines = source.splitlines(keepends=True)
    opened: int | None = None  # line number of the open BEGIN
    indent = todo = ""
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        begin = BEGIN.fullmatch(text)
        if begin:
            if opened is not None:
                raise MarkerError(
                    notebook, cell, number,
                    f"# BEGIN SOLUTION inside the block opened at line {opened}",
                )
            opened, indent, todo = number, begin["indent"], DEFAULT_TODO
            if number < len(lines):
                match = TODO.fullmatch(lines[number].rstrip("\r\n"))
                if match and match["text"]:
                    todo = match["text"]
        elif END.fullmatch(text):
            if opened is None:
                raise MarkerError(notebook, cell, number, "# END SOLUTION without # BEGIN SOLUTION")
            out.append(_stub(indent, todo, line[len(text):]))
            opened = None
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise MarkerError(notebook, cell, opened, "# BEGIN SOLUTION without # END SOLUTION")
    return "".join(out)


def has_markers(source: str) -> bool:
    """True if any line of ``source`` is a solution marker (a leak check for released files)."""
    return any(BEGIN.fullmatch(t) or END.fullmatch(t) for t in source.splitlines())
