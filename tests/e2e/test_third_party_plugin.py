"""A third-party chat adapter, installed as its own distribution, is routed with no library change.

The test writes a tiny distribution (a package plus a ``.dist-info`` with its
``entry_points.txt``) into a folder, puts the folder on ``PYTHONPATH`` of a fresh
interpreter, and routes a model to the plugin from ``inference_runtime.yaml``.
Without the folder, the same config is refused with the installed paths listed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN_CODE = '''
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import ChatChunk, ChatResponse, FinishReason, Usage
from inference_core.domain.plugins import ClientPathInfo
from inference_core.ports.plugins import ChatAdapterPlugin


class ShoutingModel:
    """Answers with the last user message in capitals (a stand-in for a real gateway)."""

    capabilities = AdapterCapabilities()

    def __init__(self, connection):
        self.base_url = connection.base_url

    async def complete(self, request):
        text = request.messages[-1].text.upper()
        return ChatResponse(text=text, model=request.model, finish_reason=FinishReason.STOP,
                            usage=Usage(input_tokens=1, output_tokens=1))

    async def stream(self, request):
        yield ChatChunk(text=request.messages[-1].text.upper())
        usage = Usage(input_tokens=1, output_tokens=1)
        yield ChatChunk(finish_reason=FinishReason.STOP, usage=usage)

    async def aclose(self):
        pass


PLUGIN = ChatAdapterPlugin(
    name="shouting",
    paths=(ClientPathInfo(name="shout_gateway", serves=("shouter",), keyless=("shouter",),
                          description="answers in capitals"),),
    create=ShoutingModel,
    capabilities=ShoutingModel.capabilities,
)
'''

CONFIG = """
models:
  loud-model:
    provider: shouter
routing:
  provider_client:
    shouter: shout_gateway
  provider_base_url:
    shouter: "http://127.0.0.1:9/v1"
"""

SCRIPT = """
import asyncio, json
from inference_core import bootstrap
from inference_core.domain.errors import ConfigurationError

async def main():
    try:
        inference = bootstrap(environ={})
    except ConfigurationError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    route = inference.route("loud-model")
    result = await inference.chat_text(user="hello plugin", model="loud-model")
    chunks = [c.text async for c in inference.stream_chat(user="streamed", model="loud-model")]
    print(json.dumps({"client": route.client, "key": route.key_env, "text": result.text,
                      "stream": "".join(chunks), "cost": result.usage.cost_usd}))

asyncio.run(main())
"""


def _distribution(site: Path) -> None:
    package = site / "shouting_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN_CODE), encoding="utf-8")
    info = site / "shouting_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: shouting-plugin\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[inference_core.chat_adapters]\nshouting = shouting_plugin:PLUGIN\n", encoding="utf-8"
    )


def _run(tmp_path: Path, *, with_plugin: bool) -> dict[str, object]:
    site = tmp_path / "site"
    if with_plugin and not site.exists():
        site.mkdir()
        _distribution(site)
    (tmp_path / "inference_runtime.yaml").write_text(CONFIG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_")}
    env.pop("PYTHONPATH", None)
    if with_plugin:
        env["PYTHONPATH"] = str(site)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_installed_plugin_is_routed_from_the_config(tmp_path: Path) -> None:
    result = _run(tmp_path, with_plugin=True)
    assert result == {
        "client": "shout_gateway",
        "key": None,  # the plugin declared the provider keyless
        "text": "HELLO PLUGIN",
        "stream": "STREAMED",
        "cost": None,  # no price declared: unknown, never 0
    }


def test_without_the_plugin_the_config_is_refused_naming_what_is_installed(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, with_plugin=False)
    message = str(result["error"])
    assert "routing.provider_client.shouter" in message
    assert "unknown client path 'shout_gateway'" in message
    assert "openai_sdk" in message and "llama_cpp" in message  # the installed ones, listed
