"""Chat-completions bodies (decoded JSON) -> domain objects, with no SDK in between.

Pure functions over ``dict``/``list`` values as a JSON decoder returns them, so
every shape rule is testable without a network. A body that breaks a rule
raises :class:`WireShapeError`; the adapter turns it into
:class:`~inference_core.domain.errors.InvalidResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference_core.domain.chat import ChatResponse, FinishReason, Usage, token_count
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolCallDelta

__all__ = [
    "ErrorAnswer",
    "WireShapeError",
    "refusal_of",
    "response_from_body",
    "stream_deltas",
    "usage_from_body",
]


class WireShapeError(ValueError):
    """A decoded body is not the shape the protocol defines (the text says where)."""


class ErrorAnswer(Exception):
    """The server's error answer (an HTTP error status, or an error event in a stream).

    Chained as the ``__cause__`` of the domain error built from it, as an SDK
    exception would be, so a traceback shows what the server said.

    Attributes:
        status: The HTTP status (``None`` for an error event inside a 200 stream).
        body: The error body or event data as text, with the API key masked.
    """

    def __init__(self, status: int | None, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}" if status is not None else body)
        self.status = status
        self.body = body


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireShapeError(f"{where} is {type(value).__name__}, not an object")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireShapeError(f"{where} is {type(value).__name__}, not a list")
    return value


def usage_from_body(raw: object) -> Usage:
    """Domain usage from a ``usage`` object (``None`` where a count is absent or not an int)."""
    if not isinstance(raw, Mapping):
        return Usage()
    prompt = raw.get("prompt_tokens_details")
    completion = raw.get("completion_tokens_details")
    prompt = prompt if isinstance(prompt, Mapping) else {}
    completion = completion if isinstance(completion, Mapping) else {}
    return Usage(
        input_tokens=token_count(raw.get("prompt_tokens")),
        output_tokens=token_count(raw.get("completion_tokens")),
        cached_tokens=token_count(prompt.get("cached_tokens")),
        cache_write_tokens=token_count(prompt.get("cache_write_tokens")),
        reasoning_tokens=token_count(completion.get("reasoning_tokens")),
    )


def _text(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise WireShapeError(f"{where} is {type(value).__name__}, not a string")


def _tool_calls(raw: object) -> tuple[ToolCall, ...]:
    calls = []
    for i, call in enumerate(_list(raw, "message.tool_calls")):
        call = _mapping(call, f"message.tool_calls[{i}]")
        function = call.get("function")
        if function is None:
            continue  # a non-function tool type: nothing this library can run
        function = _mapping(function, f"message.tool_calls[{i}].function")
        name = _text(function.get("name"), f"message.tool_calls[{i}].function.name")
        if not name:
            raise WireShapeError(f"message.tool_calls[{i}] has no function name")
        calls.append(
            ToolCall(
                id=str(call.get("id") or ""),
                name=name,
                arguments=_text(function.get("arguments"), "arguments") or "{}",
            )
        )
    return tuple(calls)


def refusal_of(message: Mapping[str, Any]) -> str | None:
    """The model's refusal text, when it sent one instead of an answer."""
    refusal = message.get("refusal")
    return refusal if isinstance(refusal, str) and refusal else None


def response_from_body(body: object, requested_model: str) -> tuple[ChatResponse, str | None]:
    """The answer in a non-streamed body, and the refusal text when the model refused.

    Raises:
        WireShapeError: No ``choices``; a first choice whose message has no
            content, tool calls or refusal; a field of the wrong type.
    """
    body = _mapping(body, "the body")
    choices = _list(body.get("choices"), "choices")
    if not choices:
        raise WireShapeError("no choices")
    choice = _mapping(choices[0], "choices[0]")
    message = _mapping(choice.get("message"), "choices[0].message")
    text = _text(message.get("content"), "choices[0].message.content")
    calls = _tool_calls(message.get("tool_calls"))
    refusal = refusal_of(message)
    if text is None and not calls and refusal is None:
        raise WireShapeError("choices[0].message has no content, tool_calls or refusal")
    model = body.get("model")
    response_id = body.get("id")
    return (
        ChatResponse(
            text=text or "",
            model=model if isinstance(model, str) and model else requested_model,
            finish_reason=FinishReason.from_openai(choice.get("finish_reason")),
            usage=usage_from_body(body.get("usage")),
            response_id=response_id if isinstance(response_id, str) and response_id else None,
            tool_calls=calls,
        ),
        refusal,
    )


def _tool_call_deltas(raw: object) -> tuple[ToolCallDelta, ...]:
    pieces: list[ToolCallDelta] = []
    for call in _list(raw, "delta.tool_calls"):
        call = _mapping(call, "delta.tool_calls[]")
        function = call.get("function")
        function = function if isinstance(function, Mapping) else {}
        index = call.get("index")
        pieces.append(
            ToolCallDelta(
                index=index if isinstance(index, int) else len(pieces),
                id=call.get("id") or None,
                name=function.get("name") or None,
                arguments=function.get("arguments") or "",
            )
        )
    return tuple(pieces)


def stream_deltas(
    choice: Mapping[str, Any],
) -> tuple[str, tuple[ToolCallDelta, ...], str | None, FinishReason | None]:
    """(text, tool-call pieces, refusal piece, finish reason) of one streamed choice."""
    delta = choice.get("delta")
    if delta is None:
        delta = {}
    delta = _mapping(delta, "choices[].delta")
    text = _text(delta.get("content"), "delta.content") or ""
    pieces = _tool_call_deltas(delta.get("tool_calls")) if delta.get("tool_calls") else ()
    refusal = delta.get("refusal")
    finish = choice.get("finish_reason")
    return (
        text,
        pieces,
        refusal if isinstance(refusal, str) and refusal else None,
        None if finish is None else FinishReason.from_openai(finish),
    )
