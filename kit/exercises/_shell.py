"""Find the running IPython shell without importing IPython (the kit works without Jupyter)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["current_shell"]


def current_shell() -> Any:
    """The running IPython shell, or None. If IPython was never imported, none is running."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None
