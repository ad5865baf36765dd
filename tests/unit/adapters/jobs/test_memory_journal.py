"""MemoryJobJournal: the SQLite journal's claim rules, within one process."""

from __future__ import annotations

import asyncio
import time

import pytest

from inference_core.adapters.jobs import MemoryJobJournal
from inference_core.domain.errors import JobJournalError
from inference_core.domain.jobs import JobState
from inference_core.ports.media import JobJournal
from tests.unit.adapters.jobs.test_sqlite_journal import draft


async def test_claims_leases_and_the_one_delivering_record_rule() -> None:
    journal = MemoryJobJournal()
    assert isinstance(journal, JobJournal)
    claims = await asyncio.gather(*(journal.claim(draft(), lease_s=60) for _ in range(10)))
    assert sum(c.owned for c in claims) == 1
    owner = next(c.record for c in claims if c.owned)
    old = draft(at=time.time() - 120)
    stale = MemoryJobJournal()
    assert (await stale.claim(old, lease_s=60)).owned
    assert (await stale.claim(draft(), lease_s=60)).owned  # the stale claim became LOST
    assert (await stale.get(old.id)).state is JobState.LOST  # type: ignore[union-attr]

    await journal.save(owner.model_copy(update={"state": JobState.FAILED}))
    again = await journal.claim(draft(), lease_s=60)
    assert again.owned
    with pytest.raises(JobJournalError):
        await journal.save(owner.model_copy(update={"state": JobState.RUNNING}))
    await journal.forget(again.record.id)
    assert [r.state for r in await journal.jobs()] == [JobState.FAILED]
