"""The seed's media services, with its names and signatures, as facades over GenerateMedia.

* :class:`ImageService` (OpenRouter image models) and :class:`MockImageService`
  (offline cards): ``generate_image(prompt)`` and ``edit_image(reference_images,
  prompt)`` return the image's bytes.
* :class:`VideoService` (any video generator, offline by default) and
  :class:`MockVideoService`: ``generate_clip``, ``assemble_scene`` (cut and
  crossfade transitions, clips normalised), ``assemble_final``.
* :class:`AudioService` (OpenAI speech) and :class:`MockAudioService` (espeak-ng):
  ``generate_speech``, ``generate_music``, ``generate_ambience`` (synthesised
  beds, not placeholders), ``mix_scene_audio`` (decoded, resampled, music ducked
  under narration, faded), ``assemble_final``, ``mux_audio_with_video``.
* :class:`FalImageService`, :class:`FalVideoService`, :class:`FalAudioService`
  and :class:`WavespeedVideoService`: the same methods over the queued
  generators (fal.ai, WaveSpeed). Their jobs are recorded in the job journal
  (``media.journal_path``) before anyone waits on them, so a timed-out,
  crashed or repeated call collects the job instead of paying for it twice;
  ``timeout`` is each job's deadline (past it the job is cancelled).

Every method is a coroutine (the original's agents await them and gather
several). Generation goes through the use-case (schema validation, the one
retry owner, files written atomically, checked and kept in the media output
directory); assembly decodes and re-encodes with PyAV (never byte joining).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from inference_core.application.results import MediaResult
from inference_core.compat.generators import shared_inference
from inference_core.composition import Inference
from inference_core.composition.services import (
    concat_audio,
    concat_video,
    mix_audio,
    mux_audio_video,
)
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidGeneratorInput,
    UnexpectedMediaType,
)
from inference_core.domain.media import (
    EXTENSIONS,
    Capability,
    GenerationRequest,
    MediaInput,
    MediaKind,
    sniff_mime,
)

__all__ = [
    "AudioService",
    "FalAudioService",
    "FalImageService",
    "FalVideoService",
    "ImageService",
    "MockAudioService",
    "MockImageService",
    "MockVideoService",
    "VideoService",
    "WavespeedVideoService",
]

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
_JOB_DEADLINE_MARGIN_S = 60.0
_FAL_TTS_DEFAULT = "fal-ai/minimax/speech-02-hd"  # the fal_tts_generator's default model


class _MediaFacade:
    """Runs generation requests through one GenerateMedia and returns file bytes."""

    def __init__(
        self,
        inference: Inference | None,
        *,
        options: dict[str, dict[str, Any]] | None = None,
        secrets: dict[str, str | SecretStr] | None = None,
        retry_delays: tuple[float, float] | None = None,
        job_deadline: float | None = None,
    ) -> None:
        self._inference = inference or shared_inference()
        base = self._inference.retry or self._inference.config.retry
        retry = None
        if retry_delays is not None:
            retry = base.model_copy(
                update={"initial_delay": retry_delays[0], "max_delay": retry_delays[1]}
            )
        if job_deadline is not None and base.deadline is not None:
            # The job's own deadline (which cancels it) must be the one that fires first.
            wanted = job_deadline + _JOB_DEADLINE_MARGIN_S
            retry = (retry or base).model_copy(update={"deadline": max(base.deadline, wanted)})
        self._media = self._inference.media_with(options=options, secrets=secrets, retry=retry)

    async def _bytes(self, request: GenerationRequest) -> bytes:
        result = await self._media(request)
        return await asyncio.to_thread(result.files[0].read_bytes)

    async def _result(self, request: GenerationRequest) -> MediaResult:
        return await self._media(request)

    async def close(self) -> None:
        """Release pooled connections of this service's generators (optional)."""


def _images(reference_images: bytes | Sequence[bytes]) -> tuple[MediaInput, ...]:
    items = (
        [reference_images] if isinstance(reference_images, bytes | bytearray) else reference_images
    )
    if not items:
        raise InvalidGeneratorInput("edit_image", ["reference_images is empty"])
    return tuple(MediaInput(data=bytes(item)) for item in items)


