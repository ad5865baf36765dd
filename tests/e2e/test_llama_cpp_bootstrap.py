"""The local model end to end: routing, the composition root and the process-wide pool."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("llama_cpp", reason="needs the 'local' extra (llama-cpp-python)")

from inference_core.adapters.llama_cpp import (
    LlamaCppChatModel,
    create_chat_model,
    default_model_pool,
)
from inference_core.composition import bootstrap
from inference_core.domain.chat import ChatRequest, GenerationParams
from inference_core.domain.config import RuntimeConfig
from inference_core.domain.messages import Message
from inference_core.domain.routing import ClientPath, ProviderConnection

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

PARAMS = GenerationParams(temperature=0.0, seed=5, max_tokens=4)


def ask(model: str) -> ChatRequest:
    return ChatRequest(model=model, messages=(Message.user("Hello there"),), params=PARAMS)


def test_catalog_model_routes_to_the_embedded_adapter_and_shares_one_model() -> None:
    inference = bootstrap(config=RuntimeConfig(), environ={})
    route = inference.route("local/gemma-3-270m")
    assert (route.provider, route.client, route.api_model) == (
        "local",
        ClientPath.LLAMA_CPP,
        "gemma-3-270m",
    )
    assert route.key_env is None  # no key needed, none asked for

    async def call() -> tuple[str, LlamaCppChatModel]:
        resolved = inference.router.resolve("gemma-3-270m")  # the alias routes the same way
        adapter = resolved.chat_model
        assert isinstance(adapter, LlamaCppChatModel)
        response = await adapter.complete(ask(resolved.route.api_model))
        await inference.aclose()
        return response.text, adapter

    # Two event loops (as the seed's sync facade does): two adapters, one loaded model.
    first_text, first_adapter = asyncio.run(call())
    second_text, second_adapter = asyncio.run(call())
    assert first_adapter is not second_adapter
    assert first_text and first_text == second_text
    loaded = [s for s in default_model_pool().loaded() if s.path.name.endswith(".gguf")]
    assert len(loaded) == 1


async def test_a_gguf_path_in_models_config_is_served() -> None:
    bundled = await asyncio.to_thread(default_model_pool().bundled_model_path)
    config = RuntimeConfig.model_validate(
        {"models": {"my-gguf": {"provider": "local", "wire_id": str(bundled)}}}
    )
    inference = bootstrap(config=config, environ={})
    resolved = inference.router.resolve("my-gguf")
    assert resolved.route.client == ClientPath.LLAMA_CPP
    assert resolved.route.api_model == str(bundled)
    response = await resolved.chat_model.complete(ask(resolved.route.api_model))
    # A file given by path uses its own chat template; this base model has none, so
    # llama-cpp-python falls back to a generic format and the text may well be empty.
    assert response.model == str(bundled)
    assert response.usage.input_tokens and response.usage.output_tokens is not None
    assert any(
        spec.path == bundled and spec.chat_format is None for spec in default_model_pool().loaded()
    )
    await inference.aclose()


async def test_local_prefix_with_a_path() -> None:
    bundled = await asyncio.to_thread(default_model_pool().bundled_model_path)
    inference = bootstrap(config=RuntimeConfig(), environ={})
    route = inference.route(f"local/{bundled}")
    assert route.api_model == str(bundled)
    assert route.client == ClientPath.LLAMA_CPP


def test_create_chat_model_uses_the_connection() -> None:
    connection = ProviderConnection(
        provider="local", client=ClientPath.LLAMA_CPP, read_timeout=42.0
    )
    adapter = create_chat_model(connection)
    assert isinstance(adapter, LlamaCppChatModel)
    assert adapter.capabilities.streaming
    assert "local" in repr(adapter)
