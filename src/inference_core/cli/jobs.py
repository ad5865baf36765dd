"""The ``jobs`` commands: the queued media jobs (fal, WaveSpeed) recorded in the job journal.

* ``jobs list`` - recorded jobs, newest first (``--active``: only those that
  can still deliver; ``--state``: chosen states).
* ``jobs cancel ID`` - cancel a job at its provider and record it cancelled
  (the next identical request then submits a new one).
* ``jobs resume [ID ...]`` - collect jobs (all that can still deliver when no
  ID is given) into ``--out``: waits for running ones, never submits.

The journal is ``--journal``, else ``media.journal_path``, else
``$XDG_STATE_HOME/inference-core/jobs.sqlite3``; ``cancel`` and ``resume``
build the job's generator on that same journal.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from inference_core.cli.console import Console
from inference_core.composition import Inference, bootstrap
from inference_core.domain.errors import InferenceError, InvalidGeneratorInput
from inference_core.domain.jobs import DELIVERING, JobRecord, JobState
from inference_core.ports.media import JobJournal, QueuedGenerator

__all__ = ["add_job_commands"]

_MAX_ERROR = 80


def add_job_commands(sub: Any) -> None:
    """Register ``jobs list|cancel|resume`` on the CLI's sub-parsers."""
    jobs = sub.add_parser("jobs", help="queued media jobs (fal, WaveSpeed): list, cancel, resume")
    jobs.add_argument("--journal", help="job journal file (default: media.journal_path)")
    actions = jobs.add_subparsers(dest="jobs_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="recorded jobs, newest first")
    listing.add_argument("--active", action="store_true", help="only jobs that can deliver")
    listing.add_argument(
        "--state", action="append", choices=[s.value for s in JobState], help="repeatable"
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_jobs_list)

    cancel = actions.add_parser("cancel", help="cancel a job at its provider")
    cancel.add_argument("job_id", metavar="ID")
    cancel.set_defaults(handler=cmd_jobs_cancel)

    resume = actions.add_parser("resume", help="collect recorded jobs (never resubmits)")
    resume.add_argument("job_ids", metavar="ID", nargs="*", help="default: every active job")
    resume.add_argument("--out", "-o", default=None, help="output directory")
    resume.set_defaults(handler=cmd_jobs_resume)


def _setup(args: argparse.Namespace) -> tuple[Inference, JobJournal, str]:
    from inference_core.composition.services import job_journal

    inference = bootstrap(config_path=args.config)
    args.inference = inference  # main() closes it
    journal = job_journal(inference, args.journal)
    path = str(getattr(journal, "path", args.journal or ""))
    return inference, journal, path


def _generator(inference: Inference, record: JobRecord, journal_path: str) -> QueuedGenerator:
    """The record's generator, built on the same journal file as this command's."""
    media = inference.media_with(
        options={record.generator_id: {"journal_path": journal_path}} if journal_path else None
    )
    generator = media.registry.get(record.generator_id)
    if not isinstance(generator, QueuedGenerator):
        raise InvalidGeneratorInput(
            record.generator_id, ["it does not run queued jobs (it has no resume/cancel)"]
        )
    return generator


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _row(record: JobRecord, now: float) -> tuple[Any, ...]:
    cost = record.usage.cost_usd
    error = record.error or ""
    return (
        record.id,
        record.state.value,
        f"{record.provider}/{record.model}",
        record.request_id or "-",
        _age(max(now - record.created_at, 0.0)),
        "unknown" if cost is None else f"${cost:.4f}",
        error if len(error) <= _MAX_ERROR else error[: _MAX_ERROR - 3] + "...",
    )


def cmd_jobs_list(args: argparse.Namespace, console: Console) -> int:
    """List recorded jobs."""
    inference, journal, path = _setup(args)
    states: set[JobState] | None = None
    if args.state:
        states = {JobState(s) for s in args.state}
    if args.active:
        states = (states or set(DELIVERING)) & set(DELIVERING)
    records = inference.run_sync(journal.jobs(states=states, limit=args.limit))
    if console.json:
        console.emit([record.model_dump(mode="json") for record in records])
        return 0
    now = time.time()
    console.table(
        f"Queued jobs ({path})",
        ["id", "state", "model", "request id", "age", "cost", "last error"],
        [_row(record, now) for record in records],
    )
    return 0


async def _get(journal: JobJournal, job_id: str) -> JobRecord:
    record = await journal.get(job_id)
    if record is None:
        raise InvalidGeneratorInput("jobs", [f"no recorded job {job_id!r} in the journal"])
    return record


def cmd_jobs_cancel(args: argparse.Namespace, console: Console) -> int:
    """Cancel one job at its provider and record it cancelled."""
    inference, journal, path = _setup(args)
    record = inference.run_sync(_get(journal, args.job_id))
    if not record.state.can_deliver:
        console.note(f"job {record.id} is {record.state.value}: nothing to cancel")
        return 0
    generator = _generator(inference, record, path)
    updated = inference.run_sync(generator.cancel(record.id))
    if console.json:
        console.emit(updated.model_dump(mode="json"))
    else:
        console.line(f"{updated.id}  {updated.state.value}  {updated.error or ''}".rstrip())
    return 0


def cmd_jobs_resume(args: argparse.Namespace, console: Console) -> int:
    """Collect the given jobs (or every one that can still deliver) into ``--out``."""
    from inference_core.composition.services import media_store

    inference, journal, path = _setup(args)
    if args.job_ids:
        records = [inference.run_sync(_get(journal, job_id)) for job_id in args.job_ids]
    else:
        # A job still being submitted belongs to a live process: it collects it itself.
        collectable = DELIVERING - {JobState.SUBMITTING}
        records = list(inference.run_sync(journal.jobs(states=collectable, limit=1000)))
    store = media_store(inference, args.out)
    failures = 0
    results: list[dict[str, Any]] = []
    generators: dict[str, QueuedGenerator] = {}
    for record in records:
        try:
            generator = generators.get(record.generator_id) or _generator(inference, record, path)
            generators[record.generator_id] = generator
            output = inference.run_sync(
                generator.resume(
                    record.id,
                    store=store,
                    on_progress=None if console.json else _progress(console, record),
                )
            )
        except InferenceError as exc:
            failures += 1
            results.append({"id": record.id, "error": f"{type(exc).__name__}: {exc}"})
            if not console.json:
                console.note(f"{record.id}: {type(exc).__name__}: {exc}")
            continue
        files = [asset.path for asset in output.assets]
        results.append({"id": record.id, "files": files, "cost_usd": output.usage.cost_usd})
        if not console.json:
            for asset in output.assets:
                console.line(f"{asset.path}  {asset.mime_type}  {asset.size_bytes} bytes")
    if console.json:
        console.emit(results)
    else:
        console.note(f"{len(records) - failures} collected, {failures} failed")
    return 0 if failures == 0 else 1


def _progress(console: Console, record: JobRecord) -> Any:
    def report(fraction: float | None, message: str) -> None:
        console.note(f"  {record.id[:8]}: {message}")

    return report
