"""The harness end to end: config routing, our rows, child processes, n/a handling, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench import payloads
from bench.child import measure_kind, run_suite
from bench.cli import REPO_ROOT, BenchServerProcess, ChildRun, child_environment, run_suite_child
from bench.clients import BenchClient, BenchContext, NotBuilt
from bench.measure import Iterations
from bench.ours import OursAnthropic, OursOpenAI, _require_module
from bench.runtime import bench_environ, write_runtime_config
from bench.server import BenchServer
from bench.suites import Kind, Suite, suite_by_key
from inference_core.adapters.config.settings import InferenceSettings
from inference_core.composition import bootstrap

_TINY = Iterations(
    warmup=1, sequential=3, streams=2, sync=2, json=2, concurrent_total=6, in_flight=3
)


@pytest.fixture
def routed(server: BenchServer, tmp_path: Path) -> BenchContext:
    """A context with the runtime config that routes our providers to the server."""
    origin = f"http://{server.host}:{server.port}"
    return BenchContext(
        host=server.host,
        port=server.port,
        config_path=write_runtime_config(tmp_path, origin),
        environ=bench_environ(origin),
    )


def test_runtime_config_routes_each_client_path_to_the_server(routed: BenchContext) -> None:
    inference = bootstrap(
        settings=InferenceSettings.model_construct(read_dotenv=False),
        config_path=routed.config_path,
        environ=routed.environ,
    )
    expected = {
        "openai/bench-model": ("openai", "openai_sdk", "bench-model", routed.openai_base_url),
        "bench-json": ("openai", "openai_sdk", "bench-json", routed.openai_base_url),
        "anthropic/bench-claude": ("anthropic", "anthropic_sdk", "bench-claude", routed.origin),
        "bench-lite": ("benchlite", "litellm", "openai/bench-model", routed.openai_base_url),
        "bench-lite-json": ("benchlite", "litellm", "openai/bench-json", routed.openai_base_url),
    }
    for model, (provider, client, api_model, base_url) in expected.items():
        route = inference.route(model)
        assert (route.provider, route.client, route.api_model) == (
            provider,
            client,
            api_model,
        )
        connection = inference.router.connection(route)
        assert connection.base_url == base_url
        assert connection.api_key is not None
        assert "sk-bench" not in repr(connection)


@pytest.mark.parametrize("factory", [OursOpenAI, OursAnthropic])
async def test_our_rows_measure_against_the_server(
    factory: type[BenchClient],
    routed: BenchContext,
    server: BenchServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The seed-compatible LLMClient reads the process environment (as the bench children do).
    for name, value in routed.environ.items():
        monkeypatch.setenv(name, value)
    client = factory(routed)
    await client.start()
    try:
        rows = {kind: await measure_kind(client, kind, _TINY) for kind in factory_kinds(factory)}
    finally:
        await client.aclose()
    for kind in ("call", "adapter", "stream"):
        assert rows[kind]["status"] == "ok", rows[kind]
    assert rows["stream"]["ttfc_p50_us"] <= rows["stream"]["p50_us"]
    if "json" in rows:
        assert rows["json"]["status"] == "ok", rows["json"]
    # The seed LLMClient may not exist yet; it must be measured or reported, never crash.
    assert rows["compat"]["status"] in ("ok", "na"), rows["compat"]
    assert server.requests >= 3 * (_TINY.warmup + _TINY.sequential)


def factory_kinds(factory: type[BenchClient]) -> list[Kind]:
    key = "ours-openai" if factory is OursOpenAI else "ours-anthropic"
    return [k for k in suite_by_key(key).kinds if k not in ("sync", "compat_sync")]


class _Scripted(BenchClient):
    """A client whose call fails the way a test asks."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(BenchContext("127.0.0.1", 1))
        self.error = error
        self.calls = 0

    async def call(self) -> None:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "note"),
    [
        (NotBuilt("Inference.chat_text is missing"), "na", "not built yet: Inference.chat_text"),
        (NotImplementedError(), "na", "not measured for this client"),
        (RuntimeError("boom"), "error", "RuntimeError: boom"),
    ],
)
async def test_failures_become_row_statuses(error: BaseException, status: str, note: str) -> None:
    client = _Scripted(error)
    row = await measure_kind(client, "call", _TINY)
    assert row["status"] == status
    assert note in row["note"]
    assert client.calls == 1


