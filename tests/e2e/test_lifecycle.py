"""Connections live and die with their event loop; scripts that never close stay quiet.

Each scenario runs in a fresh interpreter (``-W error::ResourceWarning``) against the
local OpenAI wire server, with the real OpenAI adapter and its aiohttp pool, and
reports what it measured as JSON on stdout. Nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.server import FakeServer

pytest.importorskip("openai", reason="needs the 'openai' extra")

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = "sk-test-lifecycle-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def env(server: FakeServer, tmp_path: Path) -> dict[str, str]:
    server.reset()
    config = tmp_path / "inference_runtime.yaml"
    config.write_text(
        f"""
default_model: gpt-4o-mini
routing:
  provider_base_url:
    openai: "{server.base_url}/v1"
""",
        encoding="utf-8",
    )
    environ = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    environ.update(
        INFERENCE_RUNTIME_CONFIG=str(config),
        OPENAI_API_KEY=KEY,
        INFERENCE_READ_DOTENV="false",
        PYTHONDEVMODE="1",  # asyncio debug: unclosed transports and sessions are reported
    )
    environ.pop("INFERENCE_DEFAULT_MODEL", None)
    return environ


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _quiet(stderr: str) -> None:
    for noise in ("Unclosed", "ResourceWarning", "unclosed", "Task was destroyed"):
        assert noise not in stderr, stderr[-3000:]


_CYCLES = """
import asyncio, gc, json, os
from inference_core import bootstrap

inference = bootstrap()

def fds():
    return len(os.listdir("/proc/self/fd"))

async def one():
    result = await inference.chat_text(user="hi", max_tokens=5)
    return result.text

seen = []
for cycle in range(50):
    assert asyncio.run(one()) == "Echo: hi"
    gc.collect()
    if cycle in (4, 49):
        seen.append(fds())
print(json.dumps({"fds": seen, "loops": inference.router.loops_cached}))
"""


def test_one_inference_across_fifty_asyncio_runs_frees_every_loop(
    env: dict[str, str], server: FakeServer, tmp_path: Path
) -> None:
    done = _run(_CYCLES, env, tmp_path)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loops"] == 0  # each loop's entry left with the loop
    after_5, after_50 = report["fds"]
    assert after_50 - after_5 <= 1  # no descriptor per cycle (45 more cycles ran)
    assert len(server.requests_for("/v1/chat/completions")) == 50
    _quiet(done.stderr)


_SEED_PATTERN = """
import asyncio, json
from inference_core import LLMClient

client = LLMClient(default_model="gpt-4o-mini")
texts = [asyncio.run(client.acall([{"role": "user", "content": f"n{i}"}]))["choices"][0]
         ["message"]["content"] for i in range(20)]
print(json.dumps({"texts": texts[:2], "loops": client.inference.router.loops_cached}))
# no close(): the client's loop shuts down at exit and closes what it opened
"""


def test_the_seeds_asyncio_run_per_call_pattern_leaks_nothing_and_warns_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = _run(_SEED_PATTERN, env, tmp_path)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["texts"] == ["Echo: n0", "Echo: n1"]
    assert report["loops"] == 1  # only the client's own long-lived loop
    _quiet(done.stderr)


_SYNC_THREADS = """
import json, threading
from concurrent.futures import ThreadPoolExecutor
from inference_core import LLMClient

client = LLMClient(default_model="gpt-4o-mini")

def ask(i):
    return client.call([{"role": "user", "content": f"n{i}"}])["choices"][0]["message"]["content"]

texts = [ask(0)]                                   # the main thread's own loop
with ThreadPoolExecutor(2) as pool:                # each worker its own loop; they end here
    texts += list(pool.map(ask, range(1, 9)))
late = threading.Thread(target=lambda: texts.append(ask(9)))
late.start(); late.join()                          # takes over a loop an ended worker left
chunks = client.stream_call([{"role": "user", "content": "s"}])
stream = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
print(json.dumps({"texts": sorted(texts), "stream": stream,
                  "loops": client.inference.router.loops_cached}))
# no close(): every thread's loop shuts down at exit and closes what it opened
"""


def test_sync_calls_from_several_threads_leak_nothing_and_warn_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = _run(_SYNC_THREADS, env, tmp_path)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["texts"] == sorted(f"Echo: n{i}" for i in range(10))
    assert report["stream"] == "Echo: s"
    assert report["loops"] == 2  # the main thread's and the late thread's (a worker's, reused)
    _quiet(done.stderr)


def _readme_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_quick_start_runs_and_exits_quietly(
    env: dict[str, str], server: FakeServer, tmp_path: Path
) -> None:
    quick_start = next(b for b in _readme_blocks() if "asyncio.run(main())" in b)
    server.reply("Teal.")
    server.reply('{"title": "The Vault", "mood": "tense"}')
    server.reply("A fox ran home. The end.")
    done = _run(quick_start, env, tmp_path)
    assert "Teal." in done.stdout
    assert "The Vault" in done.stdout
    assert "A fox ran home." in done.stdout
    _quiet(done.stderr)


def test_the_readme_seed_snippet_runs_and_exits_quietly(
    env: dict[str, str], tmp_path: Path
) -> None:
    seed = next(b for b in _readme_blocks() if "LLMClient(" in b)
    done = _run(seed, env, tmp_path)
    assert done.stdout.strip() == "Echo: Hello!"
    _quiet(done.stderr)


_UNCONFIGURED = """
import asyncio
from inference_core import bootstrap
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import OutputValidationError

async def main():
    async with bootstrap(retry=RetryPolicy(max_attempts=2, initial_delay=0.01)) as inference:
        await inference.chat_text(user="hi")           # a 503 then a success: one failed attempt
        try:
            await inference.chat_json(user="hi", max_repairs=1)   # never JSON: two rejections
        except OutputValidationError:
            print("rejected as expected")

asyncio.run(main())
"""


def test_an_unconfigured_script_prints_nothing_from_the_library(
    env: dict[str, str], server: FakeServer, tmp_path: Path
) -> None:
    server.fault(status=503, path="/v1/chat/completions", count=1)
    for _ in range(3):
        server.reply("not json at all")
    env.pop("PYTHONDEVMODE")  # its slow-callback reports are asyncio's, not ours
    done = _run(_UNCONFIGURED, env, tmp_path)
    assert done.stdout.strip() == "rejected as expected"
    assert done.stderr == ""
