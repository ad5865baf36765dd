"""``offline_video``: an H.264 slideshow with a slow pan and zoom (no network, no key).

Image-to-video animates the input images in order; text-to-video first draws
one card per sentence of the prompt (at most eight). Each image gets an equal
share of the frames and a Ken Burns move - a zoom in or out with a drift
from one side to another - chosen from the SHA-256 of the prompt, so the same
request gives the same frames (the encoded bytes are as repeatable as the
encoder: x264 nearly always, not provably, gives identical bytes for
identical frames). The video has exactly
``max(1, round(duration_s * fps))`` frames at a constant ``fps``, H.264
(``libx264``, else MPEG-4 Part 2) in MP4, yuv420p, no audio.

:data:`PLUGIN_MOCK` registers the same generator as ``mock_video_generator``,
the id the original module's examples use.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from inference_core.adapters.media._common import discard_all, output_name, parse_params
from inference_core.adapters.media.offline._shared import (
    Cancelled,
    decode_images,
    prompt_or_text,
    run_cancellable,
    split_slides,
    threadsafe_progress,
    unlink_quietly,
)
from inference_core.adapters.media.published import Published
from inference_core.domain.errors import InvalidGeneratorInput
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
    from collections.abc import Callable
    from pathlib import Path

    from PIL import Image

__all__ = [
    "GENERATOR_ID",
    "MOCK_GENERATOR_ID",
    "PLUGIN",
    "PLUGIN_MOCK",
    "SlideshowVideoGenerator",
    "SlideshowVideoInput",
    "frame_count",
]

GENERATOR_ID = "offline_video"
MOCK_GENERATOR_ID = "mock_video_generator"

_ZOOM = 1.18  # how far a move zooms (the base image is this much larger than a frame)
_PROGRESS_STEPS = 20


class SlideshowVideoInput(GeneratorInput):
    """Parameters of ``offline_video``."""

    duration_s: float = Field(
        default=3.0, ge=0.5, le=60, description="Video length in seconds (or 'duration')."
    )
    fps: int = Field(default=24, ge=1, le=60, description="Frames per second.")
    width: int = Field(default=1024, ge=16, le=1920, description="Frame width (even).")
    height: int = Field(default=576, ge=16, le=1920, description="Frame height (even).")

    @model_validator(mode="before")
    @classmethod
    def _seed_duration(cls, value: Any) -> Any:
        # The seed's mock_video_generator callers pass duration=5.
        if isinstance(value, dict) and "duration" in value and "duration_s" not in value:
            value = {**value, "duration_s": value["duration"]}
            del value["duration"]
        return value

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be an even number (H.264 in yuv420p needs even sizes)")
        return value


def frame_count(duration_s: float, fps: int) -> int:
    """Frames of a video of ``duration_s`` at ``fps``: ``round(duration_s * fps)``, at least 1."""
    return max(1, round(duration_s * fps))


def _capability(generator_id: str, request: GenerationRequest) -> Capability:
    capability = request.capability
    if capability is None:
        return Capability.IMAGE_TO_VIDEO if request.inputs else Capability.TEXT_TO_VIDEO
    if capability == Capability.IMAGE_TO_VIDEO and not request.inputs:
        raise InvalidGeneratorInput(generator_id, ["image_to_video needs at least one input image"])
    if capability == Capability.TEXT_TO_VIDEO and request.inputs:
        raise InvalidGeneratorInput(
            generator_id, ["text_to_video takes no input images (ask for image_to_video)"]
        )
    if capability not in (Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO):
        raise InvalidGeneratorInput(
            generator_id,
            [f"capability {capability!r} is not supported (text_to_video, image_to_video)"],
        )
    return Capability(capability)


class SlideshowVideoGenerator(Published[SlideshowVideoInput]):
    """Ken Burns slideshows from images or from cards of the prompt.

    Args:
        generator_id: The id it is registered under (``offline_video`` or
            ``mock_video_generator``).
    """

    _input_model = SlideshowVideoInput

    def __init__(self, *, generator_id: str = GENERATOR_ID) -> None:
        self._id = generator_id
        self._info = GeneratorInfo(
            id=generator_id,
            kind=MediaKind.VIDEO,
            name="Offline slideshow video",
            description=(
                "An H.264 slideshow with a slow pan and zoom over the input images or "
                "cards of the prompt, made locally with Pillow and PyAV (free, offline)"
            ),
            provider="local",
            capabilities=(Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO),
            input_schema=input_schema(SlideshowVideoInput),
            output_mime_types=("video/mp4",),
        )

    def __repr__(self) -> str:
        return f"SlideshowVideoGenerator(id={self._id!r})"

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Render the slideshow to a scratch MP4 and commit it to ``store``."""
        params = parse_params(self._id, SlideshowVideoInput, request.params)
        capability = _capability(self._id, request)
        prompt = (request.prompt or "").strip()
        images: list[Image.Image] = []
        if capability == Capability.IMAGE_TO_VIDEO:
            images = await decode_images(self._id, request.inputs)
        else:
            prompt = prompt_or_text(self._id, request, what="text_to_video")
        progress = threadsafe_progress(on_progress)
        progress(0.0, "rendering frames")
        scratch = store.scratch_path(".mp4")
        frames = frame_count(params.duration_s, params.fps)

        def render(cancel: threading.Event) -> None:
            _render(scratch, images, prompt, params, frames, progress, cancel)

        await run_cancellable(render)
        assets: list[StoredAsset] = []
        try:
            name = output_name(request, "video", 0, 1)
            assets.append(await store.commit(scratch, name=name, kind=MediaKind.VIDEO))
        except BaseException:
            await discard_all(store, assets)
            raise
        progress(1.0, f"{frames} frames stored")
        return GenerationOutput(
            assets=tuple(assets),
            usage=MediaUsage(seconds=frames / params.fps, cost_usd=0.0),
            metadata={
                "capability": capability.value,
                "frames": frames,
                "fps": params.fps,
                "slides": len(images) if images else len(split_slides(prompt)),
            },
        )