class ImageService(_MediaFacade):
    """Images from OpenRouter image models (the seed's ``ImageService``).

    Args:
        api_key: OpenRouter key (default: ``OPENROUTER_API_KEY``).
        model: The OpenRouter model.
        base_url: The OpenRouter API root.
        timeout: Seconds one attempt may take.
        retry_base_delay, retry_max_delay: Backoff of the retried errors
            (429/5xx only: a refused prompt or a bad key is never retried).
        inference: The wired library to use (default: the shared one).
    """

    generator_id = "openrouter_image_generator"

    def __init__(
        self,
        api_key: str | None = None,
        model: str = "google/gemini-2.5-flash-image",
        base_url: str = OPENROUTER_BASE_URL,
        timeout: float = 120.0,
        retry_base_delay: float = 2.0,
        retry_max_delay: float = 30.0,
        *,
        inference: Inference | None = None,
    ) -> None:
        super().__init__(
            inference,
            options={self.generator_id: {"model": model, "base_url": base_url, "timeout": timeout}},
            secrets={"OPENROUTER_API_KEY": api_key} if api_key else None,
            retry_delays=(retry_base_delay, retry_max_delay),
        )

    async def generate_image(self, prompt: str) -> bytes:
        """One image for ``prompt``; its bytes (PNG, JPEG or WebP as the model answers)."""
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.IMAGE,
                generator_id=self.generator_id,
                capability=Capability.TEXT_TO_IMAGE,
                prompt=prompt,
            )
        )

    async def edit_image(self, reference_images: bytes | Sequence[bytes], prompt: str) -> bytes:
        """A new image from reference image(s) and ``prompt``; its bytes."""
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.IMAGE,
                generator_id=self.generator_id,
                capability=Capability.IMAGE_TO_IMAGE,
                prompt=prompt,
                inputs=_images(reference_images),
            )
        )


class MockImageService(ImageService):
    """Offline stand-in: real PNG cards showing the prompt (no network, no key)."""

    generator_id = "offline_image_card"

    def __init__(self, *args: Any, inference: Inference | None = None, **kwargs: Any) -> None:
        _MediaFacade.__init__(self, inference)


class VideoService(_MediaFacade):
    """Video clips from a video generator, and scene/final assembly.

    Args:
        generator_id: The video generator clips come from (default: the offline
            slideshow generator; the fal and WaveSpeed services use queued ones).
        inference: The wired library to use (default: the shared one).
    """

    def __init__(
        self, generator_id: str = "offline_video", *, inference: Inference | None = None
    ) -> None:
        super().__init__(inference)
        self.generator_id = generator_id

    async def generate_clip(
        self,
        *,
        shot_id: str,
        keyframe_images: Sequence[bytes | str | Path],
        prompt: str,
        duration_sec: float,
        fps: int = 24,
        width: int = 1024,
        height: int = 576,
        **kwargs: Any,
    ) -> bytes:
        """One clip for a shot from its keyframes (or the prompt alone); MP4 bytes.

        Extra keyword arguments are the generator's own parameters, validated
        against its schema.
        """
        inputs = tuple(MediaInput.of(image) for image in keyframe_images)
        params = {"duration_s": duration_sec, "fps": fps, "width": width, "height": height}
        return await self._clip(shot_id, prompt, inputs, {**params, **kwargs})

    async def _clip(
        self, shot_id: str, prompt: str, inputs: tuple[MediaInput, ...], params: dict[str, Any]
    ) -> bytes:
        """One clip request (image-to-video when there are keyframes) and its MP4 bytes."""
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.VIDEO,
                generator_id=self.generator_id,
                capability=Capability.IMAGE_TO_VIDEO if inputs else Capability.TEXT_TO_VIDEO,
                prompt=prompt,
                inputs=inputs,
                params=params,
                name=shot_id,
            )
        )

    async def assemble_scene(
        self, *, scene_id: str, clip_bytes_list: Sequence[bytes], transitions: Sequence[str]
    ) -> bytes:
        """Join a scene's clips with ``cut``/``crossfade`` transitions; MP4 bytes."""
        return await _joined(clip_bytes_list, "video", concat_video, transitions=list(transitions))

    async def assemble_final(self, *, scene_bytes_list: Sequence[bytes]) -> bytes:
        """Join the scenes, cut to cut; MP4 bytes."""
        return await _joined(scene_bytes_list, "video", concat_video)


class MockVideoService(VideoService):
    """Offline stand-in: real H.264 slideshows of the keyframes (the seed's mock generator)."""

    def __init__(self, *, inference: Inference | None = None) -> None:
        super().__init__("mock_video_generator", inference=inference)


