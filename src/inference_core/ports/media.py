"""Media generation and asset storage ports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from inference_core.domain.media import (
    GeneratedMedia,
    GenerationRequest,
    GeneratorInfo,
    StoredAsset,
)

__all__ = ["AssetStore", "MediaGenerator", "ProgressCallback"]

#: Called with a fraction in [0, 1] (or ``None`` when unknown) and a short status text.
ProgressCallback = Callable[[float | None, str], None]


@runtime_checkable
class MediaGenerator(Protocol):
    """Produces images, video or audio from a prompt and/or input media.

    Every implementation guarantees:

    * ``info.input_schema`` is exactly what it accepts; callers validate
      ``request.params`` against it before calling ``generate``.
    * Long jobs (submit/poll) stay inside ``generate``; cancelling the awaiting
      task cancels the remote job where the provider allows it.
    * Failures raise domain errors (``ProviderError`` subclasses or
      ``MediaGenerationError``); it never returns an empty list on failure.
    """

    @property
    def info(self) -> GeneratorInfo:
        """Identity, kind, capabilities and the published input/output JSON Schemas."""
        ...

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> list[GeneratedMedia]:
        """Run one generation and return at least one artefact."""
        ...


@runtime_checkable
class AssetStore(Protocol):
    """Stores generated media as files.

    Every implementation guarantees: writes are atomic (a reader never sees a
    half-written file), names are sanitised and never escape the store's root,
    and the returned ``sha256`` and ``size_bytes`` describe the bytes written.
    """

    async def save(self, data: bytes, name: str, mime_type: str) -> StoredAsset:
        """Write ``data`` under a safe version of ``name`` and describe the file."""
        ...
