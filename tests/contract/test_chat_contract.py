"""THE ChatModel contract: every row (real adapters over HTTP, and the fakes) passes every case.

Cases script the local server through the row (``reply``, ``fault``), call the
adapter, and assert on what came back and on what crossed the wire
(``last_request``, ``request_count``). Provider-specific wire shapes (images,
JSON formats) are asserted in each provider's own shape, branching on
``row.protocol``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from inference_core.domain.catalog import JSONOutput
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    FinishReason,
    GenerationParams,
    ResponseFormat,
)
from inference_core.domain.errors import (
    AuthenticationError,
    ContentFiltered,
    ContextWindowExceeded,
    InvalidRequestError,
    InvalidResponse,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceededError,
    RateLimitError,
)
from inference_core.domain.messages import ImagePart, Message, TextPart
from inference_core.ports.chat import ChatModel
from tests.contract.harness import CONTRACT_MODEL, ChatHarness, wait_until
from tests.servers import (
    FakeServer,
    Fault,
    anthropic_error,
    content_filter_body,
    context_length_body,
    openai_error,
    quota_exhausted_body,
)
from tests.servers.errors import Protocol as BodyShape
from tests.servers.state import malformed_fault

MODEL = CONTRACT_MODEL
TEXT = "alpha beta gamma delta epsilon zeta"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
IMAGE_URL = "https://images.example/cat.png"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
SECRET = "sk-live-SECRET-do-not-log-0123456789abcdef"


def chat(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=messages or (Message.user("hello there"),), **fields)


def shape(row: ChatHarness) -> BodyShape:
    """Which provider's error-body shape the row's server speaks (fakes: OpenAI's)."""
    return row.protocol if row.protocol in ("openai", "anthropic", "ollama") else "openai"  # type: ignore[return-value]


async def collect(model: ChatModel, request: ChatRequest) -> list[ChatChunk]:
    return [chunk async for chunk in model.stream(request)]


async def call(model: ChatModel, request: ChatRequest, mode: str) -> str:
    if mode == "complete":
        return (await model.complete(request)).text
    return "".join(c.text for c in await collect(model, request))


async def stream_until_error(model: ChatModel, request: ChatRequest) -> tuple[str, ProviderError]:
    received: list[str] = []
    with pytest.raises(ProviderError) as excinfo:
        async for chunk in model.stream(request):
            received.append(chunk.text)
    return "".join(received), excinfo.value


MODES = ["complete", "stream"]


# --- answers -----------------------------------------------------------------------------


async def test_the_adapter_is_a_chat_model(row: ChatHarness) -> None:
    model = row.build()
    assert isinstance(model, ChatModel)
    assert model.capabilities == row.capabilities()


async def test_plain_completion(row: ChatHarness) -> None:
    model = row.build()
    row.reply("Hello from the model.")
    response = await model.complete(chat(Message.user("Say hello")))
    assert response.text == "Hello from the model."
    assert response.finish_reason is FinishReason.STOP
    assert isinstance(response.usage.input_tokens, int) and response.usage.input_tokens > 0
    assert isinstance(response.usage.output_tokens, int) and response.usage.output_tokens > 0
    assert row.request_count() == 1


async def test_system_prompt_and_multi_turn_history(row: ChatHarness) -> None:
    model = row.build()
    await model.complete(
        chat(
            Message.system("Be terse."),
            Message.user("first question"),
            Message.assistant("first answer"),
            Message.user("second question"),
        )
    )
    body = row.last_request()
    assert row.view.system(body) == "Be terse."
    assert row.view.turns(body) == [
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question"),
    ]


async def test_consecutive_same_role_messages_are_accepted(row: ChatHarness) -> None:
    # Anthropic rejects two user turns in a row; its adapter must merge them.
    model = row.build()
    row.reply("ok")
    response = await model.complete(chat(Message.user("part one"), Message.user("part two")))
    assert response.text == "ok"
    sent = " ".join(text for _, text in row.view.turns(row.last_request()))
    assert "part one" in sent and "part two" in sent


async def test_image_input_arrives_in_the_providers_own_shape(row: ChatHarness) -> None:
    caps = row.capabilities()
    if not caps.images:
        pytest.skip(f"{row.name} declares no image input")
    parts: list[Any] = [TextPart(text="what is this?"), ImagePart(data=PNG, mime_type="image/png")]
    if caps.image_urls:
        parts.append(ImagePart(url=IMAGE_URL))
    model = row.build()
    await model.complete(chat(Message.user(tuple(parts))))
    body = row.last_request()
    b64 = base64.b64encode(PNG).decode("ascii")
    last = body["messages"][-1]
    if row.protocol == "openai":
        assert {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64}"}} in last[
            "content"
        ]
        if caps.image_urls:
            assert {"type": "image_url", "image_url": {"url": IMAGE_URL}} in last["content"]
    elif row.protocol == "anthropic":
        source = {"type": "base64", "media_type": "image/png", "data": b64}
        assert {"type": "image", "source": source} in last["content"]
        if caps.image_urls:
            url_source = {"type": "url", "url": IMAGE_URL}
            assert {"type": "image", "source": url_source} in last["content"]
    elif row.protocol == "ollama":
        assert last["images"] == [b64]
    else:
        images = [p for p in last["content"] if p["type"] == "image"]
        assert images[0]["data"] == PNG and images[0]["mime_type"] == "image/png"
        if caps.image_urls:
            assert images[1]["url"] == IMAGE_URL


