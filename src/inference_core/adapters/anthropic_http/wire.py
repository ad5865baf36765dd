"""Messages API bodies and stream events (decoded JSON) -> domain objects, no SDK.

Pure functions over ``dict``/``list`` values as a JSON decoder returns them. A
body or event that breaks the protocol raises :class:`WireShapeError` naming the
field; the adapter turns it into :class:`~inference_core.domain.errors.InvalidResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from inference_core.adapters.openai_http.wire import WireShapeError
from inference_core.domain.chat import ChatResponse, FinishReason, Usage, token_count
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolCallAssembler, ToolCallDelta

__all__ = [
    "MessageStream",
    "WireShapeError",
    "finish_reason",
    "response_from_body",
    "usage_from_body",
]

_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}


def finish_reason(raw: object) -> FinishReason:
    """The domain finish reason for a ``stop_reason``."""
    return _FINISH.get(raw, FinishReason.UNKNOWN) if isinstance(raw, str) else FinishReason.UNKNOWN


def _sum(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def usage_from_body(raw: object) -> Usage:
    """Domain usage from a ``usage`` object.

    Anthropic's ``input_tokens`` excludes cache reads and writes; the domain's
    ``input_tokens`` is every prompt token, so the three are added up.
    """
    if not isinstance(raw, Mapping):
        return Usage()
    fresh = token_count(raw.get("input_tokens"))
    read = token_count(raw.get("cache_read_input_tokens"))
    written = token_count(raw.get("cache_creation_input_tokens"))
    details = raw.get("output_tokens_details")
    thinking = details.get("thinking_tokens") if isinstance(details, Mapping) else None
    return Usage(
        input_tokens=_sum(fresh, read, written) if fresh is not None else None,
        output_tokens=token_count(raw.get("output_tokens")),
        cached_tokens=read,
        cache_write_tokens=written,
        reasoning_tokens=token_count(thinking),
    )


def _string(block: Mapping[str, Any], name: str, where: str) -> str:
    value = block.get(name)
    if not isinstance(value, str):
        shown = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise WireShapeError(f"{where}.{name}: {shown}")
    return value


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireShapeError(f"{where} is {type(value).__name__}, not an object")
    return value


def response_from_body(body: object, requested_model: str) -> ChatResponse:
    """The answer in a non-streamed Messages body.

    Raises:
        WireShapeError: ``content`` is not a list of typed blocks, or a block
            lacks a field its type requires.
    """
    body = _mapping(body, "the body")
    content = body.get("content")
    if not isinstance(content, list):
        raise WireShapeError(f"content: expected a list of blocks, got {type(content).__name__}")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for index, block in enumerate(content):
        where = f"content[{index}]"
        block = _mapping(block, where)
        kind = block.get("type")
        if kind == "text":
            texts.append(_string(block, "text", where))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                ToolCall(
                    id=_string(block, "id", where),
                    name=_string(block, "name", where),
                    arguments=arguments,
                )
            )
        elif not isinstance(kind, str):
            raise WireShapeError(f"{where}: a block without a type")
    model = body.get("model")
    response_id = body.get("id")
    return ChatResponse(
        text="".join(texts),
        model=model if isinstance(model, str) and model else requested_model,
        finish_reason=finish_reason(body.get("stop_reason")),
        usage=usage_from_body(body.get("usage")),
        response_id=response_id if isinstance(response_id, str) and response_id else None,
        tool_calls=tuple(calls),
    )


def _merge(start: Usage, delta: Usage) -> Usage:
    """``message_start`` usage overridden by the cumulative ``message_delta`` counts."""
    fields = {k: v for k, v in delta.model_dump().items() if v is not None}
    return start.model_copy(update=fields) if fields else start


class MessageStream:
    """Folds the events of one Messages stream; the adapter yields what :meth:`feed` returns."""

    __slots__ = ("_call_of_block", "_final_usage", "_start_usage", "calls", "finish", "stopped")

    def __init__(self) -> None:
        self._start_usage = Usage()
        self._final_usage: Usage | None = None
        self.finish: FinishReason | None = None
        self.stopped = False
        self.calls = ToolCallAssembler()
        self._call_of_block: dict[int, int] = {}  # content block index -> tool call ordinal

    @property
    def usage(self) -> Usage:
        """The stream's usage so far (start counts merged with the last delta)."""
        if self._final_usage is None:
            return self._start_usage
        return _merge(self._start_usage, self._final_usage)

    def feed(self, event: Mapping[str, Any]) -> tuple[str, tuple[ToolCallDelta, ...]]:
        """Fold one decoded event; return the text and tool-call pieces it carries.

        Raises:
            WireShapeError: An event missing what its type requires.
        """
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = _mapping(event.get("delta"), "content_block_delta.delta")
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                text = delta.get("text")
                if not isinstance(text, str):
                    raise WireShapeError("content_block_delta: a text_delta without text")
                return text, ()
            if delta_type == "input_json_delta":
                known = self._call_of_block.get(event.get("index"))  # type: ignore[arg-type]
                piece = delta.get("partial_json")
                if known is None or not isinstance(piece, str):
                    raise WireShapeError(
                        "content_block_delta: an input_json_delta outside a tool_use block"
                    )
                if not piece:
                    return "", ()
                more = ToolCallDelta(index=known, arguments=piece)
                self.calls.add(more)
                return "", (more,)
        elif kind == "content_block_start":
            block = _mapping(event.get("content_block"), "content_block_start.content_block")
            if block.get("type") == "tool_use":
                index = event.get("index")
                ordinal = self._call_of_block[index if isinstance(index, int) else -1] = len(
                    self._call_of_block
                )
                start = ToolCallDelta(
                    index=ordinal,
                    id=_string(block, "id", "content_block_start"),
                    name=_string(block, "name", "content_block_start"),
                )
                self.calls.add(start)
                return "", (start,)
        elif kind == "message_start":
            message = event.get("message")
            if isinstance(message, Mapping):
                self._start_usage = usage_from_body(message.get("usage"))
        elif kind == "message_delta":
            final = event.get("delta")
            stop = final.get("stop_reason") if isinstance(final, Mapping) else None
            self.finish = finish_reason(stop)
            self._final_usage = usage_from_body(event.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        return "", ()
