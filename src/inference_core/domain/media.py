"""Media generation: requests, generator descriptions, stored files and what a job cost.

Everything here is pure data. Files are never held whole in these types: a
generator writes its outputs to an :class:`~inference_core.ports.AssetStore`
and a :class:`GeneratedMedia` describes the file that was written, with the
measurements read back from it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inference_core.domain.messages import parse_data_url

__all__ = [
    "EXTENSIONS",
    "SNIFF_BYTES",
    "Capability",
    "GeneratedMedia",
    "GenerationOutput",
    "GenerationRequest",
    "GeneratorInfo",
    "MediaInput",
    "MediaKind",
    "MediaMeasurements",
    "MediaUsage",
    "StoredAsset",
    "kind_of_mime",
    "sniff_mime",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MediaKind(StrEnum):
    """The kind of media a generator produces."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class Capability(StrEnum):
    """What a generator can do; a request may name the one it wants."""

    TEXT_TO_IMAGE = "text_to_image"
    IMAGE_TO_IMAGE = "image_to_image"
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_TO_VIDEO = "video_to_video"
    TEXT_TO_SPEECH = "text_to_speech"
    AUDIO_POST = "audio_post"


def kind_of_mime(mime_type: str) -> MediaKind | None:
    """The media kind of a mime type (``image/png`` -> image), ``None`` for other types."""
    major = mime_type.partition("/")[0].lower()
    try:
        return MediaKind(major)
    except ValueError:
        return None


