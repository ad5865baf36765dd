"""The bench server speaks the OpenAI and Anthropic wire protocols well enough for the real SDKs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import openai
import pytest

from bench import payloads
from bench.clients import FAKE_KEY, BenchContext
from bench.rawhttp import RawHTTPClient, RawHTTPError
from bench.schema import Storyboard
from bench.server import BenchServer

# Typed loosely: each SDK declares its own TypedDicts for this shape.
_MESSAGES: Any = [{"role": "user", "content": "hello"}]


async def _exchange(server: BenchServer, data: bytes, *, read_until_close: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(data)
    if read_until_close:
        reply = await reader.read()
    else:
        reply = await reader.readuntil(b"\r\n\r\n")
        length = int(reply.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        reply += await reader.readexactly(length)
    writer.close()
    await writer.wait_closed()
    return reply


def _post(path: str, body: dict[str, object], *, extra: str = "") -> bytes:
    raw = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(raw)}\r\n{extra}\r\n"
    return head.encode() + raw


async def test_openai_sdk_reads_completion_and_usage(ctx: BenchContext) -> None:
    async with openai.AsyncOpenAI(
        api_key=FAKE_KEY, base_url=ctx.openai_base_url, max_retries=0
    ) as client:
        reply = await client.chat.completions.create(model="bench-model", messages=_MESSAGES)
    assert reply.choices[0].message.content == payloads.REPLY_TEXT
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (14, 20)


async def test_openai_sdk_streams_twenty_deltas_then_usage(ctx: BenchContext) -> None:
    async with openai.AsyncOpenAI(
        api_key=FAKE_KEY, base_url=ctx.openai_base_url, max_retries=0
    ) as client:
        stream = await client.chat.completions.create(
            model="bench-model",
            messages=_MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) == payloads.CHUNK_COUNT
    assert "".join(deltas) == payloads.REPLY_TEXT
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 34


async def test_json_model_gets_the_50kb_schema_valid_reply(ctx: BenchContext) -> None:
    async with openai.AsyncOpenAI(
        api_key=FAKE_KEY, base_url=ctx.openai_base_url, max_retries=0
    ) as client:
        reply = await client.chat.completions.create(model="bench-json", messages=_MESSAGES)
    content = reply.choices[0].message.content or ""
    assert 50_000 <= len(content.encode()) < 51_000
    board = Storyboard.model_validate_json(content)
    assert len(board.scenes) > 100


async def test_anthropic_sdk_reads_message_and_stream_events(ctx: BenchContext) -> None:
    async with anthropic.AsyncAnthropic(
        api_key=FAKE_KEY, base_url=ctx.anthropic_base_url, max_retries=0
    ) as client:
        message = await client.messages.create(
            model="bench-claude",
            max_tokens=64,
            messages=_MESSAGES,
        )
        async with client.messages.stream(
            model="bench-claude",
            max_tokens=64,
            messages=_MESSAGES,
        ) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
    assert getattr(message.content[0], "text", None) == payloads.REPLY_TEXT
    assert message.stop_reason == "end_turn"
    assert len(pieces) == payloads.CHUNK_COUNT
    assert "".join(pieces) == payloads.REPLY_TEXT
    assert final.usage.output_tokens == 20


async def test_keep_alive_and_pipelining_answer_in_order(server: BenchServer) -> None:
    body = payloads.compact_json({"model": "bench-model", "messages": _MESSAGES})
    one = RawHTTPClient.request_bytes(server.host, server.port, "/v1/chat/completions", body, {})
    stream_body = payloads.compact_json(
        {"model": "bench-model", "messages": _MESSAGES, "stream": True}
    )
    streamed = RawHTTPClient.request_bytes(
        server.host, server.port, "/v1/chat/completions", stream_body, {}
    )
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(one + streamed + one)  # three requests in one write, a stream in the middle
    first = await reader.readuntil(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    length = int(first.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    sse = await reader.readuntil(b"0\r\n\r\n")
    assert b"data: [DONE]" in sse
    third = await reader.readuntil(b"\r\n\r\n")
    assert third.startswith(b"HTTP/1.1 200")
    writer.close()
    await writer.wait_closed()
    assert server.requests == 3


async def test_chunked_request_body_is_accepted(server: BenchServer) -> None:
    raw = json.dumps({"model": "bench-claude", "max_tokens": 5, "messages": _MESSAGES}).encode()
    body = f"{len(raw[:10]):x}\r\n".encode() + raw[:10] + b"\r\n"
    body += f"{len(raw[10:]):x}\r\n".encode() + raw[10:] + b"\r\n0\r\n\r\n"
    head = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = await _exchange(server, head + body)
    message = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert message["content"][0]["text"] == payloads.REPLY_TEXT


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (_post("/v1/unknown", {"model": "m"}), b"404"),
        (_post("/v1/chat/completions", {"no": "model"}), b"400"),
        (b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", b"200"),
    ],
)
async def test_status_codes(server: BenchServer, request_bytes: bytes, status: bytes) -> None:
    reply = await _exchange(server, request_bytes)
    assert reply[9:12] == status


async def test_malformed_request_line_gets_400_and_close(server: BenchServer) -> None:
    reply = await _exchange(server, b"NONSENSE\r\n\r\n", read_until_close=True)
    assert reply.startswith(b"HTTP/1.1 400")


async def test_stats_count_served_requests(server: BenchServer) -> None:
    await _exchange(server, _post("/v1/chat/completions", {"model": "bench-model"}))
    reply = await _exchange(server, b"GET /_bench/stats HTTP/1.1\r\nHost: x\r\n\r\n")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1]) == {"requests": 2}


async def test_raw_client_reports_non_200_as_error(server: BenchServer) -> None:
    client = RawHTTPClient(server.host, server.port)
    bad = RawHTTPClient.request_bytes(server.host, server.port, "/nope", b"{}", {})
    with pytest.raises(RawHTTPError, match="404"):
        await client.post_json(bad)
    await client.aclose()
