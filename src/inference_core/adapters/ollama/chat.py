"""The Ollama chat model: native ``/api/chat``, whole answers and NDJSON streams."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from inference_core.adapters.ollama import CAPABILITIES
from inference_core.adapters.ollama._http import (
    During,
    bearer_token,
    build_timeout,
    iter_ndjson,
    parse_json_body,
    raise_for_status,
    transport_error,
)
from inference_core.adapters.ollama.client import OllamaClient
from inference_core.adapters.ollama.wire import to_ollama
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    Usage,
    token_count,
)
from inference_core.domain.errors import InvalidResponse
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import Tool, ToolCallDelta

__all__ = ["OllamaChatModel", "chat_body"]

_FINISH = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}


def _finish_reason(data: dict[str, Any]) -> FinishReason:
    reason = data.get("done_reason")
    if not isinstance(reason, str):
        return FinishReason.UNKNOWN
    return _FINISH.get(reason, FinishReason.UNKNOWN)


def _usage(data: dict[str, Any]) -> Usage:
    # Ollama omits prompt_eval_count when the whole prompt came from its cache: unknown, not 0.
    return Usage(
        input_tokens=token_count(data.get("prompt_eval_count")),
        output_tokens=token_count(data.get("eval_count")),
    )


def _content(data: dict[str, Any], *, provider: str, model: str) -> str:
    message = data.get("message")
    if not isinstance(message, dict):
        shown = "missing" if message is None else f"a {type(message).__name__}, not an object"
        raise InvalidResponse(f"Ollama's answer has no message: 'message' is {shown}",
                              provider=provider, model=model)  # fmt: skip
    content = message.get("content")
    if isinstance(content, str):
        return content
    if content is None and message.get("tool_calls"):
        return ""  # a tool call carries no text
    shown = "missing" if content is None else f"a {type(content).__name__}, not a string"
    raise InvalidResponse(
        f"Ollama sent a malformed 'message' object: 'message.content' is {shown}",
        provider=provider,
        model=model,
    )


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _tool_calls(data: dict[str, Any], *, provider: str, model: str) -> tuple[ToolCall, ...]:
    """The calls of one answer object; Ollama gives arguments as an object, ids only lately."""
    message = data.get("message")
    raw = message.get("tool_calls") if isinstance(message, dict) else None
    if raw is None:
        return ()
    calls = []
    try:
        for item in raw:
            function = item["function"]
            arguments = function.get("arguments", {})
            if not isinstance(arguments, dict | str):
                raise TypeError(f"arguments is a {type(arguments).__name__}")
            text = (
                arguments
                if isinstance(arguments, str)
                else json.dumps(arguments, ensure_ascii=False)
            )
            call_id = item.get("id") or f"call_{uuid.uuid4().hex[:16]}"
            calls.append(ToolCall(id=str(call_id), name=str(function["name"]), arguments=text))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidResponse(
            f"Ollama sent a malformed 'message.tool_calls': {exc}", provider=provider, model=model
        ) from exc
    return tuple(calls)


def _options(request: ChatRequest) -> dict[str, Any]:
    p = request.params
    options: dict[str, Any] = {}
    if p.temperature is not None:
        options["temperature"] = p.temperature
    if p.top_p is not None:
        options["top_p"] = p.top_p
    if p.max_tokens is not None:
        options["num_predict"] = p.max_tokens
    if p.seed is not None:
        options["seed"] = p.seed
    if p.stop:
        options["stop"] = list(p.stop)
    return options


def chat_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """Build the ``/api/chat`` JSON body for ``request``.

    Raises:
        InvalidMessageError: A message holds a remote image URL or audio.
    """
    body: dict[str, Any] = {
        "model": request.model,
        "messages": to_ollama(request.messages),
        "stream": stream,
    }
    options = _options(request)
    if options:
        body["options"] = options
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        # A schema (json_schema, or json_object carrying one) is enforced by Ollama's grammar.
        body["format"] = fmt.schema_ if fmt.schema_ is not None else "json"
    if request.offers_tools:
        # Ollama has no tool_choice: "none" is expressed by sending no tools at all, and a
        # forced choice is refused before sending (the adapter does not declare it).
        body["tools"] = [_tool(t) for t in request.tools]
    return body


class OllamaChatModel:
    """A :class:`~inference_core.ports.ChatModel` over Ollama's native ``/api/chat``.

    Takes ownership of ``http`` (an ``httpx.AsyncClient`` whose ``base_url`` is
    the Ollama root, e.g. ``http://localhost:11434``): :meth:`aclose` closes it.
    One attempt per call; every failure is a domain error.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        provider: str = "ollama",
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
    ) -> None:
        self._http = http
        self._provider = provider
        self._connect = connect_timeout
        self._read = read_timeout
        self._secret = bearer_token(http.headers)

    def __repr__(self) -> str:
        return f"OllamaChatModel(base_url={str(self._http.base_url)!r})"

    @property
    def capabilities(self) -> AdapterCapabilities:
        """See :data:`CAPABILITIES`."""
        return CAPABILITIES

    @property
    def client(self) -> OllamaClient:
        """Model management (list, show, pull) over the same connection pool."""
        return OllamaClient(
            self._http,
            provider=self._provider,
            connect_timeout=self._connect,
            read_timeout=self._read,
        )

    def _timeout(self, request: ChatRequest) -> httpx.Timeout:
        return build_timeout(request.timeout, connect=self._connect, read=self._read)

    async def _open(self, request: ChatRequest, *, stream: bool) -> httpx.Response:
        """Send the request and return the response with its body not yet read."""
        http_request = self._http.build_request(
            "POST",
            "/api/chat",
            json=chat_body(request, stream=stream),
            timeout=self._timeout(request),
        )
        try:
            return await self._http.send(http_request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error(
                exc, provider=self._provider, model=request.model, during="request"
            ) from exc

    async def _read_body(self, response: httpx.Response, model: str, during: During) -> bytes:
        try:
            return await response.aread()
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=self._provider, model=model, during=during) from exc

    def _raise_for_status(self, response: httpx.Response, model: str) -> None:
        raise_for_status(response, provider=self._provider, model=model, secret=self._secret)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one non-streaming ``/api/chat`` request and return the whole answer."""
        model = request.model
        response = await self._open(request, stream=False)
        try:
            raw = await self._read_body(response, model, "body")
        finally:
            await response.aclose()
        self._raise_for_status(response, model)
        data = parse_json_body(raw, provider=self._provider, model=model, secret=self._secret)
        if data.get("done") is not True:
            raise InvalidResponse(
                "Ollama answer lacks 'done: true'", provider=self._provider, model=model
            )
        calls = _tool_calls(data, provider=self._provider, model=model)
        return ChatResponse(
            text=_content(data, provider=self._provider, model=model),
            model=str(data.get("model") or model),
            # Ollama says "stop" even when the answer is tool calls.
            finish_reason=FinishReason.TOOL_CALLS if calls else _finish_reason(data),
            usage=_usage(data),
            tool_calls=calls,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream ``/api/chat`` NDJSON; the last chunk carries finish reason and usage."""
        model = request.model
        provider = self._provider
        response = await self._open(request, stream=True)
        try:
            if response.is_error:
                await self._read_body(response, model, "body")
                self._raise_for_status(response, model)
            final: ChatChunk | None = None
            calls: list[ToolCall] = []
            async for data in iter_ndjson(
                response, provider=provider, model=model, secret=self._secret
            ):
                if final is not None:
                    continue  # read to the end so the connection goes back to the pool
                text = _content(data, provider=provider, model=model)
                if text:
                    yield ChatChunk(text=text)
                arrived = _tool_calls(data, provider=provider, model=model)
                if arrived:
                    # Ollama sends each call whole: one piece per call.
                    pieces = tuple(
                        ToolCallDelta(
                            index=len(calls) + i, id=c.id, name=c.name, arguments=c.arguments
                        )
                        for i, c in enumerate(arrived)
                    )
                    calls.extend(arrived)
                    yield ChatChunk(tool_call_deltas=pieces)
                if data.get("done") is True:
                    final = ChatChunk(
                        finish_reason=FinishReason.TOOL_CALLS if calls else _finish_reason(data),
                        usage=_usage(data),
                        tool_calls=tuple(calls),
                    )
            if final is None:
                # The body ended (cleanly or not) without the terminator: a cut stream.
                raise InvalidResponse(
                    "Ollama stream ended before 'done: true'",
                    provider=provider,
                    model=model,
                    retryable=True,
                )
            yield final
        finally:
            # Also runs on aclose()/break: releases the connection mid-stream.
            await response.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()
