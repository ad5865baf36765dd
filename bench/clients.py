"""The raw baseline clients: asyncio floor, aiohttp, httpx, the OpenAI and Anthropic SDKs, LiteLLM.

Each client is used in its own fresh process (see :mod:`bench.runner`) and imports its
library inside :meth:`BenchClient.start`, so importing this module costs nothing. Every
call checks the reply it got, so a fast wrong answer can never pass for a fast one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import payloads

__all__ = [
    "FAKE_KEY",
    "AiohttpClient",
    "AnthropicSDKClient",
    "BenchClient",
    "BenchContext",
    "BenchError",
    "HttpxClient",
    "LiteLLMClient",
    "NotBuilt",
    "OpenAISDKClient",
    "RawClient",
    "check_json_reply",
    "check_text",
]

#: Sent as the API key everywhere; the bench server accepts anything.
FAKE_KEY = "sk-bench-not-a-real-key"

# Typed loosely: each SDK declares its own TypedDicts for the same JSON shape.
_MESSAGES: Any = [{"role": "user", "content": payloads.PROMPT}]
_OPENAI_MARKER = b'{"content":"'  # only text-delta events carry this (the role event has none)


class BenchError(RuntimeError):
    """A client got a reply other than the one the bench server sends."""


class NotBuilt(RuntimeError):
    """The code a row measures does not exist yet (an import or attribute is missing)."""


@dataclass(frozen=True)
class BenchContext:
    """Where the bench server listens, and the runtime config that routes to it.

    Attributes:
        host: Server host (loopback).
        port: Server port.
        config_path: ``inference_runtime.yaml`` routing our providers to the server.
        environ: The environment snapshot for ``bootstrap(environ=...)`` (fake keys, URLs).
        quick: Quick (smoke) mode.
    """

    host: str
    port: int
    config_path: Path | None = None
    environ: dict[str, str] = field(default_factory=dict, repr=False)
    quick: bool = False

    @property
    def origin(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """OpenAI-style base URL (with ``/v1``)."""
        return f"{self.origin}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Anthropic-style base URL (the SDK appends ``/v1/messages``)."""
        return self.origin


def check_text(text: object) -> None:
    """Raise :class:`BenchError` unless ``text`` is the server's 20-word reply."""
    if text != payloads.REPLY_TEXT:
        raise BenchError(f"unexpected reply text: {str(text)[:80]!r}")


def check_json_reply(text: object) -> None:
    """Raise :class:`BenchError` unless ``text`` is the server's 50 KB JSON reply."""
    if text != payloads.JSON_REPLY:
        raise BenchError(f"unexpected JSON reply: {str(text)[:80]!r}")


class BenchClient:
    """One client under test. Subclasses implement the kinds they support.

    Async kinds (``call``, ``stream``, ``json``) run inside one event loop between
    :meth:`start` and :meth:`aclose`; the sync kind runs afterwards, outside any loop,
    between :meth:`sync_start` and :meth:`sync_close`.
    """

    def __init__(self, ctx: BenchContext) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        """Import the library and build the async client (inside the event loop)."""

    async def call(self) -> None:
        """One non-streamed chat call; checks the reply."""
        raise NotImplementedError

    async def stream(self) -> float:
        """One 20-chunk stream read to its end; returns ``perf_counter()`` at the first text."""
        raise NotImplementedError

    async def json(self) -> None:
        """One call answered by the 50 KB JSON reply, validated against the schema."""
        raise NotImplementedError

    async def adapter(self) -> None:
        """One call through our ``ChatModel`` port directly (no use-case around it)."""
        raise NotImplementedError

    async def compat(self) -> None:
        """One call through the seed-compatible ``LLMClient.acall``."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close the async client."""

    def sync_start(self) -> None:
        """Build the synchronous client."""

    def sync_call(self) -> None:
        """One synchronous non-streamed call; checks the reply."""
        raise NotImplementedError

    def sync_close(self) -> None:
        """Close the synchronous client."""

    def compat_sync_start(self) -> None:
        """Build the seed-compatible client for synchronous calls."""

    def compat_sync_call(self) -> None:
        """One ``LLMClient.call``; checks the reply."""
        raise NotImplementedError

    def compat_sync_close(self) -> None:
        """Close the seed-compatible synchronous client."""


def _openai_body(model: str, *, stream: bool) -> bytes:
    body: dict[str, Any] = {"model": model, "messages": _MESSAGES}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return payloads.compact_json(body)


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {FAKE_KEY}"}


