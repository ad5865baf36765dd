"""Run coroutines from synchronous code on long-lived event loops, without a thread hop.

Which loop runs a call depends on the calling thread:

* No event loop runs in it (a script, a worker thread): the coroutine runs right
  there, on that thread's own long-lived loop, reused call after call (created and
  shut down by an :class:`asyncio.Runner`; each call is ``Runner.run``'s logic,
  Ctrl-C handling included, without its per-call signal-module overhead). No
  handoff to another thread and back, which is what made a sync call slower than
  a sync SDK; and as the loop lives on, the adapters and connection pools built
  for it (one set per loop, see
  :class:`~inference_core.adapters.loop_scoped.LoopScoped`) are reused.
* A loop already runs in it (Jupyter, an async framework calling sync code), where
  ``run_until_complete`` is impossible: the coroutine goes to one background loop
  thread, shared by every such caller, and the caller blocks until it is done.

``asyncio.run`` per call is no option: it would rebuild every adapter and pool per
call. The price of a loop per thread: each calling thread has its own adapters and
pools, and tasks a call leaves running on its thread's loop only progress during
that thread's later calls (its loop runs only while a call does).

Nothing starts at import: a thread's loop on its first call, the background
thread on the first call made from inside a running loop. :meth:`SyncRunner.close`
(or garbage collection, or interpreter exit) shuts every loop down from whatever
thread calls it - async generators closed while the loop still runs, so
``LoopScoped`` values are closed on their own loop. A loop busy with a call at
that moment is not touched: its thread shuts it down when that call returns. The
loop of a thread that has ended goes to the next new thread, at its first call,
with its adapters and pools (so a server starting a thread per request still
reuses them); loops of further ended threads are shut down then, the rest by
:meth:`SyncRunner.close`. The caller's ``contextvars`` (e.g. structlog's bound
context) travel with the coroutine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import importlib
import inspect
import signal
import threading
import weakref
from collections.abc import Callable, Coroutine
from types import FrameType, TracebackType
from typing import Any, TypeVar

__all__ = ["PinnedLoop", "SyncRunner"]

T = TypeVar("T")

#: Makes a coroutine to run on each loop (see :meth:`SyncRunner.run_on_each_loop`).
CoroutineFactory = Callable[[], Coroutine[Any, Any, Any]]

_JOIN_TIMEOUT = 5.0
_CLOSED = "SyncRunner is closed"
_OWN_LOOP = "SyncRunner.run called from its own loop: await the coroutine"


def _raw_signals() -> Any:
    # ``signal.signal``/``getsignal`` wrap these and convert to enums at every call.
    try:
        return importlib.import_module("_signal")
    except ImportError:  # pragma: no cover - not CPython
        return signal


_SIGNALS: Any = _raw_signals()


def _wake_up() -> None:
    """Scheduled to wake a loop blocked in ``select()`` (see ``_run_here``)."""


def _discard(coro: Coroutine[Any, Any, Any]) -> None:
    """Close a coroutine that will never run (no 'never awaited' warning)."""
    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        coro.close()


def _off_loop(work: Callable[[], T]) -> T:
    """``work()`` in this thread, or in a helper thread if this one runs an event loop.

    Running a loop (ours, to close it or to step a stream pinned to it) is impossible in
    a thread that already runs one.
    """
    if asyncio._get_running_loop() is None:
        return work()
    box: concurrent.futures.Future[T] = concurrent.futures.Future()

    def target() -> None:
        try:
            box.set_result(work())
        except BaseException as error:  # handed to the waiting thread
            box.set_exception(error)

    helper = threading.Thread(target=target, name="inference-core-closer", daemon=True)
    helper.start()
    return box.result()


class _ThreadMark:
    """Lives in a thread's ``threading.local``: freed when the thread ends."""

    __slots__ = ("__weakref__", "loop")

    def __init__(self, loop: _ThreadLoop) -> None:
        self.loop = loop


