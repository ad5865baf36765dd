"""Pure mapping from a :class:`~inference_core.domain.chat.ChatRequest` to Messages API kwargs.

No SDK import here, so the request shape is testable without the ``anthropic``
package.

Rules:

* System and developer messages become the top-level ``system`` field and
  consecutive same-role messages are merged
  (:func:`~inference_core.adapters.anthropic.wire.to_anthropic`).
* ``max_tokens`` is required by the API: the request's value, else
  :data:`DEFAULT_MAX_TOKENS`.
* ``stop`` becomes ``stop_sequences``.
* ``temperature`` and ``top_p`` are never sent: API version 2026-10-21 (the one
  the 2.x SDK speaks) rejects sampling parameters with a 400, even at defaults.
* ``json_schema`` becomes structured output,
  ``output_config.format = {"type": "json_schema", "schema": ...}``. JSON mode
  (``json_object``, with or without a schema) has no Anthropic equivalent and the
  adapter does not declare it: nothing is sent and the caller asks for JSON in
  the prompt.
* ``seed`` and ``reasoning_effort`` are not sent (the adapter declares neither):
  the Messages API has no seed, and ``output_config.effort`` is accepted by a
  few models only, so sending it blindly would turn working calls into 400s.
* ``tools`` become ``[{"name", "description", "input_schema"}]``; ``tool_choice``
  ``auto`` / ``none`` / ``required`` / a named tool become ``{"type": "auto"}`` /
  ``{"type": "none"}`` / ``{"type": "any"}`` / ``{"type": "tool", "name": ...}``;
  ``parallel_tool_calls=False`` is ``disable_parallel_tool_use: true`` inside
  ``tool_choice`` (``auto`` when no choice was given).
"""

from __future__ import annotations

from typing import Any

from inference_core.adapters.anthropic.wire import to_anthropic
from inference_core.domain.chat import ChatRequest, ResponseFormat
from inference_core.domain.tools import Tool

__all__ = ["DEFAULT_MAX_TOKENS", "messages_kwargs", "output_format_param", "tool_kwargs"]

_CHOICE = {"auto": "auto", "none": "none", "required": "any", "tool": "tool"}


def _tool(tool: Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        out["description"] = tool.description
    return out


def tool_kwargs(request: ChatRequest) -> dict[str, Any]:
    """``tools`` and ``tool_choice`` for ``request`` (empty without tools)."""
    if not request.tools:
        return {}
    kwargs: dict[str, Any] = {"tools": [_tool(t) for t in request.tools]}
    choice = request.tool_choice
    out: dict[str, Any] | None = None
    if choice is not None:
        out = {"type": _CHOICE[choice.mode]}
        if choice.name is not None:
            out["name"] = choice.name
    if request.parallel_tool_calls is False and (out is None or out["type"] != "none"):
        out = out or {"type": "auto"}
        out["disable_parallel_tool_use"] = True
    if out is not None:
        kwargs["tool_choice"] = out
    return kwargs


#: ``max_tokens`` sent when the request sets none (the API requires a value).
DEFAULT_MAX_TOKENS = 4096


def output_format_param(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    """``output_config.format`` for ``fmt``: structured output for ``json_schema`` only."""
    if fmt is None or fmt.type != "json_schema" or fmt.schema_ is None:
        return None
    return {"type": "json_schema", "schema": fmt.schema_}


def messages_kwargs(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """Keyword arguments for ``messages.create`` (unset values are left out).

    Raises:
        InvalidMessageError: A message cannot be expressed in the Messages API
            (audio, an image in a system prompt).
    """
    params = request.params
    system, messages = to_anthropic(request.messages)
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
    }
    if system:
        kwargs["system"] = system
    if params.stop:
        kwargs["stop_sequences"] = list(params.stop)
    output_format = output_format_param(request.response_format)
    if output_format is not None:
        kwargs["output_config"] = {"format": output_format}
    kwargs.update(tool_kwargs(request))
    if stream:
        kwargs["stream"] = True
    return kwargs
