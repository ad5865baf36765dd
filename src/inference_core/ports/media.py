"""Media ports: generators, the store their files go to, the probe that measures them.

Design note: a generator returns the *stored* files plus what the job cost
(:class:`~inference_core.domain.media.GenerationOutput`), not measured
:class:`~inference_core.domain.media.GeneratedMedia`. Measuring (and checking
that a file really is the promised kind) is done once, by the use-case, with
one :class:`MediaProbe`, so no adapter can skip it or do it differently.

Queued providers (fal.ai, WaveSpeed) bill a job when it is submitted. Their
generators record every job in a :class:`JobJournal` before waiting on it, so
a retry, a restart after a crash or ``inference-core jobs resume`` collects
the job instead of paying for it again (:class:`QueuedGenerator`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Collection, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from inference_core.domain.jobs import JobClaim, JobRecord, JobState
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
    "JobJournal",
    "MediaGenerator",
    "MediaProbe",
    "ProgressCallback",
    "QueuedGenerator",
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
      task cancels the remote job where the provider allows it - except a job
      recorded in a :class:`JobJournal`, which is left running and recorded so
      that the next identical call collects it (it is paid for already).
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


@runtime_checkable
class JobJournal(Protocol):
    """Where queued, billed jobs are recorded before anyone waits on them.

    Every implementation guarantees:

    * :meth:`claim` is atomic across tasks, threads and processes that share
      the journal: for one ``request_hash`` at most one record that can still
      deliver (``JobState.can_deliver``) exists. ``claim`` returns it
      (``owned=False``: collect it, or wait while another owner submits it) or
      creates a SUBMITTING record for the caller (``owned=True``: submit now).
    * A SUBMITTING record whose owner is gone (its process died, or it held
      the claim past ``lease_s`` without an update) is turned LOST by the next
      :meth:`claim`; it is never handed out as deliverable, and the job may
      then be submitted again (whether the lost submit reached the provider is
      unknowable).
    * :meth:`save` and :meth:`forget` are durable when they return: a record
      saved with its provider request id survives a crash of the process
      the next instant.
    * Records hold no secrets and no input bytes: the request is kept as its
      hash only. Failures raise ``JobJournalError`` naming the file.
    """

    async def claim(self, draft: JobRecord, *, lease_s: float) -> JobClaim:
        """Claim ``draft.request_hash``: the deliverable record for it, or ``draft`` saved as ours.

        ``draft`` is a SUBMITTING record with a fresh ``id`` and the caller's ``owner``.
        """
        ...

    async def save(self, record: JobRecord) -> None:
        """Write ``record`` (replacing the one with its ``id``); ``updated_at`` is taken as given.

        Raises:
            JobJournalError: Writing failed, or another record of the same hash
                can still deliver (the journal never holds two).
        """
        ...

    async def forget(self, job_id: str) -> None:
        """Delete a claim whose submit the provider provably refused (nothing was billed)."""
        ...

    async def get(self, job_id: str) -> JobRecord | None:
        """The record with ``job_id``, ``None`` when there is none."""
        ...

    async def jobs(
        self, *, states: Collection[JobState] | None = None, limit: int = 100
    ) -> Sequence[JobRecord]:
        """Records in ``states`` (all when ``None``), newest first, at most ``limit``."""
        ...


@runtime_checkable
class QueuedGenerator(MediaGenerator, Protocol):
    """A generator whose jobs run in a provider's queue and are kept in a :class:`JobJournal`.

    Besides the :class:`MediaGenerator` guarantees: ``generate`` records every
    job it submits before waiting on it, never submits a request whose hash has
    a recorded job that can still deliver (it collects that one), and when a
    job passes its deadline it cancels it at the provider and raises
    ``JobDeadlineExceeded`` carrying the provider's request id.
    """

    @property
    def journal(self) -> JobJournal:
        """The journal this generator records its jobs in."""
        ...

    async def resume(
        self,
        job_id: str,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Collect a recorded job (wait for it if it still runs); never submits anything.

        Raises:
            JobFailed: The job failed, was cancelled or is unknown to the provider.
            InvalidGeneratorInput: ``job_id`` is not a record of this generator.
        """
        ...

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a recorded job at the provider (when it still runs) and record it cancelled."""
        ...
