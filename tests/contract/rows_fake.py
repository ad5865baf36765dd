"""The row for :class:`~inference_core.adapters.fakes.FakeChatModel` (no wire at all).

Server faults have domain twins here: the row plays the server's scheduling
(a status fault leaves the scripted reply for the next call; a cut or an error
event consumes it) and pushes the domain error the adapters would raise into
the fake's script just before each call. Everything else - chunking, usage, the
final chunk, raising - is the shipped fake's own behaviour.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

from inference_core.adapters.fakes import FakeChatModel, ScriptItem
from inference_core.adapters.http_errors import error_for_status
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse, FinishReason, Usage
from inference_core.domain.errors import (
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolCallDelta
from inference_core.ports.chat import ChatModel
from tests.contract.harness import ChatHarness, DomainView
from tests.servers import FakeServer, Fault
from tests.servers.errors import error_body
from tests.servers.state import ScriptedCall, argument_pieces, normalize_usage
from tests.servers.text import word_pieces

Mode = Literal["complete", "stream"]
_PROVIDER = "fake"


def domain_calls(calls: Sequence[Mapping[str, Any]]) -> tuple[ToolCall, ...]:
    """Scripted ``{"id", "name", "arguments"}`` calls as domain tool calls."""
    scripted = (ScriptedCall.of(c, i) for i, c in enumerate(calls))
    return tuple(ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in scripted)


def _error_fields(body: Any) -> tuple[str, str | None]:
    inner = body.get("error", body) if isinstance(body, Mapping) else body
    if isinstance(inner, Mapping):
        words = " ".join(str(inner[k]) for k in ("type", "code") if inner.get(k))
        return str(inner.get("message") or ""), (words or None)
    return str(inner or ""), None


def _status_error(status: int, fault: Fault) -> ProviderError:
    body = fault.body if fault.body is not None else error_body("openai", status, fault.message)
    message, code = _error_fields(body)
    return error_for_status(
        status, message, provider=_PROVIDER, model=None, headers=fault.headers, code=code
    )


class _Reply:
    def __init__(
        self,
        text: str,
        usage: Mapping[str, int] | None,
        finish: str | None,
        calls: tuple[ToolCall, ...] = (),
    ) -> None:
        self.text = text
        self.usage = usage
        self.finish = finish
        self.calls = calls

    def item(self, request: ChatRequest) -> ScriptItem:
        if self.calls:
            words = len(self.text.split()) + sum(len(c.arguments.split()) for c in self.calls)
            return ChatResponse(
                text=self.text,
                model=request.model,
                finish_reason=FinishReason.TOOL_CALLS,
                usage=Usage(input_tokens=1, output_tokens=words),
                tool_calls=self.calls,
            )
        if self.usage is None and self.finish is None:
            return self.text
        counts = normalize_usage(self.usage)
        usage = Usage(
            input_tokens=counts.get("prompt_tokens", 1),
            output_tokens=counts.get("completion_tokens", len(self.text.split())),
            cached_tokens=counts.get("cached_tokens"),
            cache_write_tokens=counts.get("cache_creation_tokens"),
            reasoning_tokens=counts.get("reasoning_tokens"),
        )
        return ChatResponse(
            text=self.text,
            model=request.model,
            finish_reason=FinishReason(self.finish or "stop"),
            usage=usage,
        )


class _ScheduledFake:
    """Moves the row's next planned item into a real FakeChatModel, then delegates to it."""

    def __init__(self, row: FakeRow, fake: FakeChatModel, *, unreachable: bool) -> None:
        self._row = row
        self.fake = fake
        self._unreachable = unreachable

    @property
    def capabilities(self) -> AdapterCapabilities:
        return self.fake.capabilities

    def _schedule(self, request: ChatRequest, mode: Mode) -> None:
        if self._unreachable:
            self.fake.push(ProviderUnavailable("connection refused", provider=_PROVIDER))
            return
        item = self._row.next_item(request, mode)
        if item is not None:
            self.fake.push(item)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self._schedule(request, "complete")
        return await self.fake.complete(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        self._schedule(request, "stream")
        async for chunk in self.fake.stream(request):
            yield chunk

    async def aclose(self) -> None:
        await self.fake.aclose()


class FakeRow:
    """FakeChatModel as a contract row."""

    name = "fake"
    protocol = "domain"
    tool_wire = "domain"
    view = DomainView()

    def __init__(self) -> None:
        self._replies: deque[_Reply] = deque()
        self._faults: deque[list[Any]] = deque()  # [fault, remaining uses]
        self._models: list[_ScheduledFake] = []

    def __repr__(self) -> str:
        return "<row fake>"

    def attach(self, server: FakeServer) -> None:
        del server  # nothing travels over the wire
        self._replies.clear()
        self._faults.clear()
        self._models = []

    def build(
        self, *, api_key: str | None = None, unreachable: bool = False, **options: Any
    ) -> ChatModel:
        del api_key  # the fake needs none
        model = _ScheduledFake(self, FakeChatModel(**options), unreachable=unreachable)
        self._models.append(model)
        return model

    def capabilities(self) -> AdapterCapabilities:
        return FakeChatModel().capabilities

    def reply(
        self,
        text: str,
        *,
        usage: Mapping[str, int] | None = None,
        finish_reason: str | None = None,
    ) -> None:
        normalize_usage(usage)  # same key check as the server
        self._replies.append(_Reply(text, usage, finish_reason))

    def fault(self, fault: Fault) -> None:
        self._faults.append([fault, max(fault.count, 1)])

    def reply_tools(self, calls: Sequence[Mapping[str, Any]], *, text: str = "") -> None:
        self._replies.append(_Reply(text, None, None, domain_calls(calls)))

    def next_item(self, request: ChatRequest, mode: Mode) -> ScriptItem | None:
        """What the server would do with this call, as a script item for the fake."""
        if self._faults:
            entry = self._faults[0]
            entry[1] -= 1
            if entry[1] <= 0:
                self._faults.popleft()
            return self._fault_item(entry[0], request, mode)
        if self._replies:
            return self._replies.popleft().item(request)
        return None

    def _fault_item(self, fault: Fault, request: ChatRequest, mode: Mode) -> ScriptItem:
        if fault.drop:
            return ProviderUnavailable("server disconnected", provider=_PROVIDER)
        if fault.delay > 0:
            return ProviderTimeout("timed out waiting for the provider", provider=_PROVIDER)
        if fault.status is not None:
            return _status_error(fault.status, fault)
        if fault.raw_body is not None:
            return InvalidResponse("malformed response body", provider=_PROVIDER)
        reply = self._replies.popleft() if self._replies else None
        text = reply.text if reply else "Echo: " + request.messages[-1].text
        if fault.cut_after_chunks is not None:
            if mode == "complete":
                return ProviderUnavailable("connection lost mid-body", provider=_PROVIDER)
            error: ProviderError = InvalidResponse(
                "stream ended before its terminator", provider=_PROVIDER, retryable=True
            )
            delivered = fault.cut_after_chunks
        else:
            assert fault.error_event_after_chunks is not None
            mid_stream = error_for_status(
                529, fault.message or "Overloaded", provider=_PROVIDER, model=None
            )
            if mode == "complete":
                return _status_error(500, fault)
            mid_stream.status = None
            error = mid_stream
            delivered = fault.error_event_after_chunks
        chunks = [ChatChunk(text=p) for p in word_pieces(text)]
        for index, call in enumerate(reply.calls if reply else ()):
            # The servers' shape: the call's id and name, then its arguments 8 characters at once.
            chunks.append(
                ChatChunk(
                    tool_call_deltas=(ToolCallDelta(index=index, id=call.id, name=call.name),)
                )
            )
            chunks.extend(
                ChatChunk(tool_call_deltas=(ToolCallDelta(index=index, arguments=piece),))
                for piece in argument_pieces(call.arguments)
            )
        return [*chunks[:delivered], error]

    def last_request(self) -> dict[str, Any]:
        calls = [c for m in self._models for c in m.fake.calls]
        assert calls, "the fake saw no request"
        return calls[-1].model_dump(by_alias=True)

    def request_count(self) -> int:
        return sum(len(m.fake.calls) for m in self._models)

    def open_connections(self) -> int | None:
        return None

    def pace_stream(self, seconds_per_chunk: float) -> None:
        del seconds_per_chunk  # nothing is in flight

    def supports(self, feature: str) -> bool:
        return feature == "content_filter_finish"

    async def aclose(self) -> None:
        models, self._models = self._models, []
        for model in models:
            await model.aclose()


ROWS: list[ChatHarness] = [FakeRow()]
