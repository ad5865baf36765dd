"""Timing loops and statistics (pure, no I/O of their own).

* sequential: one call at a time, after a warm-up; latencies in seconds.
* throughput: ``total`` calls with at most ``in_flight`` running at once; calls per second.
* streams: time to the first text chunk and to the end of the stream, per call.

Nothing here asserts anything about time: the numbers are reported, never judged.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Iterations",
    "StreamTimes",
    "percentile",
    "sequential",
    "stream_sequential",
    "sync_sequential",
    "throughput",
]


@dataclass(frozen=True)
class Iterations:
    """How many calls each measurement makes (bounded: memory and run time stay small).

    Attributes:
        warmup: Untimed calls before a sequential series (connections, caches, JIT-free warm).
        sequential: Timed sequential calls (p50/p99 come from these).
        streams: Timed sequential streams.
        sync: Timed sequential calls of a synchronous client.
        json: Timed sequential 50 KB JSON calls.
        concurrent_total: Calls in the throughput run.
        in_flight: Maximum calls running at once in the throughput run.
    """

    warmup: int
    sequential: int
    streams: int
    sync: int
    json: int
    concurrent_total: int
    in_flight: int = 100

    @classmethod
    def quick(cls) -> Iterations:
        """Few iterations: exercises every path (CI smoke); numbers are not meaningful."""
        return cls(
            warmup=2, sequential=10, streams=4, sync=5, json=3, concurrent_total=50, in_flight=25
        )

    @classmethod
    def full(cls) -> Iterations:
        """Hundreds of calls per series, thousands for throughput."""
        return cls(
            warmup=30, sequential=500, streams=300, sync=300, json=150, concurrent_total=2000
        )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside 0..100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def sequential(call: Callable[[], Awaitable[object]], n: int, warmup: int) -> list[float]:
    """Run ``warmup`` untimed calls, then ``n`` timed ones; return their latencies (s)."""
    for _ in range(warmup):
        await call()
    out: list[float] = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        await call()
        out.append(clock() - start)
    return out


def sync_sequential(call: Callable[[], object], n: int, warmup: int) -> list[float]:
    """Synchronous twin of :func:`sequential`."""
    for _ in range(warmup):
        call()
    out: list[float] = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        call()
        out.append(clock() - start)
    return out


@dataclass(frozen=True)
class StreamTimes:
    """Per-stream latencies in seconds."""

    first_chunk: list[float]
    total: list[float]


async def stream_sequential(
    stream: Callable[[], Awaitable[float]], n: int, warmup: int
) -> StreamTimes:
    """Time ``n`` streams; ``stream()`` returns the ``perf_counter`` of its first text chunk."""
    for _ in range(warmup):
        await stream()
    first: list[float] = []
    total: list[float] = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        first_at = await stream()
        end = clock()
        first.append(first_at - start)
        total.append(end - start)
    return StreamTimes(first, total)


async def throughput(
    call: Callable[[], Awaitable[object]], total: int, in_flight: int = 100
) -> float:
    """Calls per second for ``total`` calls with at most ``in_flight`` at once.

    A first untimed burst of ``in_flight`` calls opens the connection pool, so the
    timed run measures steady state rather than connection setup.
    """
    workers = max(1, min(in_flight, total))

    async def burst(count: int) -> None:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await call()

        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())

    await burst(workers)
    start = time.perf_counter()
    await burst(total)
    return total / (time.perf_counter() - start)