class AudioService(_MediaFacade):
    """Speech (OpenAI TTS), music and ambience beds, mixing, assembly and muxing.

    Args:
        client: An ``openai.AsyncOpenAI`` client whose key and endpoint to use
            (default: ``OPENAI_API_KEY`` and the configured endpoint).
        tts_model: The speech model.
        default_voice: Voice used when a call names none.
        inference: The wired library to use (default: the shared one).
    """

    speech_generator = "openai_tts"

    def __init__(
        self,
        client: Any | None = None,
        tts_model: str = "tts-1",
        default_voice: str = "alloy",
        *,
        inference: Inference | None = None,
    ) -> None:
        options: dict[str, Any] = {"model": tts_model}
        secrets: dict[str, str | SecretStr] | None = None
        if client is not None:  # take its key and endpoint, not the object itself
            options["base_url"] = str(client.base_url)
            secrets = {"OPENAI_API_KEY": str(client.api_key)}
        super().__init__(inference, options={self.speech_generator: options}, secrets=secrets)
        self.tts_model = tts_model
        self.default_voice = default_voice

    def _speech_params(
        self, voice: str | None, model: str | None, response_format: str
    ) -> dict[str, Any]:
        return {
            "voice": voice or self.default_voice,
            "model": model or self.tts_model,
            "response_format": response_format,
        }

    async def generate_speech(
        self,
        text: str,
        *,
        voice: str | None = None,
        model: str | None = None,
        response_format: str = "wav",
    ) -> bytes:
        """Speak ``text``; the audio bytes in ``response_format``.

        A text longer than the provider's limit is split at sentence
        boundaries and the parts joined as one continuous audio stream.
        """
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.AUDIO,
                generator_id=self.speech_generator,
                capability=Capability.TEXT_TO_SPEECH,
                text=text,
                params=self._speech_params(voice, model, response_format),
            )
        )

    async def generate_music(self, *, mood: str, duration_sec: float, scene_id: str = "") -> bytes:
        """A synthesised music bed for ``mood``, ``duration_sec`` long; WAV bytes."""
        return await self._bed("offline_music", mood, duration_sec, scene_id or "music")

    async def generate_ambience(
        self, *, description: str, duration_sec: float, scene_id: str = ""
    ) -> bytes:
        """A synthesised ambience bed for ``description``; WAV bytes."""
        return await self._bed(
            "offline_ambience", description, duration_sec, scene_id or "ambience"
        )

    async def _bed(self, generator_id: str, text: str, duration_sec: float, name: str) -> bytes:
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.AUDIO,
                generator_id=generator_id,
                prompt=text,
                params={"duration_s": float(duration_sec)},
                name=name,
            )
        )

    async def mix_scene_audio(
        self,
        *,
        narration_bytes_list: Sequence[bytes],
        music_bytes: bytes | None = None,
        ambience_bytes: bytes | None = None,
        scene_id: str = "",
        duration_sec: float = 0.0,
    ) -> bytes:
        """Narration in order over ducked music and ambience; stereo WAV bytes.

        ``duration_sec`` 0 means "as long as the narration" (else the beds').
        """
        with tempfile.TemporaryDirectory(prefix="inference-mix-") as tmp:
            folder = Path(tmp)
            narration = [
                _scratch(folder, f"narration-{i}", data, "audio")
                for i, data in enumerate(narration_bytes_list)
            ]
            music = _scratch(folder, "music", music_bytes, "audio") if music_bytes else None
            ambience = (
                _scratch(folder, "ambience", ambience_bytes, "audio") if ambience_bytes else None
            )
            output = folder / "mix.wav"
            await asyncio.to_thread(
                mix_audio,
                narration,
                output,
                music=music,
                ambience=ambience,
                duration_s=duration_sec or None,
            )
            return await asyncio.to_thread(output.read_bytes)

    async def assemble_final(self, *, scene_mix_bytes_list: Sequence[bytes]) -> bytes:
        """The scene mixes one after another, as one WAV (decoded and re-encoded)."""
        return await _joined(scene_mix_bytes_list, "audio", concat_audio, fmt="wav")

    async def mux_audio_with_video(self, *, video_bytes: bytes, audio_bytes: bytes) -> bytes:
        """The video with ``audio_bytes`` as its soundtrack (AAC in MP4); MP4 bytes."""
        with tempfile.TemporaryDirectory(prefix="inference-mux-") as tmp:
            folder = Path(tmp)
            video = _scratch(folder, "video", video_bytes, "video")
            audio = _scratch(folder, "audio", audio_bytes, "audio")
            output = folder / "muxed.mp4"
            await asyncio.to_thread(mux_audio_video, video, audio, output)
            return await asyncio.to_thread(output.read_bytes)


