"""``offline_image_card``: a card drawn with Pillow showing the prompt (no network, no key).

Text-to-image draws the prompt, wrapped, on colours derived from its SHA-256;
image-to-image composites the first input image (scaled, aspect kept) into
the card above the prompt. The same request gives byte-identical files.
Each card is written to a scratch file of the store and committed (sniffed,
checked, renamed atomically); a failure removes what was already stored.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from inference_core.adapters.media._common import (
    discard_all,
    output_name,
    parse_params,
    resolve_image_capability,
)
from inference_core.adapters.media.offline._shared import (
    HEX_COLOUR_PATTERN,
    Cancelled,
    decode_images,
    run_cancellable,
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
    from pathlib import Path

    from PIL import Image

__all__ = ["GENERATOR_ID", "PLUGIN", "ImageCardGenerator", "ImageCardInput"]

GENERATOR_ID = "offline_image_card"

_PIL_FORMATS = {"png": ("PNG", ".png"), "jpeg": ("JPEG", ".jpg"), "webp": ("WEBP", ".webp")}


class ImageCardInput(GeneratorInput):
    """Parameters of ``offline_image_card``."""

    width: int = Field(default=1024, ge=64, le=4096, description="Card width in pixels.")
    height: int = Field(default=1024, ge=64, le=4096, description="Card height in pixels.")
    background: str | None = Field(
        default=None,
        pattern=HEX_COLOUR_PATTERN,
        description="Background colour (#RRGGBB); default: derived from the prompt.",
    )
    n: int = Field(default=1, ge=1, le=4, description="How many cards (each with its own colours).")
    output_format: Literal["png", "jpeg", "webp"] = Field(
        default="png", description="Encoding of the files written."
    )


def _seed(prompt: str, index: int) -> str:
    # The first card of n is the card of n=1; the others get colours of their own.
    return prompt if index == 0 else f"{prompt}\n#{index + 1}"


class ImageCardGenerator(Published[ImageCardInput]):
    """Draws prompt cards (text_to_image) and prompt cards around an image (image_to_image).

    Args:
        generator_id: The id it is registered under.
    """

    _input_model = ImageCardInput

    def __init__(self, *, generator_id: str = GENERATOR_ID) -> None:
        self._id = generator_id
        self._info = GeneratorInfo(
            id=generator_id,
            kind=MediaKind.IMAGE,
            name="Offline image card",
            description="A card showing the prompt, drawn locally with Pillow (free, offline)",
            provider="local",
            capabilities=(Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE),
            input_schema=input_schema(ImageCardInput),
            output_mime_types=("image/png", "image/jpeg", "image/webp"),
        )

    def __repr__(self) -> str:
        return f"ImageCardGenerator(id={self._id!r})"

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Draw ``n`` cards and store them."""
        params = parse_params(self._id, ImageCardInput, request.params)
        capability = resolve_image_capability(self._id, request)
        prompt = (request.prompt or "").strip()
        picture: Image.Image | None = None
        if capability == Capability.IMAGE_TO_IMAGE:
            picture = (await decode_images(self._id, request.inputs[:1]))[0]
        elif not prompt:
            raise InvalidGeneratorInput(self._id, ["text_to_image needs a non-empty prompt"])
        pil_format, suffix = _PIL_FORMATS[params.output_format]
        progress = threadsafe_progress(on_progress)
        assets: list[StoredAsset] = []
        try:
            for index in range(params.n):
                progress(index / params.n, f"drawing card {index + 1} of {params.n}")
                scratch = store.scratch_path(suffix)
                await run_cancellable(
                    partial(_render, prompt, params, index, picture, scratch, pil_format)
                )
                name = output_name(request, "card", index, params.n)
                assets.append(await store.commit(scratch, name=name, kind=MediaKind.IMAGE))
        except BaseException:
            await discard_all(store, assets)
            raise
        progress(1.0, f"{params.n} card(s) stored")
        return GenerationOutput(
            assets=tuple(assets),
            usage=MediaUsage(images=params.n, cost_usd=0.0),
            metadata={
                "capability": capability.value,
                "width": params.width,
                "height": params.height,
            },
        )


def _render(
    prompt: str,
    params: ImageCardInput,
    index: int,
    picture: Image.Image | None,
    scratch: Path,
    pil_format: str,
    cancel: threading.Event,
) -> None:
    from inference_core.adapters.media.offline.cards import draw_card

    try:
        if cancel.is_set():
            raise Cancelled
        card = draw_card(
            prompt,
            params.width,
            params.height,
            seed=_seed(prompt, index),
            background=params.background,
            picture=picture,
        )
        options: dict[str, object] = {}
        if pil_format == "JPEG":
            options = {"quality": 90}
        elif pil_format == "WEBP":
            options = {"quality": 90, "method": 4}
        card.save(scratch, format=pil_format, **options)
    except BaseException:
        unlink_quietly(scratch)
        raise


def _create(ctx: GeneratorContext) -> ImageCardGenerator:
    return ImageCardGenerator()


#: The entry point ``inference_core.media_generators: offline_image_card``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.IMAGE,
    create=_create,
    missing=requires("PIL"),
    description="Offline prompt cards drawn with Pillow (free; no network, no key)",
)
