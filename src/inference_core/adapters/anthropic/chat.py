"""The Anthropic Messages :class:`~inference_core.ports.ChatModel` (``anthropic.AsyncAnthropic``).

This module imports the SDK; the package ``__init__`` does not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import anthropic
import httpx2
from anthropic.types import Message as AnthropicMessage

from inference_core.adapters.anthropic import CAPABILITIES
from inference_core.adapters.anthropic.errors import map_anthropic_error
from inference_core.adapters.anthropic.params import messages_kwargs
from inference_core.adapters.http_errors import redact, stream_cut
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
from inference_core.domain.errors import InvalidResponse, ProviderError
from inference_core.domain.messages import ToolCall
from inference_core.domain.routing import ProviderConnection
from inference_core.domain.tools import ToolCallAssembler, ToolCallDelta

if TYPE_CHECKING:
    from anthropic import AsyncStream

__all__ = ["DEFAULT_BASE_URL", "AnthropicChatModel", "HttpBackend", "usage_from_anthropic"]

#: Used when the connection names no endpoint (the SDK would read ``ANTHROPIC_BASE_URL``).
DEFAULT_BASE_URL = "https://api.anthropic.com"

#: ``aiohttp``: the SDK's aiohttp transport; ``httpx``: its default transport;
#: ``auto``: aiohttp when installed, else httpx.

_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}


def _finish_reason(raw: object) -> FinishReason:
    return _FINISH.get(str(raw), FinishReason.UNKNOWN) if raw is not None else FinishReason.UNKNOWN


def _sum(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def usage_from_anthropic(raw: object) -> Usage:
    """Domain usage from an Anthropic ``usage`` object.

    Anthropic's ``input_tokens`` excludes cache reads and writes; the domain's
    ``input_tokens`` is every prompt token, so the three are added up.
    """
    if raw is None:
        return Usage()
    fresh = token_count(getattr(raw, "input_tokens", None))
    read = token_count(getattr(raw, "cache_read_input_tokens", None))
    written = token_count(getattr(raw, "cache_creation_input_tokens", None))
    details = getattr(raw, "output_tokens_details", None)
    return Usage(
        input_tokens=_sum(fresh, read, written) if fresh is not None else None,
        output_tokens=token_count(getattr(raw, "output_tokens", None)),
        cached_tokens=read,
        cache_write_tokens=written,
        reasoning_tokens=token_count(getattr(details, "thinking_tokens", None)),
    )


def _merge_usage(start: Usage, delta: Usage) -> Usage:
    """Combine ``message_start`` usage with the cumulative ``message_delta`` usage."""
    return Usage(
        input_tokens=delta.input_tokens if delta.input_tokens is not None else start.input_tokens,
        output_tokens=(
            delta.output_tokens if delta.output_tokens is not None else start.output_tokens
        ),
        cached_tokens=(
            delta.cached_tokens if delta.cached_tokens is not None else start.cached_tokens
        ),
        cache_write_tokens=(
            delta.cache_write_tokens
            if delta.cache_write_tokens is not None
            else start.cache_write_tokens
        ),
        reasoning_tokens=(
            delta.reasoning_tokens if delta.reasoning_tokens is not None else start.reasoning_tokens
        ),
    )


class AnthropicChatModel:
    """Claude through the Messages API for one provider connection.

    One SDK client per instance, built with ``max_retries=0`` and the
    connection's connect/read timeouts; ``ChatRequest.timeout`` bounds a single
    call. Credentials come from the connection only: the SDK's own lookups
    (``ANTHROPIC_API_KEY``, profiles on disk) are never consulted.

    Args:
        connection: Endpoint, key, headers and timeouts.
        client: An SDK client to use instead of building one (the caller keeps
            ownership: :meth:`aclose` does not close it).
        http_backend: Transport for the client this adapter builds.
        http_client: An ``httpx2.AsyncClient`` for the SDK client this adapter
            builds (e.g. with a shared TLS context or custom limits); the
            adapter owns it from then on. Overrides ``http_backend``.
        capabilities: What this adapter declares (defaults to the package's).
    """

    def __init__(
        self,
        connection: ProviderConnection,
        *,
        client: anthropic.AsyncAnthropic | None = None,
        http_backend: HttpBackend = "auto",
        http_client: httpx2.AsyncClient | None = None,
        capabilities: AdapterCapabilities | None = None,
    ) -> None:
        self._connection = connection
        self._provider = connection.provider
        self._capabilities = capabilities or CAPABILITIES
        self._secret = connection.api_key.get_secret_value() if connection.api_key else None
        self._extra_headers = keyless_headers(
            connection, injected_client=client is not None, omit=anthropic.omit
        )
        self._owns_client = client is None
        self._client: anthropic.AsyncAnthropic = client or build_sdk_client(
            anthropic.AsyncAnthropic,
            anthropic,
            connection,
            placeholder_key="",
            default_base_url=DEFAULT_BASE_URL,
            http_client=http_client,
            http_backend=http_backend,
            extra="anthropic",
        )

    @property
    def capabilities(self) -> AdapterCapabilities:
        """What this adapter can send and report."""
        return self._capabilities

    def __repr__(self) -> str:
        base_url = self._connection.base_url or DEFAULT_BASE_URL
        return f"AnthropicChatModel(provider={self._provider!r}, base_url={base_url!r})"

    def _options(self, request: ChatRequest) -> dict[str, Any]:
        return call_options(request.timeout, self._extra_headers)

    def _error(self, exc: Exception, model: str, *, in_stream: bool) -> ProviderError:
        return map_anthropic_error(
            exc, provider=self._provider, model=model, secret=self._secret, in_stream=in_stream
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret),
            provider=self._provider,
            model=model,
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one Messages request and return the whole answer."""
        kwargs = messages_kwargs(request, stream=False)
        try:
            raw: object = await self._client.messages.create(**kwargs, **self._options(request))
        except (anthropic.AnthropicError, httpx2.TransportError) as exc:
            raise self._error(exc, request.model, in_stream=False) from exc
        except json.JSONDecodeError as exc:
            raise self._malformed(request.model, f"body is not valid JSON ({exc})") from exc
        if not isinstance(raw, AnthropicMessage):
            raise self._malformed(request.model, "body is not a message")
        try:
            return self._response(raw, request)
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._malformed(request.model, f"unexpected message shape ({exc})") from exc

    def _response(self, raw: AnthropicMessage, request: ChatRequest) -> ChatResponse:
        # The SDK builds responses without validating them: check the protocol here, so a
        # malformed answer is an error naming the field, never an empty or "None" text.
        content: Any = raw.content
        if not isinstance(content, list):
            raise self._malformed(
                request.model, f"content: expected a list of blocks, got {type(content).__name__}"
            )
        texts: list[str] = []
        calls: list[ToolCall] = []
        for index, block in enumerate(content):
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(_field(block, "text", f"content[{index}]", self, request))
            elif kind == "tool_use":
                calls.append(
                    ToolCall(
                        id=_field(block, "id", f"content[{index}]", self, request),
                        name=_field(block, "name", f"content[{index}]", self, request),
                        arguments=json.dumps(
                            getattr(block, "input", None) or {}, ensure_ascii=False
                        ),
                    )
                )
            elif not isinstance(kind, str):
                raise self._malformed(request.model, f"content[{index}]: a block without a type")
        return ChatResponse(
            text="".join(texts),
            model=raw.model or request.model,
            finish_reason=_finish_reason(raw.stop_reason),
            usage=usage_from_anthropic(raw.usage),
            response_id=raw.id or None,
            tool_calls=tuple(calls),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the answer from SSE events; the last chunk carries finish reason and usage.

        ``message_start`` gives input usage, ``content_block_delta`` text deltas,
        ``message_delta`` the stop reason and output usage, ``message_stop`` ends
        the stream. A stream without ``message_stop`` raises
        :class:`InvalidResponse`; an ``error`` event raises its mapped error.
        """
        kwargs = messages_kwargs(request, stream=True)
        try:
            sdk_stream = cast(
                "AsyncStream[Any]",
                await self._client.messages.create(**kwargs, **self._options(request)),
            )
        except (anthropic.AnthropicError, httpx2.TransportError) as exc:
            raise self._error(exc, request.model, in_stream=False) from exc

        start_usage = Usage()
        final_usage: Usage | None = None
        finish: FinishReason | None = None
        stopped = False
        calls = ToolCallAssembler()
        call_of_block: dict[int, int] = {}  # content block index -> tool call ordinal
        try:
            async for event in sdk_stream:
                kind = getattr(event, "type", None)
                if kind == "message_start":
                    start_usage = usage_from_anthropic(getattr(event.message, "usage", None))
                elif kind == "content_block_start":
                    block = event.content_block
                    if getattr(block, "type", None) == "tool_use":
                        ordinal = call_of_block[event.index] = len(call_of_block)
                        start = ToolCallDelta(
                            index=ordinal,
                            id=_field(block, "id", "content_block_start", self, request),
                            name=_field(block, "name", "content_block_start", self, request),
                        )
                        calls.add(start)
                        yield ChatChunk(tool_call_deltas=(start,))
                elif kind == "content_block_delta":
                    delta = event.delta
                    delta_type = getattr(delta, "type", None)
                    if delta_type == "text_delta":
                        text = getattr(delta, "text", None)
                        if not isinstance(text, str):
                            raise self._malformed(
                                request.model, "content_block_delta: a text_delta without text"
                            )
                        if text:
                            yield ChatChunk(text=text)
                    elif delta_type == "input_json_delta":
                        known = call_of_block.get(event.index)
                        piece = getattr(delta, "partial_json", None)
                        if known is None or not isinstance(piece, str):
                            raise self._malformed(
                                request.model,
                                "content_block_delta: an input_json_delta outside a tool_use block",
                            )
                        if piece:
                            more = ToolCallDelta(index=known, arguments=piece)
                            calls.add(more)
                            yield ChatChunk(tool_call_deltas=(more,))
                elif kind == "message_delta":
                    finish = _finish_reason(getattr(event.delta, "stop_reason", None))
                    final_usage = usage_from_anthropic(getattr(event, "usage", None))
                elif kind == "message_stop":
                    stopped = True
        except (anthropic.AnthropicError, httpx2.TransportError) as exc:
            raise self._error(exc, request.model, in_stream=True) from exc
        except json.JSONDecodeError as exc:
            raise self._malformed(request.model, f"stream event is not valid JSON ({exc})") from exc
        except (AttributeError, TypeError, ValueError) as exc:
            raise self._malformed(request.model, f"unexpected event shape ({exc})") from exc
        finally:
            # Runs on early exit (break/aclose) too: closes the HTTP response.
            await sdk_stream.close()
        if not stopped:
            raise stream_cut("no message_stop event", provider=self._provider, model=request.model)
        usage = start_usage if final_usage is None else _merge_usage(start_usage, final_usage)
        yield ChatChunk(
            finish_reason=finish or FinishReason.UNKNOWN, usage=usage, tool_calls=calls.complete()
        )

    async def aclose(self) -> None:
        """Close the SDK client (and its connection pool) when this adapter built it."""
        if self._owns_client:
            await self._client.close()


def _field(
    block: Any, name: str, where: str, model: AnthropicChatModel, request: ChatRequest
) -> str:
    value = getattr(block, name, None)
    if not isinstance(value, str):
        shown = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise model._malformed(request.model, f"{where}.{name}: {shown}")
    return value
