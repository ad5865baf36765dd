"""``offline_tts``: speech from text with the bundled espeak-ng (no network, no key).

The voice data and library come from the ``espeakng-loader`` wheel and are
driven through ctypes (:mod:`._espeak`); synthesis runs in a worker thread
under a process-wide lock. Output is mono at espeak-ng's rate (22050 Hz):
WAV (pcm_s16le) by default, MP3 or FLAC encoded with PyAV. ``voice="auto"``
picks one of :data:`AUTO_VOICES` from the SHA-256 of the text, so the same
text always gets the same voice; the same request gives the same samples.

When espeak-ng cannot be loaded the generator raises
:class:`~inference_core.domain.errors.MediaGenerationError` naming what is
missing; it never substitutes a tone or silence for speech.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from inference_core.adapters.media._common import discard_all, output_name, parse_params
from inference_core.adapters.media.offline._shared import (
    Cancelled,
    run_cancellable,
    threadsafe_progress,
    unlink_quietly,
)
from inference_core.adapters.media.published import Published
from inference_core.domain.errors import InvalidGeneratorInput, MediaGenerationError
from inference_core.domain.generator_input import GeneratorInput, input_schema
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
    StoredAsset,
)
from inference_core.ports.media import AssetStore, ProgressCallback
from inference_core.ports.plugins import GeneratorContext, GeneratorPlugin, requires

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from inference_core.adapters.media.offline._espeak import EspeakEngine, Synthesis

__all__ = [
    "AUTO_VOICES",
    "GENERATOR_ID",
    "PLUGIN",
    "EspeakSpeechGenerator",
    "EspeakSpeechInput",
    "pick_voice",
]

GENERATOR_ID = "offline_tts"

#: The voices ``voice="auto"`` chooses from (espeak-ng names, ``+variant`` optional).
AUTO_VOICES: tuple[str, ...] = (
    "en",
    "en-us",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-029",
    "en-us-nyc",
    "en+f3",
    "en-us+f2",
    "en+m3",
    "en-us+m7",
)

_SUFFIXES = {"wav": ".wav", "mp3": ".mp3", "flac": ".flac"}


class EspeakSpeechInput(GeneratorInput):
    """Parameters of ``offline_tts``."""

    voice: str = Field(
        default="en",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ()_.+-]{0,63}$",
        description=(
            "An espeak-ng voice ('en', 'en-us', 'de', 'en+f3'...), or 'auto' to pick an "
            "English voice from the text."
        ),
    )
    rate: int = Field(default=175, ge=80, le=450, description="Speaking rate, words per minute.")
    pitch: int = Field(default=50, ge=0, le=99, description="Base pitch, 0-99.")
    response_format: Literal["wav", "mp3", "flac"] = Field(
        default="wav", description="Encoding of the file written (mono, 22050 Hz)."
    )


def pick_voice(text: str, voice: str) -> str:
    """``voice``, or for ``"auto"`` the :data:`AUTO_VOICES` entry the text's SHA-256 selects."""
    if voice != "auto":
        return voice
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return AUTO_VOICES[int.from_bytes(digest[:4], "big") % len(AUTO_VOICES)]


class EspeakSpeechGenerator(Published[EspeakSpeechInput]):
    """Text-to-speech with libespeak-ng.

    Args:
        generator_id: The id it is registered under.
    """

    _input_model = EspeakSpeechInput

    def __init__(self, *, generator_id: str = GENERATOR_ID) -> None:
        self._id = generator_id
        self._engine: EspeakEngine | None = None
        self._info = GeneratorInfo(
            id=generator_id,
            kind=MediaKind.AUDIO,
            name="Offline speech (espeak-ng)",
            description="Speech synthesised locally with espeak-ng (free, offline, robotic)",
            provider="local",
            capabilities=(Capability.TEXT_TO_SPEECH,),
            input_schema=input_schema(EspeakSpeechInput),
            output_mime_types=("audio/wav", "audio/mpeg", "audio/flac"),
        )

    def __repr__(self) -> str:
        return f"EspeakSpeechGenerator(id={self._id!r})"

    def _engine_now(self) -> EspeakEngine:
        if self._engine is None:
            from inference_core.adapters.media.offline._espeak import EspeakEngine

            self._engine = EspeakEngine()
        return self._engine

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Speak the request's text (else its prompt) and store the audio."""
        params = parse_params(self._id, EspeakSpeechInput, request.params)
        if request.capability not in (None, Capability.TEXT_TO_SPEECH):
            raise InvalidGeneratorInput(
                self._id, [f"capability {request.capability!r} is not supported (text_to_speech)"]
            )
        text = (request.text or request.prompt or "").strip()
        if not text:
            raise InvalidGeneratorInput(self._id, ["text_to_speech needs a non-empty text"])
        voice = pick_voice(text, params.voice)
        engine = self._engine_now()
        progress = threadsafe_progress(on_progress)
        progress(0.0, f"synthesising {len(text)} characters with voice {voice!r}")
        scratch = store.scratch_path(_SUFFIXES[params.response_format])

        def work(cancel: threading.Event) -> Synthesis:
            return _synthesize(self._id, engine, text, voice, params, scratch, cancel)

        speech = await run_cancellable(work)
        assets: list[StoredAsset] = []
        try:
            name = output_name(request, "speech", 0, 1)
            assets.append(await store.commit(scratch, name=name, kind=MediaKind.AUDIO))
        except BaseException:
            await discard_all(store, assets)
            raise
        progress(1.0, f"{speech.duration_s:.1f} s of speech stored")
        return GenerationOutput(
            assets=tuple(assets),
            usage=MediaUsage(characters=len(text), cost_usd=0.0),
            metadata={
                "voice": voice,
                "sample_rate": speech.sample_rate,
                "duration_s": speech.duration_s,
            },
        )


def _synthesize(
    generator_id: str,
    engine: EspeakEngine,
    text: str,
    voice: str,
    params: EspeakSpeechInput,
    scratch: Path,
    cancel: threading.Event,
) -> Synthesis:
    from inference_core.adapters.media.offline._espeak import VoiceNotFound

    try:
        try:
            speech = engine.synthesize(
                text, voice=voice, rate=params.rate, pitch=params.pitch, cancel=cancel
            )
        except VoiceNotFound:
            raise InvalidGeneratorInput(
                generator_id, [f"voice: espeak-ng has no voice {voice!r}"]
            ) from None
        if cancel.is_set():
            raise Cancelled
        if speech.samples == 0:
            raise MediaGenerationError(f"espeak-ng produced no audio for {len(text)} characters")
        import numpy as np

        from inference_core.adapters.media.av_ops import write_audio

        samples = np.frombuffer(speech.pcm, dtype="<i2")
        write_audio(samples, scratch, sample_rate=speech.sample_rate, fmt=params.response_format)
        return speech
    except BaseException:
        unlink_quietly(scratch)
        raise


def _create(ctx: GeneratorContext) -> EspeakSpeechGenerator:
    return EspeakSpeechGenerator()


#: The entry point ``inference_core.media_generators: offline_tts``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.AUDIO,
    create=_create,
    missing=requires("espeakng_loader", "av", "numpy"),
    description="Offline speech with the bundled espeak-ng (WAV/MP3/FLAC; free, no key)",
)
