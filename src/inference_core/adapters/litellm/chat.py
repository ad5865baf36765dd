"""The LiteLLM chat model: ``litellm.acompletion``, whole answers and streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from types import ModuleType
from typing import Any

from pydantic import SecretStr

from inference_core.adapters.http_errors import scrub_exception
from inference_core.adapters.litellm._clients import close_sessions_of_running_loop
from inference_core.adapters.litellm._errors import map_litellm_error
from inference_core.adapters.litellm._loader import load_litellm
from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    Usage,
    token_count,
)
from inference_core.domain.errors import ConfigurationError, InvalidResponse, ProviderError
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolCallAssembler, ToolCallDelta
from inference_core.domain.wire import to_openai

__all__ = ["CAPABILITIES", "KEYLESS_PLACEHOLDER", "LiteLLMChatModel", "completion_kwargs"]

#: What the LiteLLM adapter can send and report (docs/providers.md is generated from it).
#: LiteLLM translates each field per provider; one a provider lacks fails loudly
#: (``UnsupportedParamsError`` -> InvalidRequestError), it is never dropped silently.
CAPABILITIES = AdapterCapabilities(
    streaming=True,
    json_outputs=(
        JSONOutput.JSON_SCHEMA,
        JSONOutput.JSON_OBJECT_WITH_SCHEMA,
        JSONOutput.JSON_OBJECT,
        JSONOutput.NONE,
    ),
    images=True,
    image_urls=True,
    audio_input=False,
    reasoning_effort=True,
    seed=True,
    stop=True,
    usage_fields=(
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "cost_usd",
    ),
    # LiteLLM translates OpenAI-shaped tools, tool_choice and parallel_tool_calls per provider.
    tools=True,
    parallel_tool_calls=True,
    forced_tool_choice=True,
    tool_call_streaming=True,
)

#: Sent as the key to a keyless custom endpoint, so LiteLLM never falls back to env keys.
KEYLESS_PLACEHOLDER = "no-key"

#: Returns the ``litellm`` module (blocking; may import it).
Loader = Callable[[], ModuleType]


def _cost(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _usage(raw: Any, cost: Any = None) -> Usage:
    """Usage from a LiteLLM ``Usage`` object; fields it does not carry stay ``None``."""
    if raw is None:
        return Usage()
    prompt_details = getattr(raw, "prompt_tokens_details", None)
    completion_details = getattr(raw, "completion_tokens_details", None)
    cache_write = token_count(getattr(raw, "cache_creation_input_tokens", None))
    if cache_write is None:
        cache_write = token_count(getattr(prompt_details, "cache_creation_tokens", None))
    usage = Usage(
        input_tokens=token_count(getattr(raw, "prompt_tokens", None)),
        output_tokens=token_count(getattr(raw, "completion_tokens", None)),
        cached_tokens=token_count(getattr(prompt_details, "cached_tokens", None)),
        cache_write_tokens=cache_write,
        reasoning_tokens=token_count(getattr(completion_details, "reasoning_tokens", None)),
    )
    if not usage.is_known:
        return usage
    # LiteLLM prices the call from its bundled cost map; None when it does not know the model.
    return usage.model_copy(update={"cost_usd": _cost(cost)})


def _response_format(request: ChatRequest) -> dict[str, Any] | None:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        # With a schema this is llama.cpp's grammar form; LiteLLM forwards it unchanged
        # to OpenAI-compatible servers.
        if fmt.schema_ is None:
            return {"type": "json_object"}
        return {"type": "json_object", "schema": fmt.schema_}
    return {
        "type": "json_schema",
        "json_schema": {"name": fmt.name, "schema": fmt.schema_, "strict": fmt.strict},
    }


def _tool_choice(request: ChatRequest) -> str | dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        return None
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    messages = to_openai(request.messages)
    for message in messages:
        if message["role"] == "tool":
            message.pop("name", None)  # OpenAI-shaped tool results take no name
    return messages


def _calls(raw: Any) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for call in raw or ():
        function = getattr(call, "function", None)
        if function is None:
            continue
        calls.append(
            ToolCall(
                id=str(getattr(call, "id", None) or f"call_{len(calls)}"),
                name=str(getattr(function, "name", "")),
                arguments=getattr(function, "arguments", None) or "{}",
            )
        )
    return tuple(calls)


def _deltas(raw: Any) -> tuple[ToolCallDelta, ...]:
    pieces: list[ToolCallDelta] = []
    for call in raw or ():
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


def completion_kwargs(
    request: ChatRequest,
    *,
    api_key: SecretStr | None,
    base_url: str | None,
    headers: Mapping[str, str],
    timeout: Any,
    stream: bool,
    litellm_provider: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``litellm.acompletion`` (one attempt, nothing dropped)."""
    p = request.params
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request),
        "timeout": timeout,
        # One attempt: no LiteLLM retries and none in the SDK it may wrap.
        "num_retries": 0,
        "max_retries": 0,
    }
    if api_key is not None:
        kwargs["api_key"] = api_key.get_secret_value()
    elif base_url:
        # A keyless custom endpoint: with no key LiteLLM would read the provider's key from
        # os.environ itself (OPENAI_API_KEY...) and send it to this third-party URL.
        kwargs["api_key"] = KEYLESS_PLACEHOLDER
    if base_url:
        kwargs["api_base"] = base_url
    if headers:
        kwargs["extra_headers"] = dict(headers)
    if litellm_provider:
        kwargs["custom_llm_provider"] = litellm_provider
    optional: dict[str, Any] = {
        "temperature": p.temperature,
        "top_p": p.top_p,
        "max_tokens": p.max_tokens,
        "seed": p.seed,
        "reasoning_effort": p.reasoning_effort,
        "stop": list(p.stop) if p.stop else None,
        "response_format": _response_format(request),
    }
    if request.tools:
        optional.update(
            tools=[tool.to_openai() for tool in request.tools],
            tool_choice=_tool_choice(request),
            parallel_tool_calls=request.parallel_tool_calls,
        )
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    if stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


