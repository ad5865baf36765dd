"""OpenAI text-to-speech (``POST /v1/audio/speech``), streamed into the asset store.

The answer is read with the SDK's streaming response and handed to the store
chunk by chunk: no audio file is ever held whole in memory.

Long texts: the endpoint takes at most 4096 characters. A longer text is split
at sentence ends (then at whitespace for a sentence that is itself too long,
then anywhere for a "word" that long) into chunks of at most 4096 characters;
each chunk is synthesised, in order, to a scratch file of the store, and the
parts are joined *as audio* by :func:`inference_core.adapters.media.av_ops.concat_audio`
(decoded and re-encoded as one continuous stream: concatenating MP3/Ogg/FLAC/
WAV files byte by byte gives a file whose headers describe only the first part).
Each chunk is one HTTP attempt; a failing chunk fails the generation (the
use-case retries it whole) and leaves no scratch file behind.

``pcm``: OpenAI's ``pcm`` is headerless 24 kHz, 16-bit signed little-endian,
mono samples. A headerless file cannot be recognised from its bytes, so the
store (which sniffs every file) could not accept it; the samples are written
unchanged inside a WAV header (a ``audio/wav`` file holding exactly the PCM
the API sent). With several chunks the PCM bodies are simply appended: raw PCM
has no header, no framing and no encoder delay, every chunk has the same
sample format, so byte concatenation *is* sample concatenation.

The SDK is imported when a generator is built, not when this module loads.
"""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import Field, SecretStr, model_validator

from inference_core.adapters.media._common import (
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_TIMEOUT_S,
    OpenAIClients,
    option_float,
    option_int,
    option_str,
    parse_params,
    report,
    require_key,
    with_default_model,
)
from inference_core.adapters.media.published import Published
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidGeneratorInput,
    MediaTooLarge,
    ProviderError,
    UnexpectedMediaType,
)
from inference_core.domain.generator_input import GeneratorInput, input_schema
from inference_core.domain.media import (
    SNIFF_BYTES,
    Capability,
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
    StoredAsset,
    kind_of_mime,
    sniff_mime,
)
from inference_core.ports.media import AssetStore, ProgressCallback
from inference_core.ports.plugins import GeneratorContext, GeneratorPlugin, requires

if TYPE_CHECKING:
    import openai

__all__ = [
    "GENERATOR_ID",
    "MAX_INPUT_CHARS",
    "PCM_SAMPLE_RATE",
    "PLUGIN",
    "SPEECH_PRICES",
    "OpenAISpeechGenerator",
    "OpenAISpeechInput",
    "speech_cost",
    "split_text",
]

GENERATOR_ID = "openai_tts"
_PROVIDER = "openai"

#: The most characters ``/v1/audio/speech`` accepts in one ``input``.
MAX_INPUT_CHARS = 4096
#: OpenAI's ``pcm`` format: 24 kHz, 16-bit signed little-endian, mono.
PCM_SAMPLE_RATE = 24_000
_PCM_SAMPLE_WIDTH = 2
_PCM_CHANNELS = 1

#: USD per million input characters; models priced otherwise (gpt-4o-mini-tts bills
#: text and audio tokens, not characters) are absent, so their cost is unknown.
SPEECH_PRICES: Mapping[str, float] = {"tts-1": 15.0, "tts-1-hd": 30.0}

_Model = Literal["tts-1", "tts-1-hd", "gpt-4o-mini-tts"]
_Format = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
_DEFAULT_MODEL: _Model = "tts-1"
#: Consumes one response body.
_Sink = Callable[[AsyncIterator[bytes]], Awaitable[None]]
# Scratch file suffix per format (opus comes in an Ogg container, aac as ADTS).
_SUFFIX: Mapping[str, str] = {
    "mp3": ".mp3",
    "opus": ".ogg",
    "aac": ".aac",
    "flac": ".flac",
    "wav": ".wav",
    "pcm": ".wav",
}
_READ_CHUNK = 64 * 1024

# A sentence ends after . ! ? or an ellipsis (also CJK full stops) followed by whitespace.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026\u3002\uff01\uff1f])(?=\s)")
_WORD_BREAK = re.compile(r"(?=\s)")


def speech_cost(model: str, characters: int) -> float | None:
    """USD cost of ``characters`` spoken by ``model``; ``None`` when the price is unknown."""
    price = SPEECH_PRICES.get(model)
    return None if price is None else round(characters * price / 1_000_000, 6)


