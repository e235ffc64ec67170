"""Errors of the authoring pipeline: the instructor's sources or folders are not usable."""

from __future__ import annotations

__all__ = ["AuthoringError", "MarkerError"]


class AuthoringError(Exception):
    """Release cannot proceed; the message says which file or folder and why."""


class MarkerError(AuthoringError):
    """Malformed ``# BEGIN SOLUTION`` / ``# END SOLUTION`` markers in a solution notebook."""

    def __init__(self, notebook: str, cell: int, line: int, problem: str) -> None:
        super().__init__(f"{notebook}: cell {cell}, line {line}: {problem}")
        self.notebook = notebook
        self.cell = cell
        self.line = line