def test_import_failures_become_not_built_or_not_installed() -> None:
    suite = suite_by_key("ours-openai")
    ctx = BenchContext("127.0.0.1", 1)
    ours = run_suite(suite, ctx, _TINY, "ModuleNotFoundError: No module named 'inference_core.x'")
    assert set(ours) == set(suite.kinds)
    assert ours["call"] == {
        "status": "na",
        "note": "not built yet: No module named 'inference_core.x'",
    }
    vendor = run_suite(suite_by_key("aiohttp"), ctx, _TINY, "ModuleNotFoundError: aiohttp")
    assert vendor["call"]["note"].startswith("not installed")


def test_require_module_raises_not_built() -> None:
    _require_module("inference_core.domain")
    with pytest.raises(NotBuilt, match=r"inference_core\.adapters\.does_not_exist is missing"):
        _require_module("inference_core.adapters.does_not_exist")


def test_child_environment_is_minimal_and_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-must-not-leak")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    env = child_environment("http://127.0.0.1:9", Path("/tmp/x.yaml"))
    assert "OPENAI_API_KEY" not in env and "HTTPS_PROXY" not in env
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["BENCH_OPENAI_BASE_URL"] == "http://127.0.0.1:9/v1"
    assert env["INFERENCE_RUNTIME_CONFIG"] == "/tmp/x.yaml"


def test_server_process_serves_and_stops(tmp_path: Path) -> None:
    server = BenchServerProcess(tmp_path / "server.log")
    try:
        with httpx.Client() as client:
            reply = client.post(
                f"{server.origin}/v1/chat/completions",
                json={"model": "bench-model", "messages": []},
            )
        assert reply.json()["choices"][0]["message"]["content"] == payloads.REPLY_TEXT
        run = ChildRun(
            tmp_path,
            child_environment(server.origin, None),
            server.host,
            server.port,
            tmp_path / "none.yaml",
            quick=True,
        )
        raw = run_suite_child(run, suite_by_key("raw"), timeout=60)
        missing = Suite("x", "x", "ours", "x:Y", ("inference_core.adapters.nope",), ("call",))
        imports_only = run_suite_child(run, missing, timeout=60, imports_only=True)
    finally:
        server.stop()
    assert server.proc.returncode == 0  # it exited on stdin EOF, not by a signal
    assert raw["rows"]["call"]["status"] == "ok" and raw["rows"]["stream"]["status"] == "ok"
    assert raw["rows"]["call"]["calls_s"] > 0
    assert imports_only["import_ms"] is None
    assert "inference_core.adapters.nope" in imports_only["import_error"]


@pytest.mark.slow
def test_cli_quick_subset_prints_one_table_and_writes_markdown(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "bench", "--quick", "--only", "raw,ours-openai,input,embedded"),
            *("--write", str(out), "--timeout", "150"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = proc.stdout
    assert table.count("\nrow ") == 1  # ONE table
    for label in ("raw asyncio HTTP/1.1 (floor) · call", "ChatText · openai path"):
        line = next(x for x in table.splitlines() if x.startswith(label))
        assert "ERROR" not in line and "n/a" not in line
    assert "StreamChat 20 chunks · openai path" in table
    assert "ChatJSON 50 KB · openai path" in table
    assert "import inference_core: +" in table
    assert "CPU:" in table and "Python:" in table
    markdown = out.read_text(encoding="utf-8")
    assert "## Results" in markdown and "| ChatText · openai path |" in markdown
    # The embedded model rows (or why they were skipped: the 'local' extra is optional).
    assert "## Embedded model" in markdown
    assert "| library | stream |" in markdown or "embedded model benchmark skipped" in markdown
