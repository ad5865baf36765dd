"""Measure and publish docs/reliability.md: fault table, soak, bad-input run, secrets sweep.

Run from the repository root in the project's virtualenv (loopback only, about 3 minutes)::

    python scripts/reliability_report.py            # writes docs/reliability.md
    python scripts/reliability_report.py --quick    # smaller counts, prints only

Pass/fail lives in the tests (tests/e2e/test_fault_matrix.py, test_secrets.py,
test_config_secrets.py, tests/unit/application/test_bad_input*.py); this script
measures the same cases and writes down what it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from inference_core import bootstrap  # noqa: E402
from inference_core.domain.chat import GenerationParams  # noqa: E402
from inference_core.domain.errors import InvalidParameterError  # noqa: E402
from tests.e2e.fault_matrix import CASES, run_case  # noqa: E402
from tests.servers import FakeServer  # noqa: E402
from tests.unit.application.bad_inputs import (  # noqa: E402
    config_texts,
    images,
    messages,
    params,
    probe,
    probe_config,
    probe_image,
    schemas,
)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def fault_table(server: FakeServer) -> list[tuple[str, str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            seen = []
            for protocol in case.protocols:
                outcome = await run_case(server, Path(folder), protocol, case)
                ok = (outcome.seen, outcome.requests) == (case.expected, case.requests)
                mark = "as expected" if ok else "UNEXPECTED"
                seen.append(f"{protocol}: {outcome.seen}, {outcome.requests} req ({mark})")
            expected = f"{case.expected}, {case.requests} request(s): {case.behaviour}"
            rows.append(
                (case.name, "stream" if case.stream else "whole", expected, "; ".join(seen))
            )
    return rows


class ServerProcess:
    """The OpenAI-protocol fake server in its own process, so RSS measures the client only."""

    def __enter__(self) -> str:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers", "--protocol", "openai", "--no-record"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        ready = self._process.stdout.readline().split()
        return f"http://127.0.0.1:{ready[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(10)


async def soak(base_url: str, calls: int, cycles: int) -> dict[str, Any]:
    inference = bootstrap(
        environ={"OPENAI_API_KEY": "sk-soak-000000000000"},
        base_url=base_url,
        default_model="gpt-4o-mini",
    )
    for _ in range(200):  # warm: pools, caches, first imports
        await inference.chat_text(user="warm")
    gc.collect()
    rss0, fd0, started = rss_mb(), fds(), time.perf_counter()
    for index in range(calls):
        await inference.chat_text(user=f"call {index}")
    gc.collect()
    elapsed = time.perf_counter() - started
    rss1, fd1 = rss_mb(), fds()
    await inference.aclose()
    return {
        "calls": calls,
        "seconds": elapsed,
        "rss_before": rss0,
        "rss_after": rss1,
        "fds_before": fd0,
        "fds_after": fd1,
        "cycles": cycles,
        "cycle_script": _cycles(base_url, cycles),
    }


def _cycles(base_url: str, cycles: int) -> dict[str, Any]:
    code = f"""
import asyncio, gc, json, os
from pathlib import Path
from inference_core import bootstrap
inference = bootstrap(environ={{"OPENAI_API_KEY": "sk-soak-000000000000"}},
                      base_url={base_url!r}, default_model="gpt-4o-mini")
async def one():
    return (await inference.chat_text(user="hi")).text
seen = []
for cycle in range({cycles}):
    asyncio.run(one())
    gc.collect()
    if cycle in (9, {cycles - 1}):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        seen.append((len(os.listdir("/proc/self/fd")), pages * os.sysconf("SC_PAGE_SIZE")))
