"""The seed's generator registries: ``get_image_generator_registry()`` and friends.

Facades over :class:`~inference_core.application.GenerateMedia` and the
generator registry of one shared :class:`~inference_core.composition.Inference`.
They keep the original's method names, keyword signatures and data-URL return
shapes; the work (validation against the published schema, retries that never
pay twice, files written atomically and checked) is the use-case's.

``generate`` is synchronous, as in the original's examples; ``agenerate`` is
the same call for async code. Files are kept in the configured media output
directory (``media.output_dir``); the returned metadata names them.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from inference_core.application.results import MediaResult
from inference_core.composition import Inference, bootstrap
from inference_core.composition.services import LegacyGenerator, SeedGenerator
from inference_core.domain.media import Capability, GenerationRequest, MediaInput, MediaKind
from inference_core.ports.media import MediaGenerator

__all__ = [
    "AudioGeneratorRegistry",
    "BaseGeneratorRegistry",
    "ImageGeneratorRegistry",
    "VideoGeneratorRegistry",
    "get_audio_generator_registry",
    "get_image_generator_registry",
    "get_video_generator_registry",
]

MediaArg = str | bytes | Path | MediaInput


def _inputs(*groups: Sequence[MediaArg] | MediaArg | None) -> tuple[MediaInput, ...]:
    items: list[MediaInput] = []
    for group in groups:
        if group is None:
            continue
        values = [group] if isinstance(group, str | bytes | Path | MediaInput) else group
        items.extend(MediaInput.of(v) for v in values)
    return tuple(items)


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class BaseGeneratorRegistry:
    """What the three seed registries share: lookup, listing, registration, reload.

    Args:
        inference: The wired library to use (default: one shared, bootstrapped
            from the environment and ``inference_runtime.yaml`` on first use).
    """

    kind: ClassVar[MediaKind]

    def __init__(self, inference: Inference | None = None) -> None:
        self._inference = inference

    @property
    def inference(self) -> Inference:
        """The wired library behind this registry."""
        if self._inference is None:
            self._inference = shared_inference()
        return self._inference

    def register_generator(self, generator: SeedGenerator | MediaGenerator) -> None:
        """Register a generator instance (a seed-style one or a MediaGenerator)."""
        wrapped = LegacyGenerator(generator) if isinstance(generator, SeedGenerator) else generator
        if wrapped.info.kind is not self.kind:
            raise ValueError(
                f"generator {wrapped.info.id!r} makes {wrapped.info.kind.value}, "
                f"not {self.kind.value}"
            )
        self.inference.generators.register(wrapped)

    def get_generator(self, generator_id: str) -> SeedGenerator | MediaGenerator | None:
        """The generator instance (the seed object for seed-style ones), or ``None``."""
        if generator_id not in self.list_generators():
            return None
        try:
            generator = self.inference.generators.get(generator_id)
        except Exception:
            return None  # listed with its error: see get_all_generators_info()
        return generator.seed if isinstance(generator, LegacyGenerator) else generator

    def get_generator_class(self, generator_id: str) -> type | None:
        """The class of :meth:`get_generator`'s instance, or ``None``."""
        generator = self.get_generator(generator_id)
        return None if generator is None else type(generator)

    def list_generators(self) -> list[str]:
        """Ids of every generator of this kind (broken ones included, see their info)."""
        return [listing.id for listing in self.inference.generators.listings(self.kind)]

    def get_all_generators_info(self) -> list[dict[str, Any]]:
        """One info dict per generator; a broken one has ``error`` set instead of schemas."""
        infos = []
        for listing in self.inference.generators.listings(self.kind):
            try:
                info = self.inference.generators.get(listing.id).info
            except Exception as exc:
                broken: dict[str, Any] = {"id": listing.id, "kind": self.kind.value}
                infos.append({**broken, "source": listing.source, "error": str(exc)})
                continue
            described: dict[str, Any] = info.model_dump(mode="json")
            infos.append({**described, "source": listing.source, "error": None})
        return infos

    def reload(self) -> None:
        """Discover the plugin and directory generators again."""
        self.inference.generators.reload()

    def _unknown(self, generator_id: str) -> ValueError:
        known = ", ".join(self.list_generators()) or "none"
        return ValueError(f"unknown {self.kind.value} generator {generator_id!r} (known: {known})")

    def _run(self, request: GenerationRequest) -> MediaResult:
        if request.generator_id not in self.list_generators():
            raise self._unknown(request.generator_id)
        return self.inference.run_sync(self.inference.generate_media(request))

    async def _arun(self, request: GenerationRequest) -> MediaResult:
        if request.generator_id not in self.list_generators():
            raise self._unknown(request.generator_id)
        return await self.inference.generate_media(request)


