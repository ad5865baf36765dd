"""The ``inference_runtime.yaml`` and environment that route our providers to the bench server.

One provider per client path the bench measures:

* ``openai/bench-model`` and ``bench-json``: provider ``openai``, client ``openai_sdk``;
* ``anthropic/bench-claude``: provider ``anthropic``, client ``anthropic_sdk``;
* ``bench-lite`` and ``bench-lite-json``: provider ``benchlite``, client ``litellm``, sent to
  LiteLLM as ``openai/bench-model`` (LiteLLM picks its provider from that prefix);
* ``benchwire/bench-model`` and ``bench-wire-json``: provider ``benchwire``, client
  ``openai_http`` (the no-SDK wire adapter);
* ``benchclaude/bench-claude``: provider ``benchclaude``, client ``anthropic_http``.

Base URLs come from ``routing.provider_base_url_env`` variables set in the environment
snapshot (and, as a fallback, ``custom_endpoints``); keys from ``routing.provider_key_env``.
All variable names start with ``BENCH_`` so a developer's own ``OPENAI_*`` settings never leak
in. The keys are fake.
"""

from __future__ import annotations

from pathlib import Path

from bench import payloads
from bench.clients import FAKE_KEY

__all__ = [
    "ANTHROPIC_PATH_MODEL",
    "ANTHROPIC_WIRE_MODEL",
    "LITELLM_JSON_MODEL",
    "LITELLM_PATH_MODEL",
    "OPENAI_JSON_MODEL",
    "OPENAI_PATH_MODEL",
    "WIRE_JSON_MODEL",
    "WIRE_PATH_MODEL",
    "bench_environ",
    "runtime_yaml",
    "write_runtime_config",
]

OPENAI_PATH_MODEL = f"openai/{payloads.OPENAI_MODEL}"
OPENAI_JSON_MODEL = payloads.JSON_MODEL
WIRE_PATH_MODEL = f"benchwire/{payloads.OPENAI_MODEL}"
WIRE_JSON_MODEL = "bench-wire-json"
ANTHROPIC_WIRE_MODEL = f"benchclaude/{payloads.ANTHROPIC_MODEL}"
ANTHROPIC_PATH_MODEL = f"anthropic/{payloads.ANTHROPIC_MODEL}"
LITELLM_PATH_MODEL = "bench-lite"
LITELLM_JSON_MODEL = "bench-lite-json"

_PROVIDERS = {
    # provider: (key env, base URL env, URL suffix after the origin)
    "openai": ("BENCH_OPENAI_API_KEY", "BENCH_OPENAI_BASE_URL", "/v1"),
    "anthropic": ("BENCH_ANTHROPIC_API_KEY", "BENCH_ANTHROPIC_BASE_URL", ""),
    "benchlite": ("BENCH_LITELLM_API_KEY", "BENCH_LITELLM_BASE_URL", "/v1"),
    "benchwire": ("BENCH_WIRE_API_KEY", "BENCH_WIRE_BASE_URL", "/v1"),
    "benchclaude": ("BENCH_CLAUDE_API_KEY", "BENCH_CLAUDE_BASE_URL", ""),
}


def bench_environ(origin: str) -> dict[str, str]:
    """The environment snapshot for ``bootstrap(environ=...)``: fake keys and server URLs."""
    env: dict[str, str] = {}
    for key_env, url_env, suffix in _PROVIDERS.values():
        env[key_env] = FAKE_KEY
        env[url_env] = origin + suffix
    return env


def runtime_yaml(origin: str) -> str:
    """The runtime config text (YAML) for a server at ``origin`` (``http://host:port``)."""
    endpoints = "\n".join(
        f"  {provider}:\n    base_url: {origin}{suffix}"
        for provider, (_, _, suffix) in _PROVIDERS.items()
    )
    key_envs = "\n".join(f"    {p}: {k}" for p, (k, _, _) in _PROVIDERS.items())
    url_envs = "\n".join(f"    {p}: {u}" for p, (_, u, _) in _PROVIDERS.items())
    return f"""\
# Written by `python -m bench`: routes the bench providers to the loopback bench server.
default_model: {OPENAI_PATH_MODEL}
custom_endpoints:
{endpoints}
routing:
  provider_client:
    openai: openai_sdk
    anthropic: anthropic_sdk
    benchlite: litellm
    benchwire: openai_http
    benchclaude: anthropic_http
  provider_key_env:
{key_envs}
  provider_base_url_env:
{url_envs}
models:
  {OPENAI_JSON_MODEL}:
    provider: openai
    capabilities:
      json_output: json_schema
  {LITELLM_PATH_MODEL}:
    provider: benchlite
    client: litellm
    wire_id: openai/{payloads.OPENAI_MODEL}
  {LITELLM_JSON_MODEL}:
    provider: benchlite
    client: litellm
    wire_id: openai/{payloads.JSON_MODEL}
    capabilities:
      json_output: json_schema
  {WIRE_JSON_MODEL}:
    provider: benchwire
    wire_id: {payloads.JSON_MODEL}
    capabilities:
      json_output: json_schema
"""


def write_runtime_config(directory: Path, origin: str) -> Path:
    """Write ``inference_runtime.yaml`` into ``directory`` and return its path."""
    path = directory / "inference_runtime.yaml"
    path.write_text(runtime_yaml(origin), encoding="utf-8")
    return path
