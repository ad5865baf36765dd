"""The llama.cpp adapter is honest about time: default caps, scaled limits, no blind retries.

The engine is a scripted stand-in that "generates" a token every few
milliseconds through the real :class:`GenerationMonitor` until told to stop, so
these tests need no model and no llama-cpp-python.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inference_core import bootstrap
from inference_core.adapters.llama_cpp import (
    DEFAULT_MAX_TOKENS,
    SECONDS_PER_TOKEN,
    GenerationMonitor,
    LlamaCppChatModel,
    LlamaLoadSpec,
    LlamaModelPool,
)
from inference_core.domain.chat import ChatRequest, GenerationParams
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import ProviderTimeout
from inference_core.domain.messages import Message

BUNDLED = "gemma-3-270m"


class SlowEngine:
    """Emits one token per ``step`` seconds until ``tokens`` are out or the monitor stops it."""

    def __init__(self, *, tokens: int | None = None, step: float = 0.005) -> None:
        self.tokens = tokens
        self.step = step
        self.options: list[dict[str, Any]] = []
        self.generated: list[int] = []

    def chat(
        self,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        *,
        stream: bool,
        monitor: GenerationMonitor,
    ) -> Any:
        self.options.append(options)
        ids = [1, 2, 3]  # the prompt
        produced = 0
        while self.tokens is None or produced < self.tokens:
            if monitor(ids, None):
                break
            time.sleep(self.step)
            ids.append(7)
            produced += 1
        self.generated.append(produced)
        return {
            "id": "cmpl-1",
            "choices": [{"message": {"content": "x" * produced}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": produced},
        }

    def close(self) -> None:
        pass


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "bundled.gguf"
    path.write_bytes(b"GGUF")
    return path


def _adapter(engine: SlowEngine, model_file: Path, *, timeout: float) -> LlamaCppChatModel:
    def load(spec: LlamaLoadSpec) -> SlowEngine:
        return engine

    pool = LlamaModelPool(load, bundled_model=lambda: model_file)
    return LlamaCppChatModel(pool=pool, timeout=timeout)


def _request(max_tokens: int | None = None) -> ChatRequest:
    return ChatRequest(
        model=BUNDLED,
        messages=(Message.user("hi"),),
        params=GenerationParams(max_tokens=max_tokens),
    )


async def test_a_request_without_a_cap_gets_the_local_default(model_file: Path) -> None:
    engine = SlowEngine(tokens=2)
    adapter = _adapter(engine, model_file, timeout=30)
    await adapter.complete(_request())
    assert engine.options[0]["max_tokens"] == DEFAULT_MAX_TOKENS == 256


async def test_the_embedded_model_default_comes_from_the_catalog(model_file: Path) -> None:
    engine = SlowEngine(tokens=2)
    inference = bootstrap(chat_model=_adapter(engine, model_file, timeout=30), environ={})
    result = await inference.chat_text(user="hi", model="local/gemma-3-270m")
    spec = inference.catalog["local/gemma-3-270m"]
    assert spec.default_max_tokens == 256 < (spec.max_output_tokens or 0)
    assert engine.options[0]["max_tokens"] == 256
    assert result.text == "xx"


async def test_a_generation_that_times_out_is_stopped_and_not_retryable(model_file: Path) -> None:
    engine = SlowEngine()  # never finishes on its own
    adapter = _adapter(engine, model_file, timeout=0.05)
    with pytest.raises(ProviderTimeout) as caught:
        await adapter.complete(_request(max_tokens=1))
    err = caught.value
    assert err.retryable is False
    limit = 0.05 + SECONDS_PER_TOKEN * 1
    assert f"longer than {limit:g}s" in str(err)
    # The worker saw the cancellation and stopped generating.
    for _ in range(200):
        if engine.generated:
            break
        await asyncio.sleep(0.01)
    assert len(engine.generated) == 1


async def test_the_use_case_does_not_repeat_a_timed_out_generation(model_file: Path) -> None:
    engine = SlowEngine()
    inference = bootstrap(
        chat_model=_adapter(engine, model_file, timeout=0.05),
        environ={},
        retry=RetryPolicy(max_attempts=4, initial_delay=0.01, deadline=None),
    )
    with pytest.raises(ProviderTimeout) as caught:
        await inference.chat_text(user="hi", model="local/gemma-3-270m", max_tokens=1)
    assert len(engine.options) == 1  # one generation, no retry
    assert caught.value.attempts == 1
    assert "(call: 1 attempt, " in str(caught.value)
    assert inference.ledger.snapshot().total.attempts == 1


async def test_a_call_that_never_got_the_model_may_be_retried(model_file: Path) -> None:
    engine = SlowEngine(tokens=1)
    adapter = _adapter(engine, model_file, timeout=0.05)
    loaded = adapter._acquire(BUNDLED)  # the lock another call would hold
    released = threading.Event()

    def hold() -> None:
        with loaded.lock:
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        with pytest.raises(ProviderTimeout) as caught:
            await adapter.complete(_request(max_tokens=1))
    finally:
        released.set()
        holder.join()
    assert caught.value.retryable is True
    assert "did not start" in str(caught.value)
    assert engine.options == []  # it never reached the model
