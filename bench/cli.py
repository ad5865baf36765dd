"""``python -m bench``: start the bench server, measure each suite in a fresh child, print a table.

Bounded by construction: one child at a time, at most 100 calls in flight, fixed
iteration counts, a timeout per child and a hard timeout on the whole run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from bench.embedded import LIBRARY, EmbeddedReport
from bench.embedded import markdown_section as embedded_section
from bench.embedded import render as render_embedded
from bench.embedded import run as run_embedded
from bench.goals import evaluate, render_goals_markdown, render_goals_text
from bench.media import render as render_media
from bench.media import run_media_bench
from bench.report import build_rows, loaded_note, machine_info, render_markdown, render_text
from bench.runtime import bench_environ, write_runtime_config
from bench.suites import SUITES, Suite, suite_by_key

__all__ = ["BenchServerProcess", "child_environment", "main", "run_suite_child"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"

_QUICK_TIMEOUT = 150.0
_FULL_TIMEOUT = 1800.0
_CHILD_CAP_QUICK = 60.0
_CHILD_CAP_FULL = 420.0
_LOG_TAIL = 1500
#: Seconds the embedded model rows need at most (quick: 1 short round; full: 6 rounds).
_EMBEDDED_BUDGET_QUICK = 30.0
_EMBEDDED_BUDGET_FULL = 300.0
#: Variables a child keeps from our environment; everything else is dropped so no real
#: key, proxy or provider URL can leak into a measurement.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT")


def child_environment(origin: str, config_path: Path | None) -> dict[str, str]:
    """The environment of every child: minimal, fake keys, loopback only, no network lookups."""
    env = {name: os.environ[name] for name in _KEPT_ENV if name in os.environ}
    env.update(bench_environ(origin))
    env.update(
        {
            # LiteLLM fetches its price map from the internet at import unless told not to.
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "NO_PROXY": "*",
            "no_proxy": "*",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    if config_path is not None:
        env["INFERENCE_RUNTIME_CONFIG"] = str(config_path)
    return env


class BenchServerProcess:
    """The bench server in its own process; it exits when we close its stdin."""

    def __init__(self, log_path: Path, *, start_timeout: float = 30.0) -> None:
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.server"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=child_environment("http://127.0.0.1:0", None),
        )
        try:
            self.port = self._read_port(start_timeout)
        except BaseException:
            self.stop()
            raise
        self.host = "127.0.0.1"
        self.origin = f"http://{self.host}:{self.port}"

    def _read_port(self, timeout: float) -> int:
        stdout = self.proc.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline().decode("ascii", "replace").strip() if ready else ""
        if not line.startswith("BENCH_SERVER_PORT="):
            raise RuntimeError(f"the bench server did not start (got {line!r})")
        return int(line.partition("=")[2])

    def stop(self) -> None:
        """Close stdin (the server exits on EOF), then terminate, then kill."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self._log):
            if stream is not None:
                stream.close()

    def __enter__(self) -> BenchServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()[-_LOG_TAIL:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip().replace("\n", " | ")


@dataclass(frozen=True)
class ChildRun:
    """Where a child runs and what it may take."""

    workdir: Path
    env: dict[str, str]
    host: str
    port: int
    config_path: Path
    quick: bool


def run_suite_child(
    run: ChildRun, suite: Suite | None, *, timeout: float, imports_only: bool = False
) -> dict[str, Any]:
    """Run one child (``suite=None``: a bare interpreter) and return its result dict.

    A child that times out or dies becomes a result whose rows are errors, never an exception.
    """
    key = suite.key if suite else "bare"
    out = run.workdir / f"{key}-{time.monotonic_ns()}.json"
    log = run.workdir / f"{key}.log"
    cmd = [
        sys.executable,
        "-m",
        "bench.runner",
        "--imports",
        ",".join(suite.imports if suite else ()),
    ]
    cmd += ["--out", str(out)]
    if suite is not None:
        cmd += ["--suite", suite.key, "--host", run.host, "--port", str(run.port)]
        cmd += ["--config", str(run.config_path)]
    if run.quick:
        cmd.append("--quick")
    if imports_only or suite is None:
        cmd.append("--imports-only")
    problem = ""
    with log.open("wb") as log_file:
        try:
            proc = subprocess.run(
                cmd,
                cwd=REPO_ROOT,
                env=run.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=max(timeout, 1.0),
            )
            if proc.returncode != 0:
                problem = f"child exited with {proc.returncode}"
        except subprocess.TimeoutExpired:
            problem = f"timed out after {timeout:.0f} s"
    if not problem and out.is_file():
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result
    detail = f"{problem or 'no result'}: {_tail(log)}"[:300]
    kinds = suite.kinds if suite else ()
    return {
        "suite": key,
        "import_ms": None,
        "rss_kib": None,
        "rows": {kind: {"status": "error", "note": detail} for kind in kinds},
        "input": {"status": "error", "note": detail},
    }


#: The ``--only`` key of the embedded model rows (not a suite: they run in this process).
EMBEDDED_KEY = "embedded"


def _selected(only: str | None) -> list[Suite]:
    if not only:
        return list(SUITES)
    keys = [key.strip() for key in only.split(",") if key.strip()]
    return [suite_by_key(key) for key in keys if key != EMBEDDED_KEY]


def _wants_embedded(only: str | None) -> bool:
    # A subset run (``--only``) measures the embedded model only when it names it.
    return not only or EMBEDDED_KEY in {key.strip() for key in only.split(",")}


def _import_check_text(env: dict[str, str], timeout: float, runs: int) -> str:
    cmd = [sys.executable, "-m", "bench.import_check", "--runs", str(runs)]
    try:
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=max(timeout, 1.0)
        )
    except subprocess.TimeoutExpired:
        return "import check timed out"
    return (proc.stdout + proc.stderr).strip()


