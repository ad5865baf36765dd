"""SyncRunner: the calling thread's own loop, the background loop, close, cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import pytest

from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.application import SyncRunner
from tests.unit.application.support import Wired, fake

T = TypeVar("T")

_request_tag: contextvars.ContextVar[str] = contextvars.ContextVar("request_tag", default="-")
_WAIT = 30.0  # a bound on waits that a broken runner would otherwise hang on (never timed)


async def _loop_identity() -> tuple[int, int]:
    await asyncio.sleep(0)
    return id(asyncio.get_running_loop()), threading.get_ident()


def _in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a new thread that then ends; its result (or error) comes back."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(("ok", work()))
        except BaseException as error:
            box.append(("error", error))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(_WAIT)
    assert not thread.is_alive()
    kind, value = box[0]
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


@pytest.fixture
def runner() -> Iterator[SyncRunner]:
    made = SyncRunner()
    yield made
    made.close()


class _Closed:
    """A LoopScoped whose values record the loop they were built on and closed on."""

    def __init__(self) -> None:
        self.closed: list[tuple[int, int]] = []  # (value's loop, closing loop)
        self.scoped: LoopScoped[int] = LoopScoped(self._build, self._close)

    @staticmethod
    def _build() -> int:
        return id(asyncio.get_running_loop())

    async def _close(self, value: int) -> None:
        self.closed.append((value, id(asyncio.get_running_loop())))

    async def get(self) -> int:
        return self.scoped.get()


# -- where a call runs ---------------------------------------------------------------------


def test_without_a_running_loop_the_coroutine_runs_in_the_calling_thread(
    runner: SyncRunner,
) -> None:
    _, ident = runner.run(_loop_identity())
    assert ident == threading.get_ident()


def test_one_thread_reuses_one_loop_call_after_call(runner: SyncRunner) -> None:
    first = runner.run(_loop_identity())
    second = runner.run(_loop_identity())
    third = runner.run(_loop_identity())
    assert first == second == third
    assert runner.started


def test_two_threads_get_two_loops_each_run_in_its_own_thread(runner: SyncRunner) -> None:
    def twice() -> tuple[tuple[int, int], tuple[int, int], int]:
        return runner.run(_loop_identity()), runner.run(_loop_identity()), threading.get_ident()

    here = runner.run(_loop_identity())
    first, again, ident = _in_thread(twice)
    assert first == again  # that thread reused its loop too
    assert first[1] == ident
    assert first[0] != here[0]


def test_nothing_starts_before_the_first_call() -> None:
    runner = SyncRunner(name="sync-test-nothing-starts")
    assert not runner.started
    assert "sync-test-nothing-starts" not in {t.name for t in threading.enumerate()}
    runner.close()


async def test_inside_a_running_loop_the_call_goes_to_the_background_thread() -> None:
    outer = id(asyncio.get_running_loop())
    runner = SyncRunner()
    try:
        inner, ident = runner.run(_loop_identity())  # blocking call made from async code (Jupyter)
        again, ident_again = runner.run(_loop_identity())
        assert inner == again != outer
        assert ident == ident_again != threading.get_ident()
        assert inner == id(runner.loop)
        assert runner.owns_loop(runner.loop)
        assert not runner.owns_loop(asyncio.get_running_loop())
        names = {t.ident: t.name for t in threading.enumerate()}
        assert names[ident] == "inference-core-loop"
    finally:
        runner.close()


def test_errors_propagate_and_the_loop_survives(runner: SyncRunner) -> None:
    async def boom() -> None:
        raise KeyError("nope")

    before = runner.run(_loop_identity())
    with pytest.raises(KeyError):
        runner.run(boom())
    assert runner.run(_loop_identity()) == before


async def test_errors_propagate_from_the_background_loop() -> None:
    async def boom() -> None:
        raise KeyError("nope")

    runner = SyncRunner()
    try:
        with pytest.raises(KeyError):
            runner.run(boom())
        assert runner.run(_loop_identity())[0] == id(runner.loop)
    finally:
        runner.close()


def test_context_variables_travel_with_the_coroutine(runner: SyncRunner) -> None:
    async def read_and_set() -> str:
        seen = _request_tag.get()
        _request_tag.set("changed inside")
        return seen

    token = _request_tag.set("run-7")
    try:
        assert runner.run(read_and_set()) == "run-7"
        assert _request_tag.get() == "run-7"  # the coroutine ran in a copy
        assert _in_thread(lambda: runner.run(read_and_set())) == "-"  # that thread's own context
        _request_tag.set("run-8")
        assert runner.run(read_and_set()) == "run-8"  # the copy is taken per call
    finally:
        _request_tag.reset(token)


async def test_context_variables_travel_to_the_background_loop() -> None:
    async def read_tag() -> str:
        return _request_tag.get()

    runner = SyncRunner()
    token = _request_tag.set("async-caller")
    try:
        assert runner.run(read_tag()) == "async-caller"
    finally:
        _request_tag.reset(token)
        runner.close()


def test_calling_run_from_its_own_loop_is_refused_instead_of_deadlocking(
    runner: SyncRunner,
) -> None:
    async def nested() -> str:
        try:
            runner.run(_loop_identity())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "own loop" in runner.run(nested())


async def test_calling_run_from_the_background_loop_is_refused() -> None:
    runner = SyncRunner()

    async def nested() -> str:
        try:
            runner.run(_loop_identity())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    try:
        assert "own loop" in runner.run(nested())
    finally:
        runner.close()


def test_another_runner_may_be_called_from_a_coroutine_on_this_ones_loop(
    runner: SyncRunner,
) -> None:
    other = SyncRunner()

    async def nested() -> tuple[int, int]:
        return other.run(_loop_identity())  # a running loop that is not other's: background

    try:
        loop_id, ident = runner.run(nested())
        assert loop_id == id(other.loop)
        assert ident != threading.get_ident()
    finally:
        other.close()


# -- KeyboardInterrupt -----------------------------------------------------------------------


@pytest.fixture
def default_sigint() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_main_thread() -> None:
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.mark.usefixtures("default_sigint")
def test_keyboard_interrupt_in_the_calling_thread_cancels_the_coroutine(
    runner: SyncRunner,
) -> None:
    assert threading.current_thread() is threading.main_thread()
    seen: list[str] = []

    async def interrupted() -> None:
        _interrupt_main_thread()  # what Ctrl-C does
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    before = runner.run(_loop_identity())
    with pytest.raises(KeyboardInterrupt):
        runner.run(interrupted())
    assert seen == ["cancelled"]
    assert runner.run(_loop_identity()) == before  # the thread's loop is still usable


@pytest.mark.usefixtures("default_sigint")
def test_a_second_interrupt_still_leaves_the_coroutine_cancelled(runner: SyncRunner) -> None:
    seen: list[str] = []

    async def stubborn() -> None:
        _interrupt_main_thread()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("first")
            # a second Ctrl-C arrives while the loop runs its own machinery
            asyncio.get_running_loop().call_soon(_interrupt_main_thread)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                seen.append("second")
                raise

    with pytest.raises(KeyboardInterrupt):
        runner.run(stubborn())
    assert seen == ["first"]  # interrupted while still cleaning up
    runner.run(_loop_identity())  # the loop runs again: the left-behind task is cancelled
    assert seen == ["first", "second"]


async def test_keyboard_interrupt_while_waiting_on_the_background_loop_cancels_it() -> None:
    runner = SyncRunner()
    # The test's own asyncio.Runner turns SIGINT into a cancellation of the test; a REPL
    # (Jupyter) raises KeyboardInterrupt where the blocked caller waits, as the default does.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    cancelled = threading.Event()

    async def interrupted() -> None:
        _interrupt_main_thread()  # the caller is blocked waiting in the main thread
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(interrupted())
        assert cancelled.wait(_WAIT)
    finally:
        signal.signal(signal.SIGINT, previous)
        runner.close()


# -- close -------------------------------------------------------------------------------------


def test_a_closed_runner_refuses_work() -> None:
    runner = SyncRunner()
    runner.run(_loop_identity())
    runner.close()
    assert runner.closed
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(_loop_identity())
    with pytest.raises(RuntimeError, match="closed"):
        _in_thread(lambda: runner.run(_loop_identity()))
    with pytest.raises(RuntimeError, match="closed"):
        runner.pin()
    runner.close()  # again: nothing to do


def test_a_runner_closed_before_any_call_refuses_work_too() -> None:
    runner = SyncRunner()
    runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(_loop_identity())
    assert not runner.started


async def test_run_after_close_raises_inside_a_running_loop_too() -> None:
    runner = SyncRunner()
    runner.run(_loop_identity())
    runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(_loop_identity())


def test_close_closes_the_loop_scoped_values_of_every_loop_on_their_own_loop() -> None:
    runner = SyncRunner()
    values = _Closed()
    here = runner.run(values.get())
    there = _in_thread(lambda: runner.run(values.get()))
    assert here != there
    assert runner.run(values.get()) == here  # built once per loop
    runner.close()
    assert sorted(values.closed) == sorted([(here, here), (there, there)])
    assert len(values.scoped) == 0


async def test_close_from_inside_a_running_loop_closes_every_loop() -> None:
    runner = SyncRunner()
    values = _Closed()
    background = runner.run(values.get())
    there = await asyncio.to_thread(runner.run, values.get())
    runner.close()  # a thread cannot run a loop while it runs one: a helper does
    assert sorted(values.closed) == sorted([(background, background), (there, there)])


def test_close_while_another_thread_is_mid_call_lets_that_call_finish() -> None:
    runner = SyncRunner()
    values = _Closed()
    started, release = threading.Event(), threading.Event()
    result: list[tuple[int, str]] = []

    async def long_call() -> tuple[int, str]:
        loop_id = values.scoped.get()
        started.set()
        await asyncio.to_thread(release.wait, _WAIT)
        await asyncio.sleep(0)
        return loop_id, "finished"

    def worker() -> None:
        result.append(runner.run(long_call()))

    thread = threading.Thread(target=worker)
    thread.start()
    assert started.wait(_WAIT)
    here = runner.run(values.get())
    runner.close()  # returns at once: the busy loop is left to its thread
    assert values.closed == [(here, here)]
    release.set()
    thread.join(_WAIT)
    busy = result[0][0]
    assert result == [(busy, "finished")]  # the call was not disturbed
    assert sorted(values.closed) == sorted([(here, here), (busy, busy)])  # closed after it


def test_the_loop_of_a_thread_that_ended_goes_to_the_next_new_thread() -> None:
    runner = SyncRunner()
    values = _Closed()
    try:
        here = runner.run(values.get())  # a live thread keeps its own loop
        ended = _in_thread(lambda: runner.run(values.get()))
        assert ended != here
        reused = _in_thread(lambda: runner.run(values.get()))  # a thread per request
        assert reused == ended  # same loop, same LoopScoped value: its pools live on
        assert values.closed == []
    finally:
        runner.close()
    assert sorted(values.closed) == sorted([(ended, ended), (here, here)])


def test_loops_of_more_ended_threads_than_new_ones_are_closed_by_the_next_new_thread() -> None:
    runner = SyncRunner()
    values = _Closed()
    ready, release = threading.Barrier(3), threading.Event()
    ended: list[int] = []

    def concurrent_call() -> None:
        async def call() -> int:
            loop_id = values.scoped.get()
            ready.wait(_WAIT)  # both threads are in a call at once: two loops
            return loop_id

        ended.append(runner.run(call()))
        release.wait(_WAIT)

    try:
        threads = [threading.Thread(target=concurrent_call) for _ in range(2)]
        for thread in threads:
            thread.start()
        ready.wait(_WAIT)
        release.set()
        for thread in threads:
            thread.join(_WAIT)
        assert len(set(ended)) == 2
        reused = _in_thread(lambda: runner.run(values.get()))
        assert reused in ended  # one loop adopted ...
        [(other, closed_on)] = values.closed  # ... the other shut down, on its own loop
        assert other == closed_on
        assert {reused, other} == set(ended)
    finally:
        runner.close()


def test_garbage_collecting_the_runner_closes_its_loops() -> None:
    import gc

    runner = SyncRunner()
    values = _Closed()
    here = runner.run(values.get())
    del runner
    gc.collect()
    assert values.closed == [(here, here)]


def test_run_on_each_loop_runs_on_every_loop_without_closing_them() -> None:
    runner = SyncRunner()
    seen: list[int] = []

    async def record() -> None:
        seen.append(id(asyncio.get_running_loop()))

    try:
        here = runner.run(_loop_identity())[0]
        there = _in_thread(lambda: runner.run(_loop_identity()))[0]
        runner.run_on_each_loop(record)
        assert sorted(seen) == sorted([here, there])
        assert runner.run(_loop_identity())[0] == here  # still open
    finally:
        runner.close()
    runner.run_on_each_loop(record)  # closed: nothing left to run on
    assert len(seen) == 2


# -- a stream stepped call after call ------------------------------------------------------------


async def _numbers(seen: list[tuple[int, int]]) -> AsyncIterator[int]:
    for n in range(4):
        seen.append((id(asyncio.get_running_loop()), threading.get_ident()))
        yield n


async def _anext(agen: AsyncIterator[int]) -> int:
    return await anext(agen)


def test_a_pinned_stream_stays_on_its_loop_when_stepped_from_another_thread(
    runner: SyncRunner,
) -> None:
    seen: list[tuple[int, int]] = []
    agen = _numbers(seen)
    pinned = runner.pin()
    here = runner.run(_loop_identity())
    assert pinned.run(_anext(agen)) == 0
    assert _in_thread(lambda: pinned.run(_anext(agen))) == 1  # the other thread runs our loop
    assert pinned.run(_anext(agen)) == 2
    pinned.release()
    loops = {loop_id for loop_id, _ in seen}
    threads = [ident for _, ident in seen]
    assert loops == {here[0]}
    assert threads[0] == threads[2] == threading.get_ident() != threads[1]


def test_a_pinned_loop_outlives_its_thread_until_released(runner: SyncRunner) -> None:
    seen: list[tuple[int, int]] = []
    values = _Closed()
    agen = _numbers(seen)
    pinned = _in_thread(runner.pin)  # that thread has ended
    pinned_loop = pinned.run(values.get())
    assert pinned.run(_anext(agen)) == 0
    new_thread = _in_thread(lambda: runner.run(_loop_identity()))[0]
    assert new_thread != pinned_loop  # a pinned loop is neither adopted nor closed
    assert pinned.run(_anext(agen)) == 1
    assert {loop_id for loop_id, _ in seen} == {pinned_loop}
    assert values.closed == []
    pinned.release()
    pinned.release()  # idempotent
    adopted = _in_thread(lambda: runner.run(_loop_identity()))[0]
    assert adopted in {pinned_loop, new_thread}  # both loops are free now: one is adopted,
    assert (adopted == pinned_loop) != (values.closed == [(pinned_loop, pinned_loop)])  # or shut


async def test_a_stream_pinned_inside_a_running_loop_uses_the_background_loop() -> None:
    runner = SyncRunner()
    seen: list[tuple[int, int]] = []
    agen = _numbers(seen)
    try:
        with runner.pin() as pinned:
            assert pinned.run(_anext(agen)) == 0
            assert await asyncio.to_thread(pinned.run, _anext(agen)) == 1
        assert {loop_id for loop_id, _ in seen} == {id(runner.loop)}
    finally:
        runner.close()


def test_closing_the_runner_closes_a_pinned_stream_on_its_loop(runner: SyncRunner) -> None:
    closed_on: list[int] = []

    async def stream() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            closed_on.append(id(asyncio.get_running_loop()))

    agen = stream()
    pinned = runner.pin()
    assert pinned.run(_anext(agen)) == 1
    here = runner.run(_loop_identity())[0]
    runner.close()
    assert closed_on == [here]  # shutdown_asyncgens closed it while its loop still ran
    with pytest.raises(RuntimeError, match="closed"):
        pinned.run(_anext(agen))


# -- Inference -------------------------------------------------------------------------------------


def test_inference_run_sync_reuses_adapters_and_closes_them() -> None:
    wired = Wired(fakes={"p1": fake("one", "two")})
    inference = wired.inference

    first = inference.run_sync(inference.chat_text(user="a"))
    second = inference.run_sync(inference.chat_text(user="b"))
    inference.close()

    assert (first.text, second.text) == ("one", "two")
    assert len(wired.connections) == 1  # one adapter built: the same loop served both calls
    assert wired.fake("p1").closed
    assert inference.runner.closed


def test_inference_close_closes_the_adapters_of_every_threads_loop() -> None:
    wired = Wired(fakes={"p1": fake("one", "two")})
    inference = wired.inference
    inference.run_sync(inference.chat_text(user="a"))
    _in_thread(lambda: inference.run_sync(inference.chat_text(user="b")))
    assert len(wired.connections) == 2  # one adapter per loop
    assert inference.router.loops_cached == 2
    inference.close()
    assert inference.router.loops_cached == 0


def test_with_credentials_close_closes_its_adapters_on_every_loop_but_keeps_the_loops() -> None:
    wired = Wired(fakes={"p1": fake("one", "two", "three")})
    parent = wired.inference
    child = parent.with_credentials(api_key="sk-child-0123456789abcdef")
    try:
        child.run_sync(child.chat_text(user="a"))
        _in_thread(lambda: child.run_sync(child.chat_text(user="b")))
        assert child.router.loops_cached == 2
        child.close()
        assert child.router.loops_cached == 0
        assert not parent.runner.closed
        assert parent.run_sync(parent.chat_text(user="c")).text == "three"
    finally:
        parent.close()
    assert parent.runner.closed
