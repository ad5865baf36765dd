"""The measuring half of a child process (loaded by :mod:`bench.runner` after the import timing)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.clients import BenchClient, BenchContext, NotBuilt
from bench.measure import (
    Iterations,
    percentile,
    sequential,
    stream_sequential,
    sync_sequential,
    throughput,
)
from bench.runtime import bench_environ
from bench.suites import SYNC_KINDS, Kind, Suite, suite_by_key

__all__ = ["measure_kind", "run_child", "summarise"]

Row = dict[str, Any]
_ERROR_CHARS = 240


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def summarise(latencies: list[float]) -> dict[str, float]:
    """p50/p99/mean of latencies in seconds, as microseconds."""
    return {
        "p50_us": _us(percentile(latencies, 50)),
        "p99_us": _us(percentile(latencies, 99)),
        "mean_us": _us(statistics.fmean(latencies)),
    }


def _error(exc: BaseException) -> Row:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return {"status": "error", "note": text[:_ERROR_CHARS]}


def _not_built(reason: str) -> Row:
    return {"status": "na", "note": f"not built yet: {reason}"}


async def measure_kind(client: BenchClient, kind: Kind, it: Iterations) -> Row:
    """Measure one async kind of ``client``; failures become a status, never an exception."""
    try:
        if kind in ("call", "adapter", "compat"):
            call = {"call": client.call, "adapter": client.adapter, "compat": client.compat}[kind]
            lat = await sequential(call, it.sequential, it.warmup)
            rate = await throughput(call, it.concurrent_total, it.in_flight)
            return {"status": "ok", "n": len(lat), **summarise(lat), "calls_s": round(rate, 1)}
        if kind == "stream":
            times = await stream_sequential(client.stream, it.streams, min(it.warmup, 10))
            first = summarise(times.first_chunk)
            return {
                "status": "ok",
                "n": len(times.total),
                **summarise(times.total),
                "ttfc_p50_us": first["p50_us"],
                "ttfc_p99_us": first["p99_us"],
            }
        if kind == "json":
            lat = await sequential(client.json, it.json, min(it.warmup, 5))
            rate = await throughput(client.json, max(it.concurrent_total // 4, 1), it.in_flight)
            return {"status": "ok", "n": len(lat), **summarise(lat), "calls_s": round(rate, 1)}
    except NotBuilt as exc:
        return _not_built(str(exc))
    except NotImplementedError:
        return {"status": "na", "note": "not measured for this client"}
    except Exception as exc:  # a broken row must not hide the others
        return _error(exc)
    raise ValueError(f"not an async kind: {kind}")


def _measure_sync(client: BenchClient, kind: Kind, it: Iterations) -> Row:
    if kind == "sync":
        start, call, close = client.sync_start, client.sync_call, client.sync_close
    else:
        start, call, close = (
            client.compat_sync_start,
            client.compat_sync_call,
            client.compat_sync_close,
        )
    try:
        start()
    except NotBuilt as exc:
        return _not_built(str(exc))
    except Exception as exc:
        return _error(exc)
    try:
        lat = sync_sequential(call, it.sync, min(it.warmup, 10))
        return {"status": "ok", "n": len(lat), **summarise(lat)}
    except NotBuilt as exc:
        return _not_built(str(exc))
    except NotImplementedError:
        return {"status": "na", "note": "not measured for this client"}
    except Exception as exc:
        return _error(exc)
    finally:
        with contextlib.suppress(Exception):  # closing after a failure that is already reported
            close()


def _load(factory: str) -> Callable[..., Any]:
    module_name, _, attr = factory.partition(":")
    obj: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return obj


async def _first_call(client: BenchClient, kinds: list[Kind]) -> float | None:
    """Seconds for the client's first call (cold: adapter, session and connection built)."""
    if "call" not in kinds:
        return None
    began = time.perf_counter()
    try:
        await client.call()
    except Exception:  # reported by the measured rows themselves
        return None
    return time.perf_counter() - began


