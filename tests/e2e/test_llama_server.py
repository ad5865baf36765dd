"""The library against a REAL ``llama_cpp.server`` (project issue #6).

The server runs the bundled Gemma 3 270M model (session fixture ``llama_server``
in ``conftest.py``). It is declared in a runtime config file as a custom,
keyless provider, exactly as a user would, and called through ``bootstrap``
with two client paths: the OpenAI adapter (``openai_sdk``) and the LiteLLM
adapter (``litellm``, with LiteLLM's ``llamafile/`` provider prefix, its
keyless OpenAI-compatible llama.cpp route; its ``openai/`` route fails without
a key, or picks up ``OPENAI_API_KEY`` from the process: see ``test_secrets.py``).

What the server does, measured with raw requests (llama-cpp-python 0.3.x) and
re-checked by ``test_server_facts_behind_the_declaration``:

* ``response_format: {"type": "json_object", "schema": {...}}`` is accepted and
  enforced with a grammar (HTTP 200, output shaped by the schema);
* ``response_format: {"type": "json_schema", ...}`` is rejected with HTTP 500
  (a request-validation ``literal_error`` reported as ``internal_server_error``,
  which a client would even treat as retryable);
* streams carry no usage, even with ``stream_options.include_usage`` (the field
  is accepted and ignored); non-streamed answers do report usage;
* any ``model`` name is accepted (one model is loaded); ``GET /v1/models``
  lists the ``--model_alias``.

Hence the declaration ``json_output: json_object_with_schema`` and
``stream_usage: false``. Generations are short and greedy (2 shared cores).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from inference_core import Inference, bootstrap
from inference_core.domain.catalog import JSONOutput
from inference_core.domain.chat import ChatChunk, FinishReason, Usage

if TYPE_CHECKING:
    from tests.e2e.conftest import LlamaServer

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

PROMPT = "Name one colour."
TEXT_TOKENS = 16
JSON_TOKENS = 64
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens")


class Scene(BaseModel):
    title: str
    mood: str


SCENE_SCHEMA = Scene.model_json_schema()
# The grammar fixes the shape, not the length of strings: a prompt that invites a
# rambling mood can run into max_tokens (and so does ``maxLength``, which this
# server's grammar enforces but lets raw control characters through).
JSON_PROMPT = "Give a title and a one-word mood for a forest scene."


@dataclass(frozen=True)
class Row:
    """One client path to the server: the model id the config declares for it."""

    model: str
    provider: str
    client: str


OPENAI = Row("llamacpp-gemma", "llamacpp", "openai_sdk")
LITELLM = Row("llamacpp-gemma-litellm", "llamacpp-litellm", "litellm")

# LiteLLM's own internals warn while lazily building its streaming types; under the
# project's ``filterwarnings = error`` they would surface as errors inside LiteLLM.
LITELLM_WARNINGS = [
    pytest.mark.filterwarnings(
        "ignore:Item '.*' on TypedDict class '.*' is using the `ReadOnly`:UserWarning"
    ),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211:litellm"),
]


def runtime_yaml(base_url: str, wire_model: str) -> str:
    """The config a user writes to declare the server (keyless, two client paths)."""
    return f"""\
models:
  {OPENAI.model}:
    provider: {OPENAI.provider}
    wire_id: {wire_model}
    context_window: 2048
    capabilities: {{json_output: json_object_with_schema, stream_usage: false}}
  {LITELLM.model}:
    provider: {LITELLM.provider}
    wire_id: llamafile/{wire_model}
    context_window: 2048
    capabilities: {{json_output: json_object_with_schema, stream_usage: false}}
routing:
  provider_client: {{{OPENAI.provider}: openai_sdk, {LITELLM.provider}: litellm}}
  provider_key_env: {{{OPENAI.provider}: null, {LITELLM.provider}: null}}
  provider_base_url:
    {OPENAI.provider}: "{base_url}"
    {LITELLM.provider}: "{base_url}"
