"""Shared state of the queued-job fake servers (fal queue, WaveSpeed): jobs, plans, faults, files.

A test scripts the next jobs with :class:`JobPlan` (FIFO; ``default_plan``
when none is queued) and per-operation faults with :meth:`QueueScript.fault`::

    script = queue_script(server)
    script.plan(JobPlan(never=True))                  # the next job never finishes
    script.plan(JobPlan(fail="GPU fell over"))        # the next one fails
    script.plan(JobPlan(result_504=2))                # first 2 result fetches: 504
    script.plan(JobPlan(download="too_large", pad_bytes=2_000_000))
    script.fault("submit", status=429, retry_after=0.01, count=3)
    script.fault("status", status=500, count=5)
    script.fault("status", drop=True)                 # connection closed, no answer

Bookkeeping the tests assert on: ``submit_attempts`` (every submit POST that
reached the handler), ``accepted`` (jobs created - what a provider bills),
``cancels`` (request ids cancelled), ``subpath_violations`` (polls that kept
the model's sub-path), ``jobs`` (each job's arguments, polls, state).

Output files are real media (PNG from Pillow, H.264 MP4 and MP3 from PyAV) of
the asked duration, served from ``/queue-files/<token>``.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tests.servers.state import ServerState

__all__ = [
    "FILES_PREFIX",
    "Download",
    "JobPlan",
    "OpFault",
    "QueueJob",
    "QueueScript",
    "audio_bytes",
    "image_bytes",
    "queue_script",
    "video_bytes",
]

#: Where output files are served.
FILES_PREFIX = "/queue-files/"

Download = Literal[
    "too_large",
    "wrong_type",
    "wrong_bytes",
    "private",
    "metadata",
    "redirect",
    "redirect_loop",
    "redirect_private",
]
Operation = Literal["submit", "status", "result", "cancel", "download"]


@dataclass(frozen=True)
class JobPlan:
    """How one job behaves.

    Attributes:
        queue_polls: Status polls answered "in queue" (position counting down).
        run_polls: Status polls answered "in progress" (with logs) before done.
        run_s: Instead of counting polls: done this many seconds after the submit.
        never: Never finishes (until cancelled).
        fail: Finishes with this error.
        logs: Log lines of the run (one more per in-progress poll).
        result_504: The first N result fetches after completion answer 504.
        download: A fault of the output file (see :data:`Download`).
        pad_bytes: Zero bytes appended for ``too_large``.
        omit_urls: The submit answer carries no status/result/cancel URLs.
    """

    queue_polls: int = 1
    run_polls: int = 1
    run_s: float | None = None
    never: bool = False
    fail: str | None = None
    logs: tuple[str, ...] = ("loading model", "generating")
    result_504: int = 0
    download: Download | None = None
    pad_bytes: int = 0
    omit_urls: bool = False


@dataclass
class OpFault:
    """A fault of one operation: an HTTP status, a dropped connection, a delay."""

    status: int | None = None
    drop: bool = False
    delay: float = 0.0
    retry_after: float | None = None
    accept_first: bool = False  # submit only: create the job, then answer ``status``
    remaining: int = 1


@dataclass
class QueueJob:
    """One job the fake provider holds."""

    id: str
    protocol: str
    model: str
    app: str
    arguments: dict[str, Any]
    plan: JobPlan
    created: float = field(default_factory=time.monotonic)
    polls: int = 0
    result_fetches: int = 0
    completed_seen: bool = False
    cancelled: bool = False
    files: list[str] = field(default_factory=list)

    def phase(self) -> tuple[str, int]:
        """``("queue", position)``, ``("run", logs_shown)``, ``("done", 0)``, ``("failed", 0)``
        or ``("cancelled", 0)`` - what the next status poll answers (and count the poll)."""
        self.polls += 1
        plan = self.plan
        if self.cancelled:
            return "cancelled", 0
        if self.polls <= plan.queue_polls:
            return "queue", plan.queue_polls - self.polls + 1
        if plan.never:
            return "run", min(self.polls - plan.queue_polls, len(plan.logs))
        if plan.run_s is not None:
            if time.monotonic() - self.created < plan.run_s:
                return "run", min(self.polls - plan.queue_polls, len(plan.logs))
        elif self.polls <= plan.queue_polls + plan.run_polls:
            return "run", min(self.polls - plan.queue_polls, len(plan.logs))
        return ("failed", 0) if plan.fail else ("done", 0)

    def is_done(self) -> bool:
        """Whether the job has finished (without counting a poll)."""
        plan = self.plan
        if self.cancelled or plan.never:
            return False
        if plan.run_s is not None:
            return self.polls > plan.queue_polls and time.monotonic() - self.created >= plan.run_s
        return self.polls > plan.queue_polls + plan.run_polls


@dataclass
class _File:
    data: bytes
    content_type: str
    fault: Download | None
    job_id: str


class QueueScript:
    """Jobs, plans, faults and files of one fake server (all methods thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget jobs, plans, faults, files and counters."""
        with self._lock:
            self.default_plan = JobPlan()
            self.require_key: str | None = None
            self._plans: deque[JobPlan] = deque()
            self._faults: dict[str, deque[OpFault]] = {}
            self.jobs: dict[str, QueueJob] = {}
            self._files: dict[str, _File] = {}
            self.submit_attempts = 0
            self.accepted = 0
            self.cancels: list[str] = []
            self.subpath_violations: list[str] = []
            self.downloads = 0
            self.injected: list[tuple[str, str]] = []

    # -- scripting ----------------------------------------------------------------------

    def plan(self, plan: JobPlan, count: int = 1) -> None:
        """The next ``count`` jobs behave as ``plan``."""
        with self._lock:
            self._plans.extend([plan] * count)

    def fault(
        self,
        operation: Operation,
        *,
        status: int | None = None,
        drop: bool = False,
        delay: float = 0.0,
        retry_after: float | None = None,
        accept_first: bool = False,
        count: int = 1,
    ) -> None:
        """The next ``count`` requests of ``operation`` fail this way."""
        with self._lock:
            self._faults.setdefault(operation, deque()).append(
                OpFault(status, drop, delay, retry_after, accept_first, count)
            )

    # -- used by the protocol handlers ----------------------------------------------------

    def take_fault(self, operation: Operation) -> OpFault | None:
        """The fault for this request of ``operation``, if one is due."""
        with self._lock:
            queue = self._faults.get(operation)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            self.injected.append((operation, "drop" if fault.drop else str(fault.status)))
            return fault

    def count_submit(self) -> None:
        """One submit POST reached the handler."""
        with self._lock:
            self.submit_attempts += 1

    def new_job(self, protocol: str, model: str, app: str, arguments: dict[str, Any]) -> QueueJob:
        """Accept a submit: a new job following the next plan."""
        with self._lock:
            plan = self._plans.popleft() if self._plans else self.default_plan
            job = QueueJob(
                id=str(uuid.uuid4()),
                protocol=protocol,
                model=model,
                app=app,
                arguments=arguments,
                plan=plan,
            )
            self.jobs[job.id] = job
            self.accepted += 1
            return job

    def job(self, job_id: str) -> QueueJob | None:
        """The job ``job_id``, if it exists."""
        with self._lock:
            return self.jobs.get(job_id)

    def lock(self) -> threading.Lock:
        """The script's lock (handlers hold it while they advance a job)."""
        return self._lock

    def add_file(self, job: QueueJob, data: bytes, content_type: str) -> str:
        """Serve ``data`` for ``job``; returns the token of its URL."""
        token = uuid.uuid4().hex
        with self._lock:
            self._files[token] = _File(data, content_type, job.plan.download, job.id)
            job.files.append(token)
        return token

    def file(self, token: str) -> _File | None:
        """The file of ``token`` (counted as one download)."""
        with self._lock:
            self.downloads += 1
            return self._files.get(token)

    def add_cancel(self, request_id: str) -> None:
        """Record a cancel call for ``request_id``."""
        with self._lock:
            self.cancels.append(request_id)

    def add_violation(self, path: str) -> None:
        """Record a poll that kept the model's sub-path."""
        with self._lock:
            self.subpath_violations.append(path)


_SCRIPTS: weakref.WeakKeyDictionary[ServerState, QueueScript] = weakref.WeakKeyDictionary()
_SCRIPTS_LOCK = threading.Lock()


def queue_script(state: ServerState) -> QueueScript:
    """The queued-job script of a server (created on first use)."""
    with _SCRIPTS_LOCK:
        script = _SCRIPTS.get(state)
        if script is None:
            script = _SCRIPTS[state] = QueueScript()
        return script


# -- real media -----------------------------------------------------------------------------


@lru_cache(maxsize=16)
def image_bytes(width: int = 64, height: int = 48, fmt: str = "PNG") -> bytes:
    """A real image (Pillow)."""
    from tests.servers.media_proto import png_bytes

    return png_bytes(width, height, fmt)


@lru_cache(maxsize=16)
def video_bytes(seconds: float, fps: int = 8, width: int = 64, height: int = 36) -> bytes:
    """A real H.264 MP4 of ``seconds`` at ``fps`` (PyAV), colour changing every frame."""
    import numpy as np

    from inference_core.adapters.media.av_ops import VideoWriter

    frames = max(round(seconds * fps), 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        with VideoWriter(path, width=width, height=height, fps=fps) as writer:
            for index in range(frames):
                shade = (index * 13) % 255
                writer.write_rgb(np.full((height, width, 3), (shade, 80, 200), dtype=np.uint8))
        return path.read_bytes()


@lru_cache(maxsize=16)
def audio_bytes(seconds: float, fmt: str = "mp3", sample_rate: int = 32000) -> bytes:
    """A real audio file of a 440 Hz tone (PyAV): ``mp3`` or ``flac``."""
    import numpy as np

    from inference_core.adapters.media.av_ops import write_audio

    t = np.arange(max(round(seconds * sample_rate), 1)) / sample_rate
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"speech.{fmt}"
        write_audio(tone, path, sample_rate=sample_rate, fmt=fmt)
        return path.read_bytes()
