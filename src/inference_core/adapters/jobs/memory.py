"""A job journal in memory: one process, nothing survives it (tests and throwaway runs).

Same claim rules as the SQLite journal within its process: at most one
record that can deliver per request hash, and a SUBMITTING claim not updated
for ``lease_s`` seconds is LOST. It cannot resume anything after a crash -
use :class:`~inference_core.adapters.jobs.SqliteJobJournal` for that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence

from inference_core.domain.errors import JobJournalError
from inference_core.domain.jobs import JobClaim, JobRecord, JobState

__all__ = ["MemoryJobJournal"]


class MemoryJobJournal:
    """A :class:`~inference_core.ports.JobJournal` held in a dict.

    Args:
        clock: Wall-clock seconds (for leases).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._records: dict[str, JobRecord] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def __repr__(self) -> str:
        return f"MemoryJobJournal({len(self._records)} records)"

    async def claim(self, draft: JobRecord, *, lease_s: float) -> JobClaim:
        """The deliverable record of ``draft.request_hash``, or ``draft`` saved as the caller's."""
        with self._lock:
            now = self._clock()
            for record in sorted(self._records.values(), key=lambda r: r.created_at):
                if record.request_hash != draft.request_hash or not record.state.can_deliver:
                    continue
                if record.state is JobState.SUBMITTING and now - record.updated_at > lease_s:
                    self._records[record.id] = record.model_copy(
                        update={"state": JobState.LOST, "updated_at": now}
                    )
                    continue
                return JobClaim(record=record, owned=False)
            self._records[draft.id] = draft
            return JobClaim(record=draft, owned=True)

    async def save(self, record: JobRecord) -> None:
        """Replace the record with ``record.id``."""
        with self._lock:
            if record.state.can_deliver and any(
                other.request_hash == record.request_hash
                and other.state.can_deliver
                and other.id != record.id
                for other in self._records.values()
            ):
                raise JobJournalError(
                    "in-memory job journal: another job of the same request can still deliver"
                )
            self._records[record.id] = record

    async def forget(self, job_id: str) -> None:
        """Delete ``job_id``."""
        with self._lock:
            self._records.pop(job_id, None)

    async def get(self, job_id: str) -> JobRecord | None:
        """The record ``job_id``, or ``None``."""
        with self._lock:
            return self._records.get(job_id)

    async def jobs(
        self, *, states: Collection[JobState] | None = None, limit: int = 100
    ) -> Sequence[JobRecord]:
        """Records in ``states``, newest first."""
        with self._lock:
            chosen = [r for r in self._records.values() if states is None or r.state in states]
        return sorted(chosen, key=lambda r: r.created_at, reverse=True)[:limit]
