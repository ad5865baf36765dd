"""Pure mapping from a :class:`~inference_core.domain.chat.ChatRequest` to chat-completions kwargs.

No SDK import here: these functions build plain dicts, so the request shape is
testable without a network or the ``openai`` package.

Rules:

* ``openai_sdk``: ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``,
  ``reasoning_effort`` are sent when set.
* ``gpt5_sdk`` (GPT-5 family): ``max_completion_tokens`` replaces ``max_tokens``;
  ``temperature`` and ``top_p`` are never sent, because those models reject them.
* ``response_format`` (see :func:`response_format_param`): ``json_schema`` becomes
  OpenAI structured output; ``json_object`` becomes JSON mode, and a
  ``json_object`` that carries a schema becomes llama.cpp's
  ``{"type": "json_object", "schema": ...}``.
"""

from __future__ import annotations

from typing import Any

from inference_core.domain.chat import ChatRequest, ResponseFormat
from inference_core.domain.wire import to_openai

__all__ = ["chat_kwargs", "response_format_param"]


def response_format_param(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    """The ``response_format`` value for ``fmt`` (``None``: send nothing).

    ``json_schema`` maps to ``{"type": "json_schema", "json_schema": {name, schema,
    strict}}``; ``json_object`` without a schema to ``{"type": "json_object"}``;
    ``json_object`` with a schema to the llama.cpp form ``{"type": "json_object",
    "schema": {...}}`` (a grammar-constrained JSON mode).
    """
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": fmt.name,  # made acceptable by ResponseFormat itself
                "schema": fmt.schema_,
                "strict": fmt.strict,
            },
        }
    if fmt.schema_ is not None:
        return {"type": "json_object", "schema": fmt.schema_}
    return {"type": "json_object"}


def chat_kwargs(
    request: ChatRequest, *, gpt5: bool, stream: bool, stream_usage: bool
) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create`` (unset values are left out).

    Args:
        request: The domain request.
        gpt5: Use the GPT-5 rules (``max_completion_tokens``, no sampling params).
        stream: Ask for a streamed answer.
        stream_usage: When streaming, ask for a final usage chunk
            (``stream_options.include_usage``).
    """
    params = request.params
    kwargs: dict[str, Any] = {"model": request.model, "messages": to_openai(request.messages)}
    if params.max_tokens is not None:
        kwargs["max_completion_tokens" if gpt5 else "max_tokens"] = params.max_tokens
    if not gpt5:
        if params.temperature is not None:
            kwargs["temperature"] = params.temperature
        if params.top_p is not None:
            kwargs["top_p"] = params.top_p
    if params.stop:
        kwargs["stop"] = list(params.stop)
    if params.seed is not None:
        kwargs["seed"] = params.seed
    if params.reasoning_effort is not None:
        kwargs["reasoning_effort"] = params.reasoning_effort
    response_format = response_format_param(request.response_format)
    if response_format is not None:
        kwargs["response_format"] = response_format
    if stream:
        kwargs["stream"] = True
        if stream_usage:
            kwargs["stream_options"] = {"include_usage": True}
    return kwargs