# --- JSON output -------------------------------------------------------------------------

_JSON_KEYS = {"openai": "response_format", "anthropic": "output_config", "ollama": "format"}


def _expected_json_wire(row: ChatHarness, strategy: JSONOutput) -> tuple[str, Any]:
    """(body key, value) the row must send for ``strategy``, in its own protocol."""
    if row.protocol == "openai":
        value: Any = {
            JSONOutput.JSON_SCHEMA: {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
            },
            JSONOutput.JSON_OBJECT_WITH_SCHEMA: {"type": "json_object", "schema": SCHEMA},
            JSONOutput.JSON_OBJECT: {"type": "json_object"},
        }[strategy]
        return "response_format", value
    if row.protocol == "anthropic":
        return "output_config", {"format": {"type": "json_schema", "schema": SCHEMA}}
    if row.protocol == "ollama":
        return "format", "json" if strategy is JSONOutput.JSON_OBJECT else SCHEMA
    expected = {
        JSONOutput.JSON_SCHEMA: ("json_schema", SCHEMA),
        JSONOutput.JSON_OBJECT_WITH_SCHEMA: ("json_object", SCHEMA),
        JSONOutput.JSON_OBJECT: ("json_object", None),
    }[strategy]
    return "response_format", {"type": expected[0], "schema": expected[1]}


def _format_for(strategy: JSONOutput) -> ResponseFormat:
    if strategy is JSONOutput.JSON_SCHEMA:
        return ResponseFormat(type="json_schema", schema=SCHEMA, name="answer")
    if strategy is JSONOutput.JSON_OBJECT_WITH_SCHEMA:
        return ResponseFormat(type="json_object", schema=SCHEMA, name="answer")
    return ResponseFormat(type="json_object")


@pytest.mark.parametrize(
    "strategy",
    [JSONOutput.JSON_SCHEMA, JSONOutput.JSON_OBJECT_WITH_SCHEMA, JSONOutput.JSON_OBJECT],
    ids=lambda s: s.value,
)
async def test_json_output_request_shape(row: ChatHarness, strategy: JSONOutput) -> None:
    model = row.build()
    row.reply('{"answer": "42"}')
    response = await model.complete(chat(response_format=_format_for(strategy)))
    assert json.loads(response.text) == {"answer": "42"}
    body = row.last_request()
    if strategy not in row.capabilities().json_outputs:
        # Undeclared strategies put nothing on the wire: the caller prompts instead.
        if row.protocol in _JSON_KEYS:
            assert _JSON_KEYS[row.protocol] not in body
        return
    key, value = _expected_json_wire(row, strategy)
    if row.protocol == "domain":
        sent = body[key]
        assert (sent["type"], sent["schema"]) == (value["type"], value["schema"])
    else:
        assert body[key] == value


