"""The OpenAI chat-completions :class:`~inference_core.ports.ChatModel` (``AsyncOpenAI``).

Serves the ``openai_sdk`` client path (OpenAI and any OpenAI-compatible server:
llama.cpp, vLLM, LM Studio...) and ``gpt5_sdk`` (GPT-5 family request rules, see
:mod:`inference_core.adapters.openai.params`). This module imports the SDK; the
package ``__init__`` does not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

from inference_core.adapters.http_errors import redact, stream_cut
from inference_core.adapters.openai import CAPABILITIES
from inference_core.adapters.openai.errors import map_openai_error
from inference_core.adapters.openai.params import chat_kwargs
from inference_core.adapters.sdk_support import (
    HttpBackend,
    build_sdk_client,
    call_options,
    keyless_headers,
)
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    Usage,
    token_count,
)
from inference_core.domain.errors import (
    ContentFiltered,
    InvalidResponse,
    ProviderError,
)
from inference_core.domain.messages import ToolCall
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.domain.tools import ToolCallAssembler, ToolCallDelta

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncStream

__all__ = ["DEFAULT_BASE_URL", "HttpBackend", "OpenAIChatModel"]

#: Used when the connection names no endpoint (the SDK would read ``OPENAI_BASE_URL``).
DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: ``aiohttp``: the SDK's aiohttp transport (faster under concurrency); ``httpx``:
#: the SDK's default httpx transport; ``auto``: aiohttp when installed, else httpx.


def usage_from_openai(raw: CompletionUsage | None) -> Usage:
    """Domain usage from an OpenAI ``usage`` object (``None`` fields where unreported)."""
    if raw is None:
        return Usage()
    prompt = getattr(raw, "prompt_tokens_details", None)
    completion = getattr(raw, "completion_tokens_details", None)
    return Usage(
        input_tokens=token_count(getattr(raw, "prompt_tokens", None)),
        output_tokens=token_count(getattr(raw, "completion_tokens", None)),
        cached_tokens=token_count(getattr(prompt, "cached_tokens", None)),
        cache_write_tokens=token_count(getattr(prompt, "cache_write_tokens", None)),
        reasoning_tokens=token_count(getattr(completion, "reasoning_tokens", None)),
    )


def tool_call_deltas(raw: object) -> tuple[ToolCallDelta, ...]:
    """The pieces of tool calls in one streamed ``delta.tool_calls`` (OpenAI shape)."""
    pieces: list[ToolCallDelta] = []
    for call in cast("list[Any]", raw or []):
        function = getattr(call, "function", None)
        index = getattr(call, "index", None)
        pieces.append(
            ToolCallDelta(
                index=index if isinstance(index, int) else len(pieces),
                id=getattr(call, "id", None) or None,
                name=getattr(function, "name", None) or None,
                arguments=getattr(function, "arguments", None) or "",
            )
        )
    return tuple(pieces)


def _tool_calls(raw: object) -> tuple[ToolCall, ...]:
    calls = []
    for call in cast("list[Any]", raw or []):
        function = getattr(call, "function", None)
        if function is not None:
            calls.append(
                ToolCall(
                    id=str(call.id), name=str(function.name), arguments=function.arguments or "{}"
                )
            )
    return tuple(calls)


class OpenAIChatModel:
    """Chat completions through ``openai.AsyncOpenAI`` for one provider connection.

    One SDK client per instance, built with ``max_retries=0`` (retrying is the
    application's job) and the connection's connect/read timeouts;
    ``ChatRequest.timeout`` bounds a single call. When the connection has no
    API key, no ``Authorization`` header is sent at all (keyless local servers).

    Args:
        connection: Endpoint, key, headers and timeouts.
        client: An SDK client to use instead of building one (the caller keeps
            ownership: :meth:`aclose` does not close it).
        http_backend: Transport for the client this adapter builds.
        http_client: An ``httpx2.AsyncClient`` for the SDK client this adapter
            builds (e.g. with a shared TLS context or custom limits); the
            adapter owns it from then on. Overrides ``http_backend``.
        stream_usage: Ask for a usage chunk at the end of streams
            (``stream_options.include_usage``); turn off for servers that reject it.
        capabilities: What this adapter declares (defaults to the package's).
    """

    def __init__(
        self,
        connection: ProviderConnection,
        *,
        client: openai.AsyncOpenAI | None = None,
        http_backend: HttpBackend = "auto",
        http_client: httpx2.AsyncClient | None = None,
        stream_usage: bool = True,
        capabilities: AdapterCapabilities | None = None,
    ) -> None:
        self._connection = connection
        self._provider = connection.provider
        self._gpt5 = connection.client == ClientPath.GPT5_SDK
        self._stream_usage = stream_usage
        self._capabilities = capabilities or CAPABILITIES
        self._secret = connection.api_key.get_secret_value() if connection.api_key else None
        self._extra_headers = keyless_headers(
            connection, injected_client=client is not None, omit=openai.omit
        )
        self._owns_client = client is None
        self._client: openai.AsyncOpenAI = client or build_sdk_client(
            openai.AsyncOpenAI,
            openai,
            connection,
            placeholder_key="keyless",
            default_base_url=DEFAULT_BASE_URL,
            http_client=http_client,
            http_backend=http_backend,
            extra="openai",
        )

    @property
    def capabilities(self) -> AdapterCapabilities:
        """What this adapter can send and report."""
        return self._capabilities

    def __repr__(self) -> str:
        base_url = self._connection.base_url or DEFAULT_BASE_URL
        return (
            f"OpenAIChatModel(provider={self._provider!r}, "
            f"client={self._connection.client!r}, base_url={base_url!r})"
        )

    def _options(self, request: ChatRequest) -> dict[str, Any]:
        return call_options(request.timeout, self._extra_headers)

    def _error(self, exc: openai.OpenAIError, model: str, *, in_stream: bool) -> ProviderError:
        return map_openai_error(
            exc, provider=self._provider, model=model, secret=self._secret, in_stream=in_stream
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret),
            provider=self._provider,
            model=model,
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one chat-completions request and return the whole answer."""
        kwargs = chat_kwargs(request, gpt5=self._gpt5, stream=False, stream_usage=False)
        try:
            raw: object = await self._client.chat.completions.create(
                **kwargs, **self._options(request)
            )
        except openai.OpenAIError as exc:
            raise self._error(exc, request.model, in_stream=False) from exc
        except json.JSONDecodeError as exc:
            raise self._malformed(request.model, f"body is not valid JSON ({exc})") from exc
        if not isinstance(raw, ChatCompletion):
            raise self._malformed(request.model, "body is not a chat completion")
        try:
            return self._response(raw, request)
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise self._malformed(request.model, f"unexpected completion shape ({exc})") from exc

    def _response(self, raw: ChatCompletion, request: ChatRequest) -> ChatResponse:
        if not raw.choices:
            raise ValueError("no choices")
        choice = raw.choices[0]
        message = choice.message
        # The SDK builds responses without validating them: a message with neither text,
        # nor tool calls, nor a refusal is not an answer, whatever the finish reason.
        if (
            message.content is None
            and not getattr(message, "tool_calls", None)
            and not getattr(message, "refusal", None)
        ):
            raise ValueError("choices[0].message has no content, tool_calls or refusal")
        text = message.content or ""
        refusal = getattr(message, "refusal", None)
        if refusal and not text:
            raise ContentFiltered(
                redact(f"the model refused: {refusal}", self._secret),
                provider=self._provider,
                model=request.model,
            )
        return ChatResponse(
            text=text,
            model=raw.model or request.model,
            finish_reason=FinishReason.from_openai(choice.finish_reason),
            usage=usage_from_openai(raw.usage),
            response_id=raw.id or None,
            tool_calls=_tool_calls(getattr(message, "tool_calls", None)),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the answer; the last chunk carries the finish reason and usage.

        A stream whose chunks never carry a ``finish_reason`` ended before its
        terminator (the SDK would hand back a silently shorter answer) and
        raises :class:`InvalidResponse`.
        """
        kwargs = chat_kwargs(
            request,
            gpt5=self._gpt5,
            stream=True,
            stream_usage=self._stream_usage and request.stream_usage,
        )
        try:
            sdk_stream = cast(
                "AsyncStream[ChatCompletionChunk]",
                await self._client.chat.completions.create(**kwargs, **self._options(request)),
            )
        except openai.OpenAIError as exc:
            raise self._error(exc, request.model, in_stream=False) from exc
        except json.JSONDecodeError as exc:
            raise self._malformed(request.model, f"body is not valid JSON ({exc})") from exc

        finish: FinishReason | None = None
        usage: Usage | None = None
        refusal: list[str] = []
        produced_text = False
        calls = ToolCallAssembler()
        try:
            async for chunk in sdk_stream:
                if not isinstance(chunk, ChatCompletionChunk):
                    raise self._malformed(request.model, "stream event is not a completion chunk")
                if chunk.usage is not None:
                    usage = usage_from_openai(chunk.usage)
                for choice in chunk.choices or ():
                    if choice.index != 0:
                        continue
                    delta = choice.delta
                    if delta is not None and delta.content:
                        produced_text = True
                        yield ChatChunk(text=delta.content)
                    pieces = tool_call_deltas(getattr(delta, "tool_calls", None))
                    if pieces:
                        produced_text = True
                        calls.extend(pieces)
                        yield ChatChunk(tool_call_deltas=pieces)
                    if delta is not None and getattr(delta, "refusal", None):
                        refusal.append(str(delta.refusal))
                    if choice.finish_reason is not None:
                        finish = FinishReason.from_openai(choice.finish_reason)
        except openai.OpenAIError as exc:
            raise self._error(exc, request.model, in_stream=True) from exc
        except json.JSONDecodeError as exc:
            raise self._malformed(request.model, f"stream event is not valid JSON ({exc})") from exc
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._malformed(request.model, f"unexpected chunk shape ({exc})") from exc
        finally:
            # Runs on early exit (break/aclose) too: closes the HTTP response.
            await sdk_stream.close()
        if finish is None:
            raise stream_cut(
                "no chunk carried a finish_reason", provider=self._provider, model=request.model
            )
        if refusal and not produced_text:
            raise ContentFiltered(
                redact(f"the model refused: {''.join(refusal)}", self._secret),
                provider=self._provider,
                model=request.model,
            )
        try:
            complete = calls.complete()
        except ValueError as exc:
            raise self._malformed(request.model, str(exc)) from exc
        yield ChatChunk(finish_reason=finish, usage=usage or Usage(), tool_calls=complete)

    async def aclose(self) -> None:
        """Close the SDK client (and its connection pool) when this adapter built it."""
        if self._owns_client:
            await self._client.close()