class MockAudioService(AudioService):
    """Offline stand-in: speech from espeak-ng (real WAV), the same beds, mixing and muxing."""

    speech_generator = "offline_tts"

    def __init__(self, *args: Any, inference: Inference | None = None, **kwargs: Any) -> None:
        _MediaFacade.__init__(self, inference)
        self.tts_model = "espeak-ng"
        self.default_voice = "auto"

    def _speech_params(
        self, voice: str | None, model: str | None, response_format: str
    ) -> dict[str, Any]:
        fmt = response_format if response_format in ("wav", "mp3", "flac") else "wav"
        return {"voice": voice if voice and voice != "alloy" else "auto", "response_format": fmt}


# --- queued providers (fal.ai, WaveSpeed) -----------------------------------------------


def _queued_options(inference: Inference, **options: Any) -> dict[str, Any]:
    """A queued generator's options: the given ones (``None`` dropped) plus the journal path."""
    chosen = {name: value for name, value in options.items() if value is not None}
    journal = inference.config.media.journal_path
    if journal is not None:
        chosen.setdefault("journal_path", journal)
    return chosen


def _key(name: str, api_key: str | None) -> dict[str, str | SecretStr] | None:
    return {name: api_key} if api_key else None


class FalImageService(_MediaFacade):
    """Images from fal's queue (the seed's ``FalImageService``).

    Args:
        api_key: fal key (default: ``FAL_API_KEY``).
        model: The fal model (default: ``FAL_IMAGE_MODEL``; one of them is required).
        timeout: Seconds each job may take before it is cancelled.
        inference: The wired library to use (default: the shared one).

    Raises:
        ConfigurationError: Neither ``model`` nor ``FAL_IMAGE_MODEL`` names a model.
    """

    generator_id = "fal_image_generator"

    def __init__(
        self,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 120.0,
        *,
        inference: Inference | None = None,
    ) -> None:
        wired = inference or shared_inference()
        chosen = model or wired.env.get("FAL_IMAGE_MODEL")
        if not chosen:
            raise ConfigurationError(
                "FalImageService needs a model: pass model= or set FAL_IMAGE_MODEL"
            )
        super().__init__(
            wired,
            options={
                self.generator_id: _queued_options(wired, model=chosen, deadline=float(timeout))
            },
            secrets=_key("FAL_API_KEY", api_key),
            job_deadline=float(timeout),
        )
        self.model = chosen

    async def generate_image(self, prompt: str) -> bytes:
        """One image for ``prompt``; its bytes."""
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.IMAGE,
                generator_id=self.generator_id,
                capability=Capability.TEXT_TO_IMAGE,
                prompt=prompt,
            )
        )

    async def edit_image(self, reference_images: bytes | Sequence[bytes], prompt: str) -> bytes:
        """A new image from reference image(s) and ``prompt`` (sent as data URLs); its bytes."""
        return await self._bytes(
            GenerationRequest(
                kind=MediaKind.IMAGE,
                generator_id=self.generator_id,
                capability=Capability.IMAGE_TO_IMAGE,
                prompt=prompt,
                inputs=_images(reference_images),
            )
        )


def _clip_inputs(
    generator_id: str, keyframe_images: Sequence[bytes | str | Path], limit: int
) -> tuple[MediaInput, ...]:
    inputs = tuple(MediaInput.of(image) for image in keyframe_images)
    if len(inputs) > limit:
        raise InvalidGeneratorInput(
            generator_id, [f"at most {limit} keyframe image(s), not {len(inputs)}"]
        )
    return inputs


def _clip_seconds(generator_id: str, duration_sec: float) -> int:
    """The provider's clip length for ``duration_sec``: 5 or 10 seconds, never shorter."""
    if duration_sec <= 5:
        return 5
    if duration_sec <= 10:
        return 10
    raise InvalidGeneratorInput(
        generator_id, [f"duration_sec {duration_sec:g} is longer than the 10 s clips made"]
    )


