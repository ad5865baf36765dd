"""Requests to and answers from chat models, and token usage.

Unknown numbers are ``None``, never ``0``: a provider that sends no usage gives
``Usage(input_tokens=None, ...)`` and an unknown price gives ``cost_usd=None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inference_core.domain.errors import InvalidParameterError
from inference_core.domain.messages import Message, ToolCall
from inference_core.domain.tools import Tool, ToolCallDelta, ToolChoice

__all__ = [
    "ChatChunk",
    "ChatRequest",
    "ChatResponse",
    "FinishReason",
    "GenerationParams",
    "ReasoningEffort",
    "ResponseFormat",
    "Usage",
    "schema_name",
    "token_count",
]

ReasoningEffort = Literal["minimal", "low", "medium", "high"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class FinishReason(StrEnum):
    """Why the model stopped producing output."""

    STOP = "stop"
    """Natural end or a stop sequence."""
    LENGTH = "length"
    """The output hit ``max_tokens``."""
    CONTENT_FILTER = "content_filter"
    """A content policy cut the output."""
    TOOL_CALLS = "tool_calls"
    """The model asked for tools to be called."""
    UNKNOWN = "unknown"
    """The provider gave no (or an unrecognised) reason."""

    @classmethod
    def from_openai(cls, raw: object) -> FinishReason:
        """Map the OpenAI chat-completions vocabulary (the one OpenAI-compatible servers use)."""
        return _OPENAI_FINISH.get(raw, cls.UNKNOWN) if isinstance(raw, str) else cls.UNKNOWN


_OPENAI_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
}


def token_count(value: object) -> int | None:
    """A reported token count, or ``None`` when absent or not an integer (a bool is not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class GenerationParams(BaseModel):
    """Sampling and length parameters; ``None`` means "provider default"."""

    model_config = _FROZEN
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    reasoning_effort: ReasoningEffort | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> GenerationParams:
        """Build params from a caller's values, failing with the library's own error.

        Raises:
            InvalidParameterError: A value is out of bounds, of the wrong type or
                unknown; the message names the parameter, the value and the bound.
        """
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise InvalidParameterError.from_validation(exc) from None

    def merged_over(self, defaults: GenerationParams) -> GenerationParams:
        """Return these params with unset fields taken from ``defaults``."""
        own = self.model_dump(exclude_defaults=True)
        return defaults.model_copy(update=own) if own else defaults


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def schema_name(raw: str) -> str:
    """A schema name every structured-output API accepts (``[A-Za-z0-9_-]{1,64}``)."""
    return _NAME_CHARS.sub("_", raw).strip("_")[:64] or "output"


class ResponseFormat(BaseModel):
    """Requested output format.

    ``json_object`` asks for any JSON object; ``json_schema`` asks for output
    valid against ``schema``. How (or whether) a schema reaches the provider
    depends on the model's declared JSON capability; the adapter maps it.
    """

    model_config = _FROZEN
    type: Literal["text", "json_object", "json_schema"] = "text"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    name: str = "output"
    strict: bool = True

    @field_validator("name")
    @classmethod
    def _acceptable_name(cls, value: str) -> str:
        # One place makes the name valid for every provider (OpenAI, LiteLLM...).
        return schema_name(value)

    @model_validator(mode="after")
    def _schema_when_needed(self) -> ResponseFormat:
        if self.type == "json_schema" and self.schema_ is None:
            raise ValueError("response format 'json_schema' needs a 'schema'")
        return self


class ChatRequest(BaseModel):
    """Everything a :class:`~inference_core.ports.ChatModel` needs for one call.

    ``model`` is the id the provider's API expects (already resolved by routing).
    ``timeout`` bounds one HTTP attempt in seconds (``None``: adapter default).
    ``tools`` are the tools the model may call; ``tool_choice`` (``None``: the
    provider's default, ``auto``) and ``parallel_tool_calls`` (``None``: the
    provider's default) apply only with tools.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    model: str
    messages: tuple[Message, ...]
    params: GenerationParams = GenerationParams()
    response_format: ResponseFormat | None = None
    timeout: float | None = Field(default=None, gt=0)
    stream_usage: bool = Field(
        default=True,
        description="Ask for usage at the end of a stream (off for models declaring none).",
    )
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None

    @model_validator(mode="after")
    def _tool_choice_fits_the_tools(self) -> ChatRequest:
        if not self.tools and self.tool_choice is None:
            return self
        names = [tool.name for tool in self.tools]
        if len(set(names)) != len(names):
            raise ValueError("tool names must be unique within a request")
        choice = self.tool_choice
        if choice is not None and choice.forced and not self.tools:
            raise ValueError(f"tool_choice {choice.mode!r} needs tools")
        if choice is not None and choice.name is not None and choice.name not in names:
            raise ValueError(f"tool_choice names {choice.name!r}, which is not among the tools")
        return self

    @property
    def offers_tools(self) -> bool:
        """True when the model may call a tool (tools given and tool_choice is not ``none``)."""
        return bool(self.tools) and (self.tool_choice is None or self.tool_choice.mode != "none")


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _cost_sum(a: Usage, b: Usage) -> float | None:
    # Tokens spent at an unknown price make the total unknown; an empty Usage adds nothing.
    if (a.cost_usd is None and a.is_known) or (b.cost_usd is None and b.is_known):
        return None
    if a.cost_usd is None and b.cost_usd is None:
        return None
    return (a.cost_usd or 0.0) + (b.cost_usd or 0.0)


class Usage(BaseModel):
    """Token counts and cost of one call (or a sum of calls).

    Attributes:
        input_tokens: Prompt tokens, including cached ones.
        output_tokens: Completion tokens, including reasoning tokens.
        cached_tokens: Prompt tokens served from the provider's cache.
        cache_write_tokens: Prompt tokens written to the provider's cache.
        reasoning_tokens: Output tokens spent on hidden reasoning.
        cost_usd: Cost in US dollars; ``None`` when any price involved is unknown.
        estimated: True when token counts were estimated locally, not reported.
    """

    model_config = _FROZEN
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    estimated: bool = False

    @property
    def total_tokens(self) -> int | None:
        """Input plus output tokens, or ``None`` when neither is known."""
        return _add(self.input_tokens, self.output_tokens)

    @property
    def is_known(self) -> bool:
        """True when the provider reported (or we estimated) token counts."""
        return self.input_tokens is not None or self.output_tokens is not None

    @property
    def is_empty(self) -> bool:
        """True for ``Usage()``: no counts, no cost, not estimated (it adds nothing to a sum)."""
        return (
            self.input_tokens is None
            and self.output_tokens is None
            and self.cached_tokens is None
            and self.cache_write_tokens is None
            and self.reasoning_tokens is None
            and self.cost_usd is None
            and not self.estimated
        )

    def __add__(self, other: Usage) -> Usage:
        """Sum two usages; the cost stays known only while every priced part is known."""
        # A call's running total starts empty: its first attempt's usage IS the sum.
        if other.is_empty:
            return self
        if self.is_empty:
            return other
        return Usage(
            input_tokens=_add(self.input_tokens, other.input_tokens),
            output_tokens=_add(self.output_tokens, other.output_tokens),
            cached_tokens=_add(self.cached_tokens, other.cached_tokens),
            cache_write_tokens=_add(self.cache_write_tokens, other.cache_write_tokens),
            reasoning_tokens=_add(self.reasoning_tokens, other.reasoning_tokens),
            cost_usd=_cost_sum(self, other),
            estimated=self.estimated or other.estimated,
        )


class ChatResponse(BaseModel):
    """A complete (non-streamed) answer from a chat model.

    ``tool_calls`` are the calls the model asked for, in order (their
    ``arguments`` are the raw JSON text, not yet validated).
    """

    model_config = _FROZEN
    text: str
    model: str
    finish_reason: FinishReason = FinishReason.UNKNOWN
    usage: Usage = Usage()
    response_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


class ChatChunk(BaseModel):
    """One piece of a streamed answer.

    Text arrives in ``text`` deltas, tool calls in ``tool_call_deltas`` pieces
    (see :class:`~inference_core.domain.tools.ToolCallDelta`). The last chunk of
    every stream carries a ``finish_reason`` and ``usage`` (whose fields may be
    ``None`` when the provider did not report them), the answer's complete
    ``tool_calls`` reassembled from the pieces, and usually no text.
    """

    model_config = _FROZEN
    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    tool_call_deltas: tuple[ToolCallDelta, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def is_final(self) -> bool:
        """True for the closing chunk of a stream."""
        return self.finish_reason is not None

    @property
    def is_empty(self) -> bool:
        """True for a non-final chunk that carries nothing (no text, no tool-call piece)."""
        return not self.text and not self.tool_call_deltas and not self.is_final
