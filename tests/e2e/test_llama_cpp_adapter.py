"""The llama.cpp adapter running the bundled Gemma 3 270M model in this process.

Generations are short and deterministic (temperature 0, fixed seed, a few
tokens). The engine is the real llama-cpp-python model, wrapped only to record
what the adapter handed it and the monitor of each call (state to assert on).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

pytest.importorskip("llama_cpp", reason="needs the 'local' extra (llama-cpp-python)")

from inference_core.adapters.llama_cpp import (
    CAPABILITIES,
    Engine,
    GenerationMonitor,
    LlamaCppChatModel,
    LlamaLoadSpec,
    LlamaModelPool,
    load_llama_engine,
)
from inference_core.adapters.llama_cpp.chat import BUNDLED_CHAT_FORMAT, BUNDLED_STOP, llama_messages
from inference_core.domain.catalog import JSONOutput
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    FinishReason,
    GenerationParams,
    ResponseFormat,
)
from inference_core.domain.errors import (
    ConfigurationError,
    ContextWindowExceeded,
    InvalidMessageError,
    InvalidRequestError,
    ProviderTimeout,
)
from inference_core.domain.messages import ImagePart, Message, TextPart

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

MODEL = "gemma-3-270m"
SHORT = GenerationParams(temperature=0.0, seed=11, max_tokens=6)


@dataclass
class Call:
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    stream: bool
    monitor: GenerationMonitor


class RecordingEngine:
    """A real engine that also records every call it receives."""

    def __init__(self, inner: Engine, calls: list[Call]) -> None:
        self._inner = inner
        self._calls = calls

    def chat(
        self,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        *,
        stream: bool,
        monitor: GenerationMonitor,
    ) -> Any:
        self._calls.append(Call(messages, dict(options), stream, monitor))
        return self._inner.chat(messages, options, stream=stream, monitor=monitor)

    def close(self) -> None:
        self._inner.close()


@dataclass
class Recorded:
    pool: LlamaModelPool
    calls: list[Call]
    loads: list[LlamaLoadSpec]


@pytest.fixture(scope="module")
def recorded() -> Iterator[Recorded]:
    calls: list[Call] = []
    loads: list[LlamaLoadSpec] = []

    def loader(spec: LlamaLoadSpec) -> Engine:
        loads.append(spec)
        return RecordingEngine(load_llama_engine(spec), calls)

    pool = LlamaModelPool(loader)
    yield Recorded(pool, calls, loads)
    pool.close()


@pytest.fixture
def model(recorded: Recorded) -> LlamaCppChatModel:
    recorded.calls.clear()
    return LlamaCppChatModel(pool=recorded.pool, n_ctx=2048)


def tokens(n: int) -> GenerationParams:
    return SHORT.model_copy(update={"max_tokens": n})


def request(*messages: Message, params: GenerationParams = SHORT, **kwargs: Any) -> ChatRequest:
    return ChatRequest(
        model=MODEL, messages=messages or (Message.user("Hello"),), params=params, **kwargs
    )


async def collect(model: LlamaCppChatModel, req: ChatRequest) -> list[ChatChunk]:
    return [chunk async for chunk in model.stream(req)]


async def test_completion_and_stream_agree_and_report_usage(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    req = request(Message.user("Once upon a time"))
    # llama.cpp reuses the evaluated prompt prefix of the previous call, and a prompt
    # evaluated in one batch can tip a near-tie at temperature 0 differently from one
    # resumed from the cache: compare two calls that both start from the cache.
    await model.complete(req)
    whole = await model.complete(req)
    chunks = await collect(model, req)

    assert whole.text
    assert whole.model == MODEL
    assert whole.finish_reason in (FinishReason.LENGTH, FinishReason.STOP)
    assert whole.usage.input_tokens is not None and whole.usage.input_tokens > 5
    assert whole.usage.output_tokens is not None and 0 < whole.usage.output_tokens <= 6
    assert whole.usage.cost_usd is None  # priced from the catalog by the application
    assert whole.response_id

    # Deterministic (temperature 0, fixed seed): the stream says exactly the same.
    *deltas, last = chunks
    assert all(c.text and not c.is_final for c in deltas)
    assert "".join(c.text for c in deltas) == whole.text
    assert last.is_final and last.text == ""
    assert last.finish_reason == whole.finish_reason
    # llama-cpp-python streams carry no usage; the adapter counts the same numbers.
    assert last.usage == whole.usage

    # Loaded once for both calls; the options reached llama.cpp as asked.
    assert len(recorded.loads) == 1
    assert recorded.loads[0].chat_format == BUNDLED_CHAT_FORMAT
    sent = {"max_tokens": 6, "temperature": 0.0, "seed": 11, "stop": list(BUNDLED_STOP)}
    assert [(c.stream, c.options) for c in recorded.calls] == [(False, sent)] * 2 + [(True, sent)]


class Character(BaseModel):
    name: str = Field(max_length=8)
    hero: bool


async def test_json_schema_output_validates_whole_and_streamed(
    model: LlamaCppChatModel,
) -> None:
    req = request(
        Message.system("You write story characters as JSON."),
        Message.user("Describe the hero of a fairy tale."),
        params=tokens(30),
        # JSON mode carrying the schema: the strategy this adapter declares.
        response_format=ResponseFormat(
            type="json_object", name="character", schema=Character.model_json_schema()
        ),
    )
    await model.complete(req)  # both compared calls resume from the cached prompt (see above)
    whole = await model.complete(req)
    chunks = await collect(model, req)

    Character.model_validate_json(whole.text)  # the grammar keeps even a tiny model valid
    assert "".join(c.text for c in chunks) == whole.text
    # The grammar's end leaves only end-of-turn: a natural stop, counted alike both ways.
    assert whole.finish_reason is FinishReason.STOP
    assert chunks[-1].finish_reason is FinishReason.STOP
    assert chunks[-1].usage == whole.usage


async def test_json_object_without_schema_is_json(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    req = request(
        Message.user("Give me a JSON object."),
        params=tokens(12),
        response_format=ResponseFormat(type="json_object"),
    )
    response = await model.complete(req)
    if response.finish_reason is FinishReason.STOP:
        assert isinstance(json.loads(response.text), dict)
    else:  # cut by max_tokens: still the start of an object
        assert response.text.lstrip().startswith("{")
    assert recorded.calls[-1].options["response_format"] == {"type": "json_object"}


async def test_system_prompt_is_folded_into_the_first_user_turn(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    await model.complete(
        request(
            Message.system("Answer briefly."),
            Message.user("Hi"),
            Message.assistant("Hello!"),
            Message(role="developer", content="No emojis."),
            Message.user(content=(TextPart(text="How"), TextPart(text="are you?"))),
            params=tokens(1),
        )
    )
    # The bundled model's alpaca layout keeps system text; developer becomes system.
    assert recorded.calls[-1].messages == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "system", "content": "No emojis."},
        {"role": "user", "content": "How\nare you?"},
    ]
    # Gemma's own turn format has no system role (llama-cpp-python's "gemma" format
    # would drop it), so for it system text is folded into the first user turn.
    folded = llama_messages(
        [Message.system("Answer briefly."), Message.user("Hi"), Message.assistant("Hello!")],
        fold_system=True,
    )
    assert folded == [
        {"role": "user", "content": "Answer briefly.\n\nHi"},
        {"role": "assistant", "content": "Hello!"},
    ]


async def test_stop_sequences_are_honoured(model: LlamaCppChatModel, recorded: Recorded) -> None:
    req = request(Message.user("Count: one, two, three,"), params=tokens(3))
    free = await model.complete(req)
    first_word = free.text.split()[0] if free.text.split() else free.text[:1]
    stopped = await model.complete(
        req.model_copy(update={"params": req.params.model_copy(update={"stop": (first_word,)})})
    )
    assert first_word not in stopped.text
    assert stopped.finish_reason is FinishReason.STOP
    assert recorded.calls[-1].options["stop"] == [first_word, *BUNDLED_STOP]


async def test_images_are_refused_before_any_generation(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    image = ImagePart(data=b"\x89PNG\r\n\x1a\n", mime_type="image/png")
    with pytest.raises(InvalidMessageError, match=r"messages\[0\]\.content: .*text only"):
        await model.complete(request(Message.user((TextPart(text="What is this?"), image))))
    assert recorded.calls == []
    assert CAPABILITIES.images is False


async def test_a_schema_llama_cpp_cannot_enforce_fails_loudly(
    model: LlamaCppChatModel,
) -> None:
    req = request(response_format=ResponseFormat(type="json_object", schema={"type": "nope"}))
    with pytest.raises(InvalidRequestError, match="grammar") as caught:
        await model.complete(req)
    assert caught.value.provider == "local"
    assert caught.value.model == MODEL
    assert caught.value.retryable is False


async def test_undeclared_native_schema_output_sends_nothing(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    # Provider-native json_schema is not declared: the caller prompts for JSON instead.
    assert JSONOutput.JSON_SCHEMA not in CAPABILITIES.json_outputs
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    await model.complete(
        request(params=tokens(1), response_format=ResponseFormat(type="json_schema", schema=schema))
    )
    assert "response_format" not in recorded.calls[-1].options


async def test_unknown_model_name_and_missing_file(
    model: LlamaCppChatModel, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown local model 'llama-9000'.*\.gguf"):
        await model.complete(request().model_copy(update={"model": "llama-9000"}))
    missing = tmp_path / "models" / "absent.gguf"
    with pytest.raises(ConfigurationError, match="local model file not found") as caught:
        await model.complete(request().model_copy(update={"model": str(missing)}))
    assert str(missing) in str(caught.value)


async def test_a_file_that_is_not_gguf_is_a_configuration_error(
    model: LlamaCppChatModel, tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model" * 100)
    with pytest.raises(ConfigurationError, match="cannot load GGUF model") as caught:
        await model.complete(request().model_copy(update={"model": str(bogus)}))
    assert str(bogus) in str(caught.value)


async def test_closing_a_stream_stops_the_generation(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    long = request(Message.user("Tell me a long story."), params=tokens(2000))
    stream = model.stream(long)
    first = await anext(stream)
    assert first.text
    await stream.aclose()

    # The model lock frees once the worker notices the cancellation at its next token.
    loaded = recorded.pool.get(recorded.loads[0])
    await asyncio.to_thread(loaded.lock.acquire)
    loaded.lock.release()
    sampled = recorded.calls[-1].monitor.sampled_tokens
    assert sampled is not None and sampled < 2000

    # The model is usable again at once.
    after = await model.complete(request(params=tokens(1)))
    assert after.usage.output_tokens == 1


async def test_timeout_stops_the_generation(model: LlamaCppChatModel, recorded: Recorded) -> None:
    long = request(
        Message.user("Tell me a long story."),
        params=tokens(2000),
        timeout=0.001,
    )
    with pytest.raises(ProviderTimeout) as caught:
        await model.complete(long)
    # Final once the model was working on it; retryable while it waited for the model.
    assert caught.value.retryable is ("did not start" in str(caught.value))
    assert caught.value.provider == "local"

    with pytest.raises(ProviderTimeout):
        await collect(model, long)

    loaded = recorded.pool.get(recorded.loads[0])
    await asyncio.to_thread(loaded.lock.acquire)
    loaded.lock.release()
    for call in recorded.calls:
        sampled = call.monitor.sampled_tokens
        assert sampled is None or sampled < 2000


async def test_concurrent_calls_share_one_model_safely(
    model: LlamaCppChatModel, recorded: Recorded
) -> None:
    asks = [request(Message.user(p), params=tokens(3)) for p in ("Red", "Blue")]
    alone = [(await model.complete(r)).text for r in asks]
    together = await asyncio.gather(*(model.complete(r) for r in asks))
    assert [r.text for r in together] == alone
    assert len(list(recorded.pool.loaded())) == 1


async def test_prompt_longer_than_the_context_window() -> None:
    pool = LlamaModelPool()
    try:
        small = LlamaCppChatModel(pool=pool, n_ctx=100)  # rounded up to 256
        long = request(Message.user("word " * 300))
        with pytest.raises(ContextWindowExceeded) as caught:
            await small.complete(long)
        assert caught.value.provider == "local"
        assert caught.value.model == MODEL
        with pytest.raises(ContextWindowExceeded):
            await collect(small, long)
        ok = await small.complete(request(Message.user("Hi"), params=tokens(1)))
        assert ok.usage.output_tokens == 1
        assert [spec.n_ctx for spec in pool.loaded()] == [256]
    finally:
        pool.close()


def test_capabilities_are_data() -> None:
    assert CAPABILITIES.best_json_output(JSONOutput.JSON_OBJECT_WITH_SCHEMA) is (
        JSONOutput.JSON_OBJECT_WITH_SCHEMA
    )
    assert CAPABILITIES.best_json_output(JSONOutput.JSON_SCHEMA) is (
        JSONOutput.JSON_OBJECT_WITH_SCHEMA
    )
    assert CAPABILITIES.streaming and CAPABILITIES.seed and CAPABILITIES.stop
