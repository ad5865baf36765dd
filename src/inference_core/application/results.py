"""What the chat use-cases return: frozen values describing the answer and how it was obtained."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from inference_core.domain.catalog import JSONOutput
from inference_core.domain.chat import FinishReason, Usage
from inference_core.domain.media import GeneratedMedia, MediaUsage
from inference_core.domain.messages import Message, ToolCall

__all__ = ["CallInfo", "ChatResult", "FailedAttempt", "JSONResult", "MediaResult"]

T = TypeVar("T")


class CallInfo(BaseModel):
    """How one logical call went, whatever it returned.

    Attributes:
        model: Catalog id of the model that produced the answer (a fallback's, if one served).
        provider: Provider that served it.
        client: Client path (adapter) that served it.
        finish_reason: Why the final answer stopped.
        usage: Usage summed over EVERY attempt of the call (retries, re-asks and
            fallbacks included): what the call cost, not only the last answer.
        attempts: Model-call attempts made, over every model tried.
        latency_ms: Wall time of the whole call, retries and waits included.
        request_id: Shared by the call's ``inference.call`` events and usage events.
        response_id: The provider's id for the final answer, when it gave one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str
    provider: str
    client: str
    finish_reason: FinishReason = FinishReason.UNKNOWN
    usage: Usage = Usage()
    attempts: int = 1
    latency_ms: float = 0.0
    request_id: str
    response_id: str | None = None


class ChatResult(CallInfo):
    """The answer of :class:`~inference_core.application.ChatText`.

    Attributes:
        text: The answer's text (empty when the model only called tools).
        tool_calls: The tool calls of the answer, as the model sent them
            (``finish_reason`` is then ``tool_calls``). With a tool loop they
            are empty: the loop ran every call and this is the final answer.
        tool_arguments: The validated arguments of each call, in the same
            order: an instance of the tool's pydantic model (tools built from a
            model or a function) or the parsed JSON (schema-only tools).
        tool_rounds: Tool rounds the tool loop ran (0 without one).
        transcript: The conversation as sent last, plus the final answer: with
            a tool loop, every tool-calling answer and tool result included.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_arguments: tuple[Any, ...] = ()
    tool_rounds: int = 0
    transcript: tuple[Message, ...] = ()

    @property
    def message(self) -> Message:
        """The answer as an assistant message (its tool calls included), to continue from."""
        return Message.assistant(self.text, tool_calls=self.tool_calls or None)


class FailedAttempt(BaseModel):
    """One answer that did not parse or validate (and was re-asked).

    Attributes:
        raw_text: What the model answered.
        error: Why it was rejected (parse error with a caret, or validation errors).
        usage: That answer's usage.
        model: The model that answered.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    raw_text: str
    error: str
    usage: Usage = Usage()
    model: str


class JSONResult(CallInfo, Generic[T]):
    """The answer of :class:`~inference_core.application.ChatJSON`.

    Attributes:
        value: The validated value: an instance of the requested pydantic model,
            or the parsed JSON (a ``dict`` when no schema was given).
        raw_text: The text the value was parsed from.
        failed_attempts: Answers rejected before this one, oldest first.
        strategy: How JSON output was requested from the model that answered.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    value: T
    raw_text: str
    failed_attempts: tuple[FailedAttempt, ...] = ()
    strategy: JSONOutput


class MediaResult(BaseModel):
    """What one generation produced and how it went.

    Attributes:
        files: The stored, measured files (at least one).
        usage: What the successful attempt consumed and cost (failed attempts
            of a provider that bills only successes cost nothing).
        attempts: Attempts made (1 unless a retryable error was retried).
        latency_ms: Wall time of the whole call, retries and waits included.
        request_id: Shared by the call's ``inference.media`` events.
        provider_request_id: The provider's id for the job, when it gave one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    generator_id: str
    provider: str
    files: tuple[GeneratedMedia, ...]
    usage: MediaUsage = MediaUsage()
    attempts: int = 1
    latency_ms: float = 0.0
    request_id: str
    provider_request_id: str | None = None