class _ThreadLoop:
    """One thread's long-lived loop; one thread at a time runs it.

    Its owner thread runs it for its calls. Another thread runs it only to step a
    stream pinned to it (:class:`PinnedLoop`) or to close it, and only while no
    call is on it: ``busy`` (under ``cond``) says one is. Work asked for while busy
    (closing, a coroutine from :meth:`SyncRunner.run_on_each_loop`) is done by the
    busy thread right after its call.
    """

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        self.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)  # sets no thread loop
        self.loop = self.runner.get_loop()
        self.cond = threading.Condition(threading.Lock())
        self.busy = False
        self.closed = False
        self.close_requested = False
        self.after: list[CoroutineFactory] = []
        self.pins = 0  # streams stepping on this loop (they keep it open after its thread ends)
        self.thread_gone = False
        self.mark_ref: weakref.ref[_ThreadMark] | None = None

    def mark(self) -> _ThreadMark:
        mark = _ThreadMark(self)
        self.mark_ref = weakref.ref(mark, self._thread_ended)
        return mark

    def _thread_ended(self, ref: weakref.ref[_ThreadMark]) -> None:
        if ref is self.mark_ref:  # not the mark of a thread this loop served before
            self.thread_gone = True

    def adopt(self, thread: threading.Thread) -> None:
        """Become ``thread``'s loop (the thread it served has ended; its pools live on)."""
        self.thread = thread
        self.thread_gone = False

    def abandoned(self) -> bool:
        """Its thread has ended and no stream still steps on it (pins only grow in-thread)."""
        return (self.thread_gone or not self.thread.is_alive()) and self.pins == 0

    # -- one thread at a time ------------------------------------------------------------

    def _enter(self) -> None:
        with self.cond:
            while self.busy and not self.closed:
                self.cond.wait()
            if self.closed:
                raise RuntimeError(_CLOSED)
            self.busy = True

    def _leave(self) -> None:
        while True:
            with self.cond:
                jobs, self.after = self.after, []
                if not jobs:
                    if not self.close_requested:
                        self.busy = False
                        self.cond.notify_all()
                        return
                    break
            for make in jobs:
                self._run_deferred(make)
        self._shutdown()

    def _shutdown(self) -> None:
        """Shut the loop down (tasks cancelled, async generators closed); we are the busy one."""
        try:
            self.runner.close()
        finally:
            with self.cond:
                self.closed = True
                self.busy = False
                self.after.clear()
                self.cond.notify_all()

    def _run_deferred(self, make: CoroutineFactory) -> None:
        try:
            self._run_here(make(), contextvars.Context())
        except Exception as error:  # nobody waits for deferred work: report it like asyncio does
            self.loop.call_exception_handler(
                {"message": "SyncRunner: deferred work failed", "exception": error}
            )

    # -- what callers do -------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
        """Run ``coro`` on this loop in the calling thread (which runs no loop)."""
        try:
            self._enter()
        except BaseException:
            _discard(coro)
            raise
        try:
            return self._run_here(coro, context)
        finally:
            self._leave()

    def _run_here(self, coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
        # asyncio.Runner.run, with its Ctrl-C handling, minus its per-call cost: the
        # ``signal`` module's wrappers it calls cost ~15 us a call (enum conversions).
        loop = self.loop
        task = loop.create_task(coro, context=context)
        on_sigint: Callable[[int, FrameType | None], None] | None = None
        interrupts = 0
        try:
            if (
                threading.current_thread() is threading.main_thread()
                and _SIGNALS.getsignal(signal.SIGINT) is signal.default_int_handler
            ):

                def on_sigint(signum: int, frame: FrameType | None) -> None:
                    nonlocal interrupts
                    interrupts += 1
                    if interrupts == 1 and not task.done():
                        task.cancel()  # the coroutine sees CancelledError, then we raise
                        loop.call_soon_threadsafe(_wake_up)
                        return
                    raise KeyboardInterrupt

                try:
                    _SIGNALS.signal(signal.SIGINT, on_sigint)
                except ValueError:  # signals unavailable in this interpreter
                    on_sigint = None
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupts and task.uncancel() == 0:
                raise KeyboardInterrupt from None
            raise
        except BaseException:
            # An interrupt that reached the loop itself (a second Ctrl-C while the first
            # one's cancellation runs) leaves the task pending: cancel it; it ends the next
            # time the loop runs (this thread's next call, or the shutdown).
            task.cancel()
            raise
        finally:
            if on_sigint is not None and _SIGNALS.getsignal(signal.SIGINT) is on_sigint:
                _SIGNALS.signal(signal.SIGINT, signal.default_int_handler)

    def submit(self, make: CoroutineFactory) -> None:
        """Run ``make()`` on this loop now (in this thread), or right after its current call."""
        with self.cond:
            if self.closed:
                return
            if self.busy:
                self.after.append(make)
                return
            self.busy = True
        try:
            self._run_here(make(), contextvars.copy_context())
        finally:
            self._leave()

    def request_close(self) -> None:
        """Shut down now (in this thread), or let the busy thread do it after its call."""
        with self.cond:
            if self.closed:
                return
            if self.busy:
                self.close_requested = True
                return
            self.busy = True
        self._shutdown()

    def pin(self) -> None:
        with self.cond:
            self.pins += 1

    def unpin(self) -> None:
        with self.cond:
            self.pins -= 1


class _Background:
    """The loop thread serving calls made from inside a running loop."""

    def __init__(self, name: str) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        thread = threading.Thread(target=self._serve, args=(loop, ready), name=name, daemon=True)
        thread.start()
        ready.wait()
        self.loop = loop
        self.thread = thread

    @staticmethod
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

    def stop(self) -> None:
        loop, thread = self.loop, self.thread
        if not thread.is_alive() or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if threading.current_thread() is not thread:  # from its own loop: it stops after us
            thread.join(_JOIN_TIMEOUT)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self.loop
        if loop.is_closed():
            _discard(coro)
            raise RuntimeError(_CLOSED)
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

        try:  # one try: an interrupt right after scheduling must cancel too
            try:
                loop.call_soon_threadsafe(start)
            except RuntimeError:  # closed meanwhile
                _discard(coro)
                raise RuntimeError(_CLOSED) from None
            return done.result()
        except BaseException:
            if not done.done():
                done.cancel()
                with contextlib.suppress(RuntimeError):  # closed meanwhile: nothing runs
                    loop.call_soon_threadsafe(lambda: holder and holder[0].cancel())
            raise

    def submit(self, make: CoroutineFactory) -> None:
        loop = self.loop
        if loop.is_closed():
            return
        if threading.current_thread() is self.thread:  # cannot wait for ourselves
            loop.create_task(make())
            return
        asyncio.run_coroutine_threadsafe(make(), loop).result()


class _RunnerState:
    """Everything a :class:`SyncRunner` owns, apart from it (so its finalizer can close it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.local = threading.local()
        self.thread_loops: list[_ThreadLoop] = []
        self.loops: set[asyncio.AbstractEventLoop] = set()  # every live loop we own
        self.background: _Background | None = None
        self.closed = False
        self.started = False

    def thread_loop(self) -> _ThreadLoop:
        """The calling thread's loop (created on its first call); it runs no loop now."""
        mark: _ThreadMark | None = getattr(self.local, "mark", None)
        if mark is not None:
            return mark.loop
        thread = threading.current_thread()
        with self.lock:
            if self.closed:
                raise RuntimeError(_CLOSED)
            ended = [each for each in self.thread_loops if each.abandoned()]
            if ended:  # a thread per request: the next one reuses the loop (and pools) left
                mine = ended.pop()
                mine.adopt(thread)
            else:
                mine = _ThreadLoop(thread)
                self.thread_loops.append(mine)
                self.loops.add(mine.loop)
            for each in ended:
                self.thread_loops.remove(each)
                self.loops.discard(each.loop)
            self.started = True
        self.local.mark = mine.mark()
        for each in ended:  # more threads ended than start now: shut their loops down here
            each.request_close()
        return mine

    def background_loop(self) -> _Background:
        background = self.background
        if background is not None:
            return background
        with self.lock:
            if self.closed:
                raise RuntimeError(_CLOSED)
            if self.background is None:
                self.background = _Background(self.name)
                self.loops.add(self.background.loop)
                self.started = True
            return self.background

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.closed:
            _discard(coro)
            raise RuntimeError(_CLOSED)
        running = asyncio._get_running_loop()
        if running is None:
            return self.thread_loop().run(coro, contextvars.copy_context())
        if running in self.loops:
            _discard(coro)
            raise RuntimeError(_OWN_LOOP)
        return self.background_loop().run(coro)

    def run_on_each_loop(self, make: CoroutineFactory) -> None:
        with self.lock:
            if self.closed:
                return
            thread_loops = list(self.thread_loops)
            background = self.background

        def on_thread_loops() -> None:
            errors: list[BaseException] = []
            for each in thread_loops:
                try:
                    each.submit(make)
                except Exception as error:  # try every loop, then report the first failure
                    errors.append(error)
            if errors:
                raise errors[0]

        _off_loop(on_thread_loops)
        if background is not None:
            background.submit(make)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            thread_loops, self.thread_loops = self.thread_loops, []
            background = self.background
            self.loops.clear()

        def close_thread_loops() -> None:
            for each in thread_loops:
                each.request_close()

        try:
            _off_loop(close_thread_loops)
        finally:
            if background is not None:
                background.stop()


class PinnedLoop:
    """A loop chosen once for work of several steps, e.g. a sync generator over an async one.

    An async generator (and the SDK stream inside it) belongs to the loop it started
    on, so each of its steps must run there. :meth:`SyncRunner.pin` picks the loop
    as :meth:`SyncRunner.run` would (the calling thread's own loop, or the background
    loop from inside a running loop) and :meth:`run` keeps using it, whichever thread
    calls. From another thread than the loop's own, that thread runs the loop for
    the step, waiting first if the loop's thread is in a call (a helper thread
    does it if that thread itself runs a loop). A thread's loop stays open while
    pinned, even after the thread ends. Call :meth:`release` when done.
    """

    def __init__(self, state: _RunnerState, thread_loop: _ThreadLoop | None) -> None:
        self._state = state
        self._thread_loop = thread_loop
        self._released = False
        if thread_loop is not None:
            thread_loop.pin()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the pinned loop and return its result (or raise its error).

        Raises:
            RuntimeError: The runner is closed, or called from a coroutine on that loop.
        """
        state, thread_loop = self._state, self._thread_loop
        if state.closed:
            _discard(coro)
            raise RuntimeError(_CLOSED)
        running = asyncio._get_running_loop()
        if running is not None and running in state.loops:
            _discard(coro)
            raise RuntimeError(_OWN_LOOP)
        if thread_loop is None:
            return state.background_loop().run(coro)
        context = contextvars.copy_context()
        return _off_loop(lambda: thread_loop.run(coro, context))

    def release(self) -> None:
        """Unpin the loop (idempotent)."""
        if not self._released and self._thread_loop is not None:
            self._thread_loop.unpin()
        self._released = True

    def __enter__(self) -> PinnedLoop:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class SyncRunner:
    """Runs coroutines to completion from sync code, on reused event loops.

    From a thread running no event loop, the coroutine runs in that thread, on its
    own long-lived loop; from inside a running loop, on one background loop thread
    (see the module docstring).

    Example:
        >>> runner = SyncRunner()
        >>> async def answer() -> int:
        ...     return 42
        >>> runner.run(answer())
        42
        >>> runner.close()
    """

    def __init__(self, name: str = "inference-core-loop") -> None:
        self._state = _RunnerState(name)
        self._finalizer = weakref.finalize(self, _RunnerState.close, self._state)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The background loop, for callers inside a running loop (started on first access).

        Raises:
            RuntimeError: The runner is closed.
        """
        return self._state.background_loop().loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion and return its result (or raise its error).

        Works from any thread, whether or not that thread runs an event loop: with
        none, ``coro`` runs in the calling thread on its own reused loop; inside a
        running loop, on the background loop while the caller blocks. The caller's
        ``contextvars`` are copied to it. If the waiting thread is interrupted
        (``KeyboardInterrupt``), the coroutine is cancelled.

        Raises:
            RuntimeError: The runner is closed, or called from a coroutine running on
                one of this runner's loops (it would wait for itself); ``await`` instead.
        """
        return self._state.run(coro)

    def pin(self) -> PinnedLoop:
        """Choose the loop :meth:`run` would use now and keep it for several steps.

        Raises:
            RuntimeError: The runner is closed, or called from a coroutine on one of its loops.
        """
        state = self._state
        if state.closed:
            raise RuntimeError(_CLOSED)
        running = asyncio._get_running_loop()
        if running is None:
            return PinnedLoop(state, state.thread_loop())
        if running in state.loops:
            raise RuntimeError(_OWN_LOOP)
        state.background_loop()
        return PinnedLoop(state, None)

    def run_on_each_loop(self, make: CoroutineFactory) -> None:
        """Run ``make()`` once on every loop this runner has started (a no-op once closed).

        A loop in the middle of a call runs it right after that call, in its thread;
        the others run it now. Used to close adapters that share this runner's loops
        without closing the loops (:meth:`Inference.close` of ``with_credentials``).

        Raises:
            Exception: The first error ``make()`` raised on a loop run now (the others
                still ran it).
        """
        self._state.run_on_each_loop(make)

    def owns_loop(self, loop: asyncio.AbstractEventLoop) -> bool:
        """True if ``loop`` is one of this runner's live loops."""
        return loop in self._state.loops

    def close(self) -> None:
        """Shut every loop down (cancelling what still runs there) and stop the background thread.

        Callable from any thread, also from inside a running loop. A thread's loop
        that is in a call at that moment is shut down by that thread when the call
        returns; the call itself is not disturbed. Later calls raise ``RuntimeError``.
        """
        self._finalizer()

    @property
    def started(self) -> bool:
        """True once a loop has been started (by the first :meth:`run`)."""
        return self._state.started

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._state.closed
