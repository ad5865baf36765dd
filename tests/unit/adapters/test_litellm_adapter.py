"""LiteLLM adapter specifics beyond the shared contract.

Lazy, offline import (checked in a fresh interpreter), the acompletion arguments,
usage and cost, headers, and connection release. Real LiteLLM over real HTTP to
the local protocol servers.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from inference_core.adapters.litellm import (
    CAPABILITIES,
    KEYLESS_PLACEHOLDER,
    LiteLLMChatModel,
    completion_kwargs,
    create_chat_model,
)
from inference_core.domain.chat import ChatRequest, GenerationParams, ResponseFormat
from inference_core.domain.errors import AuthenticationError, ConfigurationError
from inference_core.domain.messages import Message
from inference_core.domain.routing import ClientPath, ProviderConnection
from tests.contract.harness import wait_until
from tests.contract.rows_litellm import ignore_litellm_internal_warnings
from tests.servers import FakeServer, Fault, openai_error
from tests.servers.fixtures import fake_server, fake_server_session

__all__ = ["fake_server", "fake_server_session"]  # pytest fixtures used below

ROOT = Path(__file__).resolve().parents[3]
KEY = "sk-litellm-test-key-0123456789"


def _request(**fields: Any) -> ChatRequest:
    values: dict[str, Any] = {"model": "gpt-4o-mini", "messages": (Message.user("hello there"),)}
    values.update(fields)
    return ChatRequest.model_validate(values)


# --- import: lazy and offline ------------------------------------------------------------

_FIRST_CALL = textwrap.dedent(
    """
    import asyncio, json, sys, threading
    reached = []

    def audit(event, args):
        if event in ("socket.connect", "socket.getaddrinfo"):
            host = args[1][0] if event == "socket.connect" else args[0]
            if host not in ("127.0.0.1", "localhost", "::1"):
                reached.append(str(host))

    sys.addaudithook(audit)
    argv = list(sys.argv)
    from pydantic import SecretStr
    import inference_core.adapters.litellm as adapter
    from inference_core.domain.chat import ChatRequest
    from inference_core.domain.messages import Message
    from inference_core.domain.routing import ClientPath, ProviderConnection
    from tests.servers import OpenAIServer

    after_import = "litellm" in sys.modules
    model = adapter.create_chat_model(
        ProviderConnection(
            provider="openai", client=ClientPath.LITELLM, api_key=SecretStr("k"),
            base_url=sys.argv[1],
        )
    )
    after_build = "litellm" in sys.modules
    request = ChatRequest(model="openai/gpt-4o-mini", messages=(Message.user("hi"),))

    async def main():
        try:
            return (await model.complete(request)).text
        finally:
            await model.aclose()

    text = asyncio.run(main())
    from litellm.litellm_core_utils.get_model_cost_map import get_model_cost_map_source_info
    print(json.dumps({
        "after_import": after_import,
        "after_build": after_build,
        "after_call": "litellm" in sys.modules,
        "text": text,
        "reached": reached,
        "argv_kept": sys.argv == argv,
        "cost_map": get_model_cost_map_source_info()["source"],
        "threads": sorted(t.name for t in threading.enumerate()),
    }))
    """
)


def test_litellm_is_imported_on_the_first_call_offline_with_the_bundled_cost_map(
    fake_server: FakeServer,
):
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL, fake_server.openai_base_url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])

    assert seen["after_import"] is False
    assert seen["after_build"] is False
    assert seen["after_call"] is True
    assert seen["text"] == "Echo: hi"
    assert seen["reached"] == [], "importing LiteLLM must not reach the network"
    assert seen["cost_map"] == "local"
    assert seen["argv_kept"] is True
    assert not [t for t in seen["threads"] if "cost-map" in t]


async def test_a_missing_litellm_is_a_configuration_error_naming_the_extra():
    def missing() -> ModuleType:
        raise ModuleNotFoundError("No module named 'litellm'", name="litellm")

    model = LiteLLMChatModel(provider="gemini", loader=missing)

    with pytest.raises(ConfigurationError, match=r"inference-core\[litellm\]"):
        await model.complete(_request())


async def test_non_provider_exceptions_are_not_disguised():
    # A bug inside LiteLLM (not an OpenAI-style error) must surface as itself.
    async def broken(**kwargs: Any) -> Any:
        raise TypeError("bug inside the SDK")

    fake = ModuleType("litellm")
    fake.acompletion = broken  # type: ignore[attr-defined]
    fake.exceptions = SimpleNamespace()  # type: ignore[attr-defined]
    model = LiteLLMChatModel(provider="gemini", loader=lambda: fake)

    with pytest.raises(TypeError, match="bug inside the SDK"):
        await model.complete(_request())


# --- the acompletion arguments -----------------------------------------------------------


def test_completion_kwargs_carry_one_attempt_and_only_what_was_asked():
    request = _request(
        params=GenerationParams(
            temperature=0.3, top_p=0.8, max_tokens=9, seed=5, stop=("END",), reasoning_effort="low"
        ),
        response_format=ResponseFormat.model_validate(
            {"type": "json_schema", "schema": {"type": "object"}, "name": "answer"}
        ),
    )

    kwargs = completion_kwargs(
        request,
        api_key=SecretStr(KEY),
        base_url="http://gateway.internal/v1",
        headers={"x-team": "storyboard"},
        timeout=12.0,
        stream=True,
        litellm_provider="openai",
    )

    assert kwargs.pop("messages") == [{"role": "user", "content": "hello there"}]
    assert kwargs == {
        "model": "gpt-4o-mini",
        "timeout": 12.0,
        "num_retries": 0,
        "max_retries": 0,
        "api_key": KEY,
        "api_base": "http://gateway.internal/v1",
        "extra_headers": {"x-team": "storyboard"},
        "custom_llm_provider": "openai",
        "temperature": 0.3,
        "top_p": 0.8,
        "max_tokens": 9,
        "seed": 5,
        "reasoning_effort": "low",
        "stop": ["END"],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
        },
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_unset_fields_are_not_sent():
    kwargs = completion_kwargs(
        _request(), api_key=None, base_url=None, headers={}, timeout=1.0, stream=False
    )

    assert set(kwargs) == {"model", "messages", "timeout", "num_retries", "max_retries"}


def test_wrong_client_path_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="litellm"):
        create_chat_model(ProviderConnection(provider="gemini", client=ClientPath.OLLAMA))


def test_repr_never_shows_the_key():
    model = create_chat_model(
        ProviderConnection(provider="gemini", client=ClientPath.LITELLM, api_key=SecretStr(KEY))
    )
    assert KEY not in repr(model)
    assert model.capabilities is CAPABILITIES


# --- against the local servers -----------------------------------------------------------


@pytest.fixture
async def openai_model(fake_server: FakeServer) -> AsyncIterator[LiteLLMChatModel]:
    ignore_litellm_internal_warnings()
    connection = ProviderConnection(
        provider="openai",
        client=ClientPath.LITELLM,
        base_url=fake_server.openai_base_url,
        api_key=SecretStr(KEY),
        headers={"x-team": "storyboard"},
    )
    model = create_chat_model(connection)
    yield model
    await model.aclose()


async def test_usage_and_litellm_cost_are_reported(
    openai_model: LiteLLMChatModel, fake_server: FakeServer
):
    fake_server.reply(
        "ok",
        usage={
            "prompt_tokens": 1000,
            "completion_tokens": 10,
            "cached_tokens": 600,
            "reasoning_tokens": 4,
        },
    )

    usage = (await openai_model.complete(_request(model="openai/gpt-4o-mini"))).usage

    assert (usage.input_tokens, usage.output_tokens) == (1000, 10)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (600, 4)
    assert usage.cost_usd is not None and usage.cost_usd > 0  # from LiteLLM's bundled prices


async def test_unknown_price_is_none_not_zero(openai_model: LiteLLMChatModel):
    usage = (await openai_model.complete(_request(model="openai/not-a-priced-model"))).usage

    assert usage.input_tokens is not None
    assert usage.cost_usd is None


async def test_key_and_connection_headers_reach_the_server(
    openai_model: LiteLLMChatModel, fake_server: FakeServer
):
    await openai_model.complete(_request(model="openai/gpt-4o-mini"))

    (sent,) = fake_server.requests_for("/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-team"] == "storyboard"


def _open_connections(server: FakeServer) -> int:
    runner = getattr(server, "_runner", None)
    return len(getattr(getattr(runner, "server", None), "connections", ()))


async def test_aclose_releases_the_loops_connections_and_litellm_recovers(
    openai_model: LiteLLMChatModel, fake_server: FakeServer
):
    await openai_model.complete(_request(model="openai/gpt-4o-mini"))
    assert _open_connections(fake_server) >= 1  # kept alive in LiteLLM's pool

    await openai_model.aclose()

    assert await wait_until(lambda: _open_connections(fake_server) == 0)
    # LiteLLM replaces the closed session on next use: a later adapter still works.
    again = create_chat_model(
        ProviderConnection(
            provider="openai",
            client=ClientPath.LITELLM,
            base_url=fake_server.openai_base_url,
            api_key=SecretStr(KEY),
        )
    )
    try:
        assert (await again.complete(_request(model="openai/gpt-4o-mini"))).text
    finally:
        await again.aclose()


async def test_a_provider_package_missing_is_a_configuration_error(fake_server: FakeServer):
    # LiteLLM's Vertex AI code needs google-auth; without it the call can never work.
    if importlib.util.find_spec("google") is not None:
        pytest.skip("google-auth is installed here")
    ignore_litellm_internal_warnings()
    model = create_chat_model(
        ProviderConnection(
            provider="vertex_ai",
            client=ClientPath.LITELLM,
            base_url=fake_server.base_url,
            api_key=SecretStr(KEY),
        )
    )
    try:
        with pytest.raises(ConfigurationError, match="google"):
            await model.complete(_request(model="vertex_ai/gemini-2.5-flash"))
    finally:
        await model.aclose()
    assert fake_server.request_count == 0


async def test_a_key_the_server_echoes_is_scrubbed_from_the_whole_chain(
    openai_model: LiteLLMChatModel, fake_server: FakeServer
):
    fake_server.fault(Fault(status=401, body=openai_error(f"Incorrect API key provided: {KEY}")))

    with pytest.raises(AuthenticationError) as raised:
        await openai_model.complete(_request(model="openai/gpt-4o-mini"))

    rendered = "".join(traceback.format_exception(raised.value))
    assert "Incorrect API key provided" in rendered
    assert KEY not in rendered


def test_a_keyless_custom_endpoint_gets_a_placeholder_never_an_env_key():
    # Without a key LiteLLM would read OPENAI_API_KEY itself and send it to the gateway.
    kwargs = completion_kwargs(
        _request(),
        api_key=None,
        base_url="http://gateway.internal/v1",
        headers={},
        timeout=1.0,
        stream=False,
    )

    assert kwargs["api_key"] == KEYLESS_PLACEHOLDER