def _pack(pieces: Sequence[str], limit: int) -> list[str]:
    """Greedily join consecutive pieces (each <= limit) into chunks of at most ``limit``."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if len((current + piece).strip()) <= limit:
            current += piece
            continue
        if current.strip():
            chunks.append(current.strip())
        current = piece
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _fit(piece: str, limit: int, pattern: re.Pattern[str] | None) -> list[str]:
    """``piece`` cut at ``pattern`` (or anywhere when ``None``) into parts of at most ``limit``."""
    if len(piece.strip()) <= limit:
        return [piece]
    if pattern is None:
        return [piece[start : start + limit] for start in range(0, len(piece), limit)]
    parts: list[str] = []
    for part in pattern.split(piece):
        parts.extend(_fit(part, limit, None))
    return parts


def split_text(text: str, limit: int = MAX_INPUT_CHARS) -> list[str]:
    """``text`` in chunks of at most ``limit`` characters, cut at sentence ends when possible.

    A sentence longer than ``limit`` is cut at whitespace; a run of ``limit``
    characters without any whitespace is cut where it must be. Whitespace
    inside a chunk is kept as written; each chunk is stripped at its ends.
    """
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    for sentence in _SENTENCE_BREAK.split(text):
        if len(sentence.strip()) <= limit:
            pieces.append(sentence)
        else:
            pieces.extend(_pack(_fit(sentence, limit, _WORD_BREAK), limit))
    return _pack(pieces, limit)


class OpenAISpeechInput(GeneratorInput):
    """Parameters of :class:`OpenAISpeechGenerator` (``request.params``)."""

    model: _Model = Field(_DEFAULT_MODEL, description="OpenAI speech model.")
    voice: Literal[
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
    ] = Field("alloy", description="The voice to speak with.")
    response_format: _Format = Field(
        "mp3",
        description=(
            "Audio encoding; 'pcm' (24 kHz 16-bit mono samples) is stored in a WAV header."
        ),
    )
    speed: float | None = Field(
        None,
        ge=0.25,
        le=4.0,
        description="Speaking speed (1.0 is normal); the model's default when omitted.",
    )
    instructions: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_INPUT_CHARS,
        description="How to speak (tone, accent, pace); gpt-4o-mini-tts only.",
    )

    @model_validator(mode="after")
    def _instructions_need_gpt4o(self) -> OpenAISpeechInput:
        if self.instructions is not None and not self.model.startswith("gpt-4o-mini-tts"):
            raise ValueError(
                f"instructions are only supported by gpt-4o-mini-tts, not {self.model!r}"
            )
        return self


class OpenAISpeechGenerator(Published[OpenAISpeechInput]):
    """OpenAI speech models (``tts-1``, ``tts-1-hd``, ``gpt-4o-mini-tts``) behind the port.

    Args:
        api_key: The OpenAI key; ``None`` for a keyless OpenAI-compatible server.
        model: The default ``model`` parameter (the published schema's default).
        base_url: The API root (default ``https://api.openai.com/v1``).
        timeout: Seconds one call may wait for the answer (per chunk of text).
        max_output_bytes: Size cap of the stored audio file (and of each part).
        http_client: An ``httpx2.AsyncClient`` for the SDK (the caller owns and
            closes it); by default each ``generate`` builds and closes its own.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str | None,
        model: str = _DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        http_client: Any | None = None,
    ) -> None:
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._secret = secret or None
        self._base_url = base_url
        self._timeout = timeout
        self._max_bytes = max_output_bytes
        self._clients = OpenAIClients(
            api_key=self._secret, base_url=base_url, timeout=timeout, http_client=http_client
        )
        self._input_model = with_default_model(OpenAISpeechInput, model)
        self._info = GeneratorInfo(
            id=GENERATOR_ID,
            kind=MediaKind.AUDIO,
            name="OpenAI Text-to-Speech",
            description="OpenAI speech synthesis (tts-1, tts-1-hd, gpt-4o-mini-tts)",
            provider=_PROVIDER,
            capabilities=(Capability.TEXT_TO_SPEECH,),
            input_schema=input_schema(self._input_model),
            output_mime_types=("audio/mpeg", "audio/ogg", "audio/aac", "audio/flac", "audio/wav"),
        )

    def __repr__(self) -> str:
        return f"OpenAISpeechGenerator(base_url={self._base_url!r})"

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Speak ``request.text`` (or ``request.prompt``) into one stored audio file."""
        params = parse_params(GENERATOR_ID, self._input_model, request.params)
        if request.capability not in (None, Capability.TEXT_TO_SPEECH):
            raise InvalidGeneratorInput(
                GENERATOR_ID, [f"capability {request.capability!r} is not supported"]
            )
        text = request.text if request.text is not None else (request.prompt or "")
        chunks = split_text(text)
        if not chunks:
            raise InvalidGeneratorInput(GENERATOR_ID, ["the text to speak is empty"])
        name = request.name or GENERATOR_ID
        report(on_progress, 0.0, f"synthesising {len(text)} characters in {len(chunks)} part(s)")
        client, extra_headers = self._clients.get()
        session = _Session(self, client, extra_headers, params)
        if len(chunks) == 1 and params.response_format != "pcm":
            asset = await session.stream_to_store(chunks[0], store, name)
        else:
            asset = await session.parts_to_store(chunks, store, name, on_progress)
        report(on_progress, 1.0, f"stored {Path(asset.path).name}")
        return GenerationOutput(
            assets=(asset,),
            usage=MediaUsage(characters=len(text), cost_usd=speech_cost(params.model, len(text))),
            provider_request_id=session.request_ids[0] if session.request_ids else None,
            metadata={
                "model": params.model,
                "voice": params.voice,
                "response_format": params.response_format,
                "parts": len(chunks),
                "request_ids": [rid for rid in session.request_ids if rid],
            },
        )


class _Session:
    """One generation's calls: the SDK client, the parameters, the request ids seen."""

    def __init__(
        self,
        owner: OpenAISpeechGenerator,
        client: openai.AsyncOpenAI,
        extra_headers: dict[str, Any] | None,
        params: OpenAISpeechInput,
    ) -> None:
        self._owner = owner
        self._client = client
        self._extra_headers = extra_headers
        self._params = params
        self.request_ids: list[str | None] = []

    @property
    def _limit(self) -> int:
        return self._owner._max_bytes

    def _kwargs(self, text: str) -> dict[str, Any]:
        params = self._params
        kwargs: dict[str, Any] = {
            "model": params.model,
            "voice": params.voice,
            "input": text,
            "response_format": params.response_format,
        }
        if params.speed is not None:
            kwargs["speed"] = params.speed
        if params.instructions is not None:
            kwargs["instructions"] = params.instructions
        if self._extra_headers is not None:
            kwargs["extra_headers"] = self._extra_headers
        return kwargs

    def _error(self, exc: BaseException, *, in_stream: bool) -> ProviderError:
        import openai

        from inference_core.adapters.http_errors import connection_failure
        from inference_core.adapters.openai.errors import map_openai_error

        model = self._params.model
        secret = self._owner._secret
        if isinstance(exc, openai.OpenAIError):
            return map_openai_error(
                exc, provider=_PROVIDER, model=model, secret=secret, in_stream=in_stream
            )
        return connection_failure(
            exc, provider=_PROVIDER, model=model, secret=secret, in_stream=in_stream
        )

    async def _body(self, response: Any) -> AsyncIterator[bytes]:
        """The response body, with transport failures mapped to domain errors where they occur."""
        import httpx2
        import openai

        try:
            async for chunk in response.iter_bytes(_READ_CHUNK):
                yield chunk
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise self._error(exc, in_stream=True) from exc

    async def _speak(self, text: str, sink: _Sink) -> None:
        """One HTTP attempt for ``text``; the body goes to ``sink`` as it arrives."""
        import httpx2
        import openai

        create = self._client.audio.speech.with_streaming_response.create
        try:
            async with create(**self._kwargs(text)) as response:
                self.request_ids.append(response.request_id)
                await sink(self._body(response))
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise self._error(exc, in_stream=False) from exc

    async def stream_to_store(self, text: str, store: AssetStore, name: str) -> StoredAsset:
        """One chunk of text: the answer streams straight into the store."""
        saved: list[StoredAsset] = []

        async def sink(body: AsyncIterator[bytes]) -> None:
            saved.append(
                await store.save(body, name=name, kind=MediaKind.AUDIO, max_bytes=self._limit)
            )

        await self._speak(text, sink)
        return saved[0]

    async def parts_to_store(
        self,
        chunks: Sequence[str],
        store: AssetStore,
        name: str,
        on_progress: ProgressCallback | None,
    ) -> StoredAsset:
        """Several chunks (or pcm): each to a scratch file, joined as audio, committed."""
        fmt = self._params.response_format
        scratch: list[Path] = []
        try:
            if fmt == "pcm":
                output = store.scratch_path(".wav")
                scratch.append(output)
                with wave.open(str(output), "wb") as wav:
                    wav.setnchannels(_PCM_CHANNELS)
                    wav.setsampwidth(_PCM_SAMPLE_WIDTH)
                    wav.setframerate(PCM_SAMPLE_RATE)
                    for index, text in enumerate(chunks):
                        await self._speak(text, _PcmSink(wav, name, self._limit))
                        _part_done(on_progress, index, len(chunks))
            else:
                for index, text in enumerate(chunks):
                    part = store.scratch_path(_SUFFIX[fmt])
                    scratch.append(part)
                    await self._speak(text, _FileSink(part, name, self._limit))
                    _check_audio(part, name)
                    _part_done(on_progress, index, len(chunks))
                output = store.scratch_path(_SUFFIX[fmt])
                scratch.append(output)
                await _concat(scratch[:-1], output, fmt)
            return await store.commit(
                output, name=name, kind=MediaKind.AUDIO, max_bytes=self._limit
            )
        finally:
            for path in scratch:
                await asyncio.to_thread(path.unlink, missing_ok=True)


class _FileSink:
    """Writes a body to a scratch file, refusing more than ``limit`` bytes."""

    def __init__(self, path: Path, name: str, limit: int) -> None:
        self._path = path
        self._name = name
        self._limit = limit

    async def __call__(self, body: AsyncIterator[bytes]) -> None:
        size = 0
        # Plain buffered writes from the loop, as the store does: page-cache speed.
        with self._path.open("wb") as out:
            async for chunk in body:
                size += len(chunk)
                if size > self._limit:
                    raise MediaTooLarge(self._name, self._limit)
                out.write(chunk)


class _PcmSink:
    """Appends a raw PCM body to an open WAV writer (the header is patched on close)."""

    def __init__(self, wav: wave.Wave_write, name: str, limit: int) -> None:
        self._wav = wav
        self._name = name
        self._limit = limit

    async def __call__(self, body: AsyncIterator[bytes]) -> None:
        async for chunk in body:
            self._wav.writeframesraw(chunk)
            if self._wav.tell() * _PCM_SAMPLE_WIDTH * _PCM_CHANNELS > self._limit:
                raise MediaTooLarge(self._name, self._limit)


def _check_audio(path: Path, name: str) -> None:
    """Refuse a part whose bytes are not audio before decoding it (an HTML error page...)."""
    with path.open("rb") as source:
        head = source.read(SNIFF_BYTES)
    mime = sniff_mime(head)
    if mime is None or kind_of_mime(mime) is not MediaKind.AUDIO:
        raise UnexpectedMediaType(name, MediaKind.AUDIO.value, mime)


def _part_done(on_progress: ProgressCallback | None, index: int, count: int) -> None:
    report(on_progress, (index + 1) / (count + 1), f"synthesised part {index + 1} of {count}")


async def _concat(parts: Sequence[Path], output: Path, fmt: str) -> None:
    """Join the parts as one continuous audio stream (decode + re-encode, off the loop)."""
    from inference_core.adapters.media.av_ops import concat_audio

    await asyncio.to_thread(concat_audio, list(parts), output, fmt=fmt)


def _create(ctx: GeneratorContext) -> OpenAISpeechGenerator:
    key = require_key(ctx, _PROVIDER, "OPENAI_API_KEY")
    model = option_str(ctx, GENERATOR_ID, "model", _DEFAULT_MODEL)
    if model not in get_args(_Model):
        raise ConfigurationError(
            f"generators.{GENERATOR_ID}.model must be one of {', '.join(get_args(_Model))}"
        )
    base_url = ctx.option("base_url")
    return OpenAISpeechGenerator(
        api_key=key,
        model=model,
        base_url=option_str(ctx, GENERATOR_ID, "base_url", "") if base_url else None,
        timeout=option_float(ctx, GENERATOR_ID, "timeout", DEFAULT_TIMEOUT_S),
        max_output_bytes=option_int(
            ctx, GENERATOR_ID, "max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES
        ),
    )


#: The entry point ``inference_core.media_generators: openai_tts``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.AUDIO,
    create=_create,
    missing=requires("openai", "av"),
    description="OpenAI text-to-speech (tts-1, tts-1-hd, gpt-4o-mini-tts); needs OPENAI_API_KEY",
)