# --- streaming ---------------------------------------------------------------------------


async def test_stream_reassembles_to_the_completion_and_ends_with_usage(row: ChatHarness) -> None:
    model = row.build()
    row.reply(TEXT)
    row.reply(TEXT)
    whole = await model.complete(chat())
    chunks = await collect(model, chat())
    assert "".join(c.text for c in chunks) == whole.text == TEXT
    *body, last = chunks
    assert len(body) >= 2, "the text should arrive in several deltas"
    assert last.is_final and last.finish_reason is FinishReason.STOP
    assert not any(c.is_final or c.usage is not None for c in body)
    assert last.usage is not None
    assert isinstance(last.usage.input_tokens, int) and last.usage.input_tokens > 0
    assert last.usage.output_tokens == whole.usage.output_tokens
    assert row.request_count() == 2


async def test_stream_of_an_empty_answer_still_ends_with_a_final_chunk(row: ChatHarness) -> None:
    model = row.build()
    row.reply("")
    chunks = await collect(model, chat())
    assert "".join(c.text for c in chunks) == ""
    assert chunks[-1].is_final and chunks[-1].usage is not None


# --- request parameters ------------------------------------------------------------------


async def test_max_tokens_and_stop_are_sent(row: ChatHarness) -> None:
    model = row.build()
    params = GenerationParams(max_tokens=7, stop=("END", "STOP"))
    await model.complete(chat(params=params))
    body = row.last_request()
    assert row.view.max_tokens(body) == 7
    assert row.view.stop(body) == (["END", "STOP"] if row.capabilities().stop else [])


async def test_declared_seed_and_reasoning_effort_reach_the_wire(row: ChatHarness) -> None:
    caps = row.capabilities()
    model = row.build()
    await model.complete(chat(params=GenerationParams(seed=42, reasoning_effort="low")))
    body = row.last_request()
    assert row.view.seed(body) == (42 if caps.seed else None)
    assert row.view.reasoning_effort(body) == ("low" if caps.reasoning_effort else None)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("length", FinishReason.LENGTH),
        ("content_filter", FinishReason.CONTENT_FILTER),
        ("stop", FinishReason.STOP),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_finish_reasons_map(
    row: ChatHarness, wire: str, expected: FinishReason, mode: str
) -> None:
    if wire == "content_filter" and not row.supports("content_filter_finish"):
        pytest.skip(f"{row.name}: the protocol has no content-filter finish reason")
    model = row.build()
    row.reply("cut short", finish_reason=wire)
    if mode == "complete":
        assert (await model.complete(chat())).finish_reason is expected
    else:
        assert (await collect(model, chat()))[-1].finish_reason is expected


async def test_cached_tokens_are_reported_when_declared(row: ChatHarness) -> None:
    model = row.build()
    row.reply("ok", usage={"prompt_tokens": 20, "completion_tokens": 1, "cached_tokens": 16})
    usage = (await model.complete(chat())).usage
    if "cached_tokens" in row.capabilities().usage_fields:
        assert usage.cached_tokens == 16
    assert usage.output_tokens == 1


# --- errors ------------------------------------------------------------------------------


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


# id, status, body builder, headers builder, class, retryable, retry_after check
ErrorCase = tuple[
    str,
    int,
    Callable[[BodyShape], Any] | None,
    Callable[[], dict[str, str]],
    type[ProviderError],
    bool,
    Callable[[float | None], bool],
]


def _none(value: float | None) -> bool:
    return value is None


