"""Test doubles shipped with the library, for your tests and ours.

* :class:`FakeChatModel` plays a script of replies, streams and errors and
  records every request in ``calls``.
* :class:`FunctionChatModel` answers with your function.
* :class:`FakeMediaGenerator` returns deterministic media and records requests.

They honour the same contracts as the real adapters (``tests/contract`` runs
them through the same suites): one attempt per call, a final stream chunk with
usage and a finish reason, domain errors only.
"""

from __future__ import annotations

import hashlib
import inspect
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeAlias

from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse, FinishReason, Usage
from inference_core.domain.errors import InvalidGeneratorInput, InvalidResponse
from inference_core.domain.media import (
    GeneratedMedia,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
)
from inference_core.ports.media import ProgressCallback

__all__ = [
    "FakeChatModel",
    "FakeMediaGenerator",
    "FunctionChatModel",
    "ScriptItem",
    "fake_usage",
]

#: One scripted answer: a text, a full response, an error to raise, or a literal
#: list of stream chunks (an exception inside the list is raised at that point).
ScriptItem: TypeAlias = str | ChatResponse | BaseException | Sequence[ChatChunk | BaseException]

_ALL_JSON = tuple(JSONOutput)
FAKE_CAPABILITIES = AdapterCapabilities(
    streaming=True,
    json_outputs=_ALL_JSON,
    images=True,
    image_urls=True,
    audio_input=True,
    reasoning_effort=True,
    seed=True,
    stop=True,
    usage_fields=("input_tokens", "output_tokens"),
)


def _words(text: str) -> int:
    return len(text.split())


def fake_usage(request: ChatRequest, text: str) -> Usage:
    """Deterministic usage: one token per whitespace-separated word (prompt at least 1)."""
    prompt = sum(_words(m.text) for m in request.messages)
    return Usage(input_tokens=max(prompt, 1), output_tokens=_words(text))


def _echo(request: ChatRequest) -> str:
    last_user = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
    return f"Echo: {last_user}"


def _chunks_for(request: ChatRequest, response: ChatResponse) -> list[ChatChunk]:
    words = response.text.split(" ")
    deltas = [w if i == 0 else f" {w}" for i, w in enumerate(words)] if response.text else []
    chunks = [ChatChunk(text=d) for d in deltas]
    chunks.append(ChatChunk(finish_reason=response.finish_reason, usage=response.usage))
    return chunks


class FakeChatModel:
    """A scripted :class:`~inference_core.ports.ChatModel`.

    Each call takes the next script item (see :data:`ScriptItem`); when the
    script is empty it echoes the last user message (``"Echo: ..."``), or
    ``default_text`` when given. Every request is appended to ``calls``.

    Example:
        >>> model = FakeChatModel("first answer", RateLimitError("slow down"))
    """

    def __init__(
        self,
        *script: ScriptItem,
        default_text: str | None = None,
        capabilities: AdapterCapabilities = FAKE_CAPABILITIES,
    ) -> None:
        self._script: deque[ScriptItem] = deque(script)
        self._default_text = default_text
        self._capabilities = capabilities
        self.calls: list[ChatRequest] = []
        self.closed = False

    @property
    def capabilities(self) -> AdapterCapabilities:
        """Everything enabled, so use-cases can exercise every strategy."""
        return self._capabilities

    def push(self, *items: ScriptItem) -> None:
        """Append items to the script."""
        self._script.extend(items)

    @property
    def pending(self) -> int:
        """Script items not yet consumed."""
        return len(self._script)

    def _next(self, request: ChatRequest) -> ScriptItem:
        self.calls.append(request)
        if self._script:
            return self._script.popleft()
        return self._default_text if self._default_text is not None else _echo(request)

    def _respond(self, request: ChatRequest, text: str) -> ChatResponse:
        return ChatResponse(
            text=text,
            model=request.model,
            finish_reason=FinishReason.STOP,
            usage=fake_usage(request, text),
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Return (or raise) the next script item."""
        item = self._next(request)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ChatResponse):
            return item
        if isinstance(item, str):
            return self._respond(request, item)
        # A scripted stream consumed whole: join its text, honour errors and the final chunk.
        text, final = [], None
        for chunk in item:
            if isinstance(chunk, BaseException):
                raise chunk
            text.append(chunk.text)
            final = chunk if chunk.is_final else final
        if final is None:
            raise InvalidResponse(
                "scripted stream ended without a final chunk", model=request.model
            )
        return ChatResponse(
            text="".join(text),
            model=request.model,
            finish_reason=final.finish_reason or FinishReason.UNKNOWN,
            usage=final.usage or Usage(),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Yield the next script item as chunks (a literal chunk list is played as is)."""
        item = self._next(request)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, str):
            chunks: Iterable[ChatChunk | BaseException] = _chunks_for(
                request, self._respond(request, item)
            )
        elif isinstance(item, ChatResponse):
            chunks = _chunks_for(request, item)
        else:
            chunks = item
        for chunk in chunks:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk

    async def aclose(self) -> None:
        """Mark the fake closed (tests can assert on ``closed``)."""
        self.closed = True