def _progress(message: str, stream: IO[str] = sys.stderr) -> None:
    print(message, file=stream, flush=True)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="inference-core-bench-") as tmp:
        yield Path(tmp)


def _embedded_ratio(report: EmbeddedReport | None) -> float | None:
    """The library's worse tokens/s ratio to raw llama_cpp (call or stream)."""
    if report is None:
        return None
    ratios = [r.ratio for r in report.rows if r.variant == LIBRARY and r.ratio is not None]
    return min(ratios) if ratios else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; prints the table; writes docs/benchmarks.md in full mode."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations (CI smoke)")
    parser.add_argument(
        "--only",
        help="comma-separated suite keys: "
        + ",".join([*(s.key for s in SUITES), EMBEDDED_KEY])
        + f" ({EMBEDDED_KEY}: the embedded model rows)",
    )
    parser.add_argument("--timeout", type=float, help="hard limit for the whole run, seconds")
    parser.add_argument("--import-samples", type=int, help="children per suite for import/RSS")
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    parser.add_argument("--no-write", action="store_true", help="full mode: do not write docs")
    args = parser.parse_args(argv)

    quick = bool(args.quick)
    deadline = time.monotonic() + (args.timeout or (_QUICK_TIMEOUT if quick else _FULL_TIMEOUT))
    cap = _CHILD_CAP_QUICK if quick else _CHILD_CAP_FULL
    samples = args.import_samples or (1 if quick else 5)
    suites = _selected(args.only)
    write_to: Path | None = args.write or (None if quick or args.no_write else DOCS_PATH)

    started = time.monotonic()
    info = machine_info(mode="quick" if quick else "full", load_before=os.getloadavg())
    results: dict[str, dict[str, Any]] = {}
    import_samples: dict[str, list[float]] = {}
    rss_samples: dict[str, list[float]] = {}
    bare_rss: list[float] = []
    check_text = ""
    media_text = ""
    embedded_report: EmbeddedReport | None = None

    def remaining() -> float:
        return deadline - time.monotonic()

    with _workdir() as workdir, BenchServerProcess(workdir / "server.log") as server:
        config_path = write_runtime_config(workdir, server.origin)
        env = child_environment(server.origin, config_path)
        run = ChildRun(workdir, env, server.host, server.port, config_path, quick)
        _progress(f"bench server on {server.origin}; {len(suites)} suites; mode {info.mode}")
        for _ in range(max(1, min(samples, 3))):
            bare = run_suite_child(run, None, timeout=min(cap, remaining()))
            if bare.get("rss_kib"):
                bare_rss.append(float(bare["rss_kib"]))
        for number, suite in enumerate(suites, start=1):
            if remaining() <= 1:
                _progress(f"hard timeout reached; skipping {suite.key} and the rest")
                break
            began = time.monotonic()
            results[suite.key] = run_suite_child(run, suite, timeout=min(cap, remaining()))
            _progress(f"[{number}/{len(suites)}] {suite.key}: {time.monotonic() - began:.1f} s")
            for _ in range(samples - 1):
                if not suite.imports or remaining() <= 1:
                    break
                extra = run_suite_child(
                    run, suite, timeout=min(cap, remaining()), imports_only=True
                )
                if extra.get("import_ms") is not None:
                    import_samples.setdefault(suite.key, []).append(float(extra["import_ms"]))
                if extra.get("rss_kib"):
                    rss_samples.setdefault(suite.key, []).append(float(extra["rss_kib"]))
        if remaining() > 1:
            check_text = _import_check_text(env, min(cap, remaining()), 1 if quick else 5)
        if remaining() > 10:
            jobs, small = (24, 12) if quick else (200, 50)
            _progress(f"media: {jobs} image jobs per row at concurrency 16")
            media_rows = run_media_bench(
                server.origin, jobs=jobs, small=small, concurrency=16, timeout=min(cap, remaining())
            )
            media_text = render_media(media_rows, 16)

    # After the bench server stopped: the model runs on the CPU the server would share.
    if _wants_embedded(args.only):
        if remaining() > (_EMBEDDED_BUDGET_QUICK if quick else _EMBEDDED_BUDGET_FULL):
            _progress("embedded model: library vs raw llama_cpp vs llama.cpp server")
            embedded_report = run_embedded(quick)
            _progress(f"embedded model: {embedded_report.elapsed_s:.1f} s")
        else:
            _progress("hard timeout near; skipping the embedded model rows")
            embedded_report = EmbeddedReport(error="the run's hard timeout was near")

    info = replace(info, load_after=os.getloadavg())
    bare_kib = sorted(bare_rss)[len(bare_rss) // 2] if bare_rss else None
    rows = build_rows(
        results, bare_rss_kib=bare_kib, import_samples=import_samples, rss_samples=rss_samples
    )
    elapsed = time.monotonic() - started
    print()
    print(render_text(rows))
    print()
    for line in info.lines():
        print(line)
    note = loaded_note(info)
    if note:
        print(note)
    if quick:
        print(
            "quick mode: few iterations per row; the numbers show that each path runs, nothing more"
        )
    if check_text:
        print()
        print(check_text)
    if media_text:
        print()
        print(media_text)
    if embedded_report is not None:
        print()
        print(render_embedded(embedded_report))
    goals = evaluate(rows, embedded_ratio=_embedded_ratio(embedded_report))
    print()
    print(render_goals_text(goals))
    print(f"\nfinished in {elapsed:.1f} s")
    if write_to is not None:
        write_to.parent.mkdir(parents=True, exist_ok=True)
        report = render_markdown(rows, info, elapsed_s=elapsed, import_check=check_text)
        if media_text:
            report += (
                "\n## Media generation (image jobs, `python -m bench.media`)\n\n"
                "Same work per job in every row: POST /v1/images/generations, decode the "
                "`b64_json` PNG, write the file. Ours adds schema validation, the retry owner, "
                "a streamed atomic store with sha256, probe verification and usage events. "
                "Each row is its own process; peak RSS is that process's.\n\n"
                f"{media_text}\n"
            )
        if embedded_report is not None:
            report += embedded_section(embedded_report)
        report += "\n" + render_goals_markdown(goals)
        write_to.write_text(report, encoding="utf-8")
        print(f"wrote {write_to}")
    return 0
