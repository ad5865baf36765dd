"""One value per running event loop, closed on that loop when it shuts down.

SDK clients (httpx, aiohttp) hold connection pools bound to the loop that first
used them: reusing one on another loop fails, and building one per call costs
milliseconds (an SSL context load alone is ~25 ms). :class:`LoopScoped` keeps one
per loop: ``asyncio.run`` per call gets a fresh value, one long-lived loop
reuses it, and the value is closed *on its own loop* when that loop shuts down.

How the close is arranged: an async generator started on a loop is registered
with it (the loop's ``firstiter`` hook) and closed by
``loop.shutdown_asyncgens()``, which ``asyncio.run``, ``asyncio.Runner`` and our
``SyncRunner`` call while the loop still runs. Running the generator to its
first ``yield`` synchronously registers it without a task, so nothing shows in
``asyncio.all_tasks()``. Entries of loops closed without that shutdown are
dropped when the next loop arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["LoopScoped"]

T = TypeVar("T")

#: Per loop, the closing hooks started on it (dropped with the loop object).
_LOOP_HOOKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Any]] = (
    weakref.WeakKeyDictionary()
)


class LoopScoped(Generic[T]):
    """Holds one ``build()`` result per running loop; ``close(value)`` runs at loop shutdown.

    Args:
        build: Makes the value for the current loop (called on first use there).
        close: Releases a value; awaited on the value's own loop.
    """

    def __init__(self, build: Callable[[], T], close: Callable[[T], Awaitable[None]]) -> None:
        self._build = build
        self._close = close
        self._values: dict[asyncio.AbstractEventLoop, T] = {}
        self._hook_of: dict[asyncio.AbstractEventLoop, Any] = {}
        self._lock = threading.Lock()  # loops on other threads (SyncRunner's) add entries too

    def __len__(self) -> int:
        return len(self._values)

    def values(self) -> list[T]:
        """Every live value (on any loop)."""
        return list(self._values.values())

    def get(self) -> T:
        """The current loop's value, built on first use.

        Raises:
            RuntimeError: No event loop is running in this thread.
        """
        loop = asyncio.get_running_loop()
        value = self._values.get(loop)
        if value is not None:
            return value
        with self._lock:
            for closed in [other for other in self._values if other.is_closed()]:
                self._values.pop(closed, None)
                self._hook_of.pop(closed, None)
            value = self._values[loop] = self._build()
            self._close_with(loop, value)
        return value

    async def aclose_current(self) -> None:
        """Close and forget the current loop's value now (before the loop ends)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            value = self._values.pop(loop, None)
            hook = self._hook_of.pop(loop, None)
            hooks = _LOOP_HOOKS.get(loop, [])
            if hook in hooks:
                hooks.remove(hook)
        if value is not None:
            await self._close(value)

    def _close_with(self, loop: asyncio.AbstractEventLoop, value: T) -> None:
        hook = self._closing(loop, value)
        with contextlib.suppress(StopIteration):  # raised when it reaches its yield
            hook.asend(None).send(None)
        # The loop holds its async generators weakly: keep the hook alive as long as the
        # loop itself, not as long as this holder (a generator object dropped before its
        # loop ends must still have its client closed on that loop).
        _LOOP_HOOKS.setdefault(loop, []).append(hook)
        self._hook_of[loop] = hook

    async def _closing(
        self, loop: asyncio.AbstractEventLoop, value: T
    ) -> AsyncGenerator[None, None]:
        # Suspended at its yield for the loop's whole life (see the module docstring).
        try:
            yield
        finally:
            with self._lock:
                mine = self._values.get(loop) is value  # not yet closed by aclose_current
                if mine:
                    del self._values[loop]
            if mine:
                await self._close(value)