"""


@pytest.fixture
def config_file(llama_server: LlamaServer, tmp_path: Path) -> Path:
    path = tmp_path / "inference_runtime.yaml"
    path.write_text(runtime_yaml(llama_server.base_url, llama_server.model), encoding="utf-8")
    return path


@pytest.fixture
async def inference(config_file: Path) -> AsyncIterator[Inference]:
    # An explicit environ: no variable of the developer's shell can change routing or keys.
    wired = bootstrap(config_path=config_file, environ={})
    try:
        yield wired
    finally:
        await wired.aclose()


def assert_unknown_or_estimated(usage: Usage | None) -> None:
    """Usage the server did not send is unknown (None) or flagged as estimated; never a 0."""
    if usage is None or not usage.is_known:
        return
    assert usage.estimated, f"token counts the server never sent, reported as exact: {usage}"
    for name in (*TOKEN_FIELDS, "reasoning_tokens"):
        assert getattr(usage, name) != 0, f"{name}=0 stands for an unknown count: {usage}"


# --------------------------------------------------------------------------- the server itself


def test_server_facts_behind_the_declaration(llama_server: LlamaServer) -> None:
    url = f"{llama_server.base_url}/chat/completions"
    ask = {"messages": [{"role": "user", "content": JSON_PROMPT}]}
    with httpx.Client(timeout=120.0) as http:
        models = http.get(f"{llama_server.base_url}/models").json()
        assert [m["id"] for m in models["data"]] == [llama_server.model]

        # The library's json_schema strategy would be refused...
        refused = http.post(
            url,
            json={
                **ask,
                "max_tokens": 4,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "Scene", "schema": SCENE_SCHEMA, "strict": True},
                },
            },
        )
        assert refused.status_code == 500
        assert "json_schema" in refused.text

        # ...while JSON mode carrying the schema is grammar-enforced.
        accepted = http.post(
            url,
            json={
                **ask,
                "max_tokens": JSON_TOKENS,
                "temperature": 0,
                "response_format": {"type": "json_object", "schema": SCENE_SCHEMA},
            },
        )
        assert accepted.status_code == 200
        body = accepted.json()
        Scene.model_validate_json(body["choices"][0]["message"]["content"])
        assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["completion_tokens"] > 0

        # Streams carry no usage, even when asked for it.
        events = []
        with http.stream(
            "POST",
            url,
            json={
                **ask,
                "max_tokens": 4,
                "temperature": 0,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        ) as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    events.append(json.loads(line.removeprefix("data: ")))
    assert events and events[-1]["choices"][0]["finish_reason"] is not None
    assert all(event.get("usage") is None for event in events)


# --------------------------------------------------------------------------- both client paths


@pytest.mark.parametrize(
    "row", [OPENAI, pytest.param(LITELLM, marks=LITELLM_WARNINGS)], ids=["openai", "litellm"]
)
async def test_completion_text_and_usage(inference: Inference, row: Row) -> None:
    route = inference.route(row.model)
    assert (route.provider, route.client, route.key_env) == (row.provider, row.client, None)

    with capture_logs() as events:
        result = await inference.chat_text(
            user=PROMPT, model=row.model, max_tokens=TEXT_TOKENS, temperature=0.0
        )

    assert result.text.strip()
    assert (result.model, result.provider, result.client) == (row.model, row.provider, row.client)
    assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert result.attempts == 1
    usage = result.usage
    assert usage.input_tokens is not None and usage.input_tokens > 0
    assert usage.output_tokens is not None and 0 < usage.output_tokens <= TEXT_TOKENS
    assert not usage.estimated
    assert usage.cost_usd is None  # a custom model without prices: unknown, never 0
    total = inference.ledger.total
    assert (total.attempts, total.ok, total.errors) == (1, 1, 0)
    assert total.usage.input_tokens == usage.input_tokens
    assert total.cost_usd is None and total.unpriced_attempts == 1
    calls = [e for e in events if e["event"] == "inference.call"]
    assert len(calls) == 1 and calls[0]["inference.outcome"] == "ok"


@pytest.mark.parametrize(
    "row",
    [OPENAI, pytest.param(LITELLM, marks=LITELLM_WARNINGS)],
    ids=["openai", "litellm"],
)
async def test_stream_reassembles_the_completion(inference: Inference, row: Row) -> None:
    whole = await inference.chat_text(
        user=PROMPT, model=row.model, max_tokens=TEXT_TOKENS, temperature=0.0
    )
    chunks: list[ChatChunk] = [
        chunk
        async for chunk in inference.stream_chat(
            user=PROMPT, model=row.model, max_tokens=TEXT_TOKENS, temperature=0.0
        )
    ]

    final = chunks[-1]
    assert final.is_final and not any(chunk.is_final for chunk in chunks[:-1])
    assert final.finish_reason == whole.finish_reason
    assert len(chunks) > 2  # really streamed, not replayed as one piece
    # Greedy decoding: the stream's pieces are the whole answer, in order.
    assert "".join(chunk.text for chunk in chunks) == whole.text
    assert_unknown_or_estimated(final.usage)


@pytest.mark.parametrize(
    "row",
    [OPENAI, pytest.param(LITELLM, marks=LITELLM_WARNINGS)],
    ids=["openai", "litellm"],
)
async def test_chat_json_follows_the_declared_json_capability(
    inference: Inference, row: Row
) -> None:
    with capture_logs() as events:
        result = await inference.chat_json(
            schema=Scene,
            user=JSON_PROMPT,
            model=row.model,
            max_tokens=JSON_TOKENS,
            temperature=0.0,
            max_repairs=0,  # the grammar must get it right the first time
        )

    assert isinstance(result.value, Scene)
    assert result.value.title.strip() and result.value.mood.strip()
    # json_schema would be answered with HTTP 500: the declaration keeps it off the wire.
    assert result.strategy is JSONOutput.JSON_OBJECT_WITH_SCHEMA
    assert result.attempts == 1 and result.failed_attempts == ()
    assert result.usage.input_tokens and result.usage.output_tokens
    strategy = [e for e in events if e["event"] == "inference.json_strategy"]
    assert [e["strategy"] for e in strategy] == ["json_object_with_schema"]
    outcomes = [e["inference.outcome"] for e in events if e["event"] == "inference.call"]
    assert outcomes == ["ok"]
