"""fal queue generators over real HTTP (httpx) against the local fal queue protocol server.

Every job's files are real media, stored and read back; the server counts
submits, cancels and sub-path violations, so "never submitted twice" and
"cancelled at the deadline" are asserted where the money is.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from pydantic import SecretStr

from inference_core.adapters.jobs import SqliteJobJournal
from inference_core.adapters.media import fal
from inference_core.adapters.media.fal import (
    FalImageGenerator,
    FalSpeechGenerator,
    FalVideoGenerator,
)
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    DownloadRefused,
    InvalidGeneratorInput,
    JobDeadlineExceeded,
    JobFailed,
    MediaTooLarge,
    MissingAPIKeyError,
    ProviderUnavailable,
    ProviderUnreachable,
    RateLimitError,
    UnexpectedMediaType,
)
from inference_core.domain.jobs import JobState
from inference_core.domain.media import Capability, GenerationRequest, MediaInput, MediaKind
from inference_core.ports.media import QueuedGenerator
from inference_core.ports.plugins import GeneratorContext
from tests.servers import FakeServer
from tests.servers.queue_proto import fal_queue_url
from tests.servers.queue_state import JobPlan, QueueScript
from tests.unit.adapters.media.queued_support import (
    FAL_KEY,
    fake_server,
    fake_server_session,
    fast_options,
    files_in,
    queue,
    wait_until,
)

__all__ = ["fake_server", "fake_server_session", "queue"]  # fixtures used below

I2V = "fal-ai/kling-video/v2.6/pro/image-to-video"
T2V = "fal-ai/kling-video/v2.6/pro/text-to-video"


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> FilesystemAssetStore:
    return FilesystemAssetStore(tmp_path / "assets")


def video_gen(server: FakeServer, tmp_path: Path, **options: Any) -> FalVideoGenerator:
    return FalVideoGenerator(
        api_key=FAL_KEY, base_url=fal_queue_url(server), options=fast_options(tmp_path, **options)
    )


def image_gen(server: FakeServer, tmp_path: Path, **options: Any) -> FalImageGenerator:
    return FalImageGenerator(
        api_key=FAL_KEY, base_url=fal_queue_url(server), options=fast_options(tmp_path, **options)
    )


def tts_gen(server: FakeServer, tmp_path: Path, **options: Any) -> FalSpeechGenerator:
    return FalSpeechGenerator(
        api_key=FAL_KEY, base_url=fal_queue_url(server), options=fast_options(tmp_path, **options)
    )


def clip_request(*inputs: bytes, name: str = "shot", **params: Any) -> GenerationRequest:
    return GenerationRequest(
        kind=MediaKind.VIDEO,
        generator_id="fal_video_generator",
        prompt="the camera pans across a harbour",
        inputs=tuple(MediaInput(data=data) for data in inputs),
        params=params,
        name=name,
    )


def checked(generator: Any, request: GenerationRequest) -> GenerationRequest:
    """The request as the use-case hands it over (defaults applied)."""
    params = generator.input_model.model_validate(request.params).model_dump()
    return request.model_copy(update={"params": params})


async def journal_states(generator: Any) -> list[JobState]:
    return [record.state for record in await generator.journal.jobs()]


def frames_and_duration(path: str) -> tuple[int, float]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert stream.average_rate is not None
        return frames, frames / float(stream.average_rate)


# -- happy paths ------------------------------------------------------------------------------


async def test_image_to_video_sends_kling_arguments_and_stores_a_real_clip(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(queue_polls=2, run_polls=2, logs=("loading model", "rendering")))
    generator = video_gen(fake_server, tmp_path)
    progress: list[str] = []
    request = checked(generator, clip_request(png(), png(50, 40)))
    output = await generator.generate(
        request, store=store, on_progress=lambda _f, text: progress.append(text)
    )

    job = next(iter(queue.jobs.values()))
    assert job.model == I2V and queue.accepted == 1 and queue.submit_attempts == 1
    args = job.arguments
    assert args["duration"] == "5" and args["generate_audio"] is False  # sent, and off
    assert args["start_image_url"].startswith("data:image/png;base64,")
    assert base64.b64decode(args["start_image_url"].split(",", 1)[1]) == png()
    assert args["end_image_url"].startswith("data:image/png;base64,")
    submit = fake_server.requests_for("/fal/queue/" + I2V)[0]
    assert submit.headers["authorization"] == f"Key {FAL_KEY}"
    polls = [r.path for r in fake_server.requests if r.path.endswith("/status")]
    assert polls and all(p.startswith("/fal/queue/fal-ai/kling-video/requests/") for p in polls)
    assert queue.subpath_violations == []
    assert "in queue (position 2)" in progress and "in queue (position 1)" in progress
    assert "log: loading model" in progress and "log: rendering" in progress
    assert progress.count("log: loading model") == 1  # each log line once

    (asset,) = output.assets
    frames, seconds = frames_and_duration(asset.path)
    assert asset.mime_type == "video/mp4" and frames == 40 and seconds == pytest.approx(5.0)
    assert output.usage.seconds == 5 and output.usage.cost_usd == pytest.approx(0.35)
    assert output.provider_request_id == job.id
    (record,) = await generator.journal.jobs()
    assert record.state is JobState.COLLECTED and record.request_id == job.id
    assert record.result_ref == (asset.path,)


async def test_audio_is_asked_for_explicitly_and_priced_double(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = video_gen(fake_server, tmp_path)
    request = checked(generator, clip_request(duration="10", generate_audio=True))
    output = await generator.generate(request, store=store)
    job = next(iter(queue.jobs.values()))
    assert job.model == T2V and job.arguments["generate_audio"] is True
    assert "start_image_url" not in job.arguments and job.arguments["duration"] == "10"
    assert output.usage.cost_usd == pytest.approx(1.4)
    assert frames_and_duration(output.assets[0].path)[0] == 80


async def test_text_to_image_and_nano_banana_edit(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = image_gen(fake_server, tmp_path)
    made = await generator.generate(
        checked(
            generator,
            GenerationRequest(
                kind=MediaKind.IMAGE,
                generator_id="fal_image_generator",
                prompt="a lighthouse",
                params={"num_images": 2, "aspect_ratio": "16:9"},
            ),
        ),
        store=store,
    )
    assert len(made.assets) == 2 and made.usage.cost_usd == pytest.approx(0.078)
    for asset in made.assets:
        with Image.open(asset.path) as image:
            assert image.size == (64, 48) and image.format == "PNG"
    edited = await generator.generate(
        checked(
            generator,
            GenerationRequest(
                kind=MediaKind.IMAGE,
                generator_id="fal_image_generator",
                capability=Capability.IMAGE_TO_IMAGE,
                prompt="make it night",
                inputs=(MediaInput(data=png()),),
            ),
        ),
        store=store,
    )
    assert len(edited.assets) == 1
    models = [job.model for job in queue.jobs.values()]
    assert models == ["fal-ai/nano-banana", "fal-ai/nano-banana/edit"]
    edit_args = list(queue.jobs.values())[1].arguments
    assert edit_args["image_urls"][0].startswith("data:image/png;base64,")
    assert queue.subpath_violations == []  # the edit job is polled under fal-ai/nano-banana


async def test_minimax_speech_arguments_url_and_hex(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = tts_gen(fake_server, tmp_path)
    text = "Welcome to the harbour at dawn."
    for output_format, fmt in (("url", "mp3"), ("hex", "flac")):
        request = GenerationRequest(
            kind=MediaKind.AUDIO,
            generator_id="fal_tts_generator",
            text=text,
            params={
                "voice_setting": {"voice_id": "Calm_Woman", "speed": 1.2},
                "audio_setting": {"format": fmt, "sample_rate": 32000},
                "output_format": output_format,
            },
        )
        output = await generator.generate(checked(generator, request), store=store)
        (asset,) = output.assets
        assert asset.mime_type == ("audio/mpeg" if fmt == "mp3" else "audio/flac")
        with av.open(asset.path) as container:
            assert container.streams.audio[0].rate == 32000
        assert output.usage.characters == len(text)
        assert output.usage.cost_usd == pytest.approx(0.1 * len(text) / 1000)
    first = next(iter(queue.jobs.values())).arguments
    assert first["voice_setting"] == {
        "voice_id": "Calm_Woman",
        "speed": 1.2,
        "vol": 1.0,
        "pitch": 0,
    }
    assert first["audio_setting"]["format"] == "mp3" and first["output_format"] == "url"
    assert first["text"] == text


async def test_urls_are_built_without_the_sub_path_when_the_submit_omits_them(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(omit_urls=True))
    generator = video_gen(fake_server, tmp_path)
    await generator.generate(checked(generator, clip_request(png())), store=store)
    assert queue.subpath_violations == []
    (record,) = await generator.journal.jobs()
    assert record.status_url is not None and "/v2.6/" not in record.status_url


# -- money rules --------------------------------------------------------------------------------


async def test_polls_and_a_504_result_after_completion_are_retried_never_the_submit(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(result_504=2))
    queue.fault("status", status=500, count=2)
    queue.fault("status", drop=True)
    generator = video_gen(fake_server, tmp_path)
    output = await generator.generate(checked(generator, clip_request(png())), store=store)
    assert output.assets and queue.accepted == 1 and queue.submit_attempts == 1
    assert ("status", "500") in queue.injected and ("status", "drop") in queue.injected
    assert next(iter(queue.jobs.values())).result_fetches == 3


async def test_a_completed_job_whose_result_keeps_failing_is_collected_later_not_resubmitted(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(result_504=5))
    generator = video_gen(fake_server, tmp_path, result_attempts=3)
    request = checked(generator, clip_request(png()))
    with pytest.raises(ProviderUnavailable) as caught:
        await generator.generate(request, store=store)
    assert caught.value.status == 504 and caught.value.retryable  # safe: it collects
    assert await journal_states(generator) == [JobState.COMPLETED]
    output = await generator.generate(request, store=store)  # the use-case's retry, or a rerun
    assert output.metadata["resumed"] is True and output.assets
    assert queue.accepted == 1 and queue.submit_attempts == 1


async def test_a_job_that_never_finishes_is_cancelled_at_its_deadline(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(never=True))
    generator = video_gen(fake_server, tmp_path, deadline=0.4)
    with pytest.raises(JobDeadlineExceeded) as caught:
        await generator.generate(checked(generator, clip_request(png())), store=store)
    (job,) = queue.jobs.values()
    assert caught.value.request_id == job.id and caught.value.cancelled is True
    assert queue.cancels == [job.id] and job.cancelled
    assert job.id in str(caught.value) and "cancelled" in str(caught.value)
    assert caught.value.retryable is False
    assert await journal_states(generator) == [JobState.CANCELLED]
    assert files_in(store.root) == [] or all(".scratch" in str(p) for p in files_in(store.root))


async def test_a_failed_job_is_a_typed_error_carrying_its_request_id(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(fail="CUDA out of memory"))
    generator = video_gen(fake_server, tmp_path)
    with pytest.raises(JobFailed, match="CUDA out of memory") as caught:
        await generator.generate(checked(generator, clip_request(png())), store=store)
    (job,) = queue.jobs.values()
    assert caught.value.request_id == job.id and caught.value.provider == "fal"
    assert await journal_states(generator) == [JobState.FAILED]


async def test_a_refused_submit_is_forgotten_and_retryable_an_uncertain_one_is_lost(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = video_gen(fake_server, tmp_path)
    request = checked(generator, clip_request(png()))
    queue.fault("submit", status=429, retry_after=0.5)
    with pytest.raises(RateLimitError) as limited:
        await generator.generate(request, store=store)
    assert limited.value.retryable and limited.value.retry_after == 0.5
    queue.fault("submit", status=503)
    with pytest.raises(ProviderUnavailable) as overloaded:
        await generator.generate(request, store=store)
    assert overloaded.value.retryable and overloaded.value.status == 503
    assert await generator.journal.jobs() == [] and queue.accepted == 0

    queue.fault("submit", status=500, accept_first=True)  # taken, then an error answered
    with pytest.raises(ProviderUnavailable) as uncertain:
        await generator.generate(request, store=store)
    assert uncertain.value.retryable is False  # it may run: never submitted again by a retry
    (record,) = await generator.journal.jobs()
    assert record.state is JobState.LOST and "outcome unknown" in (record.error or "")
    assert queue.accepted == 1


async def test_a_refused_connection_is_retryable_and_leaves_no_claim(
    tmp_path: Path, store: FilesystemAssetStore
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    generator = FalVideoGenerator(
        api_key=FAL_KEY, base_url=f"http://127.0.0.1:{port}/fal/queue",
        options=fast_options(tmp_path),
    )  # fmt: skip
    with pytest.raises(ProviderUnreachable) as caught:
        await generator.generate(checked(generator, clip_request(png())), store=store)
    assert caught.value.retryable
    assert await generator.journal.jobs() == []


async def test_identical_concurrent_requests_share_one_job(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(queue_polls=3, run_polls=3))
    generator = video_gen(fake_server, tmp_path)
    request = checked(generator, clip_request(png()))
    outputs = await asyncio.gather(*(generator.generate(request, store=store) for _ in range(4)))
    assert queue.accepted == 1 and queue.submit_attempts == 1
    assert len({o.provider_request_id for o in outputs}) == 1
    assert sum(o.metadata["resumed"] for o in outputs) == 3


async def test_a_collected_job_does_not_stop_a_new_identical_request(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = video_gen(fake_server, tmp_path)
    request = checked(generator, clip_request(png()))
    await generator.generate(request, store=store)
    await generator.generate(request, store=store)  # delivered before: a new job is wanted
    assert queue.accepted == 2


async def test_an_interrupted_wait_leaves_the_job_to_resume_and_cancel(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(run_s=0.6))
    generator = video_gen(fake_server, tmp_path)
    assert isinstance(generator, QueuedGenerator)
    request = checked(generator, clip_request(png()))
    task = asyncio.create_task(generator.generate(request, store=store))
    await wait_until(lambda: any(job.polls for job in queue.jobs.values()))
    task.cancel()  # Ctrl-C, or the caller's own deadline
    with pytest.raises(asyncio.CancelledError):
        await task
    assert queue.cancels == []  # interruption is not cancellation: it is paid for
    (record,) = await generator.journal.jobs()
    assert record.state in (JobState.QUEUED, JobState.RUNNING)
    output = await generator.resume(record.id, store=store)
    assert output.provider_request_id == record.request_id and queue.accepted == 1

    queue.plan(JobPlan(never=True))
    task = asyncio.create_task(generator.generate(checked(generator, clip_request()), store=store))
    await wait_until(lambda: len(queue.jobs) == 2 and list(queue.jobs.values())[1].polls > 0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    running = next(r for r in await generator.journal.jobs() if r.state.can_deliver)
    cancelled = await generator.cancel(running.id)
    assert cancelled.state is JobState.CANCELLED and queue.cancels == [running.request_id]
    with pytest.raises(JobFailed):
        await generator.resume(running.id, store=store)


# -- downloads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "error", "match"),
    [
        (JobPlan(download="too_large", pad_bytes=600_000), MediaTooLarge, "limit"),
        (JobPlan(download="wrong_type"), UnexpectedMediaType, "text/html"),
        (JobPlan(download="wrong_bytes"), UnexpectedMediaType, "video"),
        (JobPlan(download="private"), DownloadRefused, "10.0.0.7"),
        (JobPlan(download="metadata"), DownloadRefused, "link-local"),
        (JobPlan(download="redirect_private"), DownloadRefused, "169.254.169.254"),
        (JobPlan(download="redirect_loop"), DownloadRefused, "redirects"),
    ],
)
async def test_result_files_are_checked_and_nothing_bad_is_kept(
    fake_server: FakeServer,
    queue: QueueScript,
    tmp_path: Path,
    store: FilesystemAssetStore,
    plan: JobPlan,
    error: type[Exception],
    match: str,
) -> None:
    queue.plan(plan)
    generator = video_gen(fake_server, tmp_path, max_bytes=500_000)
    with pytest.raises(error, match=match):
        await generator.generate(checked(generator, clip_request(png())), store=store)
    assert [p for p in files_in(store.root) if ".scratch" not in p.parts] == []
    (record,) = await generator.journal.jobs()
    assert record.state is JobState.COMPLETED  # paid for: a later call may still collect it
    assert queue.accepted == 1


async def test_a_followed_redirect_and_a_download_502_are_fine(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.plan(JobPlan(download="redirect"))
    queue.fault("download", status=502)
    generator = video_gen(fake_server, tmp_path)
    output = await generator.generate(checked(generator, clip_request(png())), store=store)
    assert output.assets[0].mime_type == "video/mp4"


# -- inputs, keys, plugins ---------------------------------------------------------------------


def test_the_input_models_are_strict() -> None:
    from pydantic import ValidationError

    model = fal.FalVideoInput
    for bad in ({"duration": "7"}, {"duration": 5}, {"generate_audio": "yes"}, {"fps": 24}):
        with pytest.raises(ValidationError):
            model.model_validate(bad)
    assert model.model_validate({}).generate_audio is False
    with pytest.raises(ValidationError):
        fal.FalSpeechInput.model_validate({"audio_setting": {"format": "pcm"}})


async def test_request_problems_are_named_before_anything_is_sent(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    generator = video_gen(fake_server, tmp_path)
    with pytest.raises(InvalidGeneratorInput, match="start and an end image"):
        await generator.generate(checked(generator, clip_request(png(), png(), png())), store=store)
    with pytest.raises(InvalidGeneratorInput, match="text_to_video only"):
        await generator.generate(
            checked(generator, clip_request(png(), aspect_ratio="1:1")), store=store
        )
    with pytest.raises(InvalidGeneratorInput, match="not an image"):
        await generator.generate(checked(generator, clip_request(b"not an image")), store=store)
    assert queue.submit_attempts == 0


async def test_a_rejected_key_never_shows_in_the_error(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path, store: FilesystemAssetStore
) -> None:
    queue.require_key = "the-right-key"
    generator = video_gen(fake_server, tmp_path)
    with pytest.raises(AuthenticationError) as caught:
        await generator.generate(checked(generator, clip_request(png())), store=store)
    assert FAL_KEY not in str(caught.value) and FAL_KEY not in repr(caught.value)
    assert await generator.journal.jobs() == []


def test_plugins_read_models_and_keys_from_the_context(tmp_path: Path) -> None:
    env = {
        "FAL_API_KEY": SecretStr(FAL_KEY),
        "FAL_VIDEO_MODEL": SecretStr("fal-ai/kling-video/v2.1/pro/image-to-video"),
        "XDG_STATE_HOME": SecretStr(str(tmp_path / "state")),
    }
    video = fal.VIDEO_PLUGIN.create(GeneratorContext(secrets=env))
    assert isinstance(video, FalVideoGenerator)
    assert video.i2v_model == "fal-ai/kling-video/v2.1/pro/image-to-video"
    assert video.t2v_model == T2V
    journal = video.journal
    assert isinstance(journal, SqliteJobJournal)
    assert journal.path == tmp_path / "state" / "inference-core" / "jobs.sqlite3"
    image = fal.IMAGE_PLUGIN.create(
        GeneratorContext(options={"model": "fal-ai/flux/dev"}, secrets=env)
    )
    assert image.input_model.model_validate({}).model_dump()["model"] == "fal-ai/flux/dev"
    with pytest.raises(MissingAPIKeyError, match="FAL_API_KEY"):
        fal.TTS_PLUGIN.create(GeneratorContext())
    with pytest.raises(ConfigurationError, match="allow_private_networks"):
        fal.TTS_PLUGIN.create(
            GeneratorContext(options={"allow_private_networks": "all"}, secrets=env)
        )
    with pytest.raises(ConfigurationError, match="prices"):
        fal.TTS_PLUGIN.create(
            GeneratorContext(options={"prices": {"m": {"per_x": 1}}}, secrets=env)
        )
