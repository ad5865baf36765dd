"""The job journal in one SQLite file (stdlib ``sqlite3``, WAL mode), shared by processes.

Why SQLite: several processes of one user (a batch, the CLI's ``jobs resume``,
a restarted run) must agree on which jobs exist, atomically, without a
server. Claims run in ``BEGIN IMMEDIATE`` transactions (one writer at a time,
readers never blocked in WAL mode), and a partial unique index makes "at most
one record that can still deliver per request hash" a property of the file,
not of this code.

Durability: ``synchronous=NORMAL`` in WAL mode - a committed write survives
the process being killed the next instant (the case that matters: a billed
job must not be forgotten); a power cut may lose the last writes.

Liveness of a SUBMITTING claim: its ``owner`` is ``host:pid:token``. On the
same host a claim whose process is gone is stale at once; otherwise (or on
another host) it is stale when it was not updated for ``lease_s`` seconds.

Calls run in a worker thread (``asyncio.to_thread``) behind one lock: a busy
file (another process writing) never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from inference_core.domain.errors import JobJournalError
from inference_core.domain.jobs import DELIVERING, JobClaim, JobRecord, JobState
from inference_core.domain.media import MediaKind, MediaUsage

__all__ = ["SqliteJobJournal", "default_journal_path", "new_owner"]

T = TypeVar("T")

_SCHEMA_VERSION = 1
_DELIVERING_SQL = ", ".join(f"'{state.value}'" for state in sorted(DELIVERING))
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    generator_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    request_id TEXT,
    status_url TEXT,
    result_url TEXT,
    cancel_url TEXT,
    name TEXT,
    owner TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    usage TEXT NOT NULL DEFAULT '{{}}',
    result_ref TEXT NOT NULL DEFAULT '[]',
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_hash ON jobs (request_hash);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at);
CREATE UNIQUE INDEX IF NOT EXISTS one_delivering_job_per_request
    ON jobs (request_hash) WHERE state IN ({_DELIVERING_SQL});
"""
_COLUMNS = (
    "id",
    "provider",
    "model",
    "generator_id",
    "kind",
    "request_hash",
    "state",
    "request_id",
    "status_url",
    "result_url",
    "cancel_url",
    "name",
    "owner",
    "created_at",
    "updated_at",
    "usage",
    "result_ref",
    "error",
)
# Every SQL text below is built from these constant column names only; values are bound.
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"  # noqa: S608
_INSERT = (
    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_UPSERT = (
    _INSERT
    + " ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS[1:])
)


def default_journal_path(env: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/inference-core/jobs.sqlite3``, else ``~/.local/state/...``.

    A relative ``XDG_STATE_HOME`` is ignored, as the XDG spec asks.
    """
    state_home = env.get("XDG_STATE_HOME", "")
    base = Path(state_home) if state_home and Path(state_home).is_absolute() else None
    if base is None:
        base = Path.home() / ".local" / "state"
    return base / "inference-core" / "jobs.sqlite3"


def new_owner() -> str:
    """A claim owner for this process: ``host:pid:token``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    except OSError:
        return False
    return True


def _owner_gone(owner: str | None, host: str) -> bool:
    """True when ``owner`` is a process of this host that no longer runs."""
    if not owner:
        return True
    owner_host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if owner_host != host or not pid_text.isdigit():
        return False  # another host: only the lease can tell
    return not _process_alive(int(pid_text))


class SqliteJobJournal:
    """A :class:`~inference_core.ports.JobJournal` in one SQLite file.

    Args:
        path: The database file (its directory is created, mode 0700).
        clock: Wall-clock seconds (tests pass a fake).
        host: This machine's name, for the liveness of claims.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._clock = clock
        self._host = host or socket.gethostname()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteJobJournal({str(self.path)!r})"

    # -- the port -------------------------------------------------------------------------

    async def claim(self, draft: JobRecord, *, lease_s: float) -> JobClaim:
        """Claim ``draft.request_hash`` atomically (see the port for the guarantees)."""
        if draft.state is not JobState.SUBMITTING:
            raise JobJournalError(f"job journal {self.path}: a claim must be SUBMITTING")
        return await self._run(lambda db: self._claim(db, draft, lease_s))

    async def save(self, record: JobRecord) -> None:
        """Insert or replace the record with ``record.id``."""
        await self._run(lambda db: self._save(db, record))

    async def forget(self, job_id: str) -> None:
        """Delete the record ``job_id`` (a refused submit)."""
        await self._run(lambda db: db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)))

    async def get(self, job_id: str) -> JobRecord | None:
        """The record ``job_id``, or ``None``."""

        def read(db: sqlite3.Connection) -> JobRecord | None:
            row = db.execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
            return None if row is None else _record(row)

        return await self._run(read)

    async def jobs(
        self, *, states: Collection[JobState] | None = None, limit: int = 100
    ) -> Sequence[JobRecord]:
        """Records in ``states``, newest first."""
        wanted = [JobState(s).value for s in states] if states is not None else None

        def read(db: sqlite3.Connection) -> list[JobRecord]:
            if wanted is None:
                rows = db.execute(f"{_SELECT} ORDER BY created_at DESC LIMIT ?", (limit,))
            else:
                marks = ", ".join("?" for _ in wanted)
                rows = db.execute(
                    f"{_SELECT} WHERE state IN ({marks}) ORDER BY created_at DESC LIMIT ?",
                    (*wanted, limit),
                )
            return [_record(row) for row in rows.fetchall()]

        return await self._run(read)

    def close(self) -> None:
        """Close the connection (reopened on the next call)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- internals ------------------------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return work(self._connection())
            except sqlite3.IntegrityError as exc:
                raise JobJournalError(
                    f"job journal {self.path}: another job of the same request can still "
                    f"deliver ({exc})"
                ) from exc
            except (sqlite3.Error, OSError) as exc:
                raise JobJournalError(f"job journal {self.path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        db = sqlite3.connect(
            str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise JobJournalError(
                    f"job journal {self.path} has schema {version}; this version reads "
                    f"{_SCHEMA_VERSION} (upgrade inference-core)"
                )
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    def _claim(self, db: sqlite3.Connection, draft: JobRecord, lease_s: float) -> JobClaim:
        now = self._clock()
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                f"{_SELECT} WHERE request_hash = ? AND state IN ({_DELIVERING_SQL}) "
                "ORDER BY created_at",
                (draft.request_hash,),
            ).fetchall()
            for row in rows:
                record = _record(row)
                if record.state is JobState.SUBMITTING and self._stale(record, now, lease_s):
                    db.execute(
                        "UPDATE jobs SET state = ?, updated_at = ?, error = ? WHERE id = ?",
                        (
                            JobState.LOST.value,
                            now,
                            "the submit's outcome is unknown: its process stopped before "
                            "the provider answered",
                            record.id,
                        ),
                    )
                    continue
                db.execute("COMMIT")
                return JobClaim(record=record, owned=False)
            self._insert(db, draft)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return JobClaim(record=draft, owned=True)

    def _stale(self, record: JobRecord, now: float, lease_s: float) -> bool:
        return now - record.updated_at > lease_s or _owner_gone(record.owner, self._host)

    def _save(self, db: sqlite3.Connection, record: JobRecord) -> None:
        db.execute(_UPSERT, _values(record))

    def _insert(self, db: sqlite3.Connection, record: JobRecord) -> None:
        db.execute(_INSERT, _values(record))


def _values(record: JobRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.provider,
        record.model,
        record.generator_id,
        record.kind.value,
        record.request_hash,
        record.state.value,
        record.request_id,
        record.status_url,
        record.result_url,
        record.cancel_url,
        record.name,
        record.owner,
        record.created_at,
        record.updated_at,
        record.usage.model_dump_json(),
        json.dumps(list(record.result_ref)),
        record.error,
    )


def _record(row: Sequence[Any]) -> JobRecord:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["kind"] = MediaKind(data["kind"])
    data["state"] = JobState(data["state"])
    data["usage"] = MediaUsage.model_validate_json(data["usage"] or "{}")
    data["result_ref"] = tuple(json.loads(data["result_ref"] or "[]"))
    return JobRecord(**data)