ERROR_CASES: list[ErrorCase] = [
    ("400", 400, None, dict, InvalidRequestError, False, _none),
    ("400-context-length", 400, context_length_body, dict, ContextWindowExceeded, False, _none),
    ("400-content-policy", 400, content_filter_body, dict, ContentFiltered, False, _none),
    ("401", 401, None, dict, AuthenticationError, False, _none),
    ("403", 403, None, dict, AuthenticationError, False, _none),
    ("404", 404, None, dict, ModelNotFoundError, False, _none),
    ("408", 408, None, dict, ProviderTimeout, True, _none),
    ("409", 409, None, dict, ProviderUnavailable, True, _none),
    (
        "429-retry-after-seconds",
        429,
        None,
        lambda: {"retry-after": "7"},
        RateLimitError,
        True,
        lambda v: v == 7.0,
    ),
    (
        "429-retry-after-ms",
        429,
        None,
        lambda: {"retry-after-ms": "1500", "retry-after": "9"},
        RateLimitError,
        True,
        lambda v: v == 1.5,
    ),
    (
        "429-retry-after-http-date",
        429,
        None,
        lambda: {"retry-after": _http_date(30)},
        RateLimitError,
        True,
        lambda v: v is not None and 20.0 <= v <= 31.0,
    ),
    ("429-quota", 429, quota_exhausted_body, dict, QuotaExceededError, False, _none),
    ("500", 500, None, dict, ProviderUnavailable, True, _none),
    ("503", 503, None, dict, ProviderUnavailable, True, _none),
    ("529", 529, None, dict, ProviderUnavailable, True, _none),
    (
        "503-x-should-retry-false",
        503,
        None,
        lambda: {"x-should-retry": "false"},
        ProviderUnavailable,
        False,
        _none,
    ),
    (
        "400-x-should-retry-true",
        400,
        None,
        lambda: {"x-should-retry": "true"},
        InvalidRequestError,
        True,
        _none,
    ),
]


def _assert_origin(row: ChatHarness, error: ProviderError) -> None:
    """Adapter errors name provider and model and chain the SDK exception."""
    if row.supports("http"):
        assert error.provider and error.model == MODEL
        assert error.__cause__ is not None, "raise ... from exc"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
async def test_http_errors_map_to_domain_errors(
    row: ChatHarness, case: ErrorCase, mode: str
) -> None:
    _, status, body, headers, cls, retryable, retry_after_ok = case
    model = row.build()
    row.fault(Fault(status=status, body=body(shape(row)) if body else None, headers=headers()))
    with pytest.raises(ProviderError) as excinfo:
        await call(model, chat(), mode)
    error = excinfo.value
    assert type(error) is cls, f"{status} -> {type(error).__name__}: {error}"
    assert error.status == status
    assert error.retryable is retryable
    assert retry_after_ok(error.retry_after), error.retry_after
    _assert_origin(row, error)
    assert row.request_count() == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [429, 500])
async def test_exactly_one_http_attempt_per_call(row: ChatHarness, status: int, mode: str) -> None:
    model = row.build()
    # The server would fail three times in a row; SDK retries would show as extra requests.
    row.fault(Fault(status=status, count=3, headers={"retry-after": "0", "x-should-retry": "true"}))
    with pytest.raises(ProviderError) as excinfo:
        await call(model, chat(), mode)
    assert excinfo.value.status == status
    assert row.request_count() == 1


@pytest.mark.parametrize("mode", MODES)
async def test_connection_refused_is_provider_unavailable(row: ChatHarness, mode: str) -> None:
    model = row.build(unreachable=True)
    with pytest.raises(ProviderUnavailable) as excinfo:
        await call(model, chat(), mode)
    assert excinfo.value.retryable is True
    assert excinfo.value.status is None
    _assert_origin(row, excinfo.value)


@pytest.mark.parametrize("mode", MODES)
async def test_read_timeout_is_provider_timeout(row: ChatHarness, mode: str) -> None:
    model = row.build()
    row.fault(Fault(delay=3.0))
    with pytest.raises(ProviderTimeout) as excinfo:
        await call(model, chat(timeout=0.25), mode)
    assert excinfo.value.retryable is not row.supports("generation_timeout_final")
    _assert_origin(row, excinfo.value)


@pytest.mark.parametrize("clean", [False, True], ids=["connection-aborted", "body-ended"])
async def test_stream_cut_before_its_terminator_is_invalid_response(
    row: ChatHarness, clean: bool
) -> None:
    model = row.build()
    row.reply(TEXT)
    row.fault(Fault(cut_after_chunks=2, clean_cut=clean))
    received, error = await stream_until_error(model, chat())
    assert isinstance(error, InvalidResponse)
    assert received == "alpha beta ", "text delivered before the cut is not lost"
    assert error.retryable is True


