"""The one error the grading command reports as a usage problem (exit code 2)."""

from __future__ import annotations

__all__ = ["GradingError"]


class GradingError(Exception):
    """The instructor's input is unusable (a missing folder, a broken hidden-tests file...).

    Problems with a student's submission are never raised: they become rows and reasons."""
