"""The notebook's one running instance of a server or a world, reused when a cell runs again.

Re-running a cell with the same settings returns the instance already running; with other
settings the old one is stopped first, so no orphan keeps a port or a thread (aiosmtpd
pitfall: a second controller on the same port fails only after a timeout).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar


class _Startable(Protocol):
    running: bool

    def start(self) -> Any: ...

    def stop(self) -> None: ...


T = TypeVar("T", bound=_Startable)


class NotebookInstance(Generic[T]):
    """Holds at most one running ``factory(**settings)``."""

    def __init__(self, factory: Callable[..., T]) -> None:
        self.factory = factory
        self.current: T | None = None
        self.settings: dict | None = None

    def start(self, **settings: Any) -> T:
        if self.current is not None and self.current.running and self.settings == settings:
            return self.current
        self.stop()
        instance = self.factory(**settings)
        instance.start()
        self.current, self.settings = instance, dict(settings)
        return instance

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None
