"""Statistics and timing loops: counts and bounds, never timing values."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.measure import (
    Iterations,
    percentile,
    sequential,
    stream_sequential,
    sync_sequential,
    throughput,
)

_values = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=50)


def test_percentile_known_values() -> None:
    data = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(data, 0) == 1.0
    assert percentile(data, 50) == 3.0
    assert percentile(data, 100) == 5.0
    assert percentile(data, 25) == 2.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


@given(_values, st.floats(min_value=0, max_value=100))
def test_percentile_stays_within_the_data(values: list[float], q: float) -> None:
    assert min(values) <= percentile(values, q) <= max(values)


@given(_values, st.floats(min_value=0, max_value=100), st.floats(min_value=0, max_value=100))
def test_percentile_is_monotone_in_q(values: list[float], a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert percentile(values, low) <= percentile(values, high)


@pytest.mark.parametrize("q", [-1.0, 100.5])
def test_percentile_rejects_bad_input(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


class Recorder:
    """A call that records how many ran and the most that ran at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.max_running = 0

    async def __call__(self) -> None:
        self.calls += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        await asyncio.sleep(0)  # yield so other workers overlap
        self.running -= 1

    def sync(self) -> None:
        self.calls += 1


async def test_sequential_runs_warmup_then_n_timed_calls() -> None:
    call = Recorder()
    latencies = await sequential(call, 7, 3)
    assert call.calls == 10
    assert len(latencies) == 7
    assert all(t >= 0 for t in latencies)
    assert call.max_running == 1


def test_sync_sequential_counts() -> None:
    call = Recorder()
    assert len(sync_sequential(call.sync, 4, 2)) == 4
    assert call.calls == 6


async def test_throughput_respects_in_flight_and_total() -> None:
    call = Recorder()
    rate = await throughput(call, total=200, in_flight=25)
    assert call.calls == 25 + 200  # a warm-up burst that fills the pool, then the timed run
    assert call.max_running == 25
    assert rate > 0


async def test_throughput_with_fewer_calls_than_slots() -> None:
    call = Recorder()
    await throughput(call, total=3, in_flight=100)
    assert call.calls == 6
    assert call.max_running <= 3


async def test_throughput_propagates_a_failing_call() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(ExceptionGroup):
        await throughput(broken, total=5, in_flight=2)


async def test_stream_sequential_splits_first_chunk_and_total() -> None:
    seen = 0

    async def stream() -> float:
        nonlocal seen
        seen += 1
        first = time.perf_counter()
        await asyncio.sleep(0)
        return first

    times = await stream_sequential(stream, 5, 2)
    assert seen == 7
    assert len(times.first_chunk) == len(times.total) == 5
    assert all(0 <= f <= t for f, t in zip(times.first_chunk, times.total, strict=True))


def test_iteration_presets_are_bounded() -> None:
    for preset in (Iterations.quick(), Iterations.full()):
        assert preset.in_flight <= 100
        assert preset.concurrent_total <= 5000
        assert preset.sequential <= 1000
    assert Iterations.quick().sequential < Iterations.full().sequential
