"""Test doubles shipped with the library, for your tests and ours.

* :class:`FakeChatModel` plays a script of replies, streams and errors and
  records every request in ``calls``.
* :class:`FunctionChatModel` answers with your function.
* :class:`FakeMediaGenerator` writes deterministic, decodable media files and
  records requests.

They honour the same contracts as the real adapters (``tests/contract`` runs
them through the same suites): one attempt per call, a final stream chunk with
usage and a finish reason, domain errors only.
"""

from __future__ import annotations

import array
import asyncio
import hashlib
import inspect
import io
import math
import struct
import wave
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeAlias

from pydantic import Field

from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse, FinishReason, Usage
from inference_core.domain.errors import InvalidResponse
from inference_core.domain.generator_input import GeneratorInput, input_schema
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
)
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolCallAssembler, split_arguments
from inference_core.ports.media import AssetStore, ProgressCallback

__all__ = [
    "FAKE_CAPABILITIES",
    "FakeChatModel",
    "FakeMediaGenerator",
    "FakeMediaInput",
    "FunctionChatModel",
    "ScriptItem",
    "fake_usage",
    "tool_call_response",
]

#: One scripted answer: a text, a full response (tool calls included), an error to
#: raise, or a literal list of stream chunks (an exception inside the list is raised
#: at that point).
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
    tools=True,
    parallel_tool_calls=True,
    forced_tool_choice=True,
    tool_call_streaming=True,
)


def tool_call_response(
    *calls: ToolCall, text: str = "", model: str = "fake", usage: Usage | None = None
) -> ChatResponse:
    """A script item asking for ``calls`` (finish reason ``tool_calls``).

    Example:
        >>> FakeChatModel(tool_call_response(ToolCall(id="c1", name="f", arguments="{}")), "ok")
        ... # doctest: +SKIP
    """
    words = len(text.split()) + sum(len(c.arguments.split()) for c in calls)
    return ChatResponse(
        text=text,
        model=model,
        finish_reason=FinishReason.TOOL_CALLS,
        usage=usage or Usage(input_tokens=1, output_tokens=max(words, 1)),
        tool_calls=calls,
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
    # Tool calls stream as the real adapters stream them: a call's arguments in pieces.
    for index, call in enumerate(response.tool_calls):
        chunks.extend(ChatChunk(tool_call_deltas=(d,)) for d in split_arguments(call, index))
    chunks.append(
        ChatChunk(
            finish_reason=response.finish_reason,
            usage=response.usage,
            tool_calls=response.tool_calls,
        )
    )
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
        calls = ToolCallAssembler()
        for chunk in item:
            if isinstance(chunk, BaseException):
                raise chunk
            text.append(chunk.text)
            calls.extend(chunk.tool_call_deltas)
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
            tool_calls=final.tool_calls or calls.complete(),
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


class FakeMediaInput(GeneratorInput):
    """What :class:`FakeMediaGenerator` accepts (strict, like every generator input)."""

    width: int = Field(default=64, ge=1, le=4096)
    height: int = Field(default=64, ge=1, le=4096)
    duration_s: float = Field(default=1.0, gt=0, le=60)
    seed: int | None = None


class FakeMediaGenerator:
    """A deterministic :class:`~inference_core.ports.MediaGenerator` writing real files.

    Images are real PNGs (solid colour derived from the prompt, the asked
    size), audio real WAVs (a tone of the asked duration), video a real MP4
    (needs PyAV, the ``media`` extra). Same request, same bytes. Requests are
    recorded in ``calls``; ``script`` holds exceptions to raise on the next
    attempts, in order (e.g. a ``RateLimitError`` then success), and
    ``usage`` what each success reports.
    """

    input_model = FakeMediaInput

    def __init__(
        self,
        generator_id: str = "fake_image_generator",
        kind: MediaKind = MediaKind.IMAGE,
        *,
        count: int = 1,
        script: Iterable[BaseException] = (),
        cost_usd: float | None = 0.0,
        provider: str = "fake",
    ) -> None:
        self._info = GeneratorInfo(
            id=generator_id,
            kind=kind,
            name=f"Fake {kind.value} generator",
            provider=provider,
            capabilities=(_FAKE_CAPABILITY[kind],),
            input_schema=input_schema(FakeMediaInput),
            output_schema={"type": "array", "items": {"type": "object"}},
        )
        self._count = count
        self._cost = cost_usd
        self.script: deque[BaseException] = deque(script)
        self.calls: list[GenerationRequest] = []

    @property
    def info(self) -> GeneratorInfo:
        """Identity and the schema this fake enforces."""
        return self._info

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Store ``count`` deterministic files (or raise the next scripted error)."""
        self.calls.append(request)
        params = FakeMediaInput.model_validate(request.params)
        if self.script:
            raise self.script.popleft()
        kind = self._info.kind
        assets = []
        for index in range(self._count):
            if on_progress is not None:
                on_progress(index / self._count, "generating")
            seed = hashlib.sha256(f"{self._info.id}|{request.prompt}|{index}".encode()).digest()
            name = request.name or f"{self._info.id}-{index}"
            if kind is MediaKind.VIDEO:
                scratch = store.scratch_path(".mp4")
                await asyncio.to_thread(_write_mp4, scratch, params, seed)
                assets.append(await store.commit(scratch, name=name, kind=kind))
            else:
                data = _png(params, seed) if kind is MediaKind.IMAGE else _wav(params, seed)
                assets.append(await store.save(data, name=name, kind=kind))
        if on_progress is not None:
            on_progress(1.0, "done")
        seconds = params.duration_s * self._count if kind is not MediaKind.IMAGE else 0.0
        usage = MediaUsage(
            images=self._count if kind is MediaKind.IMAGE else 0,
            seconds=seconds,
            characters=len(request.text or "") if kind is MediaKind.AUDIO else 0,
            cost_usd=self._cost,
        )
        return GenerationOutput(assets=tuple(assets), usage=usage)


_FAKE_CAPABILITY = {
    MediaKind.IMAGE: Capability.TEXT_TO_IMAGE,
    MediaKind.VIDEO: Capability.TEXT_TO_VIDEO,
    MediaKind.AUDIO: Capability.TEXT_TO_SPEECH,
}


def _png(params: FakeMediaInput, seed: bytes) -> bytes:
    """A valid RGB PNG of one colour (stdlib only: zlib + crc32)."""
    row = b"\x00" + seed[:3] * params.width
    raw = zlib.compress(row * params.height)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", params.width, params.height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _wav(params: FakeMediaInput, seed: bytes) -> bytes:
    """A valid 16 kHz mono WAV: a tone whose pitch comes from the seed."""
    rate = 16_000
    frequency = 220 + seed[0] * 2
    frames = int(params.duration_s * rate)
    samples = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * frequency * n / rate)) for n in range(frames))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def _write_mp4(path: Path, params: FakeMediaInput, seed: bytes) -> None:
    import av  # the media extra; only the video fake needs it

    width, height = params.width + params.width % 2, params.height + params.height % 2
    fps = 10
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frame_rgb = bytes(seed[:3]) * (width * height)
        for _ in range(max(1, round(params.duration_s * fps))):
            image = av.VideoFrame(width, height, "rgb24")
            image.planes[0].update(frame_rgb)
            for packet in stream.encode(image.reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
