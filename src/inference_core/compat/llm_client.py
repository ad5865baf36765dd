"""The seed's ``LLMClient`` / ``GPT5ChatClient``: OpenAI-shaped dicts over the use-cases.

Thin facades: every method turns its arguments into a use-case call on an
:class:`~inference_core.composition.Inference` and shapes the result like the
seed did (``response["choices"][0]["message"]["content"]``, stream chunks with
``choices[0]["delta"]``). Routing, retries, JSON validation, usage and cost
are the use-cases' job.

Event loops: sync methods run their work through :meth:`Inference.run_sync`: in
the calling thread, on that thread's long-lived loop, when no loop runs there;
otherwise (Jupyter) on the client's background loop while they block. Async
methods await the background loop from whatever loop the caller runs. So one
client keeps working when each call comes from a fresh ``asyncio.run`` (as the
seed's Assistant service does) or from inside a running loop, its SDK clients
and connection pools are reused across calls, and no loop is created per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from inference_core.application.results import ChatResult, JSONResult
from inference_core.compat.registry import ModelConfig, ModelInfo, ModelRegistry
from inference_core.composition import Inference, bootstrap
from inference_core.domain.chat import ChatChunk, FinishReason, GenerationParams, ReasoningEffort
from inference_core.domain.errors import ConfigurationError, InvalidInputError
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolCallDelta
from inference_core.domain.wire import coerce_messages

__all__ = ["GPT5ChatClient", "LLMClient"]

T = TypeVar("T")

_PARAM_KEYS = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed", "reasoning_effort"})
#: Passed to the use-case as they are (it checks them): OpenAI-shaped tool dicts,
#: Tool objects, pydantic classes or functions; tool_choice as OpenAI takes it.
_TOOL_KEYS = frozenset({"tools", "tool_choice", "parallel_tool_calls"})


async def _next_chunk(chunks: AsyncIterator[ChatChunk]) -> ChatChunk:
    return await anext(chunks)


async def _close_stream(chunks: AsyncIterator[ChatChunk]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


def _finish(reason: FinishReason | None) -> str | None:
    return None if reason in (None, FinishReason.UNKNOWN) else str(reason)


def _usage_dict(result: ChatResult | JSONResult[Any] | ChatChunk) -> dict[str, Any] | None:
    usage = result.usage
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cost_usd": usage.cost_usd,
    }


def _tool_calls_dict(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in calls
    ]


def _message_dict(result: ChatResult | JSONResult[Any]) -> dict[str, Any]:
    if not isinstance(result, ChatResult):
        return {"role": "assistant", "content": result.raw_text}
    if not result.tool_calls:
        return {"role": "assistant", "content": result.text}
    # OpenAI's shape: no text is content null, and the calls carry their raw arguments.
    return {
        "role": "assistant",
        "content": result.text or None,
        "tool_calls": _tool_calls_dict(result.tool_calls),
    }


def completion_dict(result: ChatResult | JSONResult[Any]) -> dict[str, Any]:
    """Shape a chat or JSON result like an OpenAI ``chat.completion`` object."""
    return {
        "id": result.response_id or f"chatcmpl-{result.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model,
        "provider": result.provider,
        "choices": [
            {
                "index": 0,
                "message": _message_dict(result),
                "finish_reason": _finish(result.finish_reason),
            }
        ],
        "usage": _usage_dict(result),
        "attempts": result.attempts,
        "latency_ms": result.latency_ms,
    }


def json_schema_of(response_format: Any) -> tuple[bool, type[BaseModel] | Mapping[str, Any] | None]:
    """``(wants_json, schema)`` from an OpenAI-style ``response_format`` argument.

    Accepts ``{"type": "text"}``, ``{"type": "json_object"}``,
    ``{"type": "json_schema", "json_schema": {"schema": {...}, ...}}`` and a
    pydantic model class (as the OpenAI SDK's ``parse`` helper does).

    Raises:
        InvalidInputError: Any other value.
    """
    if response_format is None:
        return False, None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        return True, response_format
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "text":
        return False, None
    if kind == "json_object":
        return True, None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if isinstance(schema, Mapping):
            return True, schema
        raise InvalidInputError(
            "response_format of type 'json_schema' needs json_schema.schema (a JSON Schema object)"
        )
    raise InvalidInputError(
        "response_format must be {'type': 'text' | 'json_object' | 'json_schema', ...} or a "
        f"pydantic model class, not {type(response_format).__name__}"
        + (f" of type {kind!r}" if kind is not None else "")
    )


def _delta_dict(piece: ToolCallDelta) -> dict[str, Any]:
    out: dict[str, Any] = {"index": piece.index}
    function: dict[str, Any] = {"arguments": piece.arguments}
    if piece.id is not None:
        out["id"] = piece.id
        out["type"] = "function"
    if piece.name is not None:
        function["name"] = piece.name
    out["function"] = function
    return out


def chunk_dict(chunk: ChatChunk, *, model: str, stream_id: str, first: bool) -> dict[str, Any]:
    """Shape a :class:`ChatChunk` like an OpenAI ``chat.completion.chunk`` object."""
    delta: dict[str, Any] = {}
    if first:
        delta["role"] = "assistant"
    if chunk.text:
        delta["content"] = chunk.text
    if chunk.tool_call_deltas:
        delta["tool_calls"] = [_delta_dict(d) for d in chunk.tool_call_deltas]
    out: dict[str, Any] = {
        "id": stream_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": _finish(chunk.finish_reason)}],
    }
    if chunk.is_final:
        out["usage"] = _usage_dict(chunk)
    return out


class LLMClient:
    """The seed's unified client: ``call``/``acall``/``stream_call``/``astream_call``.

    Args:
        default_model: Model used when a call names none (else the configured default).
        config_path: Runtime config file (else ``INFERENCE_RUNTIME_CONFIG`` or upward search).
        model: Alias of ``default_model`` (the seed accepted both).
        max_tokens: Default output cap for every call.
        reasoning_effort: Default reasoning effort (models that accept it).
        api_key: Key for every provider (overrides configured keys).
        base_url: Endpoint for every provider (overrides configured endpoints).
        inference: A ready :class:`Inference` (tests and embedding apps); skips bootstrap.
    """

    def __init__(
        self,
        default_model: str | None = None,
        config_path: str | None = None,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        inference: Inference | None = None,
    ) -> None:
        self._inference = inference or bootstrap(
            config_path=config_path,
            default_model=default_model or model,
            api_key=api_key,
            base_url=base_url,
        )
        if inference is not None and (default_model or model):
            self._inference.router.default_model = default_model or model
        self._defaults = GenerationParams.parse(
            {"max_tokens": max_tokens, "reasoning_effort": reasoning_effort}
        )
        self._overridden: dict[tuple[str | None, str | None], Inference] = {}

    # -- plumbing ----------------------------------------------------------------------

    @property
    def inference(self) -> Inference:
        """The wired library behind this facade (use-cases, ledger, router)."""
        return self._inference

    @property
    def default_model(self) -> str | None:
        """The model used when a call names none."""
        return self._inference.default_model

    def _for(self, config: ModelConfig | None) -> Inference:
        # A per-call key/endpoint needs its own router (adapters are per connection).
        if config is None or (config.api_key is None and config.base_url is None):
            return self._inference
        secret = config.api_key.get_secret_value() if config.api_key else None
        key = (secret, config.base_url)
        if key not in self._overridden:
            # Same composition (ports, ledger, retry policy, loop); another connection.
            self._overridden[key] = self._inference.with_credentials(
                api_key=config.api_key, base_url=config.base_url
            )
        return self._overridden[key]

    def _call_args(
        self,
        messages: Any,
        model: str | None,
        config: ModelConfig | None,
        kwargs: Mapping[str, Any],
        *,
        stream: bool = False,
    ) -> dict[str, Any]:
        unknown = (
            set(kwargs)
            - _PARAM_KEYS
            - _TOOL_KEYS
            - {"max_completion_tokens", "response_format", "timeout"}
        )
        if unknown:
            raise InvalidInputError(
                f"unsupported argument(s) {sorted(unknown)}; accepted: "
                f"{sorted(_PARAM_KEYS | _TOOL_KEYS)}"
            )
        if stream and json_schema_of(kwargs.get("response_format"))[0]:
            raise InvalidInputError(
                "response_format asking for JSON is not supported when streaming: use call() "
                "or acall(), which return the validated JSON object as the message content"
            )
        given = {k: v for k, v in kwargs.items() if k in _PARAM_KEYS and v is not None}
        if kwargs.get("max_completion_tokens") is not None:
            given["max_tokens"] = kwargs["max_completion_tokens"]
        if isinstance(given.get("stop"), str):
            given["stop"] = (given["stop"],)
        params = GenerationParams.parse(given)
        if config is not None:
            params = params.merged_over(config.generation_params())
        params = params.merged_over(self._defaults)
        if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
            raise InvalidInputError("messages must be a list of {'role': ..., 'content': ...}")
        args: dict[str, Any] = {
            "messages": coerce_messages(messages),
            "model": model or (config.model if config else None),
            "params": params,
            "attempt_timeout": kwargs.get("timeout"),
        }
        args.update({k: kwargs[k] for k in _TOOL_KEYS if kwargs.get(k) is not None})
        return args

    def _sync(self, inference: Inference, coro: Coroutine[Any, Any, T]) -> T:
        return inference.run_sync(coro)

    async def _async(self, inference: Inference, coro: Coroutine[Any, Any, T]) -> T:
        loop = inference.runner.loop
        if asyncio.get_running_loop() is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    @staticmethod
    async def _answer(
        inference: Inference, args: dict[str, Any], kwargs: Mapping[str, Any]
    ) -> ChatResult | JSONResult[Any]:
        # response_format asks for one JSON object (validated against its schema, if any).
        wants_json, schema = json_schema_of(kwargs.get("response_format"))
        if wants_json:
            return await inference.chat_json(**args, schema=schema)
        return await inference.chat_text(**args)

    def _stream_model(self, inference: Inference, model: str | None) -> str:
        try:
            return inference.route(model).model
        except ConfigurationError:
            return model or ""

    # -- the seed's API ------------------------------------------------------------------

    def call(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Call a model and return an OpenAI-shaped ``chat.completion`` dict.

        Accepts seed-style message dicts (``tool`` results and assistant
        ``tool_calls`` included) or :class:`~inference_core.Message` objects, and
        ``temperature``, ``max_tokens`` (or ``max_completion_tokens``), ``top_p``,
        ``stop``, ``seed``, ``reasoning_effort``, ``timeout``, ``tools`` (OpenAI
        tool dicts, ``Tool`` objects, pydantic classes or typed functions),
        ``tool_choice`` (``"auto"``, ``"none"``, ``"required"`` or
        ``{"type": "function", "function": {"name": ...}}``) and
        ``parallel_tool_calls``. A tool-calling answer has
        ``choices[0]["message"]["tool_calls"]`` in OpenAI's shape (arguments
        validated against each tool's schema) and ``finish_reason`` ``tool_calls``.
        """
        inference = self._for(config)
        args = self._call_args(messages, model, config, kwargs)
        return completion_dict(self._sync(inference, self._answer(inference, args, kwargs)))

    async def acall(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Async :meth:`call` (safe from any event loop, including a new one per call)."""
        inference = self._for(config)
        args = self._call_args(messages, model, config, kwargs)
        return completion_dict(await self._async(inference, self._answer(inference, args, kwargs)))

    def stream_call(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Stream a model's answer as OpenAI-shaped ``chat.completion.chunk`` dicts.

        The last chunk has ``finish_reason`` and ``usage``. Closing the iterator
        early closes the provider stream. With ``tools``, calls arrive as
        ``delta["tool_calls"]`` pieces (``index``, then ``id``/``name`` and
        ``arguments`` text to concatenate), as OpenAI streams them.

        The stream stays on the loop its first chunk was read on (the reading
        thread's own loop, or the background loop inside a running loop). Read
        from another thread afterwards (a thread pool serving each chunk), that
        thread runs the same loop for the step, after any call the loop's own
        thread is making there: see :class:`~inference_core.application.sync.PinnedLoop`.
        """
        inference = self._for(config)
        args = self._call_args(messages, model, config, kwargs, stream=True)
        label = self._stream_model(inference, args["model"])
        stream_id = f"chatcmpl-stream-{id(args)}"
        chunks = inference.stream_chat(**args)
        first = True
        # An async generator (and the SDK stream in it) belongs to the loop it started on.
        pinned = inference.runner.pin()
        try:
            while True:
                try:
                    chunk = pinned.run(_next_chunk(chunks))
                except StopAsyncIteration:
                    return
                yield chunk_dict(chunk, model=label, stream_id=stream_id, first=first)
                first = False
        finally:
            try:
                pinned.run(_close_stream(chunks))
            finally:
                pinned.release()

    async def astream_call(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Async :meth:`stream_call`."""
        inference = self._for(config)
        args = self._call_args(messages, model, config, kwargs, stream=True)
        label = self._stream_model(inference, args["model"])
        stream_id = f"chatcmpl-stream-{id(args)}"
        chunks = inference.stream_chat(**args)
        first = True
        try:
            while True:
                try:
                    chunk = await self._async(inference, _next_chunk(chunks))
                except StopAsyncIteration:
                    return
                yield chunk_dict(chunk, model=label, stream_id=stream_id, first=first)
                first = False
        finally:
            await self._async(inference, _close_stream(chunks))

    def _chat_text_call(
        self,
        system_prompt: str,
        user_prompt: str,
        model: str | None,
        max_tokens: int | None,
        reasoning_effort: ReasoningEffort | None,
    ) -> Coroutine[Any, Any, ChatResult]:
        params = GenerationParams.parse(
            {"max_tokens": max_tokens, "reasoning_effort": reasoning_effort}
        )
        return self._inference.chat_text(
            system=system_prompt or None,
            user=user_prompt,
            model=model,
            params=params.merged_over(self._defaults),
        )

    def _chat_json_call(
        self,
        system_prompt: str,
        user_prompt: str,
        model: str | None,
        max_tokens: int | None,
        reasoning_effort: ReasoningEffort | None,
        schema: type[BaseModel] | Mapping[str, Any] | None,
    ) -> Coroutine[Any, Any, JSONResult[Any]]:
        params = GenerationParams.parse(
            {"max_tokens": max_tokens, "reasoning_effort": reasoning_effort}
        )
        return self._inference.chat_json(
            system=system_prompt or None,
            user=user_prompt,
            model=model,
            schema=schema,
            params=params.merged_over(self._defaults),
        )

    async def chat_text(
        self,
        system_prompt: str,
        user_prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = None,
    ) -> str:
        """Return the model's text answer to a system + user prompt (a coroutine, as in the seed).

        Safe from any event loop; ``asyncio.gather`` several to run them concurrently.
        """
        call = self._chat_text_call(system_prompt, user_prompt, model, max_tokens, reasoning_effort)
        return (await self._async(self._inference, call)).text

    async def chat_json(
        self,
        system_prompt: str,
        user_prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        schema: type[BaseModel] | Mapping[str, Any] | None = None,
    ) -> Any:
        """Return exactly one JSON object from the model (a coroutine, as in the seed).

        Returns a ``dict`` when no schema is given, an instance of a pydantic
        ``schema``, or the validated value of a JSON Schema dict.

        Raises:
            OutputValidationError: The output never parsed/validated, even after re-asking;
                the message shows line, column and a caret under the error.
        """
        call = self._chat_json_call(
            system_prompt, user_prompt, model, max_tokens, reasoning_effort, schema
        )
        return (await self._async(self._inference, call)).value

    def chat_text_sync(
        self,
        system_prompt: str,
        user_prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = None,
    ) -> str:
        """:meth:`chat_text` for synchronous code (blocks the calling thread until it is done)."""
        call = self._chat_text_call(system_prompt, user_prompt, model, max_tokens, reasoning_effort)
        return self._sync(self._inference, call).text

    def chat_json_sync(
        self,
        system_prompt: str,
        user_prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        schema: type[BaseModel] | Mapping[str, Any] | None = None,
    ) -> Any:
        """:meth:`chat_json` for synchronous code."""
        call = self._chat_json_call(
            system_prompt, user_prompt, model, max_tokens, reasoning_effort, schema
        )
        return self._sync(self._inference, call).value

    def get_available_models(self) -> list[str]:
        """Every model id the catalog knows (built-in plus configured and registered)."""
        return list(self._inference.catalog)

    def get_model_info(self, model: str | None = None) -> ModelInfo | None:
        """Catalog facts for ``model`` (default model when omitted), ``None`` if unknown."""
        name = model or self.default_model
        return ModelRegistry(self._inference.catalog).get_model(name) if name else None

    def close(self) -> None:
        """Close pooled connections and stop the client's loops (per thread and background)."""
        for inference in (self._inference, *self._overridden.values()):
            inference.close()

    async def aclose(self) -> None:
        """:meth:`close` for async code (it blocks, so it runs in a worker thread)."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GPT5ChatClient(LLMClient):
    """The seed's GPT-5 client: ``max_completion_tokens`` + ``reasoning_effort`` style.

    Routing already sends GPT-5 family models through the ``gpt5_http`` path
    (which drops the sampling parameters GPT-5 rejects); this class only sets
    GPT-5 defaults.
    """

    def __init__(
        self,
        default_model: str | None = "gpt-5",
        config_path: str | None = None,
        *,
        model: str | None = None,
        max_completion_tokens: int | None = None,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = "medium",
        api_key: str | None = None,
        base_url: str | None = None,
        inference: Inference | None = None,
    ) -> None:
        super().__init__(
            default_model,
            config_path,
            model=model,
            max_tokens=max_completion_tokens or max_tokens,
            reasoning_effort=reasoning_effort,
            api_key=api_key,
            base_url=base_url,
            inference=inference,
        )
