"""The seed's fal and WaveSpeed services, as facades, against the local queue protocol servers."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from inference_core.compat.media_services import (
    FalAudioService,
    FalImageService,
    FalVideoService,
    WavespeedVideoService,
)
from inference_core.composition import Inference, bootstrap
from inference_core.domain.config import MediaSettings, RetryPolicy, RuntimeConfig
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidGeneratorInput,
    UnexpectedMediaType,
)
from tests.queued_plugins import install_queued_entry_points
from tests.servers import FakeServer
from tests.servers.queue_proto import fal_queue_url, wavespeed_api_url
from tests.servers.queue_state import QueueScript
from tests.unit.adapters.media.queued_support import (
    FAL_KEY,
    LOOPBACK,
    WAVESPEED_KEY,
    fake_server,
    fake_server_session,
    queue,
)

__all__ = ["fake_server", "fake_server_session", "queue"]

_FAST = {"poll_interval": 0.01, "poll_max_interval": 0.03, "allow_private_networks": LOOPBACK}


@pytest.fixture(autouse=True)
def _plugins(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    install_queued_entry_points(tmp_path_factory.mktemp("plugins"), monkeypatch)


def wired(server: FakeServer, tmp_path: Path, **env: str) -> Inference:
    generators: dict[str, dict[str, Any]] = {
        name: {"base_url": fal_queue_url(server), **_FAST}
        for name in ("fal_image_generator", "fal_video_generator", "fal_tts_generator")
    }
    generators["wavespeed_video_generator"] = {"base_url": wavespeed_api_url(server), **_FAST}
    config = RuntimeConfig(
        media=MediaSettings(
            output_dir=str(tmp_path / "media"), journal_path=str(tmp_path / "jobs.sqlite3")
        ),
        generators=generators,
    )
    return bootstrap(config=config, environ=env)


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 30, 160)).save(out, "PNG")
    return out.getvalue()


def frames(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


async def test_fal_image_service_generates_and_edits(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path
) -> None:
    service = FalImageService(
        api_key=FAL_KEY, model="fal-ai/nano-banana", inference=wired(fake_server, tmp_path)
    )
    image = await service.generate_image("a red kite")
    edited = await service.edit_image([png(), png(20, 20)], "paint it blue")
    for data in (image, edited):
        with Image.open(io.BytesIO(data)) as decoded:
            assert decoded.format == "PNG"
    edit_job = list(queue.jobs.values())[1]
    assert (
        edit_job.model == "fal-ai/nano-banana/edit" and len(edit_job.arguments["image_urls"]) == 2
    )
    submit = fake_server.requests_for("/fal/queue/fal-ai/nano-banana")[0]
    assert submit.headers["authorization"] == f"Key {FAL_KEY}"
    assert (tmp_path / "jobs.sqlite3").exists()  # media.journal_path, not the user's state dir


def test_fal_image_service_needs_a_model(fake_server: FakeServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FAL_IMAGE_MODEL"):
        FalImageService(api_key=FAL_KEY, inference=wired(fake_server, tmp_path))
    service = FalImageService(
        inference=wired(fake_server, tmp_path, FAL_IMAGE_MODEL="fal-ai/flux/dev")
    )
    assert service.model == "fal-ai/flux/dev"


async def test_the_use_case_deadline_outlives_the_job_deadline(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    inference = wired(fake_server, tmp_path)
    service = FalVideoService(api_key=FAL_KEY, timeout=900.0, inference=inference)
    policy: RetryPolicy = service._media.retry_policy
    assert policy.deadline == pytest.approx(960.0)  # the job's deadline (cancel) fires first


async def test_fal_video_service_clips_and_assembles(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path
) -> None:
    service = FalVideoService(api_key=FAL_KEY, inference=wired(fake_server, tmp_path))
    first = await service.generate_clip(
        shot_id="s1", keyframe_images=[png(), png(30, 30)], prompt="pan right", duration_sec=4
    )
    second = await service.generate_clip(
        shot_id="s2", keyframe_images=[], prompt="title card", duration_sec=7, width=576,
        height=1024, generate_audio=True,
    )  # fmt: skip
    i2v, t2v = queue.jobs.values()
    assert i2v.arguments["duration"] == "5" and i2v.arguments["generate_audio"] is False
    assert "end_image_url" in i2v.arguments
    assert t2v.arguments["duration"] == "10" and t2v.arguments["aspect_ratio"] == "9:16"
    assert t2v.arguments["generate_audio"] is True
    assert frames(first) == 40 and frames(second) == 80
    scene = await service.assemble_scene(
        scene_id="a", clip_bytes_list=[first, first], transitions=["cut"]
    )
    assert frames(scene) == 80
    final = await service.assemble_final(scene_bytes_list=[scene, second])
    assert frames(final) == 160
    with av.open(io.BytesIO(final)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate is not None
        assert 160 / float(stream.average_rate) == pytest.approx(20.0)
    with pytest.raises(UnexpectedMediaType):  # audio is not a clip: a typed error, no fallback
        await service.assemble_scene(
            scene_id="b", clip_bytes_list=[first, png()], transitions=["cut"]
        )
    with pytest.raises(InvalidGeneratorInput, match="longer than the 10 s"):
        await service.generate_clip(
            shot_id="s3", keyframe_images=[], prompt="too long", duration_sec=12
        )


async def test_fal_audio_service_speaks_wav_and_mp3(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path
) -> None:
    service = FalAudioService(api_key=FAL_KEY, inference=wired(fake_server, tmp_path))
    assert service.tts_model == "fal-ai/minimax/speech-02-hd"
    speech = await service.generate_speech("The boats come home at dusk.", voice="Calm_Woman")
    with wave.open(io.BytesIO(speech)) as decoded:
        assert decoded.getframerate() == 32000
        assert decoded.getnframes() / decoded.getframerate() > 0.2
    mp3 = await service.generate_speech("Again, as mp3.", response_format="mp3")
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    first = next(iter(queue.jobs.values()))
    assert first.arguments["voice_setting"]["voice_id"] == "Calm_Woman"
    assert first.arguments["audio_setting"]["format"] == "flac"
    with pytest.raises(InvalidGeneratorInput, match="response_format"):
        await service.generate_speech("x", response_format="opus")
    mix = await service.mix_scene_audio(narration_bytes_list=[speech], duration_sec=2.0)
    with wave.open(io.BytesIO(mix)) as decoded:
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(2.0, abs=0.05)
    clip = await FalVideoService(api_key=FAL_KEY, inference=service._inference).generate_clip(
        shot_id="m", keyframe_images=[], prompt="harbour", duration_sec=5
    )
    muxed = await service.mux_audio_with_video(video_bytes=clip, audio_bytes=mix)
    with av.open(io.BytesIO(muxed)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
        rate = container.streams.audio[0].rate
    with av.open(io.BytesIO(muxed)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40  # the video's length is kept
    assert samples / rate == pytest.approx(5.0, abs=0.05)  # the 2 s mix, padded to the video
    with pytest.raises(UnexpectedMediaType):
        await service.mux_audio_with_video(video_bytes=clip, audio_bytes=png())


async def test_wavespeed_video_service(
    fake_server: FakeServer, queue: QueueScript, tmp_path: Path
) -> None:
    service = WavespeedVideoService(
        api_key=WAVESPEED_KEY, aspect_ratio="1:1", poll_interval_sec=0.01,
        inference=wired(fake_server, tmp_path),
    )  # fmt: skip
    text_clip = await service.generate_clip(
        shot_id="w1", keyframe_images=[], prompt="surf", duration_sec=5
    )
    image_clip = await service.generate_clip(
        shot_id="w2", keyframe_images=[png()], prompt="surf", duration_sec=9, seed=3
    )
    t2v, i2v = queue.jobs.values()
    assert t2v.model == "bytedance/seedance-v1-pro-t2v-480p"
    assert t2v.arguments["aspect_ratio"] == "1:1" and t2v.arguments["duration"] == 5
    assert i2v.model == "bytedance/seedance-v1-pro-i2v-480p" and i2v.arguments["duration"] == 10
    assert frames(text_clip) == 40 and frames(image_clip) == 80
    submit = fake_server.requests_for("/wavespeed/api/v3/bytedance/")[0]
    assert submit.headers["authorization"] == f"Bearer {WAVESPEED_KEY}"
    with pytest.raises(InvalidGeneratorInput, match="at most 1 keyframe"):
        await service.generate_clip(
            shot_id="w3", keyframe_images=[png(), png()], prompt="x", duration_sec=5
        )
