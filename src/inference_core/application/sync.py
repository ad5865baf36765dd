"""Run coroutines from synchronous code on ONE long-lived event loop.

Why one background loop thread (and not ``asyncio.run`` per call, nor a loop
per calling thread):

* a loop per call would rebuild every adapter and its connection pool per
  call (SDK clients are bound to the loop that first used them) - slow, and
  each discarded loop would leak or warn about unclosed clients;
* it works the same whether or not the calling thread already runs a loop
  (Jupyter, an async web framework calling sync code), where
  ``run_until_complete`` is impossible;
* every sync caller, from any thread, shares the same adapters and pools.

The loop and its thread start on first use (never at import) and stop on
:meth:`SyncRunner.close`, when the runner is garbage-collected, or at exit.
The caller's ``contextvars`` (e.g. structlog's bound context) travel with the
coroutine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["SyncRunner"]

T = TypeVar("T")

_JOIN_TIMEOUT = 5.0


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if thread.is_alive() and not loop.is_closed():
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_JOIN_TIMEOUT)


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        try:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class SyncRunner:
    """Runs coroutines to completion from sync code, on one reused event loop.

    Example:
        >>> runner = SyncRunner()
        >>> async def answer() -> int:
        ...     return 42
        >>> runner.run(answer())
        42
        >>> runner.close()
    """

    def __init__(self, name: str = "inference-core-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._finalizer: weakref.finalize[Any, SyncRunner] | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The runner's event loop (started on first access)."""
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=_serve, args=(loop, ready), name=self._name, daemon=True
                )
                thread.start()
                ready.wait()
                self._thread = thread
                self._finalizer = weakref.finalize(self, _stop, loop, thread)
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the runner's loop and return its result (or raise its error).

        Works from any thread, whether or not that thread runs an event loop.
        If the waiting thread is interrupted (``KeyboardInterrupt``), the
        coroutine is cancelled.

        Raises:
            RuntimeError: Called from a coroutine running on this runner's own
                loop (it would wait for itself forever); ``await`` instead.
        """
        loop = self.loop
        if loop.is_closed():
            coro.close()
            raise RuntimeError("SyncRunner is closed")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("SyncRunner.run called from its own loop: await the coroutine")
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        context = contextvars.copy_context()
        holder: list[asyncio.Task[T]] = []

        def settle(task: asyncio.Task[T]) -> None:
            if done.cancelled():
                return  # the waiting thread gave up (interrupted)
            if task.cancelled():
                done.cancel()
            elif (error := task.exception()) is not None:
                done.set_exception(error)
            else:
                done.set_result(task.result())

        def start() -> None:
            if done.cancelled():
                coro.close()
                return
            task = loop.create_task(coro, context=context)
            holder.append(task)
            task.add_done_callback(settle)

        loop.call_soon_threadsafe(start)
        try:
            return done.result()
        except BaseException:
            if not done.done():
                done.cancel()
                loop.call_soon_threadsafe(lambda: holder and holder[0].cancel())
            raise

    def close(self) -> None:
        """Stop the loop (cancelling what still runs on it) and join its thread."""
        finalizer = self._finalizer
        if finalizer is not None:
            finalizer()

    @property
    def started(self) -> bool:
        """True once the loop thread has been started (by the first :meth:`run`)."""
        return self._loop is not None

    @property
    def closed(self) -> bool:
        """True once the loop has been stopped."""
        return self._loop is not None and self._loop.is_closed()