print(json.dumps({{"seen": seen, "loops": inference.router.loops_cached}}))
"""
    import json

    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["warnings"] = sum(
        line.count("Unclosed") + line.count("ResourceWarning") for line in done.stderr.splitlines()
    )
    report["stderr"] = done.stderr[-2000:]
    return report


def bad_inputs(examples: int) -> dict[str, collections.Counter[str]]:
    results: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    run = settings(
        max_examples=examples, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip

    def note(kind: str, outcome: str) -> None:
        results[kind][outcome if outcome in ("ok", "typed", "hang") else "untyped"] += 1
        if outcome not in ("ok", "typed"):
            print(f"  {kind}: {outcome}", file=sys.stderr)

    @run
    @given(value=messages)
    def try_messages(value: Any) -> None:
        note("messages", asyncio.run(probe("chat_text", messages=value)))

    @run
    @given(value=params)
    def try_params(value: Any) -> None:
        try:
            built = GenerationParams.parse(value)
        except InvalidParameterError:
            note("params", "typed")
            return
        note("params", asyncio.run(probe("chat_text", user="hi", params=built)))

    @run
    @given(value=schemas)
    def try_schemas(value: Any) -> None:
        note("schemas", asyncio.run(probe("chat_json", user="hi", schema=value)))

    @run
    @given(value=config_texts)
    def try_configs(value: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            note("config files", probe_config(value, folder))

    @run
    @given(value=images)
    def try_images(value: bytes) -> None:
        note("image bytes", probe_image(value))

    for trial in (try_messages, try_params, try_schemas, try_configs, try_images):
        trial()
    return results


def secrets_sweep() -> str:
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/e2e/test_secrets.py", "tests/e2e/test_config_secrets.py",
        ],
        capture_output=True, text=True, cwd=ROOT, timeout=900, check=False,
    )  # fmt: skip
    found = re.findall(r"(\d+) (passed|failed)", done.stdout)
    counts = {kind: int(n) for n, kind in found}
    return f"{counts.get('passed', 0) + counts.get('failed', 0)} paths tried, " + (
        f"{counts.get('failed', 0)} leaks"
    )


_AUDIT = """
## Dependency audit

Not run: `pip-audit` needs a vulnerability database, and from our machines the package
mirror answers "not found" for every package's JSON metadata and OSV is unreachable, so
a CI step would report "no known vulnerabilities" without having checked anything.
"""


def render(table: list[Any], soaked: dict[str, Any], bad: dict[str, Any], sweep: str) -> str:
    cyc = soaked["cycle_script"]
    (fd_a, rss_a), (fd_b, rss_b) = cyc["seen"]
    lines = [
        "# Reliability",
        "",
        "<!-- Generated by scripts/reliability_report.py; pass/fail lives in the tests. -->",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, against the local "
        "protocol servers (loopback only).",
        "",
        "## Fault table",
        "",
        "One fault in the first request of a call, through `bootstrap()` and the one retry "
        "owner (max 3 attempts, 2.5 s deadline, 1.5 s read timeout). `req` is the number of "
        "requests the server saw: retries are exact, and a final error is never repeated.",
        "",
        "| case | mode | expected | measured |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table),
        "",
        "## Soak",
        "",
        f"- {soaked['calls']:,} sequential calls on one `Inference` (OpenAI wire): RSS "
        f"{soaked['rss_before']:.1f} -> {soaked['rss_after']:.1f} MB "
        f"({soaked['rss_after'] - soaked['rss_before']:+.2f} MB), open fds {soaked['fds_before']}"
        f" -> {soaked['fds_after']}, {soaked['calls'] / soaked['seconds']:.0f} calls/s.",
        f"- {soaked['cycles']} `asyncio.run()` cycles on one `Inference` (fresh process): fds "
        f"{fd_a} -> {fd_b}, RSS {rss_a / 2**20:.1f} -> {rss_b / 2**20:.1f} MB between cycle 10 "
        f"and {soaked['cycles']}, {cyc['loops']} loops left cached, {cyc['warnings']} "
        "unclosed-resource warnings (run with `-W error::ResourceWarning`).",
        "",
        "## Bad input (hypothesis)",
        "",
        "Hostile messages (any JSON-like value, lone surrogates, odd roles and parts), "
        "parameters and output schemas passed to the use-cases over a fake model; config "
        "files (real keys with hostile values, random text and bytes) to the loader; image "
        "bytes (random, or real headers over junk) to `ImageUtils`:",
        "",
        "| input | tried | answered | typed errors | untyped | hangs |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {kind} | {sum(c.values())} | {c['ok']} | {c['typed']} | {c['untyped']} | "
            f"{c['hang']} |"
            for kind, c in bad.items()
        ),
        "",
        "## Secrets sweep",
        "",
        f"Every error path of the OpenAI and Anthropic adapters, the config loader and the CLI "
        f"(tests/e2e/test_secrets.py, tests/e2e/test_config_secrets.py): {sweep}.",
        _AUDIT,
    ]
    return "\n".join(lines)


async def measure_servers(quick: bool) -> tuple[list[Any], dict[str, Any]]:
    with FakeServer() as server:
        table = await fault_table(server)
    with ServerProcess() as base_url:
        soaked = await soak(base_url, 2_000 if quick else 20_000, 20 if quick else 100)
    return table, soaked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts; print, do not write")
    args = parser.parse_args()
    table, soaked = asyncio.run(measure_servers(args.quick))
    bad = bad_inputs(100 if args.quick else 1_000)  # each probe runs its own loop
    text = render(table, soaked, bad, secrets_sweep())
    if args.quick:
        print(text)
    else:
        (ROOT / "docs" / "reliability.md").write_text(text, encoding="utf-8")
        print("wrote docs/reliability.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
