"""The seed's ``ImageUtils``: base64 encoding/decoding, saving, resizing and inspecting images.

A thin facade over the Pillow image helper the composition root hands out
(Pillow is imported on first use, never by ``import inference_core``). Every
method takes an optional :class:`~inference_core.domain.images.ImageLimits`;
all failures raise :class:`~inference_core.domain.errors.InvalidImageError`.

::

    url = ImageUtils.encode_image_to_base64("photo.png")  # "data:image/png;base64,..."
    image = ImageUtils.decode_base64_to_image(url)
    ImageUtils.save_base64_image(url, "out/photo.jpg")  # converted to JPEG, atomic write
    small = ImageUtils.resize_image("photo.png", max_size=(1024, 1024))
    ImageUtils.get_image_info("photo.png")  # {'width': 1920, 'height': 1080, 'format': 'PNG', ...}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference_core.domain.images import ImageLimits

if TYPE_CHECKING:
    from PIL import Image

    from inference_core.composition.services import ImageSource, PillowImaging

__all__ = ["ImageUtils"]


def _imaging(limits: ImageLimits | None) -> PillowImaging:
    from inference_core.composition.services import image_processor

    return image_processor(limits)


class ImageUtils:
    """Image helpers with the seed's method names (all static)."""

    @staticmethod
    def encode_image_to_base64(
        image: ImageSource, *, limits: ImageLimits | None = None, convert_unsupported: bool = True
    ) -> str:
        """Encode an image file, bytes or Pillow image as a ``data:`` URL.

        The mime type is sniffed from the bytes, not the file name. PNG, JPEG,
        GIF and WebP keep their bytes; other formats become PNG unless
        ``convert_unsupported`` is false.
        """
        return _imaging(limits).data_url(image, convert_unsupported=convert_unsupported)

    @staticmethod
    def decode_base64_to_image(
        data: str | bytes, *, limits: ImageLimits | None = None
    ) -> Image.Image:
        """Decode a ``data:`` URL or bare base64 into a loaded Pillow image."""
        return _imaging(limits).decode_base64(data)

    @staticmethod
    def save_base64_image(
        data: str | bytes, path: str | os.PathLike[str], *, limits: ImageLimits | None = None
    ) -> Path:
        """Validate a base64 image and write it atomically to ``path`` (converted to its suffix)."""
        return _imaging(limits).save_base64(data, path)

    @staticmethod
    def resize_image(
        image: ImageSource,
        max_size: int | tuple[int, int] = (1024, 1024),
        *,
        limits: ImageLimits | None = None,
    ) -> Image.Image:
        """Shrink an image to fit ``max_size``, keeping its aspect ratio (never enlarges)."""
        return _imaging(limits).resize(image, max_size)

    @staticmethod
    def get_image_info(image: ImageSource, *, limits: ImageLimits | None = None) -> dict[str, Any]:
        """Describe an image as a dict.

        Keys: ``width``, ``height``, ``format``, ``mode``, ``bytes``, ``mime_type``,
        ``frames``, ``animated``.
        """
        return _imaging(limits).info(image).model_dump()
