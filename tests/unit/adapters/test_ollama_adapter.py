"""Ollama adapter specifics beyond the shared contract: wire body, usage, management API.

Real httpx over real HTTP to the local Ollama-protocol server; assertions are on
what the server recorded and on the domain values returned.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from inference_core.adapters.ollama import (
    CAPABILITIES,
    OllamaChatModel,
    PullProgress,
    create_chat_model,
    create_client,
)
from inference_core.domain.chat import (
    ChatRequest,
    FinishReason,
    GenerationParams,
    ResponseFormat,
    Usage,
)
from inference_core.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceeded,
    InvalidMessageError,
    InvalidResponse,
    ModelNotFoundError,
    ProviderUnavailable,
)
from inference_core.domain.messages import ImagePart, Message, TextPart
from inference_core.domain.routing import ClientPath, ProviderConnection
from tests.contract.harness import closed_port
from tests.servers import FakeServer, Fault
from tests.servers.fixtures import fake_server, fake_server_session

__all__ = ["fake_server", "fake_server_session"]  # pytest fixtures used below

KEY = "sk-ollama-proxy-key-42"
PNG = b"\x89PNG\r\n\x1a\n fake png bytes"


def _connection(server: FakeServer, **overrides: object) -> ProviderConnection:
    values: dict[str, object] = {
        "provider": "ollama",
        "client": ClientPath.OLLAMA,
        "base_url": server.base_url,
        "connect_timeout": 5.0,
        "read_timeout": 30.0,
    }
    values.update(overrides)
    return ProviderConnection.model_validate(values)


@pytest.fixture
async def model(fake_server: FakeServer) -> AsyncIterator[OllamaChatModel]:
    chat = create_chat_model(_connection(fake_server))
    yield chat
    await chat.aclose()


def _request(**kwargs: object) -> ChatRequest:
    values: dict[str, object] = {"model": "llama3", "messages": (Message.user("hello there"),)}
    values.update(kwargs)
    return ChatRequest.model_validate(values)


def _chat_bodies(server: FakeServer) -> list[dict[str, object]]:
    return [r.body for r in server.requests_for("/api/chat")]


# --- the /api/chat body ------------------------------------------------------------------


async def test_params_travel_as_ollama_options(model: OllamaChatModel, fake_server: FakeServer):
    params = GenerationParams(temperature=0.2, top_p=0.9, max_tokens=7, seed=11, stop=("END",))
    await model.complete(_request(params=params))

    (body,) = _chat_bodies(fake_server)
    assert body["stream"] is False
    assert body["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "num_predict": 7,
        "seed": 11,
        "stop": ["END"],
    }
    assert "format" not in body


async def test_unset_params_send_no_options(model: OllamaChatModel, fake_server: FakeServer):
    await model.complete(_request())

    (body,) = _chat_bodies(fake_server)
    assert "options" not in body


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        (ResponseFormat(type="json_object"), "json"),
        (
            ResponseFormat.model_validate(
                {"type": "json_schema", "schema": {"type": "object", "required": ["a"]}}
            ),
            {"type": "object", "required": ["a"]},
        ),
    ],
)
async def test_json_output_uses_the_format_field(
    model: OllamaChatModel,
    fake_server: FakeServer,
    response_format: ResponseFormat,
    expected: object,
):
    response = await model.complete(_request(response_format=response_format))

    (body,) = _chat_bodies(fake_server)
    assert body["format"] == expected
    json.loads(response.text)  # the server honours format, and the text is returned verbatim


async def test_images_travel_as_a_base64_list(model: OllamaChatModel, fake_server: FakeServer):
    message = Message.user(
        (TextPart(text="what is this?"), ImagePart(data=PNG, mime_type="image/png"))
    )
    await model.complete(_request(messages=(Message.system("be brief"), message)))

    (body,) = _chat_bodies(fake_server)
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": "what is this?",
            "images": [base64.b64encode(PNG).decode("ascii")],
        },
    ]


async def test_remote_image_urls_are_refused_before_any_request(
    model: OllamaChatModel, fake_server: FakeServer
):
    message = Message.user((ImagePart(url="https://example.invalid/cat.png"),))

    with pytest.raises(InvalidMessageError):
        await model.complete(_request(messages=(message,)))
    assert fake_server.request_count == 0
    assert CAPABILITIES.image_urls is False


# --- answers: finish reason and usage ----------------------------------------------------


def _ollama_body(**fields: object) -> bytes:
    body: dict[str, object] = {
        "model": "llama3",
        "created_at": "2024-06-01T12:00:00Z",
        "message": {"role": "assistant", "content": "hi"},
        "done": True,
    }
    body.update(fields)
    return json.dumps(body).encode()


async def test_usage_is_none_when_ollama_omits_counts(
    model: OllamaChatModel, fake_server: FakeServer
):
    # Ollama drops prompt_eval_count when the whole prompt came from its cache.
    fake_server.fault(Fault(raw_body=_ollama_body(done_reason="stop", eval_count=1)))

    response = await model.complete(_request())

    assert response.usage == Usage(input_tokens=None, output_tokens=1)
    assert response.finish_reason is FinishReason.STOP


async def test_unknown_done_reason_is_unknown_not_stop(
    model: OllamaChatModel, fake_server: FakeServer
):
    fake_server.fault(Fault(raw_body=_ollama_body(done_reason="unload")))

    response = await model.complete(_request())

    assert response.finish_reason is FinishReason.UNKNOWN
    assert response.usage == Usage()


async def test_an_answer_without_done_is_invalid(model: OllamaChatModel, fake_server: FakeServer):
    fake_server.fault(Fault(raw_body=_ollama_body(done=False)))

    with pytest.raises(InvalidResponse):
        await model.complete(_request())


async def test_max_tokens_reports_length(model: OllamaChatModel, fake_server: FakeServer):
    fake_server.reply("one two three four five")

    chunks = [c async for c in model.stream(_request(params=GenerationParams(max_tokens=2)))]

    assert "".join(c.text for c in chunks) == "one two"
    assert chunks[-1].finish_reason is FinishReason.LENGTH
    assert chunks[-1].usage == Usage(input_tokens=2, output_tokens=2)


async def test_an_error_line_about_context_maps_to_context_window(
    model: OllamaChatModel, fake_server: FakeServer
):
    line = json.dumps({"error": "input length exceeds the context length"}).encode() + b"\n"
    fake_server.fault(Fault(raw_body=line, content_type="application/x-ndjson"))

    with pytest.raises(ContextWindowExceeded) as info:
        [c async for c in model.stream(_request())]
    assert info.value.status is None  # the line came after a 200: no status to report


async def test_unknown_model_is_model_not_found(model: OllamaChatModel):
    with pytest.raises(ModelNotFoundError) as info:
        await model.complete(_request(model="no-such-model"))
    assert info.value.status == 404
    assert info.value.model == "no-such-model"


# --- connection, key, construction -------------------------------------------------------


async def test_key_is_sent_as_bearer_and_never_shown(fake_server: FakeServer):
    fake_server.require_key(KEY, "ollama")
    good = create_chat_model(_connection(fake_server, api_key=SecretStr(KEY)))
    bad = create_chat_model(_connection(fake_server, api_key=SecretStr(KEY + "-wrong")))
    try:
        assert (await good.complete(_request())).text == "Echo: hello there"
        with pytest.raises(AuthenticationError) as info:
            await bad.complete(_request())
    finally:
        await good.aclose()
        await bad.aclose()

    assert fake_server.requests_for("/api/chat")[0].headers["authorization"] == f"Bearer {KEY}"
    shown = f"{info.value} {info.value!r} {good!r} {bad!r} {good.client!r}"
    assert KEY not in shown


async def test_nobody_listening_is_provider_unavailable():
    connection = ProviderConnection(
        provider="ollama", client=ClientPath.OLLAMA, base_url=f"http://127.0.0.1:{closed_port()}"
    )
    chat = create_chat_model(connection)
    try:
        with pytest.raises(ProviderUnavailable) as info:
            await chat.complete(_request())
    finally:
        await chat.aclose()
    assert info.value.retryable is True


def test_default_base_url_is_the_local_daemon():
    chat = create_chat_model(ProviderConnection(provider="ollama", client=ClientPath.OLLAMA))
    assert "http://localhost:11434" in repr(chat)


def test_wrong_client_path_is_a_configuration_error():
    connection = ProviderConnection(provider="ollama", client=ClientPath.LITELLM)
    with pytest.raises(ConfigurationError, match="ollama"):
        create_chat_model(connection)


# --- management: tags, show, pull --------------------------------------------------------


async def test_list_models_returns_the_installed_models(fake_server: FakeServer):
    fake_server.ollama_models = {"llama3", "qwen2:0.5b"}
    client = create_client(_connection(fake_server))
    try:
        models = await client.list_models()
    finally:
        await client.aclose()

    assert [m.name for m in models] == ["llama3:latest", "qwen2:0.5b"]
    assert models[0].details is not None
    assert models[0].details.family == "llama"
    assert models[0].size is not None and models[0].size > 0


async def test_show_reports_details_and_context_length(
    model: OllamaChatModel, fake_server: FakeServer
):
    info = await model.client.show("llama3")

    assert info.name == "llama3"
    assert info.context_length == 8192
    assert info.details is not None and info.details.quantization_level == "Q4_0"
    assert fake_server.requests_for("/api/show")[0].body == {"model": "llama3"}


async def test_show_unknown_model_is_model_not_found(model: OllamaChatModel):
    with pytest.raises(ModelNotFoundError):
        await model.client.show("nope")


async def test_pull_reports_progress_in_order_and_installs(
    model: OllamaChatModel, fake_server: FakeServer
):
    seen: list[PullProgress] = []

    final = await model.client.pull("phi3", progress=seen.append)

    assert final.status == "success"
    assert seen[0].status == "pulling manifest"
    assert seen[-1] == final
    fractions = [p.fraction for p in seen if p.fraction is not None]
    assert fractions == [0.0, 0.5, 1.0]
    assert "phi3:latest" in [m.name for m in await model.client.list_models()]


async def test_pull_of_an_unknown_model_is_model_not_found(
    model: OllamaChatModel, fake_server: FakeServer
):
    fake_server.ollama_registry = {"phi3"}
    seen: list[PullProgress] = []

    with pytest.raises(ModelNotFoundError, match="does not exist"):
        await model.client.pull("missing", progress=seen.append)
    assert [p.status for p in seen] == ["pulling manifest"]


async def test_pull_cut_before_success_is_invalid(model: OllamaChatModel, fake_server: FakeServer):
    fake_server.fault(Fault(cut_after_chunks=1, path="/api/pull"))

    with pytest.raises(InvalidResponse):
        await model.client.pull("phi3")
    assert "phi3:latest" not in [m.name for m in await model.client.list_models()]


async def test_version(model: OllamaChatModel):
    assert await model.client.version() == "0.5.7"