ChatFunction: TypeAlias = Callable[
    [ChatRequest], "str | ChatResponse | Awaitable[str | ChatResponse]"
]


class FunctionChatModel:
    """A :class:`~inference_core.ports.ChatModel` that answers with your function.

    ``fn(request)`` returns a text or a :class:`ChatResponse`, sync or async;
    exceptions it raises propagate (raise domain errors to simulate failures).
    Streams split the answer on spaces and end with a usage chunk.
    """

    def __init__(
        self, fn: ChatFunction, *, capabilities: AdapterCapabilities = FAKE_CAPABILITIES
    ) -> None:
        self._fn = fn
        self._capabilities = capabilities
        self.calls: list[ChatRequest] = []

    @property
    def capabilities(self) -> AdapterCapabilities:
        """Everything enabled unless given otherwise."""
        return self._capabilities

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Call the function and wrap a plain text answer."""
        self.calls.append(request)
        result = self._fn(request)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, ChatResponse):
            return result
        return ChatResponse(
            text=result,
            model=request.model,
            finish_reason=FinishReason.STOP,
            usage=fake_usage(request, result),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the function's answer word by word."""
        response = await self.complete(request)
        for chunk in _chunks_for(request, response):
            yield chunk

    async def aclose(self) -> None:
        """Nothing to release."""


_FAKE_MIME = {
    MediaKind.IMAGE: "image/png",
    MediaKind.VIDEO: "video/mp4",
    MediaKind.AUDIO: "audio/wav",
}


class FakeMediaGenerator:
    """A deterministic :class:`~inference_core.ports.MediaGenerator`.

    It validates ``params`` keys against its input schema's ``properties``
    (unknown keys and missing ``required`` keys raise
    :class:`InvalidGeneratorInput`), returns ``count`` artefacts whose bytes are
    derived from the prompt (same prompt, same bytes), and records requests in
    ``calls``. Script failures with ``fail_with``.
    """

    def __init__(
        self,
        generator_id: str = "fake_image_generator",
        kind: MediaKind = MediaKind.IMAGE,
        *,
        input_schema: dict[str, Any] | None = None,
        count: int = 1,
        fail_with: BaseException | None = None,
    ) -> None:
        schema = input_schema or {
            "type": "object",
            "properties": {"seed": {"type": "integer"}},
            "additionalProperties": False,
        }
        self._info = GeneratorInfo(
            id=generator_id,
            kind=kind,
            name=f"Fake {kind.value} generator",
            capabilities=(f"text_to_{kind.value}",),
            input_schema=schema,
            output_schema={"type": "array", "items": {"type": "object"}},
        )
        self._count = count
        self.fail_with = fail_with
        self.calls: list[GenerationRequest] = []

    @property
    def info(self) -> GeneratorInfo:
        """Identity and the schema this fake enforces."""
        return self._info

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> list[GeneratedMedia]:
        """Return ``count`` deterministic artefacts (or raise ``fail_with``)."""
        self.calls.append(request)
        schema = self._info.input_schema
        problems = [
            f"missing parameter {k!r}"
            for k in schema.get("required", ())
            if k not in request.params
        ]
        if schema.get("additionalProperties", True) is False:
            allowed = set(schema.get("properties", {}))
            problems += [f"unknown parameter {k!r}" for k in request.params if k not in allowed]
        if problems:
            raise InvalidGeneratorInput(self._info.id, problems)
        if self.fail_with is not None:
            raise self.fail_with
        out = []
        for index in range(self._count):
            if progress is not None:
                progress(index / self._count, "generating")
            seed = f"{self._info.id}|{request.prompt}|{index}".encode()
            out.append(
                GeneratedMedia(
                    kind=self._info.kind,
                    mime_type=_FAKE_MIME[self._info.kind],
                    data=hashlib.sha256(seed).digest() * 4,
                    metadata={"generator": self._info.id, "index": index},
                )
            )
        if progress is not None:
            progress(1.0, "done")
        return out
