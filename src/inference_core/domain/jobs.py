"""Queued media jobs: what the job journal records about each billed job.

A queued provider (fal.ai's queue, WaveSpeed) bills a job when it is
*submitted*, then makes the caller wait seconds to many minutes for it. The
journal keeps one :class:`JobRecord` per submitted job - written before
anyone waits on it - so a job whose caller timed out, crashed or was
interrupted is collected by the next identical call instead of being paid
for a second time.

Identity. Two requests are "the same job" when their :func:`request_hash`
is equal: the provider, the model endpoint and the exact arguments that
would be submitted (input images included, as sent). API keys and local
file names are not part of it.

Life of a record::

    SUBMITTING --accepted--> QUEUED --> RUNNING --> COMPLETED --> COLLECTED
        |                      |           |            |
        |                      +-----------+------------+--> FAILED / CANCELLED / LOST
        +--provider refused it (429, 503, connection refused): record removed
        +--outcome unknown (5xx, timeout, process died): LOST

A record *can deliver* while it is SUBMITTING (someone is submitting it right
now), QUEUED, RUNNING or COMPLETED (the result is waiting at the provider):
for one request hash there is at most one such record, and while there is
one, nothing is submitted again for that hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from inference_core.domain.media import MediaKind, MediaUsage

__all__ = ["DELIVERING", "JobClaim", "JobRecord", "JobState", "request_hash"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class JobState(StrEnum):
    """Where a recorded job is (see the module docstring for the transitions)."""

    SUBMITTING = "submitting"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    COLLECTED = "collected"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def can_deliver(self) -> bool:
        """True while the job may still produce its result (nothing may be resubmitted)."""
        return self in DELIVERING


#: States of a job that may still deliver: at most one record per request hash is in one.
DELIVERING: frozenset[JobState] = frozenset(
    {JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING, JobState.COMPLETED}
)


class JobRecord(BaseModel):
    """One submitted (or being submitted) job, as the journal keeps it.

    Attributes:
        id: The journal's own id of the record (``jobs cancel ID``).
        provider: ``fal``, ``wavespeed``...
        model: The provider's model endpoint the job was submitted to.
        generator_id: The generator that submitted it (and can collect it).
        kind: What the job produces.
        request_hash: :func:`request_hash` of the submitted request.
        state: Where the job is.
        request_id: The provider's id of the job (``None`` until the submit answered).
        status_url, result_url, cancel_url: Where to poll, collect and cancel it.
        name: Base name of the output files.
        owner: ``host:pid:token`` of the process that claimed it (liveness of a submit).
        created_at, updated_at: Wall-clock seconds (epoch).
        usage: What the job is billed, from the provider's declared prices.
        result_ref: Paths of the stored files once collected.
        error: The last error seen for this job (log-safe, never a key).
    """

    model_config = _FROZEN
    id: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    generator_id: str = Field(min_length=1)
    kind: MediaKind
    request_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    state: JobState
    request_id: str | None = None
    status_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None
    name: str | None = None
    owner: str | None = None
    created_at: float
    updated_at: float
    usage: MediaUsage = MediaUsage()
    result_ref: tuple[str, ...] = ()
    error: str | None = None


class JobClaim(BaseModel):
    """What :meth:`~inference_core.ports.JobJournal.claim` answers.

    Attributes:
        record: The new SUBMITTING record (``owned``) or the recorded job that
            can still deliver for the same request hash.
        owned: True when the caller created the record and must submit the job;
            False when it must collect (or wait for the submit of) ``record``.
    """

    model_config = _FROZEN
    record: JobRecord
    owned: bool


def request_hash(provider: str, model: str, arguments: Mapping[str, Any]) -> str:
    """sha256 of the canonical form of one job request (provider, model endpoint, arguments).

    Canonical: JSON with sorted keys, no whitespace, UTF-8, no NaN. Equal
    requests hash equally whatever the key order they were built in.

    Raises:
        ValueError: ``arguments`` holds something JSON cannot represent exactly.
    """
    canonical = json.dumps(
        {"provider": provider, "model": model, "arguments": arguments},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