def _aspect(width: int, height: int) -> str:
    if width > height:
        return "16:9"
    return "9:16" if height > width else "1:1"


class FalVideoService(VideoService):
    """Clips from fal's queue (Kling), and the same scene/final assembly (the seed's service).

    Args:
        api_key: fal key (default: ``FAL_API_KEY``).
        model: The image-to-video model (default: ``FAL_VIDEO_MODEL``, then Kling 2.6 Pro).
        timeout: Seconds each job may take before it is cancelled.
        t2v_model: The text-to-video model (default: ``FAL_T2V_MODEL``, then Kling 2.6 Pro).
        inference: The wired library to use (default: the shared one).
    """

    def __init__(
        self,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 300.0,
        *,
        t2v_model: str | None = None,
        inference: Inference | None = None,
    ) -> None:
        wired = inference or shared_inference()
        generator_id = "fal_video_generator"
        options = _queued_options(wired, model=model, t2v_model=t2v_model, deadline=float(timeout))
        _MediaFacade.__init__(
            self,
            wired,
            options={generator_id: options},
            secrets=_key("FAL_API_KEY", api_key),
            job_deadline=float(timeout),
        )
        self.generator_id = generator_id

    async def generate_clip(
        self,
        *,
        shot_id: str,
        keyframe_images: Sequence[bytes | str | Path],
        prompt: str,
        duration_sec: float,
        fps: int = 24,
        width: int = 1024,
        height: int = 576,
        **kwargs: Any,
    ) -> bytes:
        """One clip from the first (and last) keyframe, or from the prompt alone; MP4 bytes.

        Kling makes 5 s or 10 s clips at its own frame rate: ``duration_sec`` picks
        the shortest that is long enough, ``width``/``height`` pick the aspect
        ratio of a text-to-video clip, ``fps`` is not a Kling argument. Extra
        keyword arguments (``generate_audio``, ``negative_prompt``, ``cfg_scale``)
        are the generator's own, validated against its schema; audio stays off
        unless asked for.
        """
        inputs = _clip_inputs(self.generator_id, keyframe_images, 2)
        params: dict[str, Any] = {"duration": str(_clip_seconds(self.generator_id, duration_sec))}
        if not inputs and "aspect_ratio" not in kwargs:
            params["aspect_ratio"] = _aspect(width, height)
        return await self._clip(shot_id, prompt, inputs, {**params, **kwargs})


