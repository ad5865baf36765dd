"""AVMediaProbe: measurements read back by decoding real files; wrong kinds refused."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference_core.adapters.media.av_ops import (
    VideoWriter,
    concat_audio,
    mux_audio_video,
    write_tone_wav,
)
from inference_core.adapters.media.probe import AVMediaProbe
from inference_core.domain.errors import UnexpectedMediaType
from inference_core.ports.media import MediaProbe

probe = AVMediaProbe()


def png(path: Path, size: tuple[int, int] = (40, 30)) -> Path:
    Image.new("RGB", size, (200, 30, 30)).save(path, format="PNG")
    return path


def video(path: Path, *, frames: int, fps: int, size: tuple[int, int] = (32, 24)) -> Path:
    with VideoWriter(path, width=size[0], height=size[1], fps=fps) as writer:
        for i in range(frames):
            image = np.full((size[1], size[0], 3), (i * 20) % 255, dtype=np.uint8)
            writer.write_rgb(image)
    return path


def test_it_is_a_media_probe() -> None:
    assert isinstance(probe, MediaProbe)


def test_image_size_is_read_from_the_decoded_image(tmp_path: Path) -> None:
    measured = probe.measure(png(tmp_path / "a.png", (40, 30)), "image/png")
    assert (measured.width, measured.height) == (40, 30)
    assert measured.duration_s is None
    jpeg = tmp_path / "b.jpg"
    Image.new("RGB", (17, 9)).save(jpeg, format="JPEG")
    assert probe.measure(jpeg, "image/jpeg").width == 17


def test_a_truncated_image_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, format="PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(UnexpectedMediaType):
        probe.measure(cut, "image/png")


def test_an_image_is_not_video_nor_another_image_type(tmp_path: Path) -> None:
    image = png(tmp_path / "a.png")
    with pytest.raises(UnexpectedMediaType) as info:
        probe.measure(image, "video/mp4")
    assert info.value.found == "image/png"
    with pytest.raises(UnexpectedMediaType):
        probe.measure(image, "image/jpeg")
    with pytest.raises(UnexpectedMediaType):
        probe.measure(image, "audio/wav")


def test_video_frames_are_counted_by_decoding(tmp_path: Path) -> None:
    measured = probe.measure(video(tmp_path / "v.mp4", frames=10, fps=5), "video/mp4")
    assert measured.frame_count == 10
    assert measured.fps == 5.0
    assert (measured.width, measured.height) == (32, 24)
    assert measured.duration_s == pytest.approx(2.0, abs=1e-3)
    assert measured.sample_rate is None


def test_a_video_with_sound_reports_its_audio_track(tmp_path: Path) -> None:
    clip = video(tmp_path / "v.mp4", frames=6, fps=6)
    write_tone_wav(tmp_path / "t.wav", duration_s=1.0, sample_rate=24000)
    mux_audio_video(clip, tmp_path / "t.wav", tmp_path / "both.mp4")
    measured = probe.measure(tmp_path / "both.mp4", "video/mp4")
    assert measured.frame_count == 6
    assert measured.sample_rate == 24000
    assert measured.channels == 1


def test_audio_duration_is_samples_over_rate(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "t.wav", duration_s=1.25, sample_rate=16000)
    measured = probe.measure(tmp_path / "t.wav", "audio/wav")
    assert measured.duration_s == pytest.approx(1.25, abs=1e-6)
    assert (measured.sample_rate, measured.channels) == (16000, 1)
    concat_audio([tmp_path / "t.wav"], tmp_path / "t.mp3", fmt="mp3")
    assert probe.measure(tmp_path / "t.mp3", "audio/mpeg").duration_s == pytest.approx(
        1.25, abs=0.03
    )


def test_audio_and_video_are_not_interchangeable(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "t.wav", duration_s=0.2)
    with pytest.raises(UnexpectedMediaType):
        probe.measure(tmp_path / "t.wav", "video/mp4")
    clip = video(tmp_path / "v.mp4", frames=3, fps=3)
    with pytest.raises(UnexpectedMediaType):
        probe.measure(clip, "audio/mp4")


def test_bytes_that_decode_as_nothing_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"<html>not audio</html>" * 20)
    with pytest.raises(UnexpectedMediaType):
        probe.measure(junk, "audio/wav")
    with pytest.raises(UnexpectedMediaType):
        probe.measure(junk, "video/mp4")
    with pytest.raises(UnexpectedMediaType):
        probe.measure(junk, "text/html")
