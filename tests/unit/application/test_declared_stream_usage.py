"""A model that declares no stream usage never gets provider-reported counts in a stream."""

from __future__ import annotations

from inference_core import FakeChatModel, bootstrap
from inference_core.domain.chat import ChatChunk, FinishReason, Usage
from inference_core.domain.config import RuntimeConfig


def _inference(stream_usage: bool, fake: FakeChatModel):
    config = RuntimeConfig.model_validate(
        {"models": {"m": {"provider": "openai", "capabilities": {"stream_usage": stream_usage}}}}
    )
    return bootstrap(config=config, environ={}, chat_model=fake, default_model="m")


async def _final(inference) -> Usage:
    final = None
    async for chunk in inference.stream_chat(user="hi"):
        final = chunk
    assert final is not None and final.usage is not None
    return final.usage


def _script() -> list[ChatChunk]:
    made_up = Usage(input_tokens=3, output_tokens=2, reasoning_tokens=0, cached_tokens=0)
    return [ChatChunk(text="hi there"), ChatChunk(finish_reason=FinishReason.STOP, usage=made_up)]


async def test_counts_are_marked_estimated_when_the_model_declares_no_stream_usage() -> None:
    fake = FakeChatModel(_script())
    usage = await _final(_inference(False, fake))
    assert fake.calls[-1].stream_usage is False  # the adapter is told not to ask for it
    assert (usage.input_tokens, usage.output_tokens, usage.estimated) == (3, 2, True)
    assert usage.reasoning_tokens is None and usage.cached_tokens is None


async def test_counts_stay_reported_when_the_model_declares_stream_usage() -> None:
    fake = FakeChatModel(_script())
    usage = await _final(_inference(True, fake))
    assert fake.calls[-1].stream_usage is True
    assert usage.estimated is False and usage.reasoning_tokens == 0
