"""GenerateMedia: one generation (or a bounded batch) with validation, retries, usage and checks.

The flow of one request:

1. find the generator (``GeneratorNotFound`` / ``GeneratorUnavailable``), check
   the kind and capability asked for;
2. validate ``params`` against the generator's published input model
   (``InvalidGeneratorInput`` naming every bad field; fields a generator chose
   to ignore are reported as an ``inference.media_params_ignored`` event);
3. run attempts under the same retry owner and deadline as chat;
4. read every stored file back with the probe: a file that is not what was
   promised is deleted and the call fails (``UnexpectedMediaType``), so no
   caller ever gets a handle to a broken file;
5. record one usage event per attempt (``inference.media``) and return a
   :class:`MediaResult`.

Money rules. A generation is paid for when the provider runs it, so an error
is retried only when it proves the job did not run (:func:`may_have_run`):
rate limits, an error status (5xx) and connections never made. A timed-out
attempt, a connection lost after the request was sent and a 200 whose body
was cut are not retried: the provider may have run (and billed) the job, and
repeating it would pay twice (the job journal of queued providers is what
resumes those). Checks that fail after
a file was stored (wrong type, too large) are final: asking again would pay
again for what is most likely the same answer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inference_core.application.observability import (
    AsyncioSleeper,
    AttemptRecorder,
    NullEventLog,
    SystemClock,
)
from inference_core.application.policy import CallContext, RetryRunner
from inference_core.application.results import MediaResult
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    InvalidGeneratorInput,
    ProviderError,
    ProviderUnavailable,
    ProviderUnreachable,
    RateLimitError,
    UnexpectedMediaType,
)
from inference_core.domain.generator_input import validate_params
from inference_core.domain.media import (
    GeneratedMedia,
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
    StoredAsset,
    kind_of_mime,
)
from inference_core.ports.media import AssetStore, GeneratorRegistry, MediaGenerator, MediaProbe
from inference_core.ports.runtime import Clock, EventLog, Sleeper, UsageSink

__all__ = ["GenerateMedia", "MediaProgress", "MediaProgressCallback", "TrackingStore"]


class TrackingStore:
    """An :class:`AssetStore` that remembers what it stored, so a failed step can undo it.

    A generator that stores a file and then fails (or is cancelled) must not
    leave the file behind: nobody holds a handle to it.
    """

    def __init__(self, inner: AssetStore) -> None:
        self.inner = inner
        self.stored: list[StoredAsset] = []

    async def save(
        self,
        content: bytes | AsyncIterable[bytes],
        *,
        name: str,
        kind: MediaKind,
        max_bytes: int | None = None,
    ) -> StoredAsset:
        """Store through the inner store and remember the file."""
        asset = await self.inner.save(content, name=name, kind=kind, max_bytes=max_bytes)
        self.stored.append(asset)
        return asset

    def scratch_path(self, suffix: str) -> Path:
        """The inner store's scratch path."""
        return self.inner.scratch_path(suffix)

    async def commit(
        self, scratch: Path, *, name: str, kind: MediaKind, max_bytes: int | None = None
    ) -> StoredAsset:
        """Commit through the inner store and remember the file."""
        asset = await self.inner.commit(scratch, name=name, kind=kind, max_bytes=max_bytes)
        self.stored.append(asset)
        return asset

    async def discard(self, asset: StoredAsset) -> None:
        """Delete through the inner store."""
        await self.inner.discard(asset)

    async def discard_all(self) -> None:
        """Delete every file stored through this wrapper (shielded from cancellation)."""
        stored, self.stored = self.stored, []
        for asset in stored:
            await asyncio.shield(self.inner.discard(asset))


@dataclass(frozen=True, slots=True)
class MediaProgress:
    """A progress report of one request of a call or batch.

    Attributes:
        index: Position of the request in the batch (0 for a single call).
        total: Requests in the batch.
        generator_id: The generator working on it.
        fraction: Its progress in [0, 1], ``None`` when unknown.
        message: A short, log-safe status line.
        done: True on the last report of this request (finished or failed).
    """

    index: int
    total: int
    generator_id: str
    fraction: float | None
    message: str
    done: bool = False


MediaProgressCallback = Callable[[MediaProgress], None]

