"""The call's deadline over awaits: one loop timer per series, exact cancellation semantics."""

from __future__ import annotations

import asyncio

import pytest

from inference_core.application.observability import SystemClock
from inference_core.application.policy import CallContext
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import DeadlineExceeded
from tests.unit.application.support import FakeClock


def _ctx(deadline: float | None, clock: SystemClock | FakeClock | None = None) -> CallContext:
    clock = clock or SystemClock()
    return CallContext("r1", RetryPolicy(deadline=deadline), clock, started=clock.now())


def _timers() -> int:
    """Timers scheduled (and not cancelled) on the running loop."""
    loop = asyncio.get_running_loop()
    return sum(not handle.cancelled() for handle in loop._scheduled)  # type: ignore[attr-defined]


async def _value(value: str, delay: float = 0.0) -> str:
    await asyncio.sleep(delay)
    return value


async def test_work_that_ends_in_time_returns_its_value_and_leaves_no_timer() -> None:
    ctx = _ctx(5.0)
    assert await ctx.bounded(_value("done")) == "done"
    assert _timers() == 0


async def test_work_still_running_at_the_deadline_is_cancelled_and_raises_deadline() -> None:
    ctx = _ctx(0.05)
    with pytest.raises(DeadlineExceeded) as caught:
        await ctx.bounded(_value("late", delay=5.0))
    timeout = caught.value.__cause__
    assert isinstance(timeout, TimeoutError)
    assert isinstance(timeout.__cause__, asyncio.CancelledError)
    assert "still running" in str(caught.value)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # our own cancel was taken back


async def test_a_series_arms_one_timer_and_closing_it_cancels_it() -> None:
    ctx = _ctx(5.0)
    watch = ctx.watch()
    before = _timers()
    for index in range(20):
        assert await watch.bounded(_value(str(index))) == str(index)
        assert _timers() == before + 1  # the same timer serves every await
    watch.close()
    assert _timers() == before


async def test_a_series_is_cut_at_the_deadline_on_a_later_await() -> None:
    ctx = _ctx(0.1)
    watch = ctx.watch()
    assert await watch.bounded(_value("first")) == "first"
    with pytest.raises(DeadlineExceeded):
        await watch.bounded(_value("never", delay=5.0))
    watch.close()


async def test_a_deadline_passing_between_awaits_ends_the_next_one_that_waits() -> None:
    ctx = _ctx(0.02)
    watch = ctx.watch()
    assert await watch.bounded(_value("first")) == "first"
    await asyncio.sleep(0.05)  # the timer fires while nobody waits in the watch
    with pytest.raises(DeadlineExceeded):
        await watch.bounded(_value("never", delay=5.0))
    watch.close()


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    ctx = _ctx(5.0)
    watch = ctx.watch()
    task = asyncio.ensure_future(watch.bounded(_value("never", delay=5.0)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    watch.close()


async def test_a_test_clock_ahead_of_the_loop_brings_the_timer_forward() -> None:
    clock = FakeClock()
    ctx = _ctx(60.0, clock)
    watch = ctx.watch()
    assert await watch.bounded(_value("armed for a minute")) == "armed for a minute"
    clock.advance(59.95)  # the call's clock says 50 ms are left: the timer must follow
    with pytest.raises(DeadlineExceeded):
        await watch.bounded(_value("never", delay=5.0))
    watch.close()


async def test_excluded_set_up_time_moves_the_timer_back() -> None:
    ctx = _ctx(0.05)
    watch = ctx.watch()
    assert await watch.bounded(_value("armed")) == "armed"
    ctx.exclude(5.0)  # e.g. an adapter was built: that time is not the call's
    assert await watch.bounded(_value("in time", delay=0.1)) == "in time"
    watch.close()


async def test_without_a_deadline_work_runs_unbounded_and_arms_nothing() -> None:
    ctx = _ctx(None)
    watch = ctx.watch()
    assert await watch.bounded(_value("free", delay=0.01)) == "free"
    assert await ctx.bounded(_value("free")) == "free"
    assert _timers() == 0
