"""Queued jobs end to end: a process killed mid-job pays nothing more; a faulted batch submits once.

* SIGKILL: a subprocess starts a Kling job on the local fal queue server
  (through bootstrap and GenerateMedia), is killed with SIGKILL while the job
  is in progress, and a second process making the same request collects that
  same job's result - the server counts zero new submits.
* A batch of 100 jobs at concurrency 16 meets 429s and 503s at submit, 5xx
  and dropped connections on polls, 504s after completion and 502s on
  downloads: every job is delivered and the server accepted exactly one
  submit per job.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import pytest
from PIL import Image

from inference_core.adapters.jobs import SqliteJobJournal
from inference_core.adapters.media.fal import FalVideoGenerator
from inference_core.application.results import MediaResult
from inference_core.composition import bootstrap
from inference_core.domain.config import MediaSettings, RetryPolicy, RuntimeConfig
from inference_core.domain.jobs import JobState
from inference_core.domain.media import GenerationRequest, MediaInput, MediaKind
from tests.servers import FakeServer
from tests.servers.queue_proto import fal_queue_url
from tests.servers.queue_state import JobPlan, QueueScript
from tests.unit.adapters.media.queued_support import (
    FAL_KEY,
    fake_server,
    fake_server_session,
    fast_options,
    queue,
)

__all__ = ["fake_server", "fake_server_session", "queue"]

CHILD = textwrap.dedent(
    """
    import json, sys
    from pydantic import SecretStr
    from inference_core.adapters.media.fal import VIDEO_PLUGIN
    from inference_core.composition import bootstrap
    from inference_core.domain.config import MediaSettings, RuntimeConfig
    from inference_core.domain.media import GenerationRequest, MediaInput, MediaKind
    from inference_core.ports.plugins import GeneratorContext

    base_url, journal, out, image = sys.argv[1:5]
    options = {"base_url": base_url, "journal_path": journal, "poll_interval": 0.05,
               "poll_max_interval": 0.1, "deadline": 120,
               "allow_private_networks": ["127.0.0.0/8"]}
    generator = VIDEO_PLUGIN.create(
        GeneratorContext(options=options, secrets={"FAL_API_KEY": SecretStr(sys.argv[5])})
    )
    inference = bootstrap(
        config=RuntimeConfig(media=MediaSettings(output_dir=out, journal_path=journal)),
        environ={},
    )
    inference.generators.register(generator)
    request = GenerationRequest(
        kind=MediaKind.VIDEO, generator_id="fal_video_generator",
        prompt="a slow pan over the harbour at dawn", inputs=(MediaInput(path=image),),
        name="harbour",
    )
    def progress(event):
        print("PROGRESS", event.message, flush=True)
    result = inference.run_sync(inference.generate_media(request, on_progress=progress))
    print("RESULT", json.dumps({"path": result.files[0].path,
                                "request_id": result.provider_request_id,
                                "frames": result.files[0].frame_count,
                                "attempts": result.attempts}), flush=True)
    inference.close()
    """
)


def keyframe(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (30, 160, 90)).save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def _child(tmp_path: Path, server: FakeServer, image: Path) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    args = [
        sys.executable, str(script), fal_queue_url(server), str(tmp_path / "jobs.sqlite3"),
        str(tmp_path / "media"), str(image), FAL_KEY,
    ]  # fmt: skip
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )


def _wait(condition: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_job_survives_sigkill_and_is_collected_with_zero_new_submits(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, record_property: object
) -> None:
    queue.plan(JobPlan(queue_polls=1, run_s=4.0, logs=("loading model", "rendering")))
    image = keyframe(tmp_path / "key.png")
    first = _child(tmp_path, fake_server, image)
    try:
        _wait(lambda: any(j.polls >= 3 for j in queue.jobs.values()), 60, "the job to run")
        (job,) = queue.jobs.values()
        assert not job.is_done()  # killed while the job is in progress
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    out, _ = first.communicate()
    assert "RESULT" not in out and "submitted: job" in out
    submits_before = queue.submit_attempts
    assert (queue.accepted, submits_before) == (1, 1)

    journal = SqliteJobJournal(tmp_path / "jobs.sqlite3")
    (record,) = _records(journal)
    assert record.state in (JobState.QUEUED, JobState.RUNNING)
    assert record.request_id == job.id  # recorded before the process waited on it

    second = _child(tmp_path, fake_server, image)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-3000:]
    elapsed = time.monotonic() - killed_at
    result = json.loads(out.split("RESULT ", 1)[1])
    assert "collecting recorded job" in out
    assert result["request_id"] == job.id and result["attempts"] == 1
    assert queue.submit_attempts == submits_before and queue.accepted == 1  # zero new submits
    with av.open(result["path"]) as container:
        assert sum(1 for _ in container.decode(video=0)) == result["frames"] == 40
    (record,) = _records(journal)
    assert record.state is JobState.COLLECTED and record.result_ref == (result["path"],)
    record_property("sigkill_new_submits", queue.submit_attempts - submits_before)
    record_property("sigkill_restart_to_result_s", round(elapsed, 2))
    print(
        f"\nSIGKILL test: job {job.id} killed mid-run; restart collected it after "
        f"{elapsed:.2f}s with {queue.submit_attempts - submits_before} new submits "
        f"(server: {queue.accepted} accepted, {queue.submit_attempts} submit requests)"
    )


def _records(journal: SqliteJobJournal) -> list[object]:
    import asyncio

    return list(asyncio.run(journal.jobs()))


def test_a_faulted_batch_of_100_jobs_submits_each_job_exactly_once(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, record_property: object
) -> None:
    jobs, concurrency = 100, 16
    queue.plan(JobPlan(result_504=1), count=20)
    queue.plan(JobPlan(download="redirect"), count=10)
    queue.plan(JobPlan(queue_polls=2, run_polls=2), count=20)
    queue.fault("submit", status=429, retry_after=0.01, count=15)
    queue.fault("submit", status=503, count=10)
    queue.fault("status", status=500, count=30)
    queue.fault("status", drop=True, count=10)
    queue.fault("status", status=502, count=10)
    queue.fault("result", status=504, count=10)
    queue.fault("download", status=502, count=10)

    generator = FalVideoGenerator(
        api_key=FAL_KEY, base_url=fal_queue_url(fake_server), options=fast_options(tmp_path)
    )
    config = RuntimeConfig(media=MediaSettings(output_dir=str(tmp_path / "media")))
    retry = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.05, deadline=300)
    inference = bootstrap(config=config, environ={}, retry=retry)
    inference.generators.register(generator)
    requests = [
        GenerationRequest(
            kind=MediaKind.VIDEO,
            generator_id="fal_video_generator",
            prompt=f"shot {index}: boats leaving the harbour",
            inputs=(MediaInput(data=_png(index)),),
            name=f"shot-{index}",
        )
        for index in range(jobs)
    ]
    started = time.monotonic()
    results = inference.run_sync(
        inference.generate_media.generate_many(requests, concurrency=concurrency)
    )
    elapsed = time.monotonic() - started
    inference.close()

    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == []
    done = [r for r in results if isinstance(r, MediaResult)]
    request_ids = {r.provider_request_id for r in done}
    faulted_submits = sum(1 for op, _ in queue.injected if op == "submit")
    assert len(done) == jobs and len(request_ids) == jobs
    assert queue.accepted == jobs  # submits the provider took (and billed) == jobs
    assert queue.submit_attempts == jobs + faulted_submits == jobs + 25
    assert all(r.files[0].frame_count == 40 for r in done)
    attempts = sum(r.attempts for r in done)
    injected = len(queue.injected)
    record_property("batch_jobs", jobs)
    record_property("batch_accepted_submits", queue.accepted)
    record_property("batch_submit_requests", queue.submit_attempts)
    record_property("batch_elapsed_s", round(elapsed, 2))
    print(
        f"\nbatch: {jobs} jobs at concurrency {concurrency}, {injected} injected faults "
        f"({faulted_submits} refused submits); accepted submits {queue.accepted} == jobs "
        f"{jobs}; submit requests {queue.submit_attempts}; use-case attempts {attempts}; "
        f"{elapsed:.2f}s"
    )


def _png(index: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (index % 256, 60, 120)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_user_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Nothing here may touch the real ~/.local/state journal.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
