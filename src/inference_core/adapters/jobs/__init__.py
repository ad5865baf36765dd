"""Job journals: where queued media jobs are recorded before the library waits on them."""

from inference_core.adapters.jobs.memory import MemoryJobJournal
from inference_core.adapters.jobs.sqlite_journal import (
    SqliteJobJournal,
    default_journal_path,
    new_owner,
)

__all__ = ["MemoryJobJournal", "SqliteJobJournal", "default_journal_path", "new_owner"]