class ImageGeneratorRegistry(BaseGeneratorRegistry):
    """Image generators (seed ``ImageGeneratorRegistry``)."""

    kind = MediaKind.IMAGE

    def generate(
        self,
        generator_id: str,
        prompt: str | None = None,
        images: Sequence[MediaArg] | MediaArg | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Generate images; returns ``{"images": [data_url, ...], "metadata": {...}}``.

        Raises:
            ValueError: Unknown generator id, or input the schema rejects
                (``InvalidGeneratorInput`` is a ``ValueError``).
        """
        request = self._request(generator_id, prompt, images, kwargs)
        return _image_shape(self._run(request), bool(request.inputs))

    async def agenerate(
        self,
        generator_id: str,
        prompt: str | None = None,
        images: Sequence[MediaArg] | MediaArg | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """:meth:`generate` for async code."""
        request = self._request(generator_id, prompt, images, kwargs)
        return _image_shape(await self._arun(request), bool(request.inputs))

    def _request(
        self, generator_id: str, prompt: str | None, images: Any, kwargs: dict[str, Any]
    ) -> GenerationRequest:
        inputs = _inputs(images)
        return GenerationRequest(
            kind=MediaKind.IMAGE,
            generator_id=generator_id,
            capability=Capability.IMAGE_TO_IMAGE if inputs else None,
            prompt=prompt,
            inputs=inputs,
            params=kwargs,
        )


class VideoGeneratorRegistry(BaseGeneratorRegistry):
    """Video generators (seed ``VideoGeneratorRegistry``)."""

    kind = MediaKind.VIDEO

    def generate(
        self,
        generator_id: str,
        prompt: str | None = None,
        images: Sequence[MediaArg] | MediaArg | None = None,
        videos: Sequence[MediaArg] | MediaArg | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Generate a video; returns ``{"video": data_url, "metadata": {...}}``."""
        request = self._request(generator_id, prompt, images, videos, kwargs)
        return _single_shape("video", self._run(request))

    async def agenerate(
        self,
        generator_id: str,
        prompt: str | None = None,
        images: Sequence[MediaArg] | MediaArg | None = None,
        videos: Sequence[MediaArg] | MediaArg | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """:meth:`generate` for async code."""
        request = self._request(generator_id, prompt, images, videos, kwargs)
        return _single_shape("video", await self._arun(request))

    def _request(
        self,
        generator_id: str,
        prompt: str | None,
        images: Any,
        videos: Any,
        kwargs: dict[str, Any],
    ) -> GenerationRequest:
        image_inputs, video_inputs = _inputs(images), _inputs(videos)
        capability = (
            Capability.VIDEO_TO_VIDEO
            if video_inputs
            else Capability.IMAGE_TO_VIDEO
            if image_inputs
            else None
        )
        return GenerationRequest(
            kind=MediaKind.VIDEO,
            generator_id=generator_id,
            capability=capability,
            prompt=prompt,
            inputs=image_inputs + video_inputs,
            params=kwargs,
        )


class AudioGeneratorRegistry(BaseGeneratorRegistry):
    """Audio generators (seed ``AudioGeneratorRegistry``)."""

    kind = MediaKind.AUDIO

    def generate(
        self,
        generator_id: str,
        text: str | None = None,
        prompt: str | None = None,
        audio_clips: Sequence[MediaArg] | MediaArg | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Generate audio; returns ``{"audio": data_url, "metadata": {... "format": ...}}``."""
        request = self._request(generator_id, text, prompt, audio_clips, kwargs)
        return _single_shape("audio", self._run(request))

    async def agenerate(
        self,
        generator_id: str,
        text: str | None = None,
        prompt: str | None = None,
        audio_clips: Sequence[MediaArg] | MediaArg | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """:meth:`generate` for async code."""
        request = self._request(generator_id, text, prompt, audio_clips, kwargs)
        return _single_shape("audio", await self._arun(request))

    def _request(
        self,
        generator_id: str,
        text: str | None,
        prompt: str | None,
        audio_clips: Any,
        kwargs: dict[str, Any],
    ) -> GenerationRequest:
        clips = _inputs(audio_clips)
        return GenerationRequest(
            kind=MediaKind.AUDIO,
            generator_id=generator_id,
            capability=Capability.AUDIO_POST if clips and not text else None,
            text=text,
            prompt=prompt,
            inputs=clips,
            params=kwargs,
        )


def _metadata(result: MediaResult) -> dict[str, Any]:
    return {
        "bytes": sum(f.size_bytes for f in result.files),
        "provider": result.provider,
        "generator": result.generator_id,
        "paths": [f.path for f in result.files],
        "cost_usd": result.usage.cost_usd,
    }


def _image_shape(result: MediaResult, with_inputs: bool) -> dict[str, Any]:
    mode = "image_to_image" if with_inputs else "text_to_image"
    return {
        "images": [_data_url(f.mime_type, f.read_bytes()) for f in result.files],
        "metadata": {"mode": mode, **_metadata(result)},
    }


def _single_shape(key: str, result: MediaResult) -> dict[str, Any]:
    first = result.files[0]
    metadata = _metadata(result)
    if key == "audio":
        metadata["format"] = first.mime_type.partition("/")[2]
        metadata["duration_s"] = first.duration_s
    return {key: _data_url(first.mime_type, first.read_bytes()), "metadata": metadata}


_lock = threading.Lock()
_shared: dict[str, Any] = {}  # the shared Inference and one registry per class


def shared_inference() -> Inference:
    """The one :class:`Inference` the seed facades share (bootstrapped on first use)."""
    with _lock:
        inference = _shared.get("inference")
        if inference is None:
            inference = _shared["inference"] = bootstrap()
        return inference


def _singleton(cls: type[BaseGeneratorRegistry]) -> Any:
    with _lock:
        registry = _shared.get(cls.__name__)
        if registry is None:
            registry = _shared[cls.__name__] = cls()
        return registry


def get_image_generator_registry() -> ImageGeneratorRegistry:
    """The process-wide image generator registry."""
    registry: ImageGeneratorRegistry = _singleton(ImageGeneratorRegistry)
    return registry


def get_video_generator_registry() -> VideoGeneratorRegistry:
    """The process-wide video generator registry."""
    registry: VideoGeneratorRegistry = _singleton(VideoGeneratorRegistry)
    return registry


def get_audio_generator_registry() -> AudioGeneratorRegistry:
    """The process-wide audio generator registry."""
    registry: AudioGeneratorRegistry = _singleton(AudioGeneratorRegistry)
    return registry
