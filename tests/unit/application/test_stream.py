"""StreamChat: retries before the first chunk, StreamInterrupted after it, cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from inference_core.adapters.fakes import FAKE_CAPABILITIES
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse, FinishReason, Usage
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    InvalidResponse,
    ProviderUnavailable,
    RateLimitError,
    StreamInterrupted,
)
from tests.unit.application.support import BACKUP, PRICED, Wired, config, fake

FINAL = ChatChunk(finish_reason=FinishReason.STOP, usage=Usage(input_tokens=100, output_tokens=3))


async def _collect(stream: AsyncIterator[ChatChunk]) -> list[ChatChunk]:
    return [chunk async for chunk in stream]


async def test_chunks_then_a_final_chunk_with_priced_usage() -> None:
    wired = Wired(fakes={"p1": fake([ChatChunk(text="Once"), ChatChunk(text=" upon"), FINAL])})

    chunks = await _collect(wired.inference.stream_chat(user="story"))

    assert [c.text for c in chunks] == ["Once", " upon", ""]
    final = chunks[-1]
    assert final.is_final and final.usage is not None
    assert final.usage.cost_usd == pytest.approx((100 * 1.0 + 3 * 2.0) / 1_000_000)
    (event,) = wired.sink.events
    assert (event.operation, event.outcome, event.usage) == ("stream", "ok", final.usage)
    assert event.ttft_ms is not None


async def test_a_failure_before_the_first_chunk_is_retried() -> None:
    wired = Wired(
        fakes={
            "p1": fake(
                RateLimitError("busy", retry_after=0.25),
                [ProviderUnavailable("cut before any text"), FINAL],
                [ChatChunk(text="Hello"), FINAL],
            )
        }
    )

    chunks = await _collect(wired.inference.stream_chat(user="hi"))

    assert "".join(c.text for c in chunks) == "Hello"
    assert len(wired.fake("p1").calls) == 3
    assert wired.sleeper.delays[0] == 0.25
    assert [e.outcome for e in wired.sink.events] == ["error", "error", "ok"]
    assert [e.attempt for e in wired.sink.events] == [1, 2, 3]


async def test_empty_chunks_before_text_do_not_count_as_the_first_chunk() -> None:
    wired = Wired(
        fakes={
            "p1": fake(
                [ChatChunk(text=""), ProviderUnavailable("cut")],
                [ChatChunk(text="ok"), FINAL],
            )
        }
    )

    chunks = await _collect(wired.inference.stream_chat(user="hi"))

    assert [c.text for c in chunks] == ["ok", ""]


async def test_a_failure_after_the_first_chunk_raises_stream_interrupted_with_the_text() -> None:
    cause = ProviderUnavailable("connection reset")
    wired = Wired(
        fakes={
            "p1": fake([ChatChunk(text="Hel"), ChatChunk(text="lo"), cause], "never replayed"),
            "p2": fake("backup never asked"),
        },
        cfg=config(fallbacks={PRICED: [BACKUP]}),
    )
    received: list[str] = []

    with pytest.raises(StreamInterrupted) as caught:
        async for chunk in wired.inference.stream_chat(user="hi"):
            received.append(chunk.text)

    assert received == ["Hel", "lo"]
    assert caught.value.partial_text == "Hello"
    assert caught.value.__cause__ is cause
    assert not caught.value.retryable
    assert len(wired.fake("p1").calls) == 1  # never restarted
    assert wired.fake("p2").calls == []  # and never handed to a fallback
    assert [e.outcome for e in wired.sink.events] == ["error"]


async def test_a_stream_without_a_final_chunk_is_interrupted_not_shortened() -> None:
    wired = Wired(fakes={"p1": fake([ChatChunk(text="half")])})

    with pytest.raises(StreamInterrupted) as caught:
        await _collect(wired.inference.stream_chat(user="hi"))

    assert caught.value.partial_text == "half"
    assert isinstance(caught.value.__cause__, InvalidResponse)


async def test_before_the_first_chunk_a_fallback_may_serve_the_stream() -> None:
    wired = Wired(
        fakes={"p1": fake(ProviderUnavailable("down")), "p2": fake("from backup")},
        cfg=config(fallbacks={PRICED: [BACKUP]}, retry=RetryPolicy(max_attempts=1)),
    )

    chunks = await _collect(wired.inference.stream_chat(user="hi"))

    assert "".join(c.text for c in chunks) == "from backup"
    assert [e.model for e in wired.sink.events] == [PRICED, BACKUP]


class ClosableStream:
    """A ChatModel whose stream records whether it was closed (as an HTTP response would be)."""

    capabilities = FAKE_CAPABILITIES

    def __init__(self) -> None:
        self.closed = False
        self.produced = 0

    async def complete(self, request: ChatRequest) -> ChatResponse:
        raise NotImplementedError

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        try:
            while True:
                self.produced += 1
                yield ChatChunk(text=f"w{self.produced} ")
        finally:
            self.closed = True

    async def aclose(self) -> None:
        pass


async def test_breaking_out_and_closing_closes_the_adapter_stream() -> None:
    model = ClosableStream()
    wired = Wired(fakes={"p1": model})

    stream = wired.inference.stream_chat(user="endless")
    received = []
    async for chunk in stream:
        received.append(chunk.text)
        if len(received) == 2:
            break
    await stream.aclose()  # type: ignore[attr-defined]

    assert model.closed
    assert model.produced == 2
    (event,) = wired.sink.events
    assert event.outcome == "cancelled"


async def test_models_that_cannot_stream_are_answered_in_one_chunk_and_it_is_logged() -> None:
    no_stream = AdapterCapabilities(streaming=False)
    wired = Wired(fakes={"p1": fake("whole answer", "again", capabilities=no_stream)})

    with capture_logs() as logs:
        first = await _collect(wired.inference.stream_chat(user="hi"))
        await _collect(wired.inference.stream_chat(user="hi"))

    assert [c.text for c in first] == ["whole answer", ""]
    assert first[-1].usage is not None and first[-1].usage.cost_usd is not None
    assert [e["event"] for e in logs].count("inference.stream_emulated") == 1
    assert [e.operation for e in wired.sink.events] == ["chat", "chat"]
