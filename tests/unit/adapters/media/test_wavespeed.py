"""WavespeedVideoGenerator over real HTTP against the local WaveSpeed protocol server."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from pydantic import SecretStr

from inference_core.adapters.media import wavespeed
from inference_core.adapters.media.wavespeed import WavespeedVideoGenerator
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidGeneratorInput,
    JobDeadlineExceeded,
    JobFailed,
    RateLimitError,
)
from inference_core.domain.jobs import JobState
from inference_core.domain.media import GenerationRequest, MediaInput, MediaKind
from inference_core.ports.plugins import GeneratorContext
from tests.servers import FakeServer
from tests.servers.queue_proto import wavespeed_api_url
from tests.servers.queue_state import JobPlan, QueueScript
from tests.unit.adapters.media.queued_support import (
    WAVESPEED_KEY,
    fake_server,
    fake_server_session,
    fast_options,
    queue,
)

__all__ = ["fake_server", "fake_server_session", "queue"]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> FilesystemAssetStore:
    return FilesystemAssetStore(tmp_path / "assets")


def make(server: FakeServer, tmp_path: Path, **options: Any) -> WavespeedVideoGenerator:
    return WavespeedVideoGenerator(
        api_key=WAVESPEED_KEY,
        base_url=wavespeed_api_url(server),
        options=fast_options(tmp_path, **options),
        prices_per_second={"bytedance/seedance-v1-pro-t2v-480p": 0.03},
    )


def request(*images: bytes, **params: Any) -> GenerationRequest:
    return GenerationRequest(
        kind=MediaKind.VIDEO,
        generator_id="wavespeed_video_generator",
        prompt="waves on a beach",
        inputs=tuple(MediaInput(data=image) for image in images),
        params=params,
    )


def seconds_of(path: str) -> float:
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert stream.average_rate is not None
        return frames / float(stream.average_rate)


async def test_text_to_video_polls_until_completed_and_takes_the_first_output(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(queue_polls=2, run_polls=3))
    generator = make(fake_server, tmp_path)
    output = await generator.generate(request(duration=10), store=store)
    (job,) = queue.jobs.values()
    assert job.model == "bytedance/seedance-v1-pro-t2v-480p"
    assert job.arguments == {"prompt": "waves on a beach", "duration": 10, "aspect_ratio": "16:9"}
    submit = fake_server.requests_for("/wavespeed/api/v3/bytedance/")[0]
    assert submit.headers["authorization"] == f"Bearer {WAVESPEED_KEY}"
    assert job.polls == 6  # 2 created + 3 processing + 1 completed
    assert seconds_of(output.assets[0].path) == pytest.approx(10.0)
    assert output.usage.cost_usd == pytest.approx(0.3) and output.provider_request_id == job.id


async def test_image_to_video_sends_the_image_as_a_data_url(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = make(fake_server, tmp_path)
    output = await generator.generate(request(png(), seed=7, camera_fixed=True), store=store)
    (job,) = queue.jobs.values()
    assert job.model == "bytedance/seedance-v1-pro-i2v-480p"
    assert job.arguments["image"].startswith("data:image/png;base64,")
    assert job.arguments["seed"] == 7 and job.arguments["camera_fixed"] is True
    assert "aspect_ratio" not in job.arguments
    assert output.usage.cost_usd is None  # no declared price for this model: unknown, never 0


async def test_a_failed_prediction_carries_its_id(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(fail="content flagged"))
    generator = make(fake_server, tmp_path)
    with pytest.raises(JobFailed, match="content flagged") as caught:
        await generator.generate(request(), store=store)
    assert caught.value.request_id == next(iter(queue.jobs))


async def test_past_its_deadline_the_job_stays_recorded_and_the_next_call_collects_it(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(run_s=1.2, queue_polls=0))
    generator = make(fake_server, tmp_path, deadline=0.3)
    with pytest.raises(JobDeadlineExceeded) as caught:
        await generator.generate(request(), store=store)
    assert caught.value.cancelled is False and "collects it" in str(caught.value)
    (record,) = await generator.journal.jobs()
    assert record.state.can_deliver and record.request_id == caught.value.request_id

    patient = make(fake_server, tmp_path, deadline=30)  # same journal file
    output = await patient.generate(request(), store=store)
    assert output.metadata["resumed"] is True and output.provider_request_id == record.request_id
    assert queue.accepted == 1 and queue.submit_attempts == 1
    assert [r.state for r in await patient.journal.jobs()] == [JobState.COLLECTED]


async def test_status_and_result_faults_are_retried_and_urls_are_built_when_missing(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(result_504=2, omit_urls=True))
    queue.fault("status", status=502, count=2)
    generator = make(fake_server, tmp_path)
    output = await generator.generate(request(), store=store)
    assert output.assets and queue.accepted == 1
    (record,) = await generator.journal.jobs()
    assert record.result_url is not None and record.result_url.endswith(
        f"/predictions/{record.request_id}/result"
    )


async def test_a_rate_limited_submit_is_refused_and_forgotten(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.fault("submit", status=429, retry_after=0.2)
    generator = make(fake_server, tmp_path)
    with pytest.raises(RateLimitError) as caught:
        await generator.generate(request(), store=store)
    assert caught.value.retryable and await generator.journal.jobs() == []


async def test_inputs_are_checked_before_sending(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = make(fake_server, tmp_path)
    with pytest.raises(InvalidGeneratorInput, match="one image"):
        await generator.generate(request(png(), png()), store=store)
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        wavespeed.WavespeedVideoInput.model_validate({"duration": 7})
    assert queue.submit_attempts == 0


def test_the_plugin_reads_its_options(tmp_path: Path) -> None:
    secrets = {"WAVESPEED_API_KEY": SecretStr(WAVESPEED_KEY)}
    options = {"provider": "kwaivgi", "t2v_model": "kling-v2.1-t2v", "aspect_ratio": "9:16",
               "journal_path": str(tmp_path / "j.sqlite3")}  # fmt: skip
    generator = wavespeed.PLUGIN.create(GeneratorContext(options=options, secrets=secrets))
    assert isinstance(generator, WavespeedVideoGenerator)
    assert generator.provider_path == "kwaivgi" and generator.aspect_ratio == "9:16"
    with pytest.raises(ConfigurationError, match="aspect_ratio"):
        wavespeed.PLUGIN.create(GeneratorContext(options={"aspect_ratio": "2:1"}, secrets=secrets))
