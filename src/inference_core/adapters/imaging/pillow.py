"""Image loading, validation, conversion and resizing with Pillow.

Every image that enters goes through one gate, :meth:`PillowImaging.decode`:
the size limit on the encoded bytes, the pixel limit read from the header
*before* any pixel is decoded (decompression-bomb guard), then a full decode
so truncated files fail here rather than at the provider. Every failure is an
:class:`~inference_core.domain.errors.InvalidImageError` naming the source.

Formats chat models accept (PNG, JPEG, GIF, WebP) travel as their original
bytes; others (BMP, TIFF...) are re-encoded as PNG. Writing JPEG flattens
what JPEG cannot hold: alpha and palette transparency are composited on a
white background, animated images keep their first frame, 1-bit and 16-bit
greyscale become 8-bit.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import TypeAlias

from PIL import Image, ImageOps, UnidentifiedImageError

from inference_core.domain.errors import InvalidImageError
from inference_core.domain.images import (
    CHAT_IMAGE_MIME_TYPES,
    ImageInfo,
    ImageLimits,
    b64_payload,
    sniff_image_mime,
    sniff_image_size,
)
from inference_core.domain.messages import ImageDetail, ImagePart

__all__ = [
    "ImageSource",
    "PillowImaging",
    "to_jpeg_compatible",
]

#: Anything an image can be given as: a path, encoded bytes, or an opened Pillow image.
ImageSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | Image.Image

_FORMAT_MIME = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # camera JPEGs with extra frames
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
_JPEG_QUALITY = 90
_WHITE = (255, 255, 255)


def _describe(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return f"image file {os.fspath(source)!r}"
    return "image"


def _mime_of(image: Image.Image, data: bytes | None = None) -> str:
    mime = sniff_image_mime(data) if data is not None else None
    return mime or _FORMAT_MIME.get(image.format or "", "application/octet-stream")


def to_jpeg_compatible(
    image: Image.Image, background: tuple[int, int, int] = _WHITE
) -> Image.Image:
    """Return ``image`` in a mode JPEG can store (``L`` or ``RGB``).

    Alpha (``RGBA``, ``LA``, ``PA``, palette transparency) is composited on
    ``background``; an animated image gives its current (first) frame; ``1``
    becomes ``L``; 16/32-bit greyscale is scaled down to 8 bits; ``CMYK`` and
    everything else becomes ``RGB``.
    """
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if mode in ("L", "RGB"):
        return image.copy() if getattr(image, "is_animated", False) else image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16") or mode == "I":
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return image.convert("RGB")


def _resampleable(image: Image.Image) -> Image.Image:
    # Pillow resizes palette and 1-bit images with NEAREST only; convert for a smooth result.
    if image.mode == "P":
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


class PillowImaging:
    """Image operations behind ``ImageUtils`` and multimodal message building.

    Args:
        limits: Size and pixel limits applied to every image read.
        jpeg_quality: Quality used whenever JPEG is written.
    """

    def __init__(self, limits: ImageLimits | None = None, *, jpeg_quality: int = _JPEG_QUALITY):
        self.limits = limits or ImageLimits()
        self.jpeg_quality = jpeg_quality

    def __repr__(self) -> str:
        return f"PillowImaging(limits={self.limits!r})"

    # --- reading -----------------------------------------------------------------------

    def read_bytes(self, source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> bytes:
        """Return the encoded bytes of a path or bytes-like source, within ``max_bytes``.

        Raises:
            InvalidImageError: The file is missing, unreadable or too large.
        """
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
        else:
            path = Path(source).expanduser()
            try:
                size = path.stat().st_size
                if not path.is_file():
                    raise InvalidImageError(f"{_describe(source)} is not a regular file")
                if size > self.limits.max_bytes:
                    raise InvalidImageError(
                        f"{_describe(source)} is {size} bytes; the limit is {self.limits.max_bytes}"
                    )
                data = path.read_bytes()
            except FileNotFoundError as exc:
                raise InvalidImageError(f"{_describe(source)} not found") from exc
            except OSError as exc:
                raise InvalidImageError(f"{_describe(source)} cannot be read: {exc}") from exc
        if len(data) > self.limits.max_bytes:
            raise InvalidImageError(
                f"image is {len(data)} bytes; the limit is {self.limits.max_bytes}"
            )
        if not data:
            raise InvalidImageError(f"{_describe(source)} is empty")
        return data

    def _check_pixels(self, width: int, height: int, what: str) -> None:
        if width * height > self.limits.max_pixels:
            raise InvalidImageError(
                f"{what} is {width}x{height} = {width * height} pixels; the limit is "
                f"{self.limits.max_pixels} (raise ImageLimits.max_pixels to accept it)"
            )

    def decode(self, data: bytes, *, what: str = "image") -> Image.Image:
        """Decode encoded image bytes into a fully loaded Pillow image (first frame).

        Raises:
            InvalidImageError: Not an image, truncated or corrupt, or over the pixel limit.
        """
        header_size = sniff_image_size(data[:65536])
        if header_size is not None:  # refuse before Pillow allocates anything
            self._check_pixels(*header_size, what)
        try:
            image = Image.open(io.BytesIO(data))
            self._check_pixels(image.width, image.height, what)
            image.load()
        except InvalidImageError:
            raise
        except UnidentifiedImageError as exc:
            mime = sniff_image_mime(data)
            if mime is not None:  # the signature is there: the rest is cut off or damaged
                raise InvalidImageError(f"{what} ({mime}) is truncated or corrupt") from exc
            raise InvalidImageError(f"{what} is not a recognised image format") from exc
        except Image.DecompressionBombError as exc:
            raise InvalidImageError(f"{what} is too large to decode safely: {exc}") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            # Pillow reports cut-off data as OSError("image file is truncated") or SyntaxError.
            raise InvalidImageError(f"{what} is truncated or corrupt: {exc}") from exc
        return image

    def open(self, source: ImageSource) -> Image.Image:
        """Load an image from a path, bytes or a Pillow image, through every guard."""
        if isinstance(source, Image.Image):
            self._check_pixels(source.width, source.height, "image")
            return source
        return self.decode(self.read_bytes(source), what=_describe(source))

    def info(self, source: ImageSource) -> ImageInfo:
        """Describe an image: size, format, mode, encoded bytes, mime type, frames.

        For a Pillow image, ``bytes`` is its size encoded in its own format (PNG if none).
        """
        if isinstance(source, Image.Image):
            self._check_pixels(source.width, source.height, "image")
            image, data = source, None
            size = len(self.encode(source, source.format or "PNG"))
        else:
            data = self.read_bytes(source)
            image = self.decode(data, what=_describe(source))
            size = len(data)
        frames = int(getattr(image, "n_frames", 1))
        return ImageInfo(
            width=image.width,
            height=image.height,
            format=image.format or "PNG",
            mode=image.mode,
            bytes=size,
            mime_type=_mime_of(image, data),
            frames=frames,
            animated=bool(getattr(image, "is_animated", False)) or frames > 1,
        )

    # --- writing -----------------------------------------------------------------------

    def encode(self, image: Image.Image, format: str) -> bytes:
        """Encode ``image`` (its current frame) as ``format`` (``PNG``, ``JPEG``, ``WEBP``...).

        Raises:
            InvalidImageError: Pillow cannot write the image in that format.
        """
        fmt = format.upper()
        if fmt == "JPG":
            fmt = "JPEG"
        frame = image
        if fmt == "JPEG":
            frame = to_jpeg_compatible(image)
        elif image.mode == "CMYK" and fmt in ("PNG", "WEBP", "GIF"):
            frame = image.convert("RGB")
        buffer = io.BytesIO()
        try:
            if fmt == "JPEG":
                frame.save(buffer, format=fmt, quality=self.jpeg_quality, optimize=True)
            else:
                frame.save(buffer, format=fmt)
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidImageError(f"cannot write a {image.mode} image as {fmt}: {exc}") from exc
        return buffer.getvalue()

    def data_url(self, source: ImageSource, *, convert_unsupported: bool = True) -> str:
        """Return ``source`` as a ``data:<mime>;base64,...`` URL, mime sniffed from the bytes.

        PNG, JPEG, GIF and WebP bytes are kept as they are; other formats are
        re-encoded as PNG unless ``convert_unsupported`` is false, which raises.
        A Pillow image is encoded as PNG.
        """
        mime, data = self._chat_bytes(source, convert_unsupported=convert_unsupported)
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def _chat_bytes(self, source: ImageSource, *, convert_unsupported: bool) -> tuple[str, bytes]:
        if isinstance(source, Image.Image):
            self._check_pixels(source.width, source.height, "image")
            return "image/png", self.encode(source, "PNG")
        data = self.read_bytes(source)
        image = self.decode(data, what=_describe(source))
        mime = _mime_of(image, data)
        if mime in CHAT_IMAGE_MIME_TYPES:
            return mime, data
        if not convert_unsupported:
            raise InvalidImageError(
                f"{_describe(source)} is {mime}; chat models take PNG, JPEG, GIF or WebP"
            )
        return "image/png", self.encode(ImageOps.exif_transpose(image), "PNG")

    def decode_base64(self, data: str | bytes) -> Image.Image:
        """Decode base64 text or a ``data:`` URL into a loaded Pillow image.

        Raises:
            InvalidImageError: Invalid base64, or the bytes are not a valid image.
        """
        return self.decode(b64_payload(data), what="base64 image")

    def save_base64(self, data: str | bytes, path: str | os.PathLike[str]) -> Path:
        """Write a base64 image (or data URL) to ``path`` atomically and return the path.

        The bytes are validated first. When the file extension names another
        format than the data's (``.jpg`` for PNG data), the image is converted
        (JPEG flattening alpha and palette onto white); otherwise the bytes are
        written unchanged. Missing parent directories are created. The file is
        written to a temporary name in the same directory, then renamed, so
        readers never see a partial file.

        Raises:
            InvalidImageError: The data is not a valid image.
            OSError: The file cannot be written.
        """
        raw = b64_payload(data)
        image = self.decode(raw, what="base64 image")
        target = Path(path).expanduser()
        wanted = Image.registered_extensions().get(target.suffix.lower())
        same = wanted is None or wanted == image.format or {wanted, image.format} == {"JPEG", "MPO"}
        _atomic_write(target, raw if same else self.encode(image, wanted or "PNG"))
        return target

    # --- resizing ----------------------------------------------------------------------

    def resize(self, source: ImageSource, max_size: int | tuple[int, int]) -> Image.Image:
        """Shrink an image to fit ``max_size`` (a side, or (width, height)), keeping its aspect.

        Images already small enough are returned unchanged (never upscaled).
        EXIF orientation is applied first so the result is upright. Animated
        images give their first frame.

        Raises:
            InvalidImageError: The source fails a guard, or ``max_size`` is not positive.
        """
        box = (max_size, max_size) if isinstance(max_size, int) else tuple(max_size)
        if len(box) != 2 or min(box) <= 0:
            raise InvalidImageError(f"max_size must be positive, got {max_size!r}")
        image = ImageOps.exif_transpose(self.open(source))
        width, height = image.size
        scale = min(box[0] / width, box[1] / height)
        if scale >= 1:
            return image
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return _resampleable(image).resize(size, Image.Resampling.LANCZOS)

    def downscale_part(self, part: ImagePart, max_side: int) -> ImagePart:
        """Return ``part`` shrunk so its longest side is at most ``max_side``.

        Remote URLs and images already small enough come back unchanged. The
        result keeps the part's form (bytes or data URL) and detail; JPEG and
        WebP stay in their format, anything else becomes PNG.
        """
        if not part.is_inline:
            return part
        data = _inline_bytes(part)
        header = sniff_image_size(data[:65536])
        if header is not None and max(header) <= max_side:
            return part
        image = self.decode(data)
        if max(image.size) <= max_side:
            return part
        fmt = {"image/jpeg": "JPEG", "image/webp": "WEBP"}.get(_mime_of(image, data), "PNG")
        encoded = self.encode(self.resize(image, max_side), fmt)
        new_mime = _FORMAT_MIME[fmt]
        if part.data is not None:
            return ImagePart(data=encoded, mime_type=new_mime, detail=part.detail)
        url = f"data:{new_mime};base64,{base64.b64encode(encoded).decode('ascii')}"
        return ImagePart(url=url, detail=part.detail)

    # --- message parts -----------------------------------------------------------------

    def to_part(
        self,
        source: ImageSource | ImagePart,
        *,
        detail: ImageDetail | None = None,
        max_side: int | None = None,
    ) -> ImagePart:
        """Turn a path, bytes, ``http(s)``/``data:`` URL or Pillow image into an image part.

        Remote URLs are kept as URLs (never fetched). Everything else is read,
        validated and carried inline; with ``max_side`` it is shrunk to fit.
        ``detail`` overrides the part's detail when given.
        """
        part: ImagePart
        if isinstance(source, ImagePart):
            part = source
            if part.is_inline:
                self.decode(_inline_bytes(part))
        elif isinstance(source, str) and source.startswith(("http://", "https://")):
            part = ImagePart(url=source)
        elif isinstance(source, str) and source.startswith("data:"):
            mime, data = self._chat_bytes(b64_payload(source), convert_unsupported=True)
            part = ImagePart(data=data, mime_type=mime)
        else:
            mime, data = self._chat_bytes(source, convert_unsupported=True)
            part = ImagePart(data=data, mime_type=mime)
        if detail is not None and part.detail != detail:
            part = part.model_copy(update={"detail": detail})
        if max_side is not None:
            part = self.downscale_part(part, max_side)
        return part


def _inline_bytes(part: ImagePart) -> bytes:
    try:
        return part.inline()[1]
    except ValueError as exc:
        raise InvalidImageError(f"image data URL is not valid base64: {exc}") from exc


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644  # mkstemp creates 0600; give the file the usual permissions
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
