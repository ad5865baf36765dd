"""Self-tests of the fake provider servers, using plain HTTP and the real SDKs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import anthropic
import httpx
import openai
import pytest

from tests.servers import (
    RANDOM_FAULT_KINDS,
    AnthropicServer,
    FakeServer,
    Fault,
    OllamaServer,
    context_length_body,
    quota_exhausted_body,
)

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
USER: Any = [{"role": "user", "content": "hello there world"}]


@pytest.fixture
def server(fake_server: FakeServer) -> FakeServer:
    """The shared session server, reset around each test."""
    return fake_server


_OPEN: list[openai.AsyncOpenAI | anthropic.AsyncAnthropic] = []


def oai(server: FakeServer, api_key: str = "k", **kw: Any) -> openai.AsyncOpenAI:
    """Async OpenAI client pointed at the fake server (closed by :func:`run`)."""
    client = openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key=api_key, max_retries=0, **kw
    )
    _OPEN.append(client)
    return client


def ant(server: FakeServer, api_key: str = "k", **kw: Any) -> anthropic.AsyncAnthropic:
    """Async Anthropic client pointed at the fake server (closed by :func:`run`)."""
    client = anthropic.AsyncAnthropic(
        base_url=server.base_url, api_key=api_key, max_retries=0, **kw
    )
    _OPEN.append(client)
    return client


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh loop, closing the SDK clients it opened."""

    async def wrapper() -> T:
        try:
            return await coro
        finally:
            while _OPEN:
                await _OPEN.pop().close()

    return asyncio.run(wrapper())


def sse_data(text: str) -> list[str]:
    """The ``data:`` payloads of an SSE body."""
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


# --------------------------------------------------------------------------- harness
def test_lifecycle_recording_and_clear(server: FakeServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    r = httpx.post(
        server.url("/v1/chat/completions"),
        json={"model": "m", "messages": USER},
        headers={"X-Custom": "Yes", "Authorization": "Bearer abc"},
        params={"q": "1"},
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"].startswith("req_")
    httpx.get(server.url("/api/tags"))
    rec = server.requests[0]
    assert (rec.method, rec.path) == ("POST", "/v1/chat/completions")
    assert rec.headers["x-custom"] == "Yes" and rec.headers["authorization"] == "Bearer abc"
    assert rec.body == {"model": "m", "messages": USER}
    assert json.loads(rec.raw) == rec.body and rec.query == {"q": "1"}
    assert [r.path for r in server.requests_for("/api/")] == ["/api/tags"]
    server.reply("queued")
    server.fault(Fault(status=500))
    server.clear()
    assert server.requests == [] and server.pending_faults() == 0
    body = httpx.post(
        server.url("/v1/chat/completions"), json={"model": "m", "messages": USER}
    ).json()
    assert body["choices"][0]["message"]["content"] == "Echo: hello there world"


def test_separate_servers_and_async_context_manager() -> None:
    async def main() -> None:
        async with AnthropicServer() as srv, httpx.AsyncClient() as c:
            r = await c.post(srv.url("/v1/chat/completions"), json={})
            assert r.status_code == 404  # only anthropic routes
        assert srv.port  # stopped without blocking the loop

    run(main())
    with OllamaServer() as srv:
        assert httpx.get(srv.url("/")).text == "Ollama is running"


def test_usable_from_sync_and_several_event_loops(server: FakeServer) -> None:
    with openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0) as sync:
        assert sync.chat.completions.create(model="m", messages=USER).choices[0].message.content

    async def models() -> list[str]:
        return [m.id async for m in oai(server).models.list()]

    for _ in range(2):
        assert "gpt-4o" in run(models())
    assert len(server.requests_for("/v1/models")) == 2


# ---------------------------------------------------------------------------- openai
def test_openai_non_streaming_shape(server: FakeServer) -> None:
    async def main() -> None:
        c = oai(server)
        r = await c.chat.completions.create(model="gpt-fake", messages=USER)
        assert r.model == "gpt-fake" and r.object == "chat.completion"
        assert r.choices[0].message.content == "Echo: hello there world"
        assert r.choices[0].finish_reason == "stop"
        assert r.usage is not None
        assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (3, 4, 7)
        server.reply(
            "one two", usage={"prompt_tokens": 50, "cached_tokens": 40, "reasoning_tokens": 7}
        )
        r = await c.chat.completions.create(model="m", messages=USER)
        assert r.choices[0].message.content == "one two" and r.usage is not None
        assert r.usage.prompt_tokens == 50 and r.usage.completion_tokens == 2
        assert r.usage.prompt_tokens_details and r.usage.prompt_tokens_details.cached_tokens == 40
        assert r.usage.completion_tokens_details
        assert r.usage.completion_tokens_details.reasoning_tokens == 7
        r = await c.chat.completions.create(model="m", messages=USER, max_tokens=2)
        assert (r.choices[0].message.content, r.choices[0].finish_reason) == (
            "Echo: hello",
            "length",
        )
        r = await c.chat.completions.create(model="m", messages=USER, max_completion_tokens=1)
        assert r.choices[0].finish_reason == "length"
        r = await c.chat.completions.create(model="m", messages=USER, stop=["there"])
        assert (r.choices[0].message.content, r.choices[0].finish_reason) == (
            "Echo: hello ",
            "stop",
        )
        models = await c.models.list()
        assert "gpt-4o-mini" in [m.id for m in models.data]

    run(main())
    assert server.served == 5


def test_openai_json_modes(server: FakeServer) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "pet": {"$ref": "#/$defs/Pet"},
            "nick": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["name", "age", "tags", "pet", "nick"],
        "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}}}},
    }

    async def main() -> None:
        c = oai(server)
        r = await c.chat.completions.create(
            model="m", messages=USER, response_format={"type": "json_object"}
        )
        assert json.loads(r.choices[0].message.content or "") == {"echo": "hello there world"}
        r = await c.chat.completions.create(
            model="m",
            messages=USER,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )
        data = json.loads(r.choices[0].message.content or "")
        assert data == {
            "name": "example",
            "age": 0,
            "tags": ["example"],
            "pet": {"kind": "cat"},
            "nick": "example",
        }

    run(main())


