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
* ``tools`` become ``[{"type": "function", "function": {name, description,
  parameters, strict?}}]``; ``tool_choice`` is ``"auto"``, ``"none"``,
  ``"required"`` or ``{"type": "function", "function": {"name": ...}}``;
  ``parallel_tool_calls`` is sent when set (the API refuses it without tools).
  A ``tool`` message's ``name`` is not sent (the API takes none there).
"""

from __future__ import annotations

from typing import Any

from inference_core.domain.chat import ChatRequest, ResponseFormat
from inference_core.domain.tools import ToolChoice
from inference_core.domain.wire import to_openai

__all__ = [
    "chat_kwargs",
    "openai_messages",
    "response_format_param",
    "tool_choice_param",
    "tool_kwargs",
]


def tool_choice_param(choice: ToolChoice) -> str | dict[str, Any]:
    """OpenAI's ``tool_choice`` for ``choice``."""
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def openai_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The ``messages`` list (tool results without the ``name`` the API does not take)."""
    messages = to_openai(request.messages)
    for message in messages:
        if message["role"] == "tool":
            message.pop("name", None)
    return messages


def tool_kwargs(request: ChatRequest) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls`` (empty without tools)."""
    if not request.tools:
        return {}
    kwargs: dict[str, Any] = {"tools": [tool.to_openai() for tool in request.tools]}
    if request.tool_choice is not None:
        kwargs["tool_choice"] = tool_choice_param(request.tool_choice)
    if request.parallel_tool_calls is not None:
        kwargs["parallel_tool_calls"] = request.parallel_tool_calls
    return kwargs


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
    kwargs: dict[str, Any] = {"model": request.model, "messages": openai_messages(request)}
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
    kwargs.update(tool_kwargs(request))
    if stream:
        kwargs["stream"] = True
        if stream_usage:
            kwargs["stream_options"] = {"include_usage": True}
    return kwargs