def _moves(seed: str, count: int) -> list[tuple[bool, tuple[float, float], tuple[float, float]]]:
    """Per slide: zoom in?, start and end centre of the view (fractions of the free range)."""
    digest = hashlib.sha256(("ken-burns\x00" + seed).encode("utf-8")).digest()
    anchors = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 0.5), (0.5, 0.0), (0.0, 0.5))
    moves = []
    for i in range(count):
        a, b = digest[(2 * i) % 32], digest[(2 * i + 1) % 32]
        start = anchors[a % len(anchors)]
        end = anchors[(a // len(anchors) + 1 + b) % len(anchors)]
        if end == start:
            end = anchors[(anchors.index(start) + 3) % len(anchors)]
        moves.append((bool((a ^ b) & 1) != bool(i % 2), start, end))
    return moves


def _ease(t: float) -> float:
    return t * t * (3.0 - 2.0 * t)


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _render(
    scratch: Path,
    images: list[Image.Image],
    prompt: str,
    params: SlideshowVideoInput,
    frames: int,
    progress: Callable[[float | None, str], None],
    cancel: threading.Event,
) -> None:
    import numpy as np
    from PIL import Image, ImageOps

    from inference_core.adapters.media.av_ops import VideoWriter
    from inference_core.adapters.media.offline.cards import draw_card

    width, height = params.width, params.height
    base_size = (round(width * _ZOOM), round(height * _ZOOM))
    try:
        if images:
            slides = [
                ImageOps.fit(image.convert("RGB"), base_size, Image.Resampling.LANCZOS)
                for image in images
            ]
        else:
            slides = [
                draw_card(text, *base_size, seed=f"{prompt}\n#{i + 1}", inset=1 - 1 / _ZOOM)
                for i, text in enumerate(split_slides(prompt))
            ]
        slides = slides[:frames]  # never more slides than frames
        seed = prompt or "\x00".join(hashlib.sha256(i.tobytes()).hexdigest() for i in slides)
        moves = _moves(seed, len(slides))
        step = max(1, frames // _PROGRESS_STEPS)
        written = 0
        with VideoWriter(scratch, width=width, height=height, fps=params.fps) as writer:
            for slide, count, (zoom_in, start, end) in zip(
                slides, _split(frames, len(slides)), moves, strict=True
            ):
                for k in range(count):
                    if cancel.is_set():
                        raise Cancelled
                    t = _ease(k / (count - 1)) if count > 1 else 0.5
                    zoom = 1.0 + (_ZOOM - 1.0) * (t if zoom_in else 1.0 - t)
                    view_w, view_h = base_size[0] / zoom, base_size[1] / zoom
                    fx = start[0] + (end[0] - start[0]) * t
                    fy = start[1] + (end[1] - start[1]) * t
                    left = (base_size[0] - view_w) * fx
                    top = (base_size[1] - view_h) * fy
                    frame = slide.resize(
                        (width, height),
                        Image.Resampling.BILINEAR,
                        box=(left, top, left + view_w, top + view_h),
                    )
                    writer.write_rgb(np.asarray(frame, dtype=np.uint8))
                    written += 1
                    if written % step == 0:
                        progress(0.95 * written / frames, f"frame {written} of {frames}")
    except BaseException:
        unlink_quietly(scratch)
        raise


def _create(ctx: GeneratorContext) -> SlideshowVideoGenerator:
    return SlideshowVideoGenerator()


def _create_mock(ctx: GeneratorContext) -> SlideshowVideoGenerator:
    return SlideshowVideoGenerator(generator_id=MOCK_GENERATOR_ID)


_MISSING = requires("PIL", "av", "numpy")

#: The entry point ``inference_core.media_generators: offline_video``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.VIDEO,
    create=_create,
    missing=_MISSING,
    description="Offline Ken Burns slideshow video (H.264 MP4; free, no network, no key)",
)

#: The entry point ``inference_core.media_generators: mock_video_generator`` (seed examples).
PLUGIN_MOCK = GeneratorPlugin(
    id=MOCK_GENERATOR_ID,
    kind=MediaKind.VIDEO,
    create=_create_mock,
    missing=_MISSING,
    description="The seed's mock video generator: the offline slideshow under its old id",
)