class LiteLLMChatModel:
    """A :class:`~inference_core.ports.ChatModel` over ``litellm.acompletion``.

    ``request.model`` is in LiteLLM's ``provider/model`` form (routing
    produces it), unless ``litellm_provider`` names the LiteLLM provider for
    bare model ids (sent as ``custom_llm_provider``). LiteLLM is imported by
    ``loader`` on the first call, in a worker thread, never when this module is
    imported.
    """

    def __init__(
        self,
        *,
        provider: str,
        api_key: SecretStr | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        loader: Loader = load_litellm,
        litellm_provider: str | None = None,
    ) -> None:
        self._provider = provider
        self._api_key = api_key
        self._base_url = base_url
        self._headers = dict(headers or {})
        self._connect = connect_timeout
        self._read = read_timeout
        self._loader = loader
        self._litellm_provider = litellm_provider
        self._litellm: ModuleType | None = None

    def __repr__(self) -> str:
        return f"LiteLLMChatModel(provider={self._provider!r}, base_url={self._base_url!r})"

    @property
    def capabilities(self) -> AdapterCapabilities:
        """See :data:`CAPABILITIES`."""
        return CAPABILITIES

    async def _module(self) -> ModuleType:
        if self._litellm is None:
            # The first import takes seconds: keep the event loop responsive meanwhile.
            try:
                self._litellm = await asyncio.to_thread(self._loader)
            except ModuleNotFoundError as exc:
                raise ConfigurationError(
                    "the 'litellm' client path needs the 'litellm' extra: "
                    f"pip install 'inference-core[litellm]' (missing module: {exc.name})"
                ) from exc
        return self._litellm

    def _kwargs(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        import httpx  # a LiteLLM dependency; LiteLLM converts it for non-httpx providers

        seconds = request.timeout
        timeout = (
            httpx.Timeout(seconds)
            if seconds is not None
            else httpx.Timeout(self._read, connect=self._connect)
        )
        return completion_kwargs(
            request,
            api_key=self._api_key,
            base_url=self._base_url,
            headers=self._headers,
            timeout=timeout,
            stream=stream,
            litellm_provider=self._litellm_provider,
        )

    def _map(
        self, exc: Exception, litellm: ModuleType, model: str
    ) -> ProviderError | ConfigurationError | None:
        secret = self._api_key.get_secret_value() if self._api_key is not None else None
        mapped = map_litellm_error(
            exc, litellm, provider=self._provider, model=model, secret=secret
        )
        if mapped is not None:
            # The chained LiteLLM exception may quote a key the server echoed back.
            scrub_exception(exc, secret)
        return mapped

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """One ``litellm.acompletion`` call, returned whole."""
        litellm = await self._module()
        kwargs = self._kwargs(request, stream=False)
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:
            mapped = self._map(exc, litellm, request.model)
            if mapped is None:
                raise
            raise mapped from exc
        return self._to_response(response, request.model)

    def _to_response(self, response: Any, model: str) -> ChatResponse:
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise InvalidResponse(
                "LiteLLM returned no choices", provider=self._provider, model=model
            )
        choice = choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        hidden = getattr(response, "_hidden_params", None) or {}
        return ChatResponse(
            text=content if isinstance(content, str) else "",
            model=str(getattr(response, "model", None) or model),
            finish_reason=FinishReason.from_openai(getattr(choice, "finish_reason", None)),
            usage=_usage(getattr(response, "usage", None), hidden.get("response_cost")),
            response_id=getattr(response, "id", None),
            tool_calls=_calls(getattr(message, "tool_calls", None)),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream ``litellm.acompletion``; the last chunk carries finish reason and usage."""
        litellm = await self._module()
        model = request.model
        kwargs = self._kwargs(request, stream=True)
        try:
            wrapper = await litellm.acompletion(**kwargs)
        except Exception as exc:
            mapped = self._map(exc, litellm, model)
            if mapped is None:
                raise
            raise mapped from exc
        finish: FinishReason | None = None
        usage: Usage | None = None
        delivered = False
        calls = ToolCallAssembler()
        try:
            async for chunk in wrapper:
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(choice, "delta", None)
                    text = getattr(delta, "content", None)
                    if isinstance(text, str) and text:
                        delivered = True
                        yield ChatChunk(text=text)
                    pieces = _deltas(getattr(delta, "tool_calls", None))
                    if pieces:
                        delivered = True
                        calls.extend(pieces)
                        yield ChatChunk(tool_call_deltas=pieces)
                    reason = getattr(choice, "finish_reason", None)
                    if reason:
                        finish = FinishReason.from_openai(reason)
                raw_usage = getattr(chunk, "usage", None)
                if raw_usage is not None:
                    usage = _usage(raw_usage, getattr(raw_usage, "cost", None))
        except Exception as exc:
            if isinstance(exc, ProviderError):
                raise
            mapped = self._map(exc, litellm, model)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            # Also runs on aclose()/break: releases the HTTP stream.
            await wrapper.aclose()
        if finish is None:
            raise InvalidResponse(
                "LiteLLM stream ended without a finish reason",
                provider=self._provider,
                model=model,
                retryable=True,
            )
        if usage is None and not delivered:
            # LiteLLM skips stream frames it cannot parse (a proxy's HTML page, a broken
            # event) and still reports "stop"; with usage requested, a real answer
            # carries usage, so nothing at all means nothing was understood.
            raise InvalidResponse(
                "LiteLLM stream carried no text and no usage: the provider's stream "
                "was not understood",
                provider=self._provider,
                model=model,
            )
        try:
            complete = calls.complete()
        except ValueError as exc:
            raise InvalidResponse(
                f"LiteLLM streamed a malformed tool call: {exc}",
                provider=self._provider,
                model=model,
            ) from exc
        yield ChatChunk(finish_reason=finish, usage=usage or Usage(), tool_calls=complete)

    async def aclose(self) -> None:
        """Close the HTTP clients LiteLLM cached for the running event loop.

        LiteLLM pools connections per event loop, shared by every LiteLLM adapter
        on that loop (see :mod:`inference_core.adapters.litellm._clients`).
        """
        if self._litellm is not None:
            await close_sessions_of_running_loop(self._litellm)
