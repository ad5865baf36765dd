"""OpenAI adapter specifics the shared contract cannot express (local server).

Cases using the ``build`` fixture run on both adapters of the protocol: the SDK
one (``openai_sdk``/``gpt5_sdk``) and the wire one (``openai_http``/``gpt5_http``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from inference_core.adapters import openai_http
from inference_core.adapters.openai import CAPABILITIES, OpenAIChatModel, create_chat_model
from inference_core.composition import default_chat_model_factory
from inference_core.domain.chat import (
    ChatRequest,
    FinishReason,
    GenerationParams,
    ResponseFormat,
    Usage,
)
from inference_core.domain.errors import (
    ConfigurationError,
    ContentFiltered,
    InvalidResponse,
    ProviderTimeout,
    RateLimitError,
)
from inference_core.domain.messages import AudioPart, Message, TextPart
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import DEFAULT_KEY, shared_tls_context
from tests.servers import FakeServer, Fault

MODEL = "gpt-test"
Build = Callable[..., ChatModel]
#: The wire adapter's path for each SDK path.
_WIRE_PATH = {
    ClientPath.OPENAI_SDK: ClientPath.OPENAI_HTTP,
    ClientPath.GPT5_SDK: ClientPath.GPT5_HTTP,
}


@pytest.fixture
def server(fake_server_session: FakeServer) -> FakeServer:
    fake_server_session.reset()
    return fake_server_session


@pytest.fixture(params=["sdk", "wire"])
async def build(server: FakeServer, request: pytest.FixtureRequest) -> AsyncIterator[Build]:
    built: list[ChatModel] = []
    wire = request.param == "wire"

    def make(
        client: ClientPath = ClientPath.OPENAI_SDK,
        *,
        api_key: str | None = DEFAULT_KEY,
        headers: dict[str, str] | None = None,
        read_timeout: float = 120.0,
        **options: Any,
    ) -> ChatModel:
        connection = ProviderConnection(
            provider="openai",
            client=_WIRE_PATH[client] if wire else client,
            base_url=server.openai_base_url,
            api_key=SecretStr(api_key) if api_key else None,
            headers=headers or {},
            read_timeout=read_timeout,
        )
        model: ChatModel
        if wire:
            options.setdefault("ssl_context", shared_tls_context())
            model = openai_http.create_chat_model(connection, **options)
        else:
            options.setdefault(
                "http_client", openai.DefaultAsyncHttpxClient(verify=shared_tls_context())
            )
            model = create_chat_model(connection, **options)
        built.append(model)
        return model

    yield make
    for model in built:
        await model.aclose()


def chat(**fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=(Message.user("hello there"),), **fields)


def last_body(server: FakeServer) -> dict[str, Any]:
    body = server.requests_for("/v1/chat/completions")[-1].body
    assert isinstance(body, dict)
    return body


SAMPLING = GenerationParams(
    temperature=0.3, top_p=0.9, max_tokens=50, reasoning_effort="minimal", seed=7
)


async def test_openai_sdk_sends_sampling_params_and_max_tokens(
    build: Build, server: FakeServer
) -> None:
    await build().complete(chat(params=SAMPLING))
    body = last_body(server)
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.3, 0.9, 50)
    assert "max_completion_tokens" not in body
    assert body["seed"] == 7 and body["reasoning_effort"] == "minimal"


async def test_gpt5_sends_max_completion_tokens_and_no_sampling_params(
    build: Build, server: FakeServer
) -> None:
    await build(ClientPath.GPT5_SDK).complete(chat(params=SAMPLING))
    body = last_body(server)
    assert body["max_completion_tokens"] == 50
    assert body["reasoning_effort"] == "minimal"
    assert not {"temperature", "top_p", "max_tokens"} & body.keys()


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_reasoning_cached_and_cache_write_tokens_reach_usage(
    build: Build, server: FakeServer, mode: str
) -> None:
    model = build()
    server.reply(
        "ok",
        usage={
            "prompt_tokens": 40,
            "completion_tokens": 12,
            "cached_tokens": 32,
            "reasoning_tokens": 9,
        },
    )
    usage: Usage | None
    if mode == "complete":
        usage = (await model.complete(chat())).usage
    else:
        usage = [c async for c in model.stream(chat())][-1].usage
    assert usage == Usage(input_tokens=40, output_tokens=12, cached_tokens=32, reasoning_tokens=9)


async def test_stream_without_server_usage_ends_with_unknown_not_zero_usage(
    build: Build, server: FakeServer
) -> None:
    model = build(stream_usage=False)
    server.reply("one two three")
    chunks = [c async for c in model.stream(chat())]
    assert "stream_options" not in last_body(server)
    final = chunks[-1]
    assert final.finish_reason is FinishReason.STOP
    assert final.usage == Usage()
    assert final.usage is not None and final.usage.input_tokens is None


async def test_a_request_for_a_model_without_stream_usage_sends_no_stream_options(
    build: Build, server: FakeServer
) -> None:
    server.reply("one two")
    request = chat().model_copy(update={"stream_usage": False})
    final = [c async for c in build().stream(request)][-1]
    assert "stream_options" not in last_body(server)
    assert final.usage is not None and final.usage.input_tokens is None


async def test_stream_asks_for_usage_by_default(build: Build, server: FakeServer) -> None:
    [c async for c in build().stream(chat())]
    body = last_body(server)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_schema_names_are_made_acceptable_to_openai(build: Build, server: FakeServer) -> None:
    schema = {"type": "object", "properties": {}}
    fmt = ResponseFormat(
        type="json_schema", schema=schema, name="Story outline (v2)!", strict=False
    )
    await build().complete(chat(response_format=fmt))
    assert last_body(server)["response_format"]["json_schema"] == {
        "name": "Story_outline_v2",
        "schema": schema,
        "strict": False,
    }


async def test_audio_parts_travel_as_input_audio(build: Build, server: FakeServer) -> None:
    assert CAPABILITIES.audio_input
    parts = (TextPart(text="transcribe"), AudioPart(data=b"RIFF....WAVE", format="wav"))
    await build().complete(ChatRequest(model=MODEL, messages=(Message.user(parts),)))
    content = last_body(server)["messages"][0]["content"]
    assert content[1] == {
        "type": "input_audio",
        "input_audio": {"data": "UklGRi4uLi5XQVZF", "format": "wav"},
    }


async def test_connection_headers_are_sent_and_a_keyless_endpoint_gets_no_authorization(
    build: Build, server: FakeServer
) -> None:
    await build(api_key=None, headers={"X-Title": "storyboard"}).complete(chat())
    headers = server.requests_for("/v1/chat/completions")[-1].headers
    assert headers["x-title"] == "storyboard"
    assert "authorization" not in headers

    await build().complete(chat())
    assert server.requests[-1].headers["authorization"] == f"Bearer {DEFAULT_KEY}"

    # A proxy token configured as a connection header survives a keyless connection.
    await build(api_key=None, headers={"Authorization": "Bearer proxy-token"}).complete(chat())
    assert server.requests[-1].headers["authorization"] == "Bearer proxy-token"


def _completion(message: dict[str, Any], finish: str = "stop") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-x",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3},
        }
    ).encode()


async def test_a_refusal_is_content_filtered(build: Build, server: FakeServer) -> None:
    server.fault(
        Fault(raw_body=_completion({"role": "assistant", "content": None, "refusal": "I can't."}))
    )
    with pytest.raises(ContentFiltered, match="I can't"):
        await build().complete(chat())


async def test_tool_calls_in_a_completion_are_returned(build: Build, server: FakeServer) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    server.fault(Fault(raw_body=_completion(message, finish="tool_calls")))
    response = await build().complete(chat())
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_1", "lookup", "{}")
    ]


async def test_a_completion_without_choices_is_invalid_response(
    build: Build, server: FakeServer
) -> None:
    server.fault(Fault(raw_body=b'{"id": "x", "object": "chat.completion", "choices": []}'))
    with pytest.raises(InvalidResponse):
        await build().complete(chat())


async def test_a_rate_limit_event_mid_stream_is_a_rate_limit_error(
    build: Build, server: FakeServer
) -> None:
    event = {"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}}
    server.fault(
        Fault(
            raw_body=b"data: " + json.dumps(event).encode() + b"\n\n",
            content_type="text/event-stream",
        )
    )
    with pytest.raises(RateLimitError) as excinfo:
        [c async for c in build().stream(chat())]
    assert excinfo.value.status is None and excinfo.value.retryable is True


@pytest.mark.parametrize("stream", [False, True])
async def test_the_connection_read_timeout_bounds_a_call_without_its_own_timeout(
    build: Build, server: FakeServer, stream: bool
) -> None:
    server.fault(Fault(delay=2.0))  # no headers for 2 s; the request sets no timeout
    model = build(read_timeout=0.3)
    with pytest.raises(ProviderTimeout):
        if stream:
            [c async for c in model.stream(chat())]
        else:
            await model.complete(chat())


@pytest.mark.parametrize("backend", ["auto", "aiohttp", "httpx"])
async def test_every_http_backend_works(backend: str, server: FakeServer) -> None:
    connection = ProviderConnection(
        provider="openai",
        client=ClientPath.OPENAI_SDK,
        base_url=server.openai_base_url,
        api_key=SecretStr(DEFAULT_KEY),
    )
    model = create_chat_model(connection, http_backend=backend)
    try:
        server.reply("fine")
        assert (await model.complete(chat())).text == "fine"
    finally:
        await model.aclose()


async def test_an_injected_sdk_client_stays_open_after_aclose(server: FakeServer) -> None:
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    connection = ProviderConnection(provider="openai", client=ClientPath.OPENAI_SDK)
    model = create_chat_model(connection, client=client)
    await model.aclose()
    assert not client.is_closed()
    server.reply("still mine")
    assert (await model.complete(chat())).text == "still mine"
    await client.close()


async def test_the_bootstrap_factory_builds_this_adapter_for_both_client_paths() -> None:
    for path in (ClientPath.OPENAI_SDK, ClientPath.GPT5_SDK):
        connection = ProviderConnection(
            provider="openai", client=path, api_key=SecretStr(DEFAULT_KEY)
        )
        model = default_chat_model_factory(connection)
        assert isinstance(model, OpenAIChatModel)
        assert model.capabilities == CAPABILITIES
        assert "api.openai.com" in repr(model) and DEFAULT_KEY not in repr(model)
        await model.aclose()


async def test_the_bootstrap_factory_builds_the_wire_adapter_for_its_client_paths() -> None:
    for path in openai_http.CLIENT_PATHS:
        connection = ProviderConnection(
            provider="openai", client=path, api_key=SecretStr(DEFAULT_KEY)
        )
        model = default_chat_model_factory(connection)
        assert isinstance(model, openai_http.OpenAIHTTPChatModel)
        assert model.capabilities == CAPABILITIES
        assert "api.openai.com" in repr(model) and DEFAULT_KEY not in repr(model)
        await model.aclose()


def test_other_client_paths_are_refused() -> None:
    connection = ProviderConnection(provider="anthropic", client=ClientPath.ANTHROPIC_SDK)
    with pytest.raises(ConfigurationError, match="anthropic_sdk"):
        create_chat_model(connection)
    with pytest.raises(ConfigurationError, match="anthropic_sdk"):
        openai_http.create_chat_model(connection)
