"""Anthropic adapter specifics the shared contract cannot express (SDK and wire adapters)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anthropic
import pytest
from pydantic import SecretStr

from inference_core.adapters import anthropic_http
from inference_core.adapters.anthropic import CAPABILITIES, AnthropicChatModel, create_chat_model
from inference_core.adapters.anthropic.params import DEFAULT_MAX_TOKENS
from inference_core.composition import default_chat_model_factory
from inference_core.domain.chat import ChatRequest, FinishReason, GenerationParams, Usage
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidMessageError,
    RateLimitError,
)
from inference_core.domain.messages import AudioPart, ImagePart, Message, TextPart
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import DEFAULT_KEY, shared_tls_context
from tests.servers import FakeServer, Fault

MODEL = "claude-test"
Build = Callable[..., ChatModel]


@pytest.fixture
def server(fake_server_session: FakeServer) -> FakeServer:
    fake_server_session.reset()
    return fake_server_session


@pytest.fixture(params=["sdk", "wire"])
async def build(server: FakeServer, request: pytest.FixtureRequest) -> AsyncIterator[Build]:
    # Every case using this fixture runs on the SDK adapter and on the wire one.
    built: list[ChatModel] = []
    wire = request.param == "wire"

    def make(*, api_key: str | None = DEFAULT_KEY, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider="anthropic",
            client=ClientPath.ANTHROPIC_HTTP if wire else ClientPath.ANTHROPIC_SDK,
            base_url=server.base_url,
            api_key=SecretStr(api_key) if api_key else None,
        )
        model: ChatModel
        if wire:
            options.setdefault("ssl_context", shared_tls_context())
            model = anthropic_http.create_chat_model(connection, **options)
        else:
            options.setdefault(
                "http_client", anthropic.DefaultAsyncHttpxClient(verify=shared_tls_context())
            )
            model = create_chat_model(connection, **options)
        built.append(model)
        return model

    yield make
    for model in built:
        await model.aclose()


def chat(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=messages or (Message.user("hello there"),), **fields)


def last_body(server: FakeServer) -> dict[str, Any]:
    body = server.requests_for("/v1/messages")[-1].body
    assert isinstance(body, dict)
    return body


async def test_request_shape(build: Build, server: FakeServer) -> None:
    params = GenerationParams(
        temperature=0.2, top_p=0.5, seed=3, reasoning_effort="high", stop=("END",)
    )
    await build().complete(
        chat(
            Message.system("You write stories."),
            Message.system("Short ones."),
            Message.user("one"),
            Message.user("two"),
            Message.assistant("three"),
            Message.user("four"),
            params=params,
        )
    )
    body = last_body(server)
    assert body["system"] == "You write stories.\n\nShort ones."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        {"role": "assistant", "content": "three"},
        {"role": "user", "content": "four"},
    ]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS == 4096
    assert body["stop_sequences"] == ["END"]
    # API version 2026-10-21 rejects sampling params; seed and effort are not declared.
    assert not {"temperature", "top_p", "top_k", "seed", "output_config"} & body.keys()
    assert server.requests[-1].headers["anthropic-version"]


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_cache_reads_and_writes_reach_usage(
    build: Build, server: FakeServer, mode: str
) -> None:
    model = build()
    server.reply(
        "ok",
        usage={
            "input_tokens": 10,
            "output_tokens": 4,
            "cache_read_input_tokens": 6,
            "cache_creation_input_tokens": 3,
        },
    )
    usage: Usage | None
    if mode == "complete":
        usage = (await model.complete(chat())).usage
    else:
        usage = [c async for c in model.stream(chat())][-1].usage
    # The domain's input_tokens counts every prompt token; Anthropic's excludes cache traffic.
    assert usage == Usage(input_tokens=19, output_tokens=4, cached_tokens=6, cache_write_tokens=3)


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_stop_sequence_and_tool_use_stop_reasons(
    build: Build, server: FakeServer, mode: str
) -> None:
    model = build()

    async def finish(request: ChatRequest) -> FinishReason | None:
        if mode == "complete":
            return (await model.complete(request)).finish_reason
        return [c async for c in model.stream(request)][-1].finish_reason

    server.reply("one two END three")
    assert await finish(chat(params=GenerationParams(stop=("END",)))) is FinishReason.STOP
    assert last_body(server)["stop_sequences"] == ["END"]
    server.reply("calling a tool", finish_reason="tool_calls")
    assert await finish(chat()) is FinishReason.TOOL_CALLS


async def test_tool_use_blocks_become_tool_calls(build: Build, server: FakeServer) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [
            {"type": "text", "text": "Looking it up."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "cats"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    server.fault(Fault(raw_body=json.dumps(message).encode()))
    response = await build().complete(chat())
    assert response.text == "Looking it up."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("toolu_1", "lookup", {"q": "cats"})
    ]


async def test_a_rate_limit_error_event_is_a_rate_limit_error(
    build: Build, server: FakeServer
) -> None:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    }
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}}
    frames = (
        f"event: message_start\ndata: {json.dumps(start)}\n\n"
        f"event: error\ndata: {json.dumps(error)}\n\n"
    )
    server.fault(Fault(raw_body=frames.encode(), content_type="text/event-stream"))
    with pytest.raises(RateLimitError, match="Slow down") as excinfo:
        [c async for c in build().stream(chat())]
    assert excinfo.value.status is None and excinfo.value.retryable is True


async def test_inputs_the_api_cannot_take_fail_before_any_request(
    build: Build, server: FakeServer
) -> None:
    model = build()
    audio = Message.user((TextPart(text="hear"), AudioPart(data=b"RIFF", format="wav")))
    with pytest.raises(InvalidMessageError, match="audio"):
        await model.complete(chat(audio))
    image_system = Message(role="system", content=(ImagePart(url="https://x.example/a.png"),))
    with pytest.raises(InvalidMessageError, match="system"):
        await model.complete(chat(image_system, Message.user("hi")))
    assert server.requests_for("/v1/messages") == []


async def test_a_keyless_connection_sends_no_credentials(build: Build, server: FakeServer) -> None:
    await build(api_key=None).complete(chat())
    headers = server.requests_for("/v1/messages")[-1].headers
    assert "authorization" not in headers and "x-api-key" not in headers

    await build().complete(chat())
    assert server.requests[-1].headers["authorization"] == f"Bearer {DEFAULT_KEY}"


@pytest.mark.parametrize("backend", ["auto", "aiohttp", "httpx"])
async def test_every_http_backend_works(backend: str, server: FakeServer) -> None:
    connection = ProviderConnection(
        provider="anthropic",
        client=ClientPath.ANTHROPIC_SDK,
        base_url=server.base_url,
        api_key=SecretStr(DEFAULT_KEY),
    )
    model = create_chat_model(connection, http_backend=backend)
    try:
        server.reply("fine")
        assert (await model.complete(chat())).text == "fine"
    finally:
        await model.aclose()


async def test_the_bootstrap_factory_builds_this_adapter() -> None:
    connection = ProviderConnection(
        provider="anthropic", client=ClientPath.ANTHROPIC_SDK, api_key=SecretStr(DEFAULT_KEY)
    )
    model = default_chat_model_factory(connection)
    assert isinstance(model, AnthropicChatModel)
    assert model.capabilities == CAPABILITIES
    assert "api.anthropic.com" in repr(model) and DEFAULT_KEY not in repr(model)
    await model.aclose()


async def test_the_bootstrap_factory_builds_the_wire_adapter() -> None:
    connection = ProviderConnection(
        provider="anthropic", client=ClientPath.ANTHROPIC_HTTP, api_key=SecretStr(DEFAULT_KEY)
    )
    model = default_chat_model_factory(connection)
    assert isinstance(model, anthropic_http.AnthropicHTTPChatModel)
    assert model.capabilities == CAPABILITIES
    assert "api.anthropic.com" in repr(model) and DEFAULT_KEY not in repr(model)
    await model.aclose()
    with pytest.raises(ConfigurationError, match="anthropic_sdk"):
        anthropic_http.create_chat_model(connection.model_copy(update={"client": "anthropic_sdk"}))


def test_other_client_paths_are_refused() -> None:
    connection = ProviderConnection(provider="openai", client=ClientPath.OPENAI_SDK)
    with pytest.raises(ConfigurationError, match="openai_sdk"):
        create_chat_model(connection)


def _message_body(content: Any) -> bytes:
    return json.dumps(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": content,
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
    ).encode()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("nope", "content: expected a list of blocks, got str"),
        ([{"type": "text"}], "content[0].text: missing"),
        ([{"type": "text", "text": 5}], "content[0].text: a int, not a string"),
        ([{"type": "tool_use", "name": "f", "input": {}}], "content[0].id: missing"),
        ([{"text": "no type"}], "content[0]: a block without a type"),
    ],
)
async def test_a_malformed_message_is_invalid_response_naming_the_field(
    build: Build, server: FakeServer, content: Any, named: str
) -> None:
    from inference_core.domain.errors import InvalidResponse

    server.fault(Fault(raw_body=_message_body(content), path="/v1/messages"))
    with pytest.raises(InvalidResponse) as caught:
        await build().complete(chat(Message.user("hi")))
    assert named in str(caught.value)