class WavespeedVideoService(VideoService):
    """Clips from WaveSpeed (Seedance...), and the same scene/final assembly.

    Args:
        api_key: WaveSpeed key (default: ``WAVESPEED_API_KEY``).
        provider: The model provider path segment.
        t2v_model, i2v_model: Models used without and with a keyframe.
        aspect_ratio: Frame shape of text-to-video clips.
        timeout: Seconds each job may take (WaveSpeed cannot cancel: a job past
            it stays recorded and the next identical call collects it).
        poll_interval_sec: First wait between polls (then backed off).
        inference: The wired library to use (default: the shared one).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        provider: str = "bytedance",
        t2v_model: str = "seedance-v1-pro-t2v-480p",
        i2v_model: str = "seedance-v1-pro-i2v-480p",
        aspect_ratio: str = "16:9",
        timeout: float = 300.0,
        poll_interval_sec: float = 2.0,
        inference: Inference | None = None,
    ) -> None:
        wired = inference or shared_inference()
        generator_id = "wavespeed_video_generator"
        options = _queued_options(
            wired,
            provider=provider,
            t2v_model=t2v_model,
            i2v_model=i2v_model,
            aspect_ratio=aspect_ratio,
            deadline=float(timeout),
            poll_interval=float(poll_interval_sec),
        )
        _MediaFacade.__init__(
            self,
            wired,
            options={generator_id: options},
            secrets=_key("WAVESPEED_API_KEY", api_key),
            job_deadline=float(timeout),
        )
        self.generator_id = generator_id

    async def generate_clip(
        self,
        *,
        shot_id: str,
        keyframe_images: Sequence[bytes | str | Path],
        prompt: str,
        duration_sec: float,
        fps: int = 24,
        width: int = 1024,
        height: int = 576,
        **kwargs: Any,
    ) -> bytes:
        """One clip from the first keyframe, or from the prompt alone; MP4 bytes.

        ``duration_sec`` picks 5 or 10 s; the frame shape of text-to-video is the
        service's ``aspect_ratio``; ``fps``/``width``/``height`` are not WaveSpeed
        arguments. Extra keyword arguments (``seed``, ``camera_fixed``) are the
        generator's own, validated against its schema.
        """
        inputs = _clip_inputs(self.generator_id, keyframe_images, 1)
        params: dict[str, Any] = {"duration": _clip_seconds(self.generator_id, duration_sec)}
        return await self._clip(shot_id, prompt, inputs, {**params, **kwargs})


class FalAudioService(AudioService):
    """Speech from fal's queue (MiniMax), plus the same beds, mixing and muxing.

    Args:
        api_key: fal key (default: ``FAL_API_KEY``).
        tts_model: The speech model (default: ``FAL_TTS_MODEL``, then MiniMax speech-02-hd).
        timeout: Seconds each job may take before it is cancelled.
        default_voice: The MiniMax voice id used when a call names none.
        inference: The wired library to use (default: the shared one).
    """

    speech_generator = "fal_tts_generator"

    def __init__(
        self,
        api_key: str | None = None,
        tts_model: str | None = None,
        timeout: float = 120.0,
        *,
        default_voice: str = "Wise_Woman",
        inference: Inference | None = None,
    ) -> None:
        wired = inference or shared_inference()
        options = _queued_options(wired, model=tts_model, deadline=float(timeout))
        _MediaFacade.__init__(
            self,
            wired,
            options={self.speech_generator: options},
            secrets=_key("FAL_API_KEY", api_key),
            job_deadline=float(timeout),
        )
        self.tts_model = tts_model or wired.env.get("FAL_TTS_MODEL") or _FAL_TTS_DEFAULT
        self.default_voice = default_voice

    async def generate_speech(
        self,
        text: str,
        *,
        voice: str | None = None,
        model: str | None = None,
        response_format: str = "wav",
    ) -> bytes:
        """Speak ``text`` (MiniMax takes up to 5000 characters); bytes in ``response_format``.

        MiniMax answers MP3 or FLAC; ``wav`` is made from the FLAC (decoded and
        re-encoded, never byte-joined).
        """
        if response_format not in ("wav", "mp3", "flac"):
            raise InvalidGeneratorInput(
                self.speech_generator,
                [f"response_format {response_format!r} is not one of wav, mp3, flac"],
            )
        params: dict[str, Any] = {
            "voice_setting": {"voice_id": voice or self.default_voice},
            "audio_setting": {"format": "mp3" if response_format == "mp3" else "flac"},
        }
        if model:
            params["model"] = model
        result = await self._result(
            GenerationRequest(
                kind=MediaKind.AUDIO,
                generator_id=self.speech_generator,
                capability=Capability.TEXT_TO_SPEECH,
                text=text,
                params=params,
            )
        )
        source = Path(result.files[0].path)
        if response_format != "wav":
            return await asyncio.to_thread(source.read_bytes)
        with tempfile.TemporaryDirectory(prefix="inference-speech-") as tmp:
            output = Path(tmp) / "speech.wav"
            await asyncio.to_thread(concat_audio, [source], output, fmt="wav")
            return await asyncio.to_thread(output.read_bytes)


def _scratch(folder: Path, stem: str, data: bytes | None, major: str) -> Path:
    """Write input bytes to a temporary file after checking they are ``major`` media."""
    assert data is not None
    mime = sniff_mime(data[:64])
    if mime is None or not mime.startswith(f"{major}/"):
        raise UnexpectedMediaType(stem, major, mime, discarded=False)
    path = folder / f"{stem}{EXTENSIONS[mime]}"
    path.write_bytes(data)
    return path


async def _joined(parts: Sequence[bytes], major: str, join: Any, **options: Any) -> bytes:
    if not parts:
        raise InvalidGeneratorInput("assemble", ["nothing to assemble (the list is empty)"])
    with tempfile.TemporaryDirectory(prefix="inference-join-") as tmp:
        folder = Path(tmp)
        inputs = [_scratch(folder, f"part-{i}", data, major) for i, data in enumerate(parts)]
        output = folder / ("joined.mp4" if major == "video" else "joined.wav")
        try:
            await asyncio.to_thread(join, inputs, output, **options)
        except ValueError as exc:  # an unknown transition name, say
            raise InvalidGeneratorInput("assemble", [str(exc)]) from None
        return await asyncio.to_thread(output.read_bytes)
