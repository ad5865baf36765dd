"""The OpenAI chat-completions :class:`~inference_core.ports.ChatModel` on aiohttp, no SDK.

The HTTP side is an :class:`~inference_core.adapters.http_endpoint.Endpoint`
(one aiohttp session per event loop, static headers and URL built once, SSE
decoding); request bodies are encoded with orjson, answers decoded with orjson
and turned into domain objects by :mod:`inference_core.adapters.openai_http.wire`.
Errors go through the same mapping as every adapter
(:mod:`inference_core.adapters.http_errors`).

Request rules are the SDK adapter's (:func:`~inference_core.adapters.openai.params.
chat_kwargs`); ``gpt5_http`` applies the GPT-5 ones.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping

import orjson

from inference_core.adapters.http_endpoint import DEFAULT_CONNECTION_LIMIT, Endpoint
from inference_core.adapters.http_errors import error_for_status, redact, stream_cut
from inference_core.adapters.openai.errors import payload_fields, payload_status
from inference_core.adapters.openai.params import chat_kwargs
from inference_core.adapters.openai_http import CAPABILITIES
from inference_core.adapters.openai_http.wire import (
    ErrorAnswer,
    WireShapeError,
    response_from_body,
    stream_deltas,
    usage_from_body,
)
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse, FinishReason, Usage
from inference_core.domain.errors import ContentFiltered, InvalidResponse, ProviderError
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.domain.tools import ToolCallAssembler

__all__ = ["DEFAULT_BASE_URL", "OpenAIHTTPChatModel"]

#: Used when the connection names no endpoint.
DEFAULT_BASE_URL = "https://api.openai.com/v1"

_DONE = b"[DONE]"
_MAX_ERROR_TEXT = 500


def _static_headers(connection: ProviderConnection) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "inference-core",
    }
    if connection.api_key is not None:
        headers["Authorization"] = f"Bearer {connection.api_key.get_secret_value()}"
    headers.update(connection.headers)  # the connection's own headers win (a gateway's auth)
    return headers


class OpenAIHTTPChatModel:
    """Chat completions over aiohttp for one provider connection (``openai_http``, ``gpt5_http``).

    Exactly one HTTP attempt per call. The connection's connect/read timeouts
    bound every call (``read`` between two reads of the socket);
    ``ChatRequest.timeout`` bounds one whole attempt. No ``Authorization``
    header is sent when the connection has no key (keyless local servers).

    Args:
        connection: Endpoint, key, headers and timeouts.
        stream_usage: Ask for a usage chunk at the end of streams
            (``stream_options.include_usage``); turn off for servers that reject it.
        capabilities: What this adapter declares (defaults to the package's).
        ssl_context: The TLS context for ``https`` endpoints (share one across
            many adapters: loading the CA bundle costs tens of milliseconds).
        connection_limit: Connections per event loop (``0``: no limit).
    """

    def __init__(
        self,
        connection: ProviderConnection,
        *,
        stream_usage: bool = True,
        capabilities: AdapterCapabilities | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> None:
        self._connection = connection
        self._provider = connection.provider
        self._gpt5 = connection.client == ClientPath.GPT5_HTTP
        self._stream_usage = stream_usage
        self._capabilities = capabilities or CAPABILITIES
        self._secret = connection.api_key.get_secret_value() if connection.api_key else None
        self._endpoint = Endpoint(
            connection,
            path="/chat/completions",
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
            f"OpenAIHTTPChatModel(provider={self._provider!r}, "
            f"client={self._connection.client!r}, base_url={self._endpoint.base_url!r})"
        )

    def _body(self, request: ChatRequest, *, stream: bool) -> bytes:
        kwargs = chat_kwargs(
            request,
            gpt5=self._gpt5,
            stream=stream,
            stream_usage=stream and self._stream_usage and request.stream_usage,
        )
        return orjson.dumps(kwargs)

    # --- errors -------------------------------------------------------------------------

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret),
            provider=self._provider,
            model=model,
        )

    def _status_error(
        self, status: int, raw: bytes, headers: Mapping[str, str], model: str
    ) -> ProviderError:
        try:
            body: object = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = raw[:_MAX_ERROR_TEXT].decode("utf-8", "replace")
        message, evidence = payload_fields(body)
        error = error_for_status(
            status,
            redact(message, self._secret),
            provider=self._provider,
            model=model,
            headers=headers,
            code=evidence,
        )
        text = raw[:_MAX_ERROR_TEXT].decode("utf-8", "replace")
        error.__cause__ = ErrorAnswer(status, redact(text, self._secret))
        return error

    def _event_error(self, payload: object, data: bytes, model: str) -> ProviderError:
        """An error sent inside a 200 stream: no HTTP status, no retry headers."""
        message, evidence = payload_fields(payload)
        error = error_for_status(
            payload_status(evidence),
            redact(message or "error event in the stream", self._secret),
            provider=self._provider,
            model=model,
            code=evidence,
        )
        error.status = None
        text = data[:_MAX_ERROR_TEXT].decode("utf-8", "replace")
        error.__cause__ = ErrorAnswer(None, redact(text, self._secret))
        return error

    def _refused(self, text: str, model: str) -> ContentFiltered:
        return ContentFiltered(
            redact(f"the model refused: {text}", self._secret), provider=self._provider, model=model
        )

    # --- calls --------------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one chat-completions request and return the whole answer."""
        model = request.model
        status, headers, raw = await self._endpoint.post(
            self._body(request, stream=False), seconds=request.timeout, model=model
        )
        if status >= 400:
            raise self._status_error(status, raw, headers, model)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self._malformed(model, f"body is not valid JSON ({exc})") from exc
        if isinstance(body, Mapping) and "error" in body and not body.get("choices"):
            raise self._event_error(body, raw, model)  # an error object sent with a 2xx status
        try:
            answer, refusal = response_from_body(body, model)
        except WireShapeError as exc:
            raise self._malformed(model, f"unexpected completion shape ({exc})") from exc
        if refusal is not None and not answer.text:
            raise self._refused(refusal, model)
        return answer

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the answer; the last chunk carries the finish reason and usage.

        The stream must carry a ``finish_reason`` (a stream without one was cut
        and raises :class:`InvalidResponse`). ``[DONE]`` ends the reading; a
        stream cut after the finish reason but before ``[DONE]`` still returns
        the whole answer, so a paid-for answer is never thrown away and retried.
        """
        model = request.model
        endpoint = self._endpoint
        answer = await endpoint.open_stream(
            self._body(request, stream=True), seconds=request.timeout, model=model
        )
        try:
            if answer.status >= 400:
                raw = await endpoint.read(answer, model=model)
                raise self._status_error(answer.status, raw, answer.headers, model)
            state = _StreamState()
            events = endpoint.events(answer, model=model, settled=lambda: state.finish is not None)
            async with contextlib.aclosing(events):
                async for event in events:
                    for chunk in self._chunks(event.data, event.event, state, model):
                        yield chunk
                    if state.done:
                        break
            if state.finish is None:
                raise stream_cut(
                    "no chunk carried a finish_reason", provider=self._provider, model=model
                )
            if state.refusal and not state.produced:
                raise self._refused("".join(state.refusal), model)
            try:
                calls = state.calls.complete()
            except ValueError as exc:
                raise self._malformed(model, str(exc)) from exc
            answer.complete = state.done
            yield ChatChunk(
                finish_reason=state.finish, usage=state.usage or Usage(), tool_calls=calls
            )
        finally:
            answer.release()

    def _chunks(self, data: bytes, event: str, state: _StreamState, model: str) -> list[ChatChunk]:
        if data == _DONE:
            state.done = True
            return []
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise self._malformed(model, f"stream event is not valid JSON ({exc})") from exc
        if event == "error" or (isinstance(payload, Mapping) and "error" in payload):
            raise self._event_error(payload, data, model)
        if not isinstance(payload, Mapping):
            raise self._malformed(model, "stream event is not a completion chunk")
        out: list[ChatChunk] = []
        if (usage := payload.get("usage")) is not None:
            state.usage = usage_from_body(usage)
        choices = payload.get("choices")
        if choices is None:
            choices = []
        elif not isinstance(choices, list):
            raise self._malformed(model, "stream event choices is not a list")
        for choice in choices:
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            try:
                text, pieces, refusal, finish = stream_deltas(choice)
            except WireShapeError as exc:
                raise self._malformed(model, f"unexpected chunk shape ({exc})") from exc
            if text:
                state.produced = True
                out.append(ChatChunk(text=text))
            if pieces:
                state.produced = True
                state.calls.extend(pieces)
                out.append(ChatChunk(tool_call_deltas=pieces))
            if refusal:
                state.refusal.append(refusal)
            if finish is not None:
                state.finish = finish
        return out

    async def aclose(self) -> None:
        """Close the current loop's session (sessions of other loops close with their loop)."""
        await self._endpoint.aclose()


class _StreamState:
    """What one stream has delivered so far."""

    __slots__ = ("calls", "done", "finish", "produced", "refusal", "usage")

    def __init__(self) -> None:
        self.finish: FinishReason | None = None
        self.usage: Usage | None = None
        self.refusal: list[str] = []
        self.produced = False
        self.done = False
        self.calls = ToolCallAssembler()