async def _async_rows(
    client: BenchClient, kinds: list[Kind], it: Iterations, first: dict[str, float]
) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    began = time.perf_counter()
    try:
        await client.start()
    except NotBuilt as exc:
        return {kind: _not_built(str(exc)) for kind in kinds}
    except Exception as exc:
        return {kind: _error(exc) for kind in kinds}
    cold = await _first_call(client, kinds)
    if cold is not None:
        first["start_and_first_call_s"] = time.perf_counter() - began
    try:
        for kind in kinds:
            began = time.perf_counter()
            rows[kind] = await measure_kind(client, kind, it)
            rows[kind]["elapsed_s"] = round(time.perf_counter() - began, 3)
    finally:
        await client.aclose()
    return rows


def _import_failure(suite: Suite, error: str) -> Row:
    ours = "inference_core" in error or "bench_input" in error
    if ours:
        return _not_built(error.partition(": ")[2] or error)
    return {"status": "na", "note": f"not installed: {error}"}


def run_suite(
    suite: Suite,
    ctx: BenchContext,
    it: Iterations,
    import_error: str,
    first: dict[str, float] | None = None,
) -> dict[str, Row]:
    """Measure every kind of ``suite``; returns ``{kind: row}``.

    ``first`` receives ``start_and_first_call_s``: building the client plus its
    first (cold) call, measured before anything else.
    """
    first = {} if first is None else first
    if import_error:
        return {kind: _import_failure(suite, import_error) for kind in suite.kinds}
    client: BenchClient = _load(suite.factory)(ctx)
    async_kinds = [k for k in suite.kinds if k not in SYNC_KINDS]
    rows: dict[str, Row] = {}
    if async_kinds:
        rows.update(asyncio.run(_async_rows(client, async_kinds, it, first)))
    for kind in suite.kinds:
        if kind in SYNC_KINDS:  # outside any event loop, as a sync caller would be
            began = time.perf_counter()
            rows[kind] = _measure_sync(client, kind, it)
            rows[kind]["elapsed_s"] = round(time.perf_counter() - began, 3)
    return {kind: rows[kind] for kind in suite.kinds}


def run_input(suite: Suite, quick: bool, import_error: str) -> Row:
    """Call ``bench/bench_input.py``'s ``run(quick)`` and return its rows (or why not)."""
    if import_error:
        return {"status": "na", "note": "not built yet: bench/bench_input.py is not there"}
    try:
        run: Callable[[bool], Awaitable[Any] | Any] = _load(suite.factory)
        rows = run(quick)
        if asyncio.iscoroutine(rows):
            rows = asyncio.run(rows)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return {"status": "error", "note": "bench_input.run() did not return a list of dicts"}
        return {"status": "ok", "rows": rows}
    except Exception as exc:
        return _error(exc)


def run_child(argv: list[str], *, import_s: float, rss_kib: int, import_error: str) -> int:
    """Parse the child's arguments, measure, and write the result JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m bench.runner")
    parser.add_argument("--imports", default="")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--suite", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--imports-only", action="store_true")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {
        "suite": args.suite,
        "import_ms": None if import_error else round(import_s * 1000, 2),
        "rss_kib": rss_kib,
        "import_error": import_error,
    }
    if not args.imports_only:
        suite = suite_by_key(args.suite)
        it = Iterations.quick() if args.quick else Iterations.full()
        if suite.group == "input":
            result["input"] = run_input(suite, args.quick, import_error)
        else:
            ctx = BenchContext(
                host=args.host,
                port=args.port,
                config_path=args.config,
                environ=bench_environ(f"http://{args.host}:{args.port}"),
                quick=args.quick,
            )
            first: dict[str, float] = {}
            result["rows"] = run_suite(suite, ctx, it, import_error, first)
            if "start_and_first_call_s" in first and not import_error:
                # import + bootstrap + the first call, as a fresh process pays it
                total = import_s + first["start_and_first_call_s"]
                result["first_call_ms"] = round(total * 1000, 1)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0
