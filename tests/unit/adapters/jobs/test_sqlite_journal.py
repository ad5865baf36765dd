"""SqliteJobJournal: atomic claims (threads and processes), stale submits, durability, queries."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from inference_core.adapters.jobs import SqliteJobJournal, default_journal_path, new_owner
from inference_core.domain.errors import JobJournalError
from inference_core.domain.jobs import JobRecord, JobState, request_hash
from inference_core.domain.media import MediaKind, MediaUsage
from inference_core.ports.media import JobJournal

HASH = request_hash("fal", "fal-ai/kling-video/v2.6/pro/image-to-video", {"prompt": "a harbour"})


def draft(*, owner: str | None = None, digest: str = HASH, at: float | None = None) -> JobRecord:
    now = time.time() if at is None else at
    return JobRecord(
        id=uuid.uuid4().hex,
        provider="fal",
        model="fal-ai/kling-video/v2.6/pro/image-to-video",
        generator_id="fal_video_generator",
        kind=MediaKind.VIDEO,
        request_hash=digest,
        state=JobState.SUBMITTING,
        owner=owner or new_owner(),
        created_at=now,
        updated_at=now,
        usage=MediaUsage(seconds=5, cost_usd=0.35),
    )


@pytest.fixture
def journal(tmp_path: Path) -> SqliteJobJournal:
    return SqliteJobJournal(tmp_path / "state" / "jobs.sqlite3")


async def test_it_is_a_job_journal(journal: SqliteJobJournal) -> None:
    assert isinstance(journal, JobJournal)


async def test_the_first_claim_owns_the_hash_the_next_gets_the_record(
    journal: SqliteJobJournal,
) -> None:
    first = await journal.claim(draft(), lease_s=60)
    assert first.owned and first.record.state is JobState.SUBMITTING
    second = await journal.claim(draft(), lease_s=60)
    assert not second.owned and second.record.id == first.record.id

    submitted = first.record.model_copy(
        update={"state": JobState.RUNNING, "request_id": "req-1", "updated_at": time.time()}
    )
    await journal.save(submitted)
    third = await journal.claim(draft(), lease_s=60)
    assert not third.owned and third.record.request_id == "req-1"
    assert third.record.usage == MediaUsage(seconds=5, cost_usd=0.35)
    assert (await journal.get(first.record.id)) == submitted


async def test_records_that_cannot_deliver_do_not_block_a_new_claim(
    journal: SqliteJobJournal,
) -> None:
    for state in (JobState.COLLECTED, JobState.FAILED, JobState.CANCELLED, JobState.LOST):
        claim = await journal.claim(draft(), lease_s=60)
        assert claim.owned
        await journal.save(claim.record.model_copy(update={"state": state}))
    assert len(await journal.jobs()) == 4


def _dead_pid() -> str:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


async def test_a_submit_whose_process_died_is_lost_not_delivering(
    journal: SqliteJobJournal,
) -> None:
    owner = f"{socket.gethostname()}:{await asyncio.to_thread(_dead_pid)}:abc"
    stale = await journal.claim(draft(owner=owner), lease_s=3600)
    assert stale.owned
    fresh = await journal.claim(draft(), lease_s=3600)
    assert fresh.owned  # the dead submit could not deliver: the request may be sent again
    lost = await journal.get(stale.record.id)
    assert lost is not None and lost.state is JobState.LOST and "unknown" in (lost.error or "")


async def test_a_submit_held_past_its_lease_is_lost(journal: SqliteJobJournal) -> None:
    other_host = "another-host:1:abc"
    old = await journal.claim(draft(owner=other_host, at=time.time() - 120), lease_s=60)
    assert old.owned
    assert (await journal.claim(draft(), lease_s=60)).owned
    assert (await journal.get(old.record.id)).state is JobState.LOST  # type: ignore[union-attr]


async def test_two_delivering_records_of_one_request_cannot_exist(
    journal: SqliteJobJournal,
) -> None:
    claim = await journal.claim(draft(), lease_s=60)
    await journal.save(claim.record.model_copy(update={"state": JobState.FAILED}))
    again = await journal.claim(draft(), lease_s=60)
    with pytest.raises(JobJournalError, match="can still deliver"):
        await journal.save(claim.record.model_copy(update={"state": JobState.RUNNING}))
    assert (await journal.get(again.record.id)).state is JobState.SUBMITTING  # type: ignore[union-attr]


async def test_forget_and_queries(journal: SqliteJobJournal) -> None:
    claims = [await journal.claim(draft(digest=request_hash("fal", "m", {"i": i})), lease_s=60)
              for i in range(3)]  # fmt: skip
    await journal.save(claims[0].record.model_copy(update={"state": JobState.COLLECTED}))
    await journal.forget(claims[1].record.id)
    assert await journal.get(claims[1].record.id) is None
    active = await journal.jobs(states={JobState.SUBMITTING})
    assert [r.id for r in active] == [claims[2].record.id]
    assert [r.id for r in await journal.jobs(limit=1)] == [claims[2].record.id]  # newest first


async def test_concurrent_claims_from_threads_give_one_owner(journal: SqliteJobJournal) -> None:
    claims = await asyncio.gather(*(journal.claim(draft(), lease_s=60) for _ in range(20)))
    assert sum(c.owned for c in claims) == 1
    assert len({c.record.id for c in claims}) == 1


def test_concurrent_claims_from_processes_give_one_owner(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    script = textwrap.dedent(
        f"""
        import asyncio, time, uuid
        from inference_core.adapters.jobs import SqliteJobJournal, new_owner
        from inference_core.domain.jobs import JobRecord, JobState
        from inference_core.domain.media import MediaKind
        async def main():
            now = time.time()
            record = JobRecord(id=uuid.uuid4().hex, provider="fal", model="m", generator_id="g",
                               kind=MediaKind.IMAGE, request_hash={HASH!r},
                               state=JobState.SUBMITTING, owner=new_owner(), created_at=now,
                               updated_at=now)
            claim = await SqliteJobJournal({str(path)!r}).claim(record, lease_s=60)
            print(claim.owned, claim.record.id)
            time.sleep(0.5)  # stay alive: a dead owner's claim would be stale
        asyncio.run(main())
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    lines = [child.communicate(timeout=60)[0].split() for child in children]
    assert sorted(owned for owned, _ in lines) == ["False", "False", "False", "True"]
    assert len({job_id for _, job_id in lines}) == 1


def test_the_default_path_follows_xdg(tmp_path: Path) -> None:
    state = tmp_path / "xdg"
    assert default_journal_path({"XDG_STATE_HOME": str(state)}) == (
        state / "inference-core" / "jobs.sqlite3"
    )
    relative = default_journal_path({"XDG_STATE_HOME": "relative/dir"})
    assert relative.parts[-4:] == (".local", "state", "inference-core", "jobs.sqlite3")


async def test_an_unwritable_journal_is_a_typed_error_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    journal = SqliteJobJournal(blocker / "jobs.sqlite3")
    with pytest.raises(JobJournalError, match=str(blocker)):
        await journal.claim(draft(), lease_s=60)


async def test_the_file_is_in_wal_mode_and_private(journal: SqliteJobJournal) -> None:
    import sqlite3

    await journal.claim(draft(), lease_s=60)
    with sqlite3.connect(journal.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert os.stat(journal.path.parent).st_mode & 0o077 == 0
