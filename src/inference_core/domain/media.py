"""Media generation requests and results, generator descriptions and stored files."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "GeneratedMedia",
    "GenerationRequest",
    "GeneratorInfo",
    "MediaInput",
    "MediaKind",
    "StoredAsset",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MediaKind(StrEnum):
    """The kind of media a generator produces."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class MediaInput(BaseModel):
    """A piece of input media (a reference image, a clip...), by URI or bytes."""

    model_config = _FROZEN
    uri: str | None = None
    data: bytes | None = None
    mime_type: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MediaInput:
        if (self.uri is None) == (self.data is None):
            raise ValueError("media input needs exactly one of 'uri' or 'data'")
        return self


class GenerationRequest(BaseModel):
    """A request for a media generator.

    ``params`` are generator-specific and validated against the generator's
    published ``input_schema`` before the generator sees them.
    """

    model_config = _FROZEN
    kind: MediaKind
    generator_id: str
    prompt: str | None = None
    inputs: tuple[MediaInput, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)


class GeneratedMedia(BaseModel):
    """One generated artefact: bytes or a URI, with its mime type and measurements."""

    model_config = _FROZEN
    kind: MediaKind
    mime_type: str
    data: bytes | None = None
    uri: str | None = None
    duration_s: float | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_payload(self) -> GeneratedMedia:
        if self.data is None and self.uri is None:
            raise ValueError("generated media needs 'data' or 'uri'")
        return self


class GeneratorInfo(BaseModel):
    """What a generator is and what it accepts: the schema it publishes is the one enforced."""

    model_config = _FROZEN
    id: str
    kind: MediaKind
    name: str | None = None
    description: str | None = None
    capabilities: tuple[str, ...] = Field(
        default=(), description="E.g. text_to_image, image_to_image, text_to_speech."
    )
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)


class StoredAsset(BaseModel):
    """A file an :class:`~inference_core.ports.AssetStore` wrote."""

    model_config = _FROZEN
    path: str
    mime_type: str
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
