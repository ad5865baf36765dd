"""The Anthropic Messages :class:`~inference_core.ports.ChatModel` on aiohttp, no SDK.

Requests are built by :func:`~inference_core.adapters.anthropic.params.messages_kwargs`
(the SDK adapter's rules), sent by an
:class:`~inference_core.adapters.http_endpoint.Endpoint`, and answers decoded by
:mod:`inference_core.adapters.anthropic_http.wire`; error bodies map through
:func:`~inference_core.adapters.anthropic.errors.error_for_payload`.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping

import orjson

from inference_core.adapters.anthropic import CAPABILITIES
from inference_core.adapters.anthropic.errors import error_for_payload
from inference_core.adapters.anthropic.params import messages_kwargs
from inference_core.adapters.anthropic_http import API_VERSION
from inference_core.adapters.anthropic_http.wire import (
    MessageStream,
    WireShapeError,
    response_from_body,
)
from inference_core.adapters.http_endpoint import DEFAULT_CONNECTION_LIMIT, Endpoint
from inference_core.adapters.http_errors import redact, stream_cut
from inference_core.adapters.openai_http.wire import ErrorAnswer
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse, FinishReason
from inference_core.domain.errors import InvalidResponse, ProviderError
from inference_core.domain.routing import ProviderConnection

__all__ = ["DEFAULT_BASE_URL", "AnthropicHTTPChatModel"]

#: Used when the connection names no endpoint.
DEFAULT_BASE_URL = "https://api.anthropic.com"

_MAX_ERROR_TEXT = 500


def _static_headers(connection: ProviderConnection) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "inference-core",
        "anthropic-version": API_VERSION,
    }
    if connection.api_key is not None:
        # API version 2026-10-21 takes the key as a bearer token (as the 2.x SDK sends it).
        headers["Authorization"] = f"Bearer {connection.api_key.get_secret_value()}"
    headers.update(connection.headers)  # the connection's own headers win (a gateway's auth)
    return headers


class AnthropicHTTPChatModel:
    """Claude through the Messages API over aiohttp for one connection (``anthropic_http``).

    Exactly one HTTP attempt per call; the connection's connect/read timeouts
    bound every call and ``ChatRequest.timeout`` one whole attempt. No
    ``Authorization`` header is sent when the connection has no key.

    Args:
        connection: Endpoint, key, headers and timeouts.
        capabilities: What this adapter declares (defaults to the package's).
        ssl_context: The TLS context for ``https`` endpoints (share one across adapters).
        connection_limit: Connections per event loop (``0``: no limit).
    """

    def __init__(
        self,
        connection: ProviderConnection,
        *,
        capabilities: AdapterCapabilities | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> None:
        self._connection = connection
        self._provider = connection.provider
        self._capabilities = capabilities or CAPABILITIES
        self._secret = connection.api_key.get_secret_value() if connection.api_key else None
        self._endpoint = Endpoint(
            connection,
            path="/v1/messages",
            default_base_url=DEFAULT_BASE_URL,
            headers=_static_headers(connection),
            ssl_context=ssl_context,
            connection_limit=connection_limit,
        )

    @property
    def capabilities(self) -> AdapterCapabilities:
        """What this adapter can send and report."""
        return self._capabilities

    def __repr__(self) -> str:
        return (
            f"AnthropicHTTPChatModel(provider={self._provider!r}, "
            f"base_url={self._endpoint.base_url!r})"
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret),
            provider=self._provider,
            model=model,
        )

    def _error(
        self, status: int | None, raw: bytes, headers: Mapping[str, str] | None, model: str
    ) -> ProviderError:
        """The mapped error for an error answer (``status`` ``None``: an error event)."""
        try:
            body: object = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = raw[:_MAX_ERROR_TEXT].decode("utf-8", "replace")
        error = error_for_payload(
            status,
            body,
            headers=headers,
            provider=self._provider,
            model=model,
            secret=self._secret,
        )
        text = raw[:_MAX_ERROR_TEXT].decode("utf-8", "replace")
        error.__cause__ = ErrorAnswer(status, redact(text, self._secret))
        return error

    def _body(self, request: ChatRequest, *, stream: bool) -> bytes:
        return orjson.dumps(messages_kwargs(request, stream=stream))

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one Messages request and return the whole answer."""
        model = request.model
        status, headers, raw = await self._endpoint.post(
            self._body(request, stream=False), seconds=request.timeout, model=model
        )
        if status >= 400:
            raise self._error(status, raw, headers, model)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self._malformed(model, f"body is not valid JSON ({exc})") from exc
        if isinstance(body, Mapping) and body.get("type") == "error":
            raise self._error(None, raw, None, model)  # an error object sent with a 2xx status
        try:
            return response_from_body(body, model)
        except WireShapeError as exc:
            raise self._malformed(model, f"unexpected message shape ({exc})") from exc

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the answer from SSE events; the last chunk carries finish reason and usage.

        A stream without ``message_stop`` raises :class:`InvalidResponse`, unless
        the connection dropped after ``message_delta`` (the stop reason and final
        usage) arrived: that answer is complete and kept. An ``error`` event
        raises its mapped error.
        """
        model = request.model
        endpoint = self._endpoint
        answer = await endpoint.open_stream(
            self._body(request, stream=True), seconds=request.timeout, model=model
        )
        try:
            if answer.status >= 400:
                raw = await endpoint.read(answer, model=model)
                raise self._error(answer.status, raw, answer.headers, model)
            state = MessageStream()
            events = endpoint.events(answer, model=model, settled=lambda: state.finish is not None)
            async with contextlib.aclosing(events):
                async for event in events:
                    try:
                        payload = orjson.loads(event.data)
                    except orjson.JSONDecodeError as exc:
                        raise self._malformed(
                            model, f"stream event is not valid JSON ({exc})"
                        ) from exc
                    if not isinstance(payload, Mapping):
                        raise self._malformed(model, "a stream event that is not an object")
                    if event.event == "error" or payload.get("type") == "error":
                        raise self._error(None, event.data, None, model)
                    try:
                        text, pieces = state.feed(payload)
                    except WireShapeError as exc:
                        raise self._malformed(model, str(exc)) from exc
                    if text:
                        yield ChatChunk(text=text)
                    if pieces:
                        yield ChatChunk(tool_call_deltas=pieces)
                    if state.stopped:
                        break
            if not state.stopped and state.finish is None:
                raise stream_cut("no message_stop event", provider=self._provider, model=model)
            answer.complete = state.stopped
            yield ChatChunk(
                finish_reason=state.finish or FinishReason.UNKNOWN,
                usage=state.usage,
                tool_calls=state.calls.complete(),
            )
        finally:
            answer.release()

    async def aclose(self) -> None:
        """Close the current loop's session (sessions of other loops close with their loop)."""
        await self._endpoint.aclose()