class MediaInput(BaseModel):
    """One piece of input media: exactly one of a file path, raw bytes or a URL.

    A ``data:`` URL given as ``url`` is decoded into ``data`` and ``mime_type``
    at construction, so adapters see bytes, a path or a real URL, never a
    data URL to parse again.
    """

    model_config = _FROZEN
    path: str | None = None
    data: bytes | None = None
    url: str | None = None
    mime_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _decode_data_url(cls, value: Any) -> Any:
        if isinstance(value, dict):
            url = value.get("url")
            if isinstance(url, str) and url.startswith("data:"):
                mime, data = parse_data_url(url)
                return {**value, "url": None, "data": data, "mime_type": mime}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> MediaInput:
        given = [name for name in ("path", "data", "url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "media input needs exactly one of 'path', 'data' or 'url' "
                f"(given: {', '.join(given) or 'none'})"
            )
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("media input 'url' must be an http(s) or data: URL")
        return self

    @classmethod
    def of(cls, value: MediaInput | bytes | str | Path) -> MediaInput:
        """Wrap what callers pass: bytes, a path, an http(s) URL or a data URL."""
        if isinstance(value, MediaInput):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return cls(data=bytes(value))
        if isinstance(value, Path):
            return cls(path=str(value))
        if value.startswith(("data:", "http://", "https://")):
            return cls(url=value)
        return cls(path=value)

    def describe(self) -> str:
        """A short, log-safe description (never the bytes)."""
        if self.data is not None:
            return f"{len(self.data)} bytes ({self.mime_type or 'unknown type'})"
        return self.path or (self.url or "")[:120]


class GenerationRequest(BaseModel):
    """What to generate and with which generator.

    Attributes:
        kind: The kind of media wanted.
        generator_id: The registered generator to use.
        capability: The operation asked for; ``None`` lets the generator infer it
            from the inputs (images given -> image_to_image...).
        prompt: The text prompt (image and video generators).
        text: The text to speak (speech generators).
        inputs: Reference media (images, clips, audio).
        params: Generator-specific options, validated against the generator's
            published input model before the generator sees them.
        name: Base name for the output files (made safe by the store).
    """

    model_config = _FROZEN
    kind: MediaKind
    generator_id: str = Field(min_length=1)
    capability: Capability | None = None
    prompt: str | None = None
    text: str | None = None
    inputs: tuple[MediaInput, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None


class StoredAsset(BaseModel):
    """A file an :class:`~inference_core.ports.AssetStore` wrote (atomically, in full)."""

    model_config = _FROZEN
    path: str
    mime_type: str = Field(description="Sniffed from the bytes, not taken from a header.")
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class MediaMeasurements(BaseModel):
    """What a media file is, read back from the file itself."""

    model_config = _FROZEN
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    duration_s: float | None = Field(default=None, ge=0)
    frame_count: int | None = Field(default=None, ge=0)
    fps: float | None = Field(default=None, gt=0)
    sample_rate: int | None = Field(default=None, gt=0)
    channels: int | None = Field(default=None, gt=0)


class GeneratedMedia(BaseModel):
    """One generated file on disk: where it is, what it is, and its measurements."""

    model_config = _FROZEN
    kind: MediaKind
    path: str
    mime_type: str
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    duration_s: float | None = Field(default=None, ge=0)
    frame_count: int | None = Field(default=None, ge=0)
    fps: float | None = Field(default=None, gt=0)
    sample_rate: int | None = Field(default=None, gt=0)
    channels: int | None = Field(default=None, gt=0)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_asset(
        cls,
        asset: StoredAsset,
        kind: MediaKind,
        measured: MediaMeasurements,
        metadata: dict[str, Any] | None = None,
    ) -> GeneratedMedia:
        """Describe a stored file with what was measured from it."""
        return cls(
            kind=kind,
            **asset.model_dump(),
            **measured.model_dump(),
            metadata=metadata or {},
        )

    def read_bytes(self) -> bytes:
        """The file's bytes (for the seed's data-URL return shapes; avoid for big files)."""
        return Path(self.path).read_bytes()


class MediaUsage(BaseModel):
    """What one generation consumed, as the provider bills it.

    ``cost_usd`` is ``None`` when the price is unknown (never 0 for unknown).
    """

    model_config = _FROZEN
    images: int = Field(default=0, ge=0)
    seconds: float = Field(default=0.0, ge=0)
    characters: int = Field(default=0, ge=0)
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)

    def __add__(self, other: MediaUsage) -> MediaUsage:
        def tokens(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else self.cost_usd + other.cost_usd
        )
        return MediaUsage(
            images=self.images + other.images,
            seconds=self.seconds + other.seconds,
            characters=self.characters + other.characters,
            input_tokens=tokens(self.input_tokens, other.input_tokens),
            output_tokens=tokens(self.output_tokens, other.output_tokens),
            cost_usd=cost,
        )


class GenerationOutput(BaseModel):
    """What a generator returns: the files it stored and what it consumed."""

    model_config = _FROZEN
    assets: tuple[StoredAsset, ...] = Field(min_length=1)
    usage: MediaUsage = MediaUsage()
    provider_request_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class GeneratorInfo(BaseModel):
    """What a generator is and what it accepts: the schema it publishes is the one enforced."""

    model_config = _FROZEN
    id: str
    kind: MediaKind
    name: str | None = None
    description: str | None = None
    version: str = "1.0.0"
    author: str | None = None
    provider: str = "local"
    capabilities: tuple[Capability | str, ...] = ()
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)
    output_mime_types: tuple[str, ...] = Field(
        default=(), description="Mime types the generator may produce; empty means any of its kind."
    )


#: Bytes a file needs for :func:`sniff_mime` to recognise it.
SNIFF_BYTES = 64


def sniff_mime(head: bytes) -> str | None:
    """The mime type of a file from its first bytes (magic numbers), ``None`` when unknown.

    Covers what generators produce: PNG, JPEG, GIF, WebP, MP4/MOV (ISO BMFF),
    WebM/Matroska, WAV, MP3, Ogg, FLAC, AAC (ADTS).
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "audio/mpeg"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"
    return None


#: File extension for each mime type :func:`sniff_mime` returns.
EXTENSIONS: dict[str, str] = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "audio/wav": ".wav",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
}