def test_openai_streaming_shape(server: FakeServer) -> None:
    async def main() -> None:
        c = oai(server)
        stream = await c.chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        chunks = [ch async for ch in stream]
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.total_tokens == 7
        content = [ch for ch in chunks if ch.choices and ch.choices[0].delta.content]
        assert (
            "".join(ch.choices[0].delta.content or "" for ch in content)
            == "Echo: hello there world"
        )
        assert len(content) == 4 and content[-1].choices[0].finish_reason == "stop"
        assert all(ch.choices[0].finish_reason is None for ch in content[:-1])
        server.chunk_words = 3
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        chunks = [ch async for ch in stream]
        assert all(ch.usage is None for ch in chunks) and len(chunks) == 3  # role + 2 content

    run(main())
    raw = httpx.post(
        server.url("/chat/completions"), json={"model": "m", "messages": USER, "stream": True}
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert sse_data(raw.text)[-1] == "[DONE]"
    assert server.served == 3 and server.served_log[0].streamed


# ------------------------------------------------------------------------- anthropic
def test_anthropic_non_streaming_and_validation(server: FakeServer) -> None:
    async def main() -> None:
        c = ant(server)
        m = await c.messages.create(
            model="claude-x",
            max_tokens=100,
            system=[{"type": "text", "text": "be nice"}],
            messages=[{"role": "user", "content": [{"type": "text", "text": "hi there"}]}],
        )
        assert m.model == "claude-x" and m.stop_reason == "end_turn" and m.stop_sequence is None
        assert m.content[0].type == "text" and m.content[0].text == "Echo: hi there"
        assert (m.usage.input_tokens, m.usage.output_tokens) == (4, 3)
        assert m.usage.cache_read_input_tokens == 0
        m = await c.messages.create(model="c", max_tokens=2, system="sys", messages=USER)
        assert m.stop_reason == "max_tokens" and m.usage.output_tokens == 2
        m = await c.messages.create(
            model="c", max_tokens=50, messages=USER, stop_sequences=["there"]
        )
        assert (m.stop_reason, m.stop_sequence) == ("stop_sequence", "there")
        server.reply("cached", usage={"input_tokens": 9, "cache_read_input_tokens": 5})
        m = await c.messages.create(model="c", max_tokens=50, messages=USER)
        assert m.usage.input_tokens == 9 and m.usage.cache_read_input_tokens == 5
        bad = [USER[0], USER[0]]
        with pytest.raises(anthropic.BadRequestError, match="alternate"):
            await c.messages.create(model="c", max_tokens=5, messages=bad)
        with pytest.raises(anthropic.BadRequestError, match="first message"):
            await c.messages.create(
                model="c", max_tokens=5, messages=[{"role": "assistant", "content": "x"}]
            )
        with pytest.raises(anthropic.BadRequestError, match="system"):
            await c.messages.create(
                model="c", max_tokens=5, messages=[{"role": "system", "content": "x"}]
            )
        tokens = await c.messages.count_tokens(model="c", messages=USER)
        assert tokens.input_tokens == 3
        server.anthropic_strict = False  # like the live API: consecutive turns are merged
        m = await c.messages.create(model="c", max_tokens=5, messages=bad)
        assert m.content[0].type == "text" and m.content[0].text == "Echo: hello there world"

    run(main())
    r = httpx.post(server.url("/v1/messages"), json={"model": "c", "messages": USER})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    r = httpx.get(server.url("/v1/models"), headers={"anthropic-version": "2023-06-01"})
    assert r.json()["data"][0]["type"] == "model"


def test_anthropic_streaming_shape(server: FakeServer) -> None:
    async def main() -> None:
        c = ant(server)
        async with c.messages.stream(model="c", max_tokens=100, messages=USER) as s:
            pieces = [t async for t in s.text_stream]
            final = await s.get_final_message()
        assert pieces == ["Echo: ", "hello ", "there ", "world"]
        assert (
            final.content[0].type == "text" and final.content[0].text == "Echo: hello there world"
        )
        assert final.stop_reason == "end_turn"
        assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 4)
        async with c.messages.stream(model="c", max_tokens=1, messages=USER) as s:
            final = await s.get_final_message()
        assert final.stop_reason == "max_tokens"

    run(main())
    r = httpx.post(
        server.url("/v1/messages"),
        json={"model": "c", "max_tokens": 9, "messages": USER, "stream": True},
    )
    events = [line[7:] for line in r.text.splitlines() if line.startswith("event: ")]
    assert events == [
        "message_start", "content_block_start", "ping",
        *["content_block_delta"] * 4,
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert r.headers["request-id"].startswith("req_")


# ---------------------------------------------------------------------------- ollama
def test_ollama_protocol(server: FakeServer) -> None:
    body = {"model": "llama3", "messages": [{"role": "system", "content": "s"}, *USER]}
    r = httpx.post(server.url("/api/chat"), json=body)
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert "".join(x["message"]["content"] for x in lines) == "Echo: hello there world"
    assert [x["done"] for x in lines] == [False] * 4 + [True]
    last = lines[-1]
    assert (last["done_reason"], last["prompt_eval_count"], last["eval_count"]) == ("stop", 4, 4)
    assert last["total_duration"] > 0 and "eval_duration" in last
    r = httpx.post(
        server.url("/api/chat"), json={**body, "stream": False, "options": {"num_predict": 1}}
    )
    one = r.json()
    assert (one["message"]["content"], one["done"], one["done_reason"]) == ("Echo:", True, "length")
    r = httpx.post(server.url("/api/chat"), json={**body, "stream": False, "format": "json"})
    assert json.loads(r.json()["message"]["content"]) == {"echo": "hello there world"}
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    r = httpx.post(server.url("/api/chat"), json={**body, "stream": False, "format": schema})
    assert json.loads(r.json()["message"]["content"]) == {"ok": True}
    r = httpx.post(server.url("/api/chat"), json={**body, "model": "nope"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'nope' not found"})
    r = httpx.post(
        server.url("/api/generate"),
        json={"model": "mistral:latest", "prompt": "yo", "stream": False},
    )
    assert r.json()["response"] == "Echo: yo"
    names = [m["name"] for m in httpx.get(server.url("/api/tags")).json()["models"]]
    assert "llama3:latest" in names and "phi3:latest" not in names
    assert httpx.post(server.url("/api/show"), json={"model": "phi3"}).status_code == 404
    pulled = [
        json.loads(x)
        for x in httpx.post(server.url("/api/pull"), json={"model": "phi3"}).text.splitlines()
    ]
    assert pulled[0] == {"status": "pulling manifest"} and pulled[-1] == {"status": "success"}
    assert any("completed" in x for x in pulled)
    show = httpx.post(server.url("/api/show"), json={"model": "phi3"}).json()
    assert show["details"]["format"] == "gguf" and "model_info" in show
    server.ollama_models.discard("phi3")
    server.ollama_registry = {"llama3"}
    r = httpx.post(server.url("/api/pull"), json={"model": "ghost"})
    assert json.loads(r.text.splitlines()[-1])["error"].startswith("pull model manifest")
    server.ollama_registry = None


# ---------------------------------------------------------------------------- faults
def test_status_faults_provider_shapes(server: FakeServer) -> None:
    async def main() -> None:
        c = oai(server)
        server.fault(Fault(status=429, headers={"retry-after": "0.01", "x-should-retry": "true"}))
        with pytest.raises(openai.RateLimitError) as info:
            await c.chat.completions.create(model="m", messages=USER)
        assert info.value.response.headers["retry-after"] == "0.01"
        assert info.value.code == "rate_limit_exceeded"
        server.fault(Fault(status=429, body=quota_exhausted_body()))
        with pytest.raises(openai.RateLimitError) as info:
            await c.chat.completions.create(model="m", messages=USER)
        assert info.value.code == "insufficient_quota"
        server.fault(Fault(status=400, body=context_length_body()))
        with pytest.raises(openai.BadRequestError) as bad:
            await c.chat.completions.create(model="m", messages=USER)
        assert bad.value.code == "context_length_exceeded"
        a = ant(server)
        server.fault(Fault(status=529, path="/v1/messages"))
        server.fault(Fault(status=400, body=context_length_body("anthropic")))
        with pytest.raises(anthropic.APIStatusError) as over:
            await a.messages.create(model="c", max_tokens=5, messages=USER)
        assert over.value.status_code == 529
        assert over.value.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
        with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
            await a.messages.create(model="c", max_tokens=5, messages=USER)
        server.fault(Fault(status=429))
        with pytest.raises(anthropic.RateLimitError):
            await a.messages.create(model="c", max_tokens=5, messages=USER)

    run(main())
    server.fault(Fault(status=503, count=2, path="/api/"))
    assert httpx.get(server.url("/v1/models")).status_code == 200  # path filter skips it
    for _ in range(2):
        r = httpx.post(server.url("/api/chat"), json={"model": "llama3", "messages": USER})
        assert r.status_code == 503 and isinstance(r.json()["error"], str)
    assert (
        httpx.post(server.url("/api/chat"), json={"model": "llama3", "messages": USER}).status_code
        == 200
    )
    assert server.injected_faults == 8 and server.pending_faults() == 0


def test_malformed_delay_and_drop_faults(server: FakeServer) -> None:
    async def main() -> None:
        c = oai(server)
        server.fault(Fault(raw_body=b'{"id": "x", "choices": ['))
        with pytest.raises(json.JSONDecodeError):
            await c.chat.completions.create(model="m", messages=USER)
        server.fault(Fault(delay=1.0))
        t0 = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            await oai(server, timeout=0.2).chat.completions.create(model="m", messages=USER)
        assert time.monotonic() - t0 < 0.9
        server.fault(Fault(delay=0.05))  # slow but successful
        r = await c.chat.completions.create(model="m", messages=USER)
        assert r.choices[0].message.content
        server.fault(Fault(drop=True))
        with pytest.raises(openai.APIConnectionError):
            await c.chat.completions.create(model="m", messages=USER)
        server.fault(Fault(cut_after_chunks=0))  # non-streaming: half a body
        with pytest.raises(openai.APIConnectionError):
            await c.chat.completions.create(model="m", messages=USER)

    run(main())
    assert server.served == 1  # only the slow-but-successful one


def test_stream_cut_and_error_event_openai(server: FakeServer) -> None:
    async def collect(**kw: Any) -> list[str]:
        stream = await oai(server).chat.completions.create(
            model="m", messages=USER, stream=True, **kw
        )
        out: list[str] = []
        async for ch in stream:
            if ch.choices and ch.choices[0].delta.content:
                out.append(ch.choices[0].delta.content)
        return out

    async def main() -> None:
        server.fault(Fault(cut_after_chunks=2))
        with pytest.raises(openai.APIConnectionError):
            await collect()
        server.fault(Fault(cut_after_chunks=2, clean_cut=True))
        assert await collect() == ["Echo: ", "hello "]  # the SDK ends silently without [DONE]
        server.fault(Fault(error_event_after_chunks=1, message="boom"))
        with pytest.raises(openai.APIError, match="boom"):
            await collect()

    run(main())
    assert server.served == 0
    server.fault(Fault(cut_after_chunks=1, clean_cut=True))
    r = httpx.post(
        server.url("/v1/chat/completions"), json={"model": "m", "messages": USER, "stream": True}
    )
    assert "[DONE]" not in r.text and len(sse_data(r.text)) == 2
    server.fault(Fault(error_event_after_chunks=0))
    r = httpx.post(
        server.url("/v1/chat/completions"), json={"model": "m", "messages": USER, "stream": True}
    )
    assert json.loads(sse_data(r.text)[-1])["error"]["code"] == "overloaded"


def test_stream_cut_and_error_event_anthropic_and_ollama(server: FakeServer) -> None:
    async def main() -> str:
        a = ant(server)
        server.fault(Fault(cut_after_chunks=1))
        with pytest.raises(Exception) as cut:
            async with a.messages.stream(model="c", max_tokens=50, messages=USER) as s:
                _ = [t async for t in s.text_stream]
        assert type(cut.value).__name__ in {"RemoteProtocolError", "APIConnectionError"}
        server.fault(Fault(error_event_after_chunks=1))
        with pytest.raises(anthropic.APIStatusError) as info:
            async with a.messages.stream(model="c", max_tokens=50, messages=USER) as s:
                _ = [t async for t in s.text_stream]
        assert info.value.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
        server.fault(Fault(cut_after_chunks=1, clean_cut=True))
        async with a.messages.stream(model="c", max_tokens=50, messages=USER) as s:
            text = "".join([t async for t in s.text_stream])
        return text

    assert run(main()) == "Echo: "
    r = httpx.post(
        server.url("/v1/messages"),
        json={"model": "c", "max_tokens": 9, "messages": USER, "stream": True},
    )
    assert "message_stop" in r.text
    server.fault(Fault(error_event_after_chunks=2))
    r = httpx.post(server.url("/api/chat"), json={"model": "llama3", "messages": USER})
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert len(lines) == 3 and lines[-1] == {"error": "Overloaded"}
    server.fault(Fault(cut_after_chunks=1))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(server.url("/api/chat"), json={"model": "llama3", "messages": USER})
    assert server.served == 1


def test_require_key(server: FakeServer) -> None:
    server.require_key("sk-test-123")

    async def main() -> None:
        with pytest.raises(openai.AuthenticationError) as info:
            await oai(server).chat.completions.create(model="m", messages=USER)
        assert info.value.code == "invalid_api_key"
        ok = oai(server, api_key="sk-test-123")
        assert (await ok.chat.completions.create(model="m", messages=USER)).choices
        with pytest.raises(anthropic.AuthenticationError):
            await ant(server).messages.create(model="c", max_tokens=5, messages=USER)
        good = ant(server, api_key="sk-test-123")
        assert (await good.messages.create(model="c", max_tokens=5, messages=USER)).content

    run(main())
    sent = server.requests_for("/v1/messages")[-1].headers
    # older anthropic SDKs send x-api-key, newer ones "Authorization: Bearer"
    assert "sk-test-123" in (sent.get("x-api-key"), sent.get("authorization", "")[7:])
    assert httpx.get(server.url("/api/tags")).json() == {"error": "unauthorized"}


def test_random_fault_bookkeeping(server: FakeServer) -> None:
    server.random_faults(rate=0.4, kinds=("429", "503", "timeout"), seed=7, timeout_delay=0.5)
    prompts = [f"question number {i}" for i in range(20)]

    async def ask(c: openai.AsyncOpenAI, prompt: str) -> tuple[int, int]:
        for _ in range(10):
            try:
                r = await c.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": prompt}]
                )
            except (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError):
                continue
            assert r.usage is not None and r.choices[0].message.content == "Echo: " + prompt
            return r.usage.prompt_tokens, r.usage.completion_tokens
        raise AssertionError("never succeeded")

    async def main() -> list[tuple[int, int]]:
        c = oai(server, timeout=0.25)
        return list(await asyncio.gather(*(ask(c, p) for p in prompts)))

    usages = run(main())
    kinds = {k for _, k in server.fault_log}
    assert server.injected_faults > 0 and kinds <= {"429", "503", "timeout"}
    assert server.request_count == len(prompts) + server.injected_faults
    assert server.served == len(prompts)
    assert server.served_prompt_tokens == sum(p for p, _ in usages) == 60
    assert server.served_completion_tokens == sum(c for _, c in usages) == 80


def test_random_faults_every_kind_fails_visibly(server: FakeServer) -> None:
    server.random_faults(rate=0.9, kinds=RANDOM_FAULT_KINDS, seed=3, timeout_delay=0.3)
    prompts = [f"prompt {i}" for i in range(24)]

    async def once(c: openai.AsyncOpenAI, prompt: str, stream: bool) -> str:
        msgs: Any = [{"role": "user", "content": prompt}]
        if not stream:
            r = await c.chat.completions.create(model="m", messages=msgs)
            return r.choices[0].message.content or ""
        chunks = await c.chat.completions.create(model="m", messages=msgs, stream=True)
        return "".join([ch.choices[0].delta.content or "" async for ch in chunks if ch.choices])

    async def ask(c: openai.AsyncOpenAI, i: int) -> None:
        for _ in range(10):
            try:
                text = await once(c, prompts[i], stream=i % 2 == 1)
            except (openai.APIError, json.JSONDecodeError):
                continue
            assert text == "Echo: " + prompts[i]
            return
        raise AssertionError("never succeeded")

    async def main() -> None:
        c = oai(server, timeout=0.2)
        await asyncio.gather(*(ask(c, i) for i in range(len(prompts))))

    run(main())
    assert {k for _, k in server.fault_log} == set(RANDOM_FAULT_KINDS)  # fixed by the seed
    assert server.request_count == len(prompts) + server.injected_faults
    assert server.served == len(prompts)


def test_subprocess_mode() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers", "--protocol", "all", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY ")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        with httpx.Client(base_url=base) as c:
            c.post("/_fake/reply", json={"text": "scripted hi"})
            r = c.post("/v1/chat/completions", json={"model": "m", "messages": USER})
            assert r.json()["choices"][0]["message"]["content"] == "scripted hi"
            r = c.post("/v1/messages", json={"model": "c", "max_tokens": 5, "messages": USER})
            assert r.json()["content"][0]["text"] == "Echo: hello there world"
            c.post("/_fake/fault", json={"status": 429, "headers": {"retry-after": "1"}})
            assert (
                c.post("/api/chat", json={"model": "llama3", "messages": USER}).status_code == 429
            )
            assert (
                c.post("/api/chat", json={"model": "llama3", "messages": USER}).status_code == 200
            )
            stats = c.get("/_fake/stats").json()
            assert (
                stats["request_count"] == 4
                and stats["served"] == 3
                and stats["injected_faults"] == 1
            )
            assert len(c.get("/_fake/requests").json()) == 4
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None
        proc.stdout.close()
