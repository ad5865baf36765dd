"""The seed's sync LLMClient methods: they run in the calling thread, on its own reused loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Generator
from typing import TypeVar

import pytest
from pydantic import SecretStr

from inference_core import LLMClient
from inference_core.adapters.fakes import FakeChatModel, ScriptItem
from inference_core.compat.registry import ModelConfig
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse
from tests.unit.application.support import Wired

T = TypeVar("T")
_WAIT = 30.0  # bounds a hang, never asserted on
_USER = [{"role": "user", "content": "hi"}]


class _Recording(FakeChatModel):
    """Notes the (loop, thread) of every answer and of every streamed chunk."""

    def __init__(self, *script: ScriptItem) -> None:
        super().__init__(*script)
        self.seen: list[tuple[int, int]] = []
        self.stream_closed = 0

    def _note(self) -> None:
        self.seen.append((id(asyncio.get_running_loop()), threading.get_ident()))

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self._note()
        return await super().complete(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        try:
            async for chunk in super().stream(request):
                self._note()
                yield chunk
        finally:
            self.stream_closed += 1


def _client(model: FakeChatModel) -> tuple[LLMClient, Wired]:
    wired = Wired(fakes={"p1": model})
    return LLMClient(inference=wired.inference), wired


def _in_thread(work: Callable[[], T]) -> T:
    box: list[T] = []
    thread = threading.Thread(target=lambda: box.append(work()))
    thread.start()
    thread.join(_WAIT)
    assert box, "the work raised in its thread"
    return box[0]


def test_call_runs_in_the_calling_thread_and_reuses_its_loop() -> None:
    model = _Recording("one", "two")
    client, wired = _client(model)
    with client:
        client.call(_USER)
        client.call(_USER)
    (loop_a, thread_a), (loop_b, thread_b) = model.seen
    assert thread_a == thread_b == threading.get_ident()
    assert loop_a == loop_b
    assert len(wired.connections) == 1  # one adapter for the one loop
    assert model.closed


def test_calls_from_two_threads_use_two_loops_and_close_closes_both() -> None:
    model = _Recording("one", "two")
    client, _ = _client(model)
    client.call(_USER)
    _in_thread(lambda: client.call(_USER))
    (loop_a, thread_a), (loop_b, thread_b) = model.seen
    assert loop_a != loop_b
    assert thread_a != thread_b
    assert client.inference.router.loops_cached == 2
    client.close()
    assert client.inference.router.loops_cached == 0
    with pytest.raises(RuntimeError, match="closed"):
        client.call(_USER)


async def test_call_inside_a_running_loop_uses_the_background_loop() -> None:
    model = _Recording("one")
    client, _ = _client(model)
    try:
        client.call(_USER)  # blocking, as in a notebook cell
        [(loop_id, ident)] = model.seen
        assert loop_id == id(client.inference.runner.loop)
        assert ident != threading.get_ident()
    finally:
        client.close()


def test_stream_call_runs_in_the_calling_thread() -> None:
    model = _Recording("a b c")
    client, _ = _client(model)
    with client:
        chunks = list(client.stream_call(_USER))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "a b c"
    assert {ident for _, ident in model.seen} == {threading.get_ident()}
    assert len({loop_id for loop_id, _ in model.seen}) == 1
    assert model.stream_closed == 1


def test_a_stream_read_on_from_another_thread_stays_on_the_loop_it_started_on() -> None:
    model = _Recording("a b c d")
    client, _ = _client(model)
    with client:
        stream = client.stream_call(_USER)
        first = next(stream)  # starts here, on this thread's loop
        rest = _in_thread(lambda: list(stream))  # a thread pool reading the rest
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in [first, *rest])
    assert text == "a b c d"
    loops = {loop_id for loop_id, _ in model.seen}
    threads = [ident for _, ident in model.seen]
    assert len(loops) == 1  # every chunk on the loop the stream started on
    assert threads[0] == threading.get_ident() != threads[-1]  # that thread ran it for its steps
    assert model.stream_closed == 1


def test_closing_a_stream_early_closes_the_provider_stream_on_its_loop() -> None:
    model = _Recording("a b c d")
    client, _ = _client(model)
    with client:
        stream = client.stream_call(_USER)
        next(stream)
        assert isinstance(stream, Generator)
        _in_thread(stream.close)  # closed from another thread: still on its own loop
        assert model.stream_closed == 1
        assert len({loop_id for loop_id, _ in model.seen}) == 1


def test_per_call_credentials_share_the_threads_loop_and_close_with_the_client() -> None:
    model = _Recording("one", "two")
    client, wired = _client(model)
    per_call = ModelConfig(api_key=SecretStr("sk-per-call-0123456789abcdef"))
    client.call(_USER)
    client.call(_USER, config=per_call)
    (loop_a, _), (loop_b, _) = model.seen
    assert loop_a == loop_b  # another router, the same thread loop
    derived = client._for(per_call)
    assert derived.router.loops_cached == 1
    client.close()
    assert derived.router.loops_cached == 0
    assert len(wired.connections) == 2
