"""Media benchmark: N image jobs at concurrency C against the loopback Images endpoint.

Each row runs in its own child process (so peak RSS is that row's alone) and
does the same work per job: one ``POST /v1/images/generations``, decode the
``b64_json`` PNG, write it to a file. Rows:

* ``raw httpx``   - an ``httpx.AsyncClient`` loop under a semaphore (the floor);
* ``raw openai``  - the OpenAI SDK's ``images.generate`` loop, same semaphore;
* ``litellm``     - ``litellm.aimage_generation`` loop, same semaphore;
* ``ours``        - ``GenerateMedia.generate_many`` with the ``openai_images``
  generator: validation, retry owner, streamed atomic store, sha256, probe
  (the PNG is opened and verified), usage events and ledger.

Run: ``python -m bench.media [--jobs 200] [--concurrency 16]`` (``python -m
bench`` runs it too). RSS is measured at two job counts to show it does not grow
with the number of jobs (files are streamed to disk, nothing is kept).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

__all__ = ["main", "run_media_bench"]

FAKE_KEY = "sk-bench-not-a-real-key"
ROWS = ("raw httpx", "raw openai", "litellm", "ours")
_PROMPT = "a lighthouse at dusk"


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def _bounded(jobs: int, concurrency: int, job: Callable[[int], Awaitable[None]]) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            await job(index)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(jobs)))
    return time.perf_counter() - began


def _write(out: Path, index: int, data: bytes) -> None:
    hashlib.sha256(data).hexdigest()
    (out / f"image-{index}.png").write_bytes(data)


async def _raw_httpx(origin: str, out: Path, jobs: int, concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=origin, limits=limits, timeout=30.0) as client:

        async def job(index: int) -> None:
            response = await client.post(
                "/v1/images/generations",
                json={"model": "gpt-image-1", "prompt": _PROMPT, "n": 1},
                headers={"Authorization": f"Bearer {FAKE_KEY}"},
            )
            response.raise_for_status()
            _write(out, index, base64.b64decode(response.json()["data"][0]["b64_json"]))

        await job(-1)  # warm the connection pool, as every row does
        return await _bounded(jobs, concurrency, job)


async def _raw_openai(origin: str, out: Path, jobs: int, concurrency: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=FAKE_KEY, base_url=f"{origin}/v1", max_retries=0)

    async def job(index: int) -> None:
        answer = await client.images.generate(model="gpt-image-1", prompt=_PROMPT, n=1)
        assert answer.data and answer.data[0].b64_json
        _write(out, index, base64.b64decode(answer.data[0].b64_json))

    try:
        await job(-1)
        return await _bounded(jobs, concurrency, job)
    finally:
        await client.close()


async def _litellm(origin: str, out: Path, jobs: int, concurrency: int) -> float:
    import litellm

    async def job(index: int) -> None:
        answer = await litellm.aimage_generation(
            model="openai/gpt-image-1",
            prompt=_PROMPT,
            n=1,
            api_base=f"{origin}/v1",
            api_key=FAKE_KEY,
            num_retries=0,
        )
        _write(out, index, base64.b64decode(answer.data[0].b64_json))

    await job(-1)
    return await _bounded(jobs, concurrency, job)


async def _ours(origin: str, out: Path, jobs: int, concurrency: int) -> float:
    from inference_core.adapters.media.openai_images import OpenAIImageGenerator
    from inference_core.adapters.media.probe import AVMediaProbe
    from inference_core.adapters.media.registry import PluginGeneratorRegistry
    from inference_core.adapters.storage import FilesystemAssetStore
    from inference_core.application import GenerateMedia, UsageLedger
    from inference_core.domain.media import GenerationRequest, MediaKind

    generator = OpenAIImageGenerator(api_key=FAKE_KEY, base_url=f"{origin}/v1")
    ledger = UsageLedger()
    use_case = GenerateMedia(
        PluginGeneratorRegistry.of([generator]),
        FilesystemAssetStore(out),
        AVMediaProbe(),
        usage_sinks=[ledger],
    )

    def request(index: int) -> GenerationRequest:
        return GenerationRequest(
            kind=MediaKind.IMAGE,
            generator_id="openai_images",
            prompt=_PROMPT,
            name=f"image-{index}",
        )

    await use_case(request(-1))
    began = time.perf_counter()
    results = await use_case.generate_many(
        [request(i) for i in range(jobs)], concurrency=concurrency
    )
    elapsed = time.perf_counter() - began
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        raise RuntimeError(f"{len(failures)} jobs failed, first: {failures[0]!r}")
    assert ledger.total.images == jobs + 1
    return elapsed


_RUNNERS: dict[str, Callable[[str, Path, int, int], Coroutine[Any, Any, float]]] = {
    "raw httpx": _raw_httpx,
    "raw openai": _raw_openai,
    "litellm": _litellm,
    "ours": _ours,
}


def _child(row: str, origin: str, jobs: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        out = Path(tmp)
        try:
            elapsed = asyncio.run(_RUNNERS[row](origin, out, jobs, concurrency))
        except Exception as exc:
            return {"row": row, "jobs": jobs, "error": f"{type(exc).__name__}: {exc}"[:300]}
        written = sum(1 for p in out.iterdir() if p.suffix == ".png")
        return {
            "row": row,
            "jobs": jobs,
            "elapsed_s": elapsed,
            "jobs_per_s": jobs / elapsed,
            "rss_kib": _rss_kib(),
            "files": written,
        }


def _run_child(
    row: str, origin: str, jobs: int, concurrency: int, timeout: float
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.media", "--child", row, "--origin", origin,
               "--jobs", str(jobs), "--concurrency", str(concurrency)]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, env=os.environ
        )
    except subprocess.TimeoutExpired:
        return {"row": row, "jobs": jobs, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"row": row, "jobs": jobs, "error": (done.stderr or "no output")[-300:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_media_bench(
    origin: str, *, jobs: int = 200, small: int = 50, concurrency: int = 16, timeout: float = 300.0
) -> list[dict[str, Any]]:
    """Every row at ``jobs`` (throughput and RSS) and ours and raw httpx at ``small`` (RSS)."""
    results = [_run_child(row, origin, jobs, concurrency, timeout) for row in ROWS]
    results += [
        _run_child(row, origin, small, concurrency, timeout) for row in ("raw httpx", "ours")
    ]
    return results


def render(results: list[dict[str, Any]], concurrency: int) -> str:
    """A Markdown table with throughput ratios against raw httpx at the same job count."""
    floor = {r["jobs"]: r for r in results if r["row"] == "raw httpx" and "error" not in r}
    lines = [
        "| row | jobs | concurrency | jobs/s | x raw httpx | peak RSS MiB | files |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(
                f"| {r['row']} | {r['jobs']} | {concurrency} | error: {r['error']} | | | |"
            )
            continue
        base = floor.get(r["jobs"])
        ratio = f"{r['jobs_per_s'] / base['jobs_per_s']:.2f}" if base else "-"
        lines.append(
            f"| {r['row']} | {r['jobs']} | {concurrency} | {r['jobs_per_s']:.0f} | {ratio} | "
            f"{r['rss_kib'] / 1024:.1f} | {r['files']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the media benchmark against its own loopback server (or one child row)."""
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--small", type=int, default=50, help="job count of the RSS comparison")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--child", choices=ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.origin, args.jobs, args.concurrency)))
        return 0
    from bench.cli import BenchServerProcess

    with (
        tempfile.TemporaryDirectory() as tmp,
        BenchServerProcess(Path(tmp) / "server.log") as server,
    ):
        results = run_media_bench(
            server.origin, jobs=args.jobs, small=args.small, concurrency=args.concurrency
        )
    print(render(results, args.concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
