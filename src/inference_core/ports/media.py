"""Media ports: generators, the store their files go to, the probe that measures them.

Design note: a generator returns the *stored* files plus what the job cost
(:class:`~inference_core.domain.media.GenerationOutput`), not measured
:class:`~inference_core.domain.media.GeneratedMedia`. Measuring (and checking
that a file really is the promised kind) is done once, by the use-case, with
one :class:`MediaProbe`, so no adapter can skip it or do it differently.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from inference_core.domain.media import (
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaMeasurements,
    StoredAsset,
)

__all__ = [
    "AssetStore",
    "GeneratorListing",
    "GeneratorRegistry",
    "MediaGenerator",
    "MediaProbe",
    "ProgressCallback",
]

#: Called by a generator with a fraction in [0, 1] (``None`` when unknown) and a
#: short, log-safe status line (queue position, a provider log line...).
ProgressCallback = Callable[[float | None, str], None]


@runtime_checkable
class AssetStore(Protocol):
    """Where generated files go. Nothing a reader can see is ever half-written.

    Every implementation guarantees:

    * Writes stream to a temporary name and become visible by an atomic
      rename; on any failure (too large, wrong type, I/O error, cancellation)
      nothing is left behind.
    * Names are made safe from ids: no path separators, no ``..``, no escape
      from the store's root; an existing file is never overwritten unless the
      store was built to allow it (a numbered name is chosen instead).
    * ``mime_type`` is sniffed from the bytes; a file whose bytes are not of
      the promised ``kind`` raises ``UnexpectedMediaType``; more than
      ``max_bytes`` raises ``MediaTooLarge``; ``sha256`` and ``size_bytes``
      describe exactly the bytes written.
    """

    async def save(
        self,
        content: bytes | AsyncIterable[bytes],
        *,
        name: str,
        kind: MediaKind,
        max_bytes: int | None = None,
    ) -> StoredAsset:
        """Stream ``content`` into a new file named after ``name`` and describe it."""
        ...

    def scratch_path(self, suffix: str) -> Path:
        """A fresh path inside the store for tools that write files themselves (PyAV, Pillow).

        The file is not an asset until :meth:`commit`; scratch files are never listed.
        """
        ...

    async def commit(
        self, scratch: Path, *, name: str, kind: MediaKind, max_bytes: int | None = None
    ) -> StoredAsset:
        """Check a finished scratch file like :meth:`save` does and rename it into place.

        The scratch file is removed whether or not the commit succeeds.
        """
        ...

    async def discard(self, asset: StoredAsset) -> None:
        """Delete a stored file (used when a later step rejects it). Missing is not an error."""
        ...


@runtime_checkable
class MediaProbe(Protocol):
    """Reads a media file back and measures it (dimensions, duration, frames, sample rate)."""

    def measure(self, path: Path, mime_type: str) -> MediaMeasurements:
        """Decode enough of ``path`` to measure it.

        Raises:
            UnexpectedMediaType: The file cannot be decoded as ``mime_type``.
        """
        ...


@runtime_checkable
class MediaGenerator(Protocol):
    """Produces images, video or audio from a prompt, a text and/or input media.

    Every implementation guarantees:

    * ``info.input_schema`` is the JSON Schema of ``input_model``: what is
      published is what is enforced. The caller has validated
      ``request.params`` against ``input_model`` (defaults applied) before
      calling ``generate``.
    * It makes exactly one attempt (the use-case owns retries) and writes every
      output through ``store`` (never holding a large file whole in memory
      when the provider can stream it).
    * Long jobs (submit/poll) stay inside ``generate``; cancelling the awaiting
      task cancels the remote job where the provider allows it.
    * Failures raise domain errors: ``ProviderError`` subclasses with an honest
      ``retryable`` (a refused prompt is ``ContentFiltered``, an answer with no
      media is ``InvalidResponse``), ``MediaGenerationError`` otherwise. It never
      returns without at least one stored file.
    """

    @property
    def info(self) -> GeneratorInfo:
        """Identity, kind, capabilities and the published input/output JSON Schemas."""
        ...

    @property
    def input_model(self) -> type[BaseModel]:
        """The pydantic model ``request.params`` is validated against."""
        ...

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Run one generation; return the stored files and the job's usage."""
        ...


class GeneratorListing(BaseModel):
    """One registered generator as a registry lists it: its description, or why it is unusable."""

    id: str
    kind: MediaKind
    source: str
    info: GeneratorInfo | None = None
    error: str | None = None


@runtime_checkable
class GeneratorRegistry(Protocol):
    """Finds generators by id. Generators are constructed lazily, on first use.

    Every implementation guarantees: a generator that failed to import or to
    construct stays listed with its error (never silently dropped or printed),
    and :meth:`get` raises ``GeneratorNotFound`` (listing the ids) for an
    unknown id and ``GeneratorUnavailable`` (with the reason) for a broken one.
    """

    def get(self, generator_id: str) -> MediaGenerator:
        """The generator registered under ``generator_id``, constructed if needed."""
        ...

    def listings(self, kind: MediaKind | None = None) -> Sequence[GeneratorListing]:
        """Every registered generator of ``kind`` (all kinds when ``None``), sorted by id."""
        ...

    def register(self, generator: MediaGenerator) -> None:
        """Add (or replace) a ready generator under its ``info.id``."""
        ...

    def reload(self) -> None:
        """Discover the plugin and directory generators again (registered ones are kept)."""
        ...