#: A request whose generator was found and whose params were validated (defaults applied).
_Prepared = tuple[MediaGenerator, GenerationRequest]


class GenerateMedia:
    """Generate images, video or speech through the registered generators.

    Args:
        registry: Finds generators by id.
        store: Where files go unless a call names another store.
        probe: Reads stored files back to measure and check them.
        retry: Retry policy (``RuntimeConfig.retry``); calls may override it.
        usage_sinks: Receive one usage event per attempt (the ledger).
        log: Receives ``inference.media`` events.
        clock, sleeper: Time (tests pass fakes).
    """

    def __init__(
        self,
        registry: GeneratorRegistry,
        store: AssetStore,
        probe: MediaProbe,
        *,
        retry: RetryPolicy | None = None,
        usage_sinks: Sequence[UsageSink] = (),
        log: EventLog | None = None,
        clock: Clock | None = None,
        sleeper: Sleeper | None = None,
        runner: RetryRunner | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.probe = probe
        self.retry_policy = retry or RetryPolicy()
        self.log: EventLog = log or NullEventLog()
        self.clock: Clock = clock or SystemClock()
        if runner is None:
            runner = RetryRunner(self.clock, sleeper or AsyncioSleeper())
        self.runner = runner
        self.recorder = AttemptRecorder(usage_sinks, self.log)

    async def __call__(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore | None = None,
        on_progress: MediaProgressCallback | None = None,
        retry: RetryPolicy | None = None,
        request_id: str | None = None,
    ) -> MediaResult:
        """Run one generation.

        Raises:
            GeneratorNotFound, GeneratorUnavailable: No usable generator of that id.
            InvalidGeneratorInput: Kind, capability or params rejected (nothing was sent).
            ProviderError: The provider's error after retries (``DeadlineExceeded``
                when the call's deadline passed).
            AssetStoreError: An output was too large or not the promised type
                (nothing was kept).
        """
        prepared = self._prepare(request)
        return await self._one(prepared, store or self.store, on_progress, retry, request_id, 0, 1)

    async def generate_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        concurrency: int = 4,
        store: AssetStore | None = None,
        on_progress: MediaProgressCallback | None = None,
        retry: RetryPolicy | None = None,
    ) -> list[MediaResult | Exception]:
        """Run several generations, at most ``concurrency`` at a time, in request order.

        A failure never cancels the others (they may already be paid for): each
        position holds its :class:`MediaResult` or the exception that ended it.
        Every request is validated before any is started, so a bad batch costs
        nothing.

        Raises:
            InvalidGeneratorInput: A request is invalid (named by its index), or
                ``concurrency`` is not a positive integer.
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidGeneratorInput("generate_many", ["concurrency must be an integer >= 1"])
        prepared = []
        for index, request in enumerate(requests):
            try:
                prepared.append(self._prepare(request))
            except InvalidGeneratorInput as exc:
                raise InvalidGeneratorInput(
                    exc.generator_id, [f"request {index}: {p}" for p in exc.problems]
                ) from None
        gate = asyncio.Semaphore(concurrency)
        total = len(requests)
        target = store or self.store

        async def run(index: int, checked: _Prepared) -> MediaResult | Exception:
            async with gate:
                try:
                    return await self._one(checked, target, on_progress, retry, None, index, total)
                except Exception as exc:  # reported in its slot, by contract
                    return exc

        return list(await asyncio.gather(*(run(i, p) for i, p in enumerate(prepared))))

    # -- one request --------------------------------------------------------

    def _prepare(self, request: GenerationRequest) -> _Prepared:
        """Find the generator and validate the request once (kind, capability, params)."""
        generator = self.registry.get(request.generator_id)
        info = generator.info
        problems = _request_problems(info, request)
        if problems:
            raise InvalidGeneratorInput(info.id, problems)
        params, ignored = validate_params(info.id, generator.input_model, request.params)
        if ignored:
            self.log.warning(
                "inference.media_params_ignored", generator=info.id, fields=list(ignored)
            )
        checked = request.model_copy(update={"params": params.model_dump()})
        return generator, checked

    async def _one(
        self,
        prepared: _Prepared,
        store: AssetStore,
        on_progress: MediaProgressCallback | None,
        retry: RetryPolicy | None,
        request_id: str | None,
        index: int,
        total: int,
    ) -> MediaResult:
        generator, checked = prepared
        info = generator.info
        ctx = CallContext(
            request_id=request_id or uuid.uuid4().hex,
            policy=retry or self.retry_policy,
            clock=self.clock,
            started=self.clock.now(),
        )

        def progress(fraction: float | None, message: str) -> None:
            if on_progress is not None:
                on_progress(MediaProgress(index, total, info.id, fraction, message))

        async def attempt(number: int) -> tuple[GenerationOutput, tuple[GeneratedMedia, ...]]:
            ctx.attempts += 1
            began = self.clock.now()
            tracked = TrackingStore(store)
            try:
                output = await ctx.bounded(
                    generator.generate(checked, store=tracked, on_progress=progress)
                )
                files = await self._checked_files(info, output, store)
            except asyncio.CancelledError:
                await tracked.discard_all()  # stored before the cancel: nobody will get it
                self._record(ctx, info, number, began, cancelled=True)
                raise
            except Exception as exc:
                await tracked.discard_all()
                if isinstance(exc, ProviderError) and exc.retryable and may_have_run(exc):
                    exc.retryable = False  # it may have run (and been billed): never pay twice
                ctx.last_error = exc
                ctx.annotate(exc)
                self._record(ctx, info, number, began, error=exc)
                raise
            self._record(ctx, info, number, began, media=output.usage)
            return output, files

        try:
            output, files = await self.runner.run(ctx, attempt)
        except BaseException:
            if on_progress is not None:
                on_progress(MediaProgress(index, total, info.id, None, "failed", done=True))
            raise
        if on_progress is not None:
            on_progress(MediaProgress(index, total, info.id, 1.0, "done", done=True))
        return MediaResult(
            generator_id=info.id,
            provider=info.provider,
            files=files,
            usage=output.usage,
            attempts=ctx.attempts,
            latency_ms=ctx.elapsed() * 1000.0,
            request_id=ctx.request_id,
            provider_request_id=output.provider_request_id,
        )

    async def _checked_files(
        self, info: GeneratorInfo, output: GenerationOutput, store: AssetStore
    ) -> tuple[GeneratedMedia, ...]:
        """Measure every stored file; on any bad one, delete them all and raise."""
        try:
            files = []
            for asset in output.assets:
                if kind_of_mime(asset.mime_type) is not info.kind:
                    raise UnexpectedMediaType(
                        Path(asset.path).name, info.kind.value, asset.mime_type
                    )
                measured = await asyncio.to_thread(
                    self.probe.measure, Path(asset.path), asset.mime_type
                )
                files.append(
                    GeneratedMedia.from_asset(asset, info.kind, measured, dict(output.metadata))
                )
            return tuple(files)
        except BaseException:
            for asset in output.assets:
                await store.discard(asset)
            raise

    def _record(
        self,
        ctx: CallContext,
        info: GeneratorInfo,
        number: int,
        began: float,
        *,
        media: MediaUsage | None = None,
        error: BaseException | None = None,
        cancelled: bool = False,
    ) -> None:
        self.recorder.record_media(
            request_id=ctx.request_id,
            generator_id=info.id,
            provider=info.provider,
            attempt=number,
            latency_s=self.clock.now() - began,
            media=media,
            error=error,
            cancelled=cancelled,
        )


def may_have_run(error: ProviderError) -> bool:
    """Whether a failed attempt may have run the (paid) job at the provider.

    Only three answers prove it did not: a rate limit (429), an error status the
    provider answered with (5xx: nothing was delivered, nothing is billed), and
    a connection that was never made. A timeout, a connection lost after the
    request was sent, or a 200 whose body was cut or malformed all may have run.
    """
    if isinstance(error, RateLimitError | ProviderUnreachable):
        return False
    return not (isinstance(error, ProviderUnavailable) and error.status is not None)


def _request_problems(info: GeneratorInfo, request: GenerationRequest) -> list[str]:
    problems = []
    if request.kind is not info.kind:
        problems.append(f"generator {info.id!r} makes {info.kind.value}, not {request.kind.value}")
    if (
        request.capability is not None
        and info.capabilities
        and (request.capability not in info.capabilities)
    ):
        offered = ", ".join(str(c) for c in info.capabilities)
        problems.append(f"capability {request.capability.value!r} not offered (offers: {offered})")
    return problems