class RawClient(BenchClient):
    """The floor: :class:`bench.rawhttp.RawHTTPClient` on the OpenAI endpoint."""

    async def start(self) -> None:
        from bench.rawhttp import RawHTTPClient

        host, port = self.ctx.host, self.ctx.port
        self._client = RawHTTPClient(host, port, max_connections=100)
        path = "/v1/chat/completions"
        model = payloads.OPENAI_MODEL
        render = RawHTTPClient.request_bytes
        self._call = render(host, port, path, _openai_body(model, stream=False), _auth())
        self._stream = render(host, port, path, _openai_body(model, stream=True), _auth())

    async def call(self) -> None:
        data = await self._client.post_json(self._call)
        check_text(data["choices"][0]["message"]["content"])

    async def stream(self) -> float:
        return await self._client.post_stream(self._stream, _OPENAI_MARKER)

    async def aclose(self) -> None:
        await self._client.aclose()


class AiohttpClient(BenchClient):
    """aiohttp ``ClientSession`` (100-connection pool) on the OpenAI endpoint."""

    async def start(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100), headers=_auth()
        )
        self._url = f"{self.ctx.openai_base_url}/chat/completions"
        self._call = _openai_body(payloads.OPENAI_MODEL, stream=False)
        self._stream = _openai_body(payloads.OPENAI_MODEL, stream=True)
        self._headers = {"Content-Type": "application/json"}

    async def call(self) -> None:
        async with self._session.post(self._url, data=self._call, headers=self._headers) as r:
            if r.status != 200:
                raise BenchError(f"status {r.status}")
            data = json.loads(await r.read())
        check_text(data["choices"][0]["message"]["content"])

    async def stream(self) -> float:
        first = 0.0
        async with self._session.post(self._url, data=self._stream, headers=self._headers) as r:
            if r.status != 200:
                raise BenchError(f"status {r.status}")
            async for line in r.content:
                if not first and _OPENAI_MARKER in line:
                    first = time.perf_counter()
        if not first:
            raise BenchError("the stream carried no text delta")
        return first

    async def aclose(self) -> None:
        await self._session.close()