async def test_non_streamed_body_cut_midway_is_a_retryable_failure(row: ChatHarness) -> None:
    model = row.build()
    row.fault(Fault(cut_after_chunks=1))
    with pytest.raises(ProviderUnavailable) as excinfo:
        await model.complete(chat())
    assert excinfo.value.retryable is True


@pytest.mark.parametrize("mode", MODES)
async def test_malformed_json_body_is_invalid_response(row: ChatHarness, mode: str) -> None:
    model = row.build()
    path = next(iter(getattr(row, "chat_paths", ("/v1/chat/completions",))))
    row.fault(malformed_fault(path, {"stream": mode == "stream"}))
    with pytest.raises(InvalidResponse) as excinfo:
        await call(model, chat(), mode)
    assert excinfo.value.retryable is False


@pytest.mark.parametrize("mode", MODES)
async def test_a_non_json_200_page_is_invalid_response(row: ChatHarness, mode: str) -> None:
    model = row.build()
    page = b"<html><body>502 from a proxy</body></html>"
    row.fault(Fault(raw_body=page, content_type="text/html"))
    with pytest.raises(InvalidResponse):
        await call(model, chat(), mode)


async def test_error_event_mid_stream_raises_the_mapped_error(row: ChatHarness) -> None:
    model = row.build()
    row.reply(TEXT)
    row.fault(Fault(error_event_after_chunks=2, message="Overloaded"))
    received, error = await stream_until_error(model, chat())
    assert received == "alpha beta "
    assert type(error) is ProviderUnavailable
    assert error.retryable is True
    assert error.status is None, "a mid-stream event has no HTTP status of its own"
    _assert_origin(row, error)


async def test_no_api_key_in_errors_or_reprs(row: ChatHarness) -> None:
    if not row.supports("api_key"):
        pytest.skip(f"{row.name} holds no API key")
    model = row.build(api_key=SECRET)
    echo = (
        anthropic_error("authentication_error", f"invalid x-api-key {SECRET}")
        if shape(row) == "anthropic"
        else openai_error(f"Incorrect API key provided: {SECRET}", code="invalid_api_key")
    )
    row.fault(Fault(status=401, body=echo))
    with pytest.raises(AuthenticationError) as excinfo:
        await model.complete(chat())
    error = excinfo.value
    shown = (str(error), repr(error), error.message, *map(str, error.args), repr(model), str(model))
    for text in shown:
        assert SECRET not in text


# --- cancellation ------------------------------------------------------------------------


async def test_closing_a_stream_early_closes_the_http_response(
    row: ChatHarness, fake_server_session: FakeServer
) -> None:
    # A private server, so pooled connections of other rows' clients are not counted.
    own = FakeServer().start()
    own.ollama_models.add(MODEL)
    row.attach(own)
    try:
        await _check_early_close(row)
    finally:
        await row.aclose()
        row.attach(fake_server_session)
        await asyncio.to_thread(own.stop)


async def _check_early_close(row: ChatHarness) -> None:
    model = row.build()
    long_text = " ".join(f"word{i}" for i in range(200))
    row.reply(long_text)
    chunks = await collect(model, chat())
    assert "".join(c.text for c in chunks) == long_text
    watched = row.open_connections()
    if watched is not None:
        # Control: a fully read response leaves its keep-alive connection open.
        assert watched == 1

    row.reply(long_text)
    # A paced body is still in flight when we stop reading, so the client cannot
    # have received it whole and parked the connection for reuse.
    row.pace_stream(0.02)
    stream = model.stream(chat())
    received = []
    async for chunk in stream:
        received.append(chunk.text)
        if len(received) == 2:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert len(received) == 2 and long_text.startswith("".join(received))
    if watched is not None:
        # The half-read response was closed, not parked: its connection goes away
        # while the adapter itself stays open.
        assert await wait_until(lambda: row.open_connections() == 0), row.open_connections()

    row.pace_stream(0.0)
    row.reply("still works")
    assert (await model.complete(chat())).text == "still works"
