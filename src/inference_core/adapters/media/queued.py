"""Queued jobs, journalled: submit once, record, wait with a deadline, collect, download.

The shared engine of the queued generators (fal.ai, WaveSpeed). A provider
plugs in its wire (:class:`QueueWire`: submit, status, result, cancel); this
module owns the money rules:

* **Claim before submit.** The job's request hash is claimed in the
  :class:`~inference_core.ports.JobJournal`; when a recorded job of the same
  hash can still deliver (queued, running, completed but not collected -
  e.g. its process was killed), it is collected instead: nothing is submitted.
* **Record before waiting.** The provider's request id and URLs are saved the
  moment the submit answers, before the first status poll.
* **Submit retries only where nothing can have been accepted.** The wire says
  whether a failed submit may have reached the provider
  (:class:`SubmitFailed`). Refused ones (connection refused, 429, 503,
  other 4xx) drop the claim and keep the error's ``retryable`` (the use-case
  retries 429/503/refused); possibly accepted ones (500/502/504, timeouts,
  a dropped connection) mark the claim LOST and are never retried.
* **Polls and result fetches are retried here, freely**: status errors until
  the job's deadline, a result fetch up to ``result_attempts`` times (a 504
  after COMPLETED included) - nothing billed is repeated by them. A result
  fetch that still fails leaves the job COMPLETED: the next call (the
  use-case's retry, a rerun, ``jobs resume``) collects it.
* **A per-job deadline**, counted from the submit: past it the job is
  cancelled at the provider and :class:`~inference_core.domain.errors.JobDeadlineExceeded`
  carries its request id. A job the provider says had already completed is
  collected instead; one it could not cancel stays recorded.
* **Interruption is not cancellation.** Cancelling the awaiting task (a
  deadline of the caller, Ctrl-C) leaves the job running and recorded.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from inference_core.adapters.jobs import new_owner
from inference_core.adapters.media._common import discard_all, report
from inference_core.adapters.media.download import ResultDownloader
from inference_core.domain.errors import (
    InvalidGeneratorInput,
    JobDeadlineExceeded,
    JobFailed,
    JobJournalError,
    ModelNotFoundError,
    ProviderError,
)
from inference_core.domain.jobs import JobRecord, JobState, request_hash
from inference_core.domain.media import MediaKind, MediaUsage, StoredAsset
from inference_core.ports.media import AssetStore, JobJournal, ProgressCallback

__all__ = [
    "CancelOutcome",
    "Collected",
    "JobSpec",
    "JobStatus",
    "OutputFile",
    "QueueTiming",
    "QueueWire",
    "QueuedJobs",
    "SubmitFailed",
    "Submitted",
]

_MAX_LOG_LINE = 200
_RETRY_AFTER_CAP = 60.0


@dataclass(frozen=True)
class Submitted:
    """What an accepted submit answered: the job's id and where to reach it."""

    request_id: str
    status_url: str
    result_url: str
    cancel_url: str | None = None


@dataclass(frozen=True)
class JobStatus:
    """One status poll: the state, and what the provider told about progress."""

    state: JobState
    position: int | None = None
    logs: tuple[str, ...] = ()
    error: str | None = None


class CancelOutcome(Enum):
    """What a cancel request achieved."""

    CANCELLED = "cancelled"  # removed from the queue, or cancellation requested
    ALREADY_DONE = "already_done"  # it had completed: collect it
    NOT_POSSIBLE = "not_possible"  # the provider cannot cancel it (it keeps running)