class HttpxClient(BenchClient):
    """httpx ``AsyncClient`` / ``Client`` (100-connection pool) on the OpenAI endpoint."""

    async def start(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        self._client = httpx.AsyncClient(limits=limits, headers=_auth())
        self._url = f"{self.ctx.openai_base_url}/chat/completions"
        self._call = _openai_body(payloads.OPENAI_MODEL, stream=False)
        self._stream = _openai_body(payloads.OPENAI_MODEL, stream=True)
        self._headers = {"Content-Type": "application/json"}

    async def call(self) -> None:
        r = await self._client.post(self._url, content=self._call, headers=self._headers)
        if r.status_code != 200:
            raise BenchError(f"status {r.status_code}")
        check_text(r.json()["choices"][0]["message"]["content"])

    async def stream(self) -> float:
        first = 0.0
        async with self._client.stream(
            "POST", self._url, content=self._stream, headers=self._headers
        ) as r:
            if r.status_code != 200:
                raise BenchError(f"status {r.status_code}")
            async for line in r.aiter_lines():
                if not first and '{"content":"' in line:
                    first = time.perf_counter()
        if not first:
            raise BenchError("the stream carried no text delta")
        return first

    async def aclose(self) -> None:
        await self._client.aclose()

    def sync_start(self) -> None:
        import httpx

        self._sync = httpx.Client(headers=_auth())

    def sync_call(self) -> None:
        url = f"{self.ctx.openai_base_url}/chat/completions"
        r = self._sync.post(
            url, content=self._call_body(), headers={"Content-Type": "application/json"}
        )
        if r.status_code != 200:
            raise BenchError(f"status {r.status_code}")
        check_text(r.json()["choices"][0]["message"]["content"])

    @staticmethod
    def _call_body() -> bytes:
        return _openai_body(payloads.OPENAI_MODEL, stream=False)

    def sync_close(self) -> None:
        self._sync.close()


def _json_schema_format() -> Any:
    from bench.schema import Storyboard

    return {
        "type": "json_schema",
        "json_schema": {"name": "storyboard", "schema": Storyboard.model_json_schema()},
    }


class OpenAISDKClient(BenchClient):
    """The OpenAI SDK with retries off, on its default transport or on aiohttp."""

    aiohttp = False

    async def start(self) -> None:
        import openai

        from bench.schema import Storyboard

        self._storyboard = Storyboard
        self._format = _json_schema_format()
        http_client = openai.DefaultAioHttpClient() if self.aiohttp else None
        self._client = openai.AsyncOpenAI(
            api_key=FAKE_KEY,
            base_url=self.ctx.openai_base_url,
            max_retries=0,
            http_client=http_client,
        )

    async def call(self) -> None:
        r = await self._client.chat.completions.create(
            model=payloads.OPENAI_MODEL,
            messages=_MESSAGES,
        )
        check_text(r.choices[0].message.content)

    async def stream(self) -> float:
        first = 0.0
        usage = None
        stream = await self._client.chat.completions.create(
            model=payloads.OPENAI_MODEL,
            messages=_MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if not first and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter()
            if chunk.usage is not None:
                usage = chunk.usage
        if not first or usage is None:
            raise BenchError("the stream carried no text delta or no usage")
        return first

    async def json(self) -> None:
        r = await self._client.chat.completions.create(
            model=payloads.JSON_MODEL,
            messages=_MESSAGES,
            response_format=self._format,
        )
        content = r.choices[0].message.content
        check_json_reply(content)
        self._storyboard.model_validate_json(content or "")

    async def aclose(self) -> None:
        await self._client.close()

    def sync_start(self) -> None:
        import openai

        self._sync = openai.OpenAI(
            api_key=FAKE_KEY, base_url=self.ctx.openai_base_url, max_retries=0
        )

    def sync_call(self) -> None:
        r = self._sync.chat.completions.create(
            model=payloads.OPENAI_MODEL,
            messages=_MESSAGES,
        )
        check_text(r.choices[0].message.content)

    def sync_close(self) -> None:
        self._sync.close()


class OpenAISDKAiohttpClient(OpenAISDKClient):
    """The OpenAI SDK on ``DefaultAioHttpClient`` (httpx API over aiohttp)."""

    aiohttp = True


class AnthropicSDKClient(BenchClient):
    """The Anthropic SDK with retries off, on its default transport or on aiohttp."""

    aiohttp = False

    async def start(self) -> None:
        import anthropic

        http_client = anthropic.DefaultAioHttpClient() if self.aiohttp else None
        self._client = anthropic.AsyncAnthropic(
            api_key=FAKE_KEY,
            base_url=self.ctx.anthropic_base_url,
            max_retries=0,
            http_client=http_client,
        )

    async def call(self) -> None:
        r = await self._client.messages.create(
            model=payloads.ANTHROPIC_MODEL,
            max_tokens=256,
            messages=_MESSAGES,
        )
        block = r.content[0]
        check_text(getattr(block, "text", None))

    async def stream(self) -> float:
        first = 0.0
        stopped = False
        stream = await self._client.messages.create(
            model=payloads.ANTHROPIC_MODEL,
            max_tokens=256,
            messages=_MESSAGES,
            stream=True,
        )
        async for event in stream:
            if not first and event.type == "content_block_delta":
                first = time.perf_counter()
            elif event.type == "message_stop":
                stopped = True
        if not first or not stopped:
            raise BenchError("the stream carried no text delta or no message_stop")
        return first

    async def aclose(self) -> None:
        await self._client.close()

    def sync_start(self) -> None:
        import anthropic

        self._sync = anthropic.Anthropic(
            api_key=FAKE_KEY, base_url=self.ctx.anthropic_base_url, max_retries=0
        )

    def sync_call(self) -> None:
        r = self._sync.messages.create(
            model=payloads.ANTHROPIC_MODEL,
            max_tokens=256,
            messages=_MESSAGES,
        )
        check_text(getattr(r.content[0], "text", None))

    def sync_close(self) -> None:
        self._sync.close()


class AnthropicSDKAiohttpClient(AnthropicSDKClient):
    """The Anthropic SDK on ``DefaultAioHttpClient``."""

    aiohttp = True


class LiteLLMClient(BenchClient):
    """LiteLLM ``acompletion`` / ``completion`` on the OpenAI-compatible endpoint."""

    async def start(self) -> None:
        import litellm

        from bench.schema import Storyboard

        litellm.suppress_debug_info = True
        self._litellm = litellm
        self._storyboard = Storyboard
        self._format = _json_schema_format()
        self._common: dict[str, Any] = {
            "api_base": self.ctx.openai_base_url,
            "api_key": FAKE_KEY,
            "messages": _MESSAGES,
            "max_retries": 0,
        }

    async def call(self) -> None:
        r = await self._litellm.acompletion(model=f"openai/{payloads.OPENAI_MODEL}", **self._common)
        check_text(r.choices[0].message.content)

    async def stream(self) -> float:
        first = 0.0
        stream = await self._litellm.acompletion(
            model=f"openai/{payloads.OPENAI_MODEL}",
            stream=True,
            stream_options={"include_usage": True},
            **self._common,
        )
        async for chunk in stream:
            if not first and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter()
        if not first:
            raise BenchError("the stream carried no text delta")
        return first

    async def json(self) -> None:
        r = await self._litellm.acompletion(
            model=f"openai/{payloads.JSON_MODEL}", response_format=self._format, **self._common
        )
        content = r.choices[0].message.content
        check_json_reply(content)
        self._storyboard.model_validate_json(content)

    def sync_start(self) -> None:
        import litellm

        litellm.suppress_debug_info = True
        self._litellm = litellm
        self._sync_common: dict[str, Any] = {
            "api_base": self.ctx.openai_base_url,
            "api_key": FAKE_KEY,
            "messages": _MESSAGES,
            "max_retries": 0,
        }

    def sync_call(self) -> None:
        r = self._litellm.completion(model=f"openai/{payloads.OPENAI_MODEL}", **self._sync_common)
        check_text(r.choices[0].message.content)
