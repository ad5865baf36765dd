"""Image facts read from bytes alone: format and pixel size from the file header.

Pure: no Pillow. The token estimator and message validation need an image's
mime type and size without decoding it; :mod:`inference_core.adapters.imaging`
does the decoding (and the real validation) with Pillow.

Supported headers: PNG, JPEG, GIF, WebP (lossy, lossless, extended) and BMP
for the size; TIFF is recognised by its mime type only.
"""

from __future__ import annotations

import base64
import binascii
import struct

from pydantic import BaseModel, ConfigDict, Field

from inference_core.domain.errors import InvalidImageError
from inference_core.domain.messages import ImagePart, split_data_url

__all__ = [
    "CHAT_IMAGE_MIME_TYPES",
    "ImageInfo",
    "ImageLimits",
    "b64_payload",
    "image_part_head",
    "image_part_size",
    "sniff_image_mime",
    "sniff_image_size",
    "validate_image_part",
]

#: The formats every vision chat API we target accepts (OpenAI, Anthropic, Gemini, Ollama).
CHAT_IMAGE_MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

# JPEG start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers with no length field after them.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})
# Enough decoded bytes for every header but a JPEG with a large EXIF block in front.
_HEAD_BYTES = 64 * 1024
_SMALL_HEAD_BYTES = 2048


class ImageLimits(BaseModel):
    """Guards applied before an image is decoded.

    Attributes:
        max_pixels: Largest width x height accepted; bigger images are refused
            before decoding (decompression-bomb guard). 50 megapixels lets a
            48 MP phone photo through and stops an 8000 x 8000 canvas.
        max_bytes: Largest encoded image accepted, in bytes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_pixels: int = Field(default=50_000_000, gt=0)
    max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)


class ImageInfo(BaseModel):
    """What :func:`get_image_info` reports about one image.

    Attributes:
        width: Width in pixels.
        height: Height in pixels.
        format: Format name as Pillow spells it (``PNG``, ``JPEG``, ``GIF``, ``WEBP``...).
        mode: Pixel mode (``RGB``, ``RGBA``, ``P``, ``L``, ``1``...).
        bytes: Size of the encoded image in bytes.
        mime_type: Mime type sniffed from the bytes.
        frames: Number of frames (1 unless animated).
        animated: True for multi-frame GIF/WebP/PNG.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    width: int
    height: int
    format: str
    mode: str
    bytes: int
    mime_type: str
    frames: int = 1
    animated: bool = False


def sniff_image_mime(data: bytes) -> str | None:
    """Return the mime type the leading bytes announce, or ``None`` if they are no known image.

    Looks at content only: a JPEG named ``photo.png`` is ``image/jpeg``.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"BM") and len(data) >= 18:
        return "image/bmp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


def sniff_image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) read from the header, or ``None`` when it cannot be read.

    ``None`` covers unknown formats, TIFF and headers cut short; it never raises.
    """
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", data[16:24])
            return _positive(width, height)
        if data.startswith((b"GIF87a", b"GIF89a")):
            width, height = struct.unpack("<HH", data[6:10])
            return _positive(width, height)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data.startswith(b"BM"):
            return _bmp_size(data)
    except struct.error:  # header cut short
        return None
    return None


def _positive(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None  # lost sync: not a well-formed marker stream
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return _positive(width, height)
        if marker == 0xDA:  # start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 30:  # every WebP header variant needs 30 bytes to carry its size
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return _positive(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        raw = data[24:30]
        if len(raw) < 6:
            return None
        width = int.from_bytes(raw[0:3], "little") + 1
        height = int.from_bytes(raw[3:6], "little") + 1
        return width, height
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return _positive(abs(width), abs(height))  # negative height = top-down rows


def image_part_head(part: ImagePart, size: int = _HEAD_BYTES) -> bytes | None:
    """Return up to ``size`` leading bytes of an inline image, decoding no more base64 than needed.

    Returns ``None`` for a remote URL or an undecodable data URL.
    """
    if part.data is not None:
        return part.data[:size]
    try:
        split = split_data_url(part.url or "")
    except ValueError:
        return None
    if split is None:
        return None
    payload = split[1]
    chars = -(-size // 3) * 4  # whole base64 quanta covering ``size`` bytes
    try:
        return binascii.a2b_base64(payload[:chars])[:size]
    except binascii.Error:
        return None


def image_part_size(part: ImagePart) -> tuple[int, int] | None:
    """Return (width, height) of an inline image from its header; ``None`` when unknown.

    Decodes as little as it can: 2 KiB holds every header but a JPEG frame
    header placed behind metadata, which is looked for in 64 KiB, then in the
    whole image. Remote URLs are never fetched, so their size is unknown.
    """
    for size in (_SMALL_HEAD_BYTES, _HEAD_BYTES):
        head = image_part_head(part, size)
        if head is None:
            return None
        found = sniff_image_size(head)
        if found is not None or len(head) < size or sniff_image_mime(head) != "image/jpeg":
            return found
    try:  # the frame header sits behind a big metadata block
        return sniff_image_size(part.inline()[1])
    except ValueError:
        return None


def validate_image_part(part: ImagePart, *, limits: ImageLimits | None = None) -> str | None:
    """Check what can be checked about an image without decoding it; return its mime type.

    Inline images must be valid base64, start with the header of a format chat
    APIs accept, agree with a declared mime type and respect ``limits``. Remote
    URLs are not fetched and return ``None``.

    Raises:
        InvalidImageError: The image fails one of the checks; the message says which.
    """
    if not part.is_inline:
        return None
    limits = limits or ImageLimits()
    try:
        declared, data = part.inline()
    except ValueError as exc:
        raise InvalidImageError(f"image data URL is not valid base64: {exc}") from exc
    if len(data) > limits.max_bytes:
        raise InvalidImageError(f"image is {len(data)} bytes; the limit is {limits.max_bytes}")
    mime = sniff_image_mime(data)
    if mime is None:
        raise InvalidImageError("image bytes are not a PNG, JPEG, GIF or WebP image")
    if mime not in CHAT_IMAGE_MIME_TYPES:
        raise InvalidImageError(f"{mime} is not accepted by chat models (use PNG, JPEG, GIF, WebP)")
    if declared not in (mime, "application/octet-stream") and not (
        declared == "image/jpg" and mime == "image/jpeg"
    ):
        raise InvalidImageError(f"image is declared as {declared} but its bytes are {mime}")
    size = sniff_image_size(data)
    if size is None:
        raise InvalidImageError(f"{mime} image header is truncated or corrupt")
    if size[0] * size[1] > limits.max_pixels:
        raise InvalidImageError(
            f"image is {size[0]}x{size[1]} = {size[0] * size[1]} pixels; "
            f"the limit is {limits.max_pixels}"
        )
    return mime


def b64_payload(data: str | bytes) -> bytes:
    """Decode a base64 string or a ``data:`` URL, tolerating whitespace and missing padding.

    Raises:
        InvalidImageError: The text is not base64 (or the data URL is malformed).
    """
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    try:
        split = split_data_url(text)
    except ValueError as exc:
        raise InvalidImageError(str(exc)) from None
    if split is not None:
        text = split[1]
    text = "".join(text.split())
    if not text:
        raise InvalidImageError("base64 image data is empty")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise InvalidImageError(f"image data is not valid base64: {exc}") from exc