class SubmitFailed(Exception):
    """A submit failed; ``maybe_accepted`` says whether the provider may hold (and bill) it."""

    def __init__(self, error: ProviderError, *, maybe_accepted: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.maybe_accepted = maybe_accepted


class QueueWire(Protocol):
    """One provider's queue protocol (internal to the queued adapters).

    Errors are domain errors with honest ``retryable`` flags; ``submit``
    wraps its failures in :class:`SubmitFailed`.
    """

    provider: str

    async def submit(self, model: str, arguments: Mapping[str, Any]) -> Submitted:
        """Submit one job (exactly one HTTP attempt)."""
        ...

    async def status(self, record: JobRecord) -> JobStatus:
        """Poll the job once."""
        ...

    async def result(self, record: JobRecord) -> Any:
        """Fetch the finished job's result document once (``JobFailed`` when it failed)."""
        ...

    async def cancel(self, record: JobRecord) -> CancelOutcome:
        """Ask the provider to cancel the job."""
        ...


@dataclass(frozen=True)
class OutputFile:
    """A file a finished job produced: its URL (or data URL) and the kind promised."""

    url: str
    kind: MediaKind


#: Reads the output files out of a result document (raises ``InvalidResponse``).
OutputReader = Callable[[JobRecord, Any], Sequence[OutputFile]]


@dataclass(frozen=True)
class JobSpec:
    """One job to run: what is submitted, and what it will cost.

    Attributes:
        generator_id: The submitting generator (recorded, for ``jobs resume``).
        kind: What the job produces.
        model: The provider's model endpoint.
        arguments: The body submitted (hashed to identify the job).
        name: Base name of the output files.
        usage: The job's billed units and cost from declared prices.
    """

    generator_id: str
    kind: MediaKind
    model: str
    arguments: Mapping[str, Any]
    name: str
    usage: MediaUsage = field(default_factory=MediaUsage)


@dataclass(frozen=True)
class QueueTiming:
    """Deadlines and poll pacing of queued jobs.

    Attributes:
        deadline_s: Seconds a job may take from its submit until it completes.
        poll_interval: First wait between status polls (then grown).
        poll_max_interval: Longest wait between polls.
        poll_growth: Factor applied to the wait after each poll.
        result_attempts: Tries of the result fetch after COMPLETED.
        download_attempts: Tries of each output download.
        submit_lease_s: Seconds a claim may stay SUBMITTING before others call it lost.
    """

    deadline_s: float
    poll_interval: float = 1.0
    poll_max_interval: float = 10.0
    poll_growth: float = 1.5
    result_attempts: int = 8
    download_attempts: int = 3
    submit_lease_s: float = 120.0


@dataclass(frozen=True)
class Collected:
    """A collected job: its final record and the stored files."""

    record: JobRecord
    assets: tuple[StoredAsset, ...]
    resumed: bool = False


@dataclass
class _Watch:
    """Per-wait bookkeeping: pacing and the log lines already reported."""

    interval: float
    logs_seen: int = 0
    failures: int = 0


class QueuedJobs:
    """Runs journalled jobs on one provider's queue.

    Args:
        wire: The provider's queue protocol.
        journal: Where jobs are recorded.
        downloader: Fetches output files into the store.
        timing: Deadline and pacing.
        outputs: Reads the output files out of a result document.
        clock: Wall-clock seconds (deadlines survive processes, so not monotonic).
        sleep: Waits between polls (tests pass a fast one).
    """

    def __init__(
        self,
        *,
        wire: QueueWire,
        journal: JobJournal,
        downloader: ResultDownloader,
        timing: QueueTiming,
        outputs: OutputReader,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.wire = wire
        self.journal = journal
        self.downloader = downloader
        self.timing = timing
        self._outputs = outputs
        self._clock = clock
        self._sleep = sleep
        self._owner = new_owner()

    # -- entry points -----------------------------------------------------------------------

    async def run(
        self, spec: JobSpec, *, store: AssetStore, on_progress: ProgressCallback | None
    ) -> Collected:
        """Run ``spec``: collect its recorded job if one can deliver, else submit it once."""
        digest = request_hash(self.wire.provider, spec.model, spec.arguments)
        waited_for_submit = False
        while True:
            now = self._clock()
            draft = JobRecord(
                id=uuid.uuid4().hex,
                provider=self.wire.provider,
                model=spec.model,
                generator_id=spec.generator_id,
                kind=spec.kind,
                request_hash=digest,
                state=JobState.SUBMITTING,
                name=spec.name,
                owner=self._owner,
                created_at=now,
                updated_at=now,
                usage=spec.usage,
            )
            claim = await self.journal.claim(draft, lease_s=self.timing.submit_lease_s)
            if claim.owned:
                record = await self._submit(claim.record, spec, on_progress)
                return await self._collect(record, store, on_progress, resumed=False)
            record = claim.record
            if record.state is not JobState.SUBMITTING:
                report(
                    on_progress,
                    None,
                    f"collecting recorded job {record.request_id} ({record.state.value}) "
                    "instead of submitting the same request again",
                )
                return await self._collect(record, store, on_progress, resumed=True)
            if not waited_for_submit:
                report(on_progress, None, "the same request is being submitted elsewhere: waiting")
                waited_for_submit = True
            await self._sleep(min(self.timing.poll_interval, 0.25))

    async def resume(
        self,
        job_id: str,
        generator_id: str,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None,
    ) -> Collected:
        """Collect the recorded job ``job_id`` (never submits)."""
        record = await self._own_record(job_id, generator_id)
        if record.state is JobState.COLLECTED:
            raise InvalidGeneratorInput(
                generator_id,
                [f"job {job_id} was collected already: {', '.join(record.result_ref)}"],
            )
        if record.state is JobState.SUBMITTING:
            raise InvalidGeneratorInput(
                generator_id, [f"job {job_id} is still being submitted by {record.owner}"]
            )
        return await self._collect(record, store, on_progress, resumed=True)

    async def cancel(self, job_id: str, generator_id: str) -> JobRecord:
        """Cancel ``job_id`` at the provider (when it may still run) and record it cancelled."""
        record = await self._own_record(job_id, generator_id)
        if not record.state.can_deliver:
            return record
        note = "cancelled by the user"
        if record.request_id is not None and record.state is not JobState.COMPLETED:
            outcome = await self.wire.cancel(record)
            if outcome is not CancelOutcome.CANCELLED:
                note += f" (the provider answered: {outcome.value})"
        updated = self._updated(record, state=JobState.CANCELLED, error=note)
        await self.journal.save(updated)
        return updated

    # -- submit -----------------------------------------------------------------------------

    async def _submit(
        self, record: JobRecord, spec: JobSpec, on_progress: ProgressCallback | None
    ) -> JobRecord:
        report(on_progress, 0.0, f"submitting to {spec.model}")
        try:
            submitted = await self.wire.submit(spec.model, spec.arguments)
        except SubmitFailed as failure:
            error = failure.error
            if failure.maybe_accepted:
                error.retryable = False  # it may run (and be billed): never submit it again
                await self._save_quietly(
                    self._updated(
                        record, state=JobState.LOST, error=f"submit outcome unknown: {error}"
                    ),
                    on_progress,
                )
            else:
                await self._forget_quietly(record, on_progress)
            raise error from error.__cause__
        except BaseException as exc:
            # Interrupted mid-submit: whether the provider took it is unknowable.
            await self._save_quietly(
                self._updated(
                    record,
                    state=JobState.LOST,
                    error=f"submit interrupted ({type(exc).__name__}); outcome unknown",
                ),
                on_progress,
            )
            raise
        record = self._updated(
            record,
            state=JobState.QUEUED,
            request_id=submitted.request_id,
            status_url=submitted.status_url,
            result_url=submitted.result_url,
            cancel_url=submitted.cancel_url,
        )
        await self._save_quietly(record, on_progress)  # recorded before anyone waits on it
        report(on_progress, 0.0, f"submitted: job {submitted.request_id}")
        return record

    # -- wait and collect -------------------------------------------------------------------

    async def _collect(
        self,
        record: JobRecord,
        store: AssetStore,
        on_progress: ProgressCallback | None,
        *,
        resumed: bool,
    ) -> Collected:
        if record.state in (JobState.FAILED, JobState.CANCELLED, JobState.LOST):
            raise self._failed(record, record.error or record.state.value)
        record = await self._wait(record, on_progress)
        result = await self._result(record, on_progress)
        assets = await self._download(record, result, store, on_progress)
        record = self._updated(
            record,
            state=JobState.COLLECTED,
            result_ref=tuple(asset.path for asset in assets),
            error=None,
        )
        await self._save_quietly(record, on_progress)
        return Collected(record=record, assets=assets, resumed=resumed)

    async def _wait(self, record: JobRecord, on_progress: ProgressCallback | None) -> JobRecord:
        watch = _Watch(interval=self.timing.poll_interval)
        while record.state is not JobState.COMPLETED:
            deadline_at = record.created_at + self.timing.deadline_s
            if self._clock() >= deadline_at:
                record = await self._expire(record, on_progress)
                if record.state is JobState.COMPLETED:
                    break
            try:
                status = await self.wire.status(record)
            except ProviderError as exc:
                await self._poll_failed(record, exc, watch, on_progress)
                continue
            watch.failures = 0
            self._report_status(status, watch, on_progress)
            if status.state is not record.state:
                record = self._updated(record, state=status.state, error=status.error)
                await self._save_quietly(record, on_progress)
            if status.state in (JobState.FAILED, JobState.CANCELLED):
                raise self._failed(record, status.error or status.state.value)
            if status.state is JobState.COMPLETED:
                break
            left = deadline_at - self._clock()
            await self._sleep(max(min(watch.interval, left), 0.0))
            watch.interval = min(watch.interval * self.timing.poll_growth, self._max_interval)
        return record

    @property
    def _max_interval(self) -> float:
        return max(self.timing.poll_max_interval, self.timing.poll_interval)

    async def _poll_failed(
        self,
        record: JobRecord,
        exc: ProviderError,
        watch: _Watch,
        on_progress: ProgressCallback | None,
    ) -> None:
        if isinstance(exc, ModelNotFoundError):
            lost = self._updated(
                record, state=JobState.LOST, error=f"unknown to the provider: {exc}"
            )
            await self._save_quietly(lost, on_progress)
            raise self._failed(lost, "the provider no longer knows this job") from exc
        if not exc.retryable:
            raise exc  # authentication, a malformed URL...: polling again cannot help
        watch.failures += 1
        report(on_progress, None, f"status check failed ({exc}); polling again")
        wait = watch.interval
        if exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, _RETRY_AFTER_CAP))
        left = record.created_at + self.timing.deadline_s - self._clock()
        await self._sleep(max(min(wait, left), 0.0))
        watch.interval = min(watch.interval * self.timing.poll_growth, self._max_interval)

    def _report_status(
        self, status: JobStatus, watch: _Watch, on_progress: ProgressCallback | None
    ) -> None:
        if status.state is JobState.QUEUED:
            where = f" (position {status.position})" if status.position is not None else ""
            report(on_progress, 0.0, f"in queue{where}")
        elif status.state is JobState.RUNNING:
            report(on_progress, None, "running")
        for line in status.logs[watch.logs_seen :]:
            report(on_progress, None, f"log: {line[:_MAX_LOG_LINE]}")
        watch.logs_seen = max(watch.logs_seen, len(status.logs))

    async def _expire(self, record: JobRecord, on_progress: ProgressCallback | None) -> JobRecord:
        """The deadline passed: cancel, then raise - or return a job that had completed."""
        outcome = CancelOutcome.NOT_POSSIBLE
        detail = ""
        try:
            outcome = await self.wire.cancel(record)
        except ProviderError as exc:
            detail = f"; cancelling failed ({exc})"
        if outcome is CancelOutcome.ALREADY_DONE:
            done = self._updated(record, state=JobState.COMPLETED)
            await self._save_quietly(done, on_progress)
            return done
        deadline = f"{self.timing.deadline_s:g}s"
        if outcome is CancelOutcome.CANCELLED:
            message = f"job {record.request_id} was not done {deadline} after its submit: cancelled"
            await self._save_quietly(
                self._updated(record, state=JobState.CANCELLED, error=message), on_progress
            )
        else:
            message = (
                f"job {record.request_id} was not done {deadline} after its submit and could "
                f"not be cancelled{detail}; it stays recorded: the next identical call, or "
                f"`inference-core jobs resume {record.id}`, collects it"
            )
            await self._save_quietly(self._updated(record, error=message), on_progress)
        raise JobDeadlineExceeded(
            message,
            request_id=record.request_id,
            job_id=record.id,
            cancelled=outcome is CancelOutcome.CANCELLED,
            provider=record.provider,
            model=record.model,
        )

    async def _result(self, record: JobRecord, on_progress: ProgressCallback | None) -> Any:
        attempts = max(self.timing.result_attempts, 1)
        wait = self.timing.poll_interval
        for attempt in range(1, attempts + 1):
            try:
                return await self.wire.result(record)
            except JobFailed as exc:
                failed = self._updated(record, state=JobState.FAILED, error=exc.detail)
                await self._save_quietly(failed, on_progress)
                raise
            except ProviderError as exc:
                if not exc.retryable or attempt == attempts:
                    # Still COMPLETED in the journal: a later call collects it, never resubmits.
                    await self._save_quietly(
                        self._updated(record, error=f"result fetch failed: {exc}"), on_progress
                    )
                    raise
                report(on_progress, None, f"result fetch failed ({exc}); trying again")
                await self._sleep(wait)
                wait = min(wait * self.timing.poll_growth, self._max_interval)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _download(
        self,
        record: JobRecord,
        result: Any,
        store: AssetStore,
        on_progress: ProgressCallback | None,
    ) -> tuple[StoredAsset, ...]:
        assets: list[StoredAsset] = []
        try:
            files = self._outputs(record, result)
            base = record.name or record.generator_id
            for index, output in enumerate(files):
                name = base if len(files) == 1 else f"{base}-{index + 1}"
                assets.append(await self._fetch(record, output, store, name))
                report(on_progress, 1.0, f"stored {name}")
        except BaseException as exc:
            await discard_all(store, assets)
            if isinstance(exc, Exception):
                await self._save_quietly(
                    self._updated(record, error=f"collecting the output failed: {exc}"),
                    on_progress,
                )
            raise
        return tuple(assets)

    async def _fetch(
        self, record: JobRecord, output: OutputFile, store: AssetStore, name: str
    ) -> StoredAsset:
        attempts = max(self.timing.download_attempts, 1)
        wait = self.timing.poll_interval
        for attempt in range(1, attempts + 1):
            try:
                return await self.downloader.save(
                    output.url, store=store, name=name, kind=output.kind, model=record.model
                )
            except ProviderError as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                await self._sleep(wait)
                wait = min(wait * self.timing.poll_growth, self._max_interval)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- helpers ----------------------------------------------------------------------------

    async def _own_record(self, job_id: str, generator_id: str) -> JobRecord:
        record = await self.journal.get(job_id)
        if record is None or record.generator_id != generator_id:
            raise InvalidGeneratorInput(generator_id, [f"no recorded job {job_id!r} of it"])
        return record

    def _updated(self, record: JobRecord, **changes: Any) -> JobRecord:
        return record.model_copy(update={**changes, "updated_at": self._clock()})

    def _failed(self, record: JobRecord, detail: str) -> JobFailed:
        return JobFailed(
            detail,
            provider=record.provider,
            model=record.model,
            request_id=record.request_id,
            job_id=record.id,
        )

    async def _forget_quietly(
        self, record: JobRecord, on_progress: ProgressCallback | None
    ) -> None:
        """Drop a refused claim; if the journal fails, mark it LOST by a save (best effort)."""
        try:
            await self.journal.forget(record.id)
        except JobJournalError as exc:
            report(on_progress, None, f"warning: the refused claim could not be removed ({exc})")

    async def _save_quietly(self, record: JobRecord, on_progress: ProgressCallback | None) -> None:
        """Save, but never lose a paid job over a journal failure: keep going in memory."""
        try:
            await self.journal.save(record)
        except JobJournalError as exc:
            report(on_progress, None, f"warning: the job could not be recorded ({exc})")
