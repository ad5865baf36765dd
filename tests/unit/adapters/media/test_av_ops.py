"""av_ops: real decoding and encoding - every result is decoded back and measured."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from inference_core.adapters.media.av_ops import (
    AUDIO_FORMATS,
    VideoWriter,
    concat_audio,
    concat_video,
    decode_audio,
    mix_audio,
    mux_audio_video,
    video_codec,
    write_audio,
    write_tone_wav,
)
from inference_core.adapters.media.probe import AVMediaProbe
from inference_core.domain.errors import UnexpectedMediaType
from inference_core.domain.media import sniff_mime

probe = AVMediaProbe()


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))


def tone_amplitude(samples: np.ndarray, rate: int, frequency: float) -> float:
    """Amplitude of one sine component (mono or the mean of channels)."""
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    t = np.arange(mono.shape[0]) / rate
    return float(2 * np.abs(np.mean(mono * np.exp(-2j * np.pi * frequency * t))))


def mime_of(path: Path) -> str | None:
    return sniff_mime(path.read_bytes()[:64])


def clip(
    path: Path,
    *,
    frames: int,
    fps: int,
    size: tuple[int, int] = (32, 24),
    colour: tuple[int, int, int] = (255, 0, 0),
) -> Path:
    with VideoWriter(path, width=size[0], height=size[1], fps=fps) as writer:
        for _ in range(frames):
            writer.write_rgb(np.full((size[1], size[0], 3), colour, dtype=np.uint8))
    return path


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# -- audio ----------------------------------------------------------------------


def test_tone_wav_has_the_asked_duration_rate_and_level(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "t.wav", duration_s=0.5, sample_rate=24000, amplitude=0.3)
    measured = probe.measure(tmp_path / "t.wav", "audio/wav")
    assert measured.duration_s == pytest.approx(0.5, abs=1e-4)
    assert measured.sample_rate == 24000
    samples = decode_audio(tmp_path / "t.wav", sample_rate=24000, channels=1)
    assert rms(samples) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)


def test_concat_of_mp3_wav_and_raw_pcm_is_one_continuous_stream(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "a.wav", duration_s=0.6, sample_rate=24000, frequency=300)
    concat_audio([tmp_path / "a.wav"], tmp_path / "a.mp3", fmt="mp3")
    write_tone_wav(tmp_path / "b.wav", duration_s=0.4, sample_rate=44100, frequency=600)
    pcm = (np.sin(np.arange(12000) / 4) * 8000).astype("<i2")
    (tmp_path / "c.pcm").write_bytes(pcm.tobytes())  # 0.5 s at 24 kHz

    concat_audio(
        [tmp_path / "a.mp3", tmp_path / "b.wav", tmp_path / "c.pcm"], tmp_path / "out", fmt="wav"
    )
    measured = probe.measure(tmp_path / "out", "audio/wav")
    assert measured.sample_rate == 44100  # the highest input rate
    assert measured.duration_s == pytest.approx(1.5, abs=0.03)
    samples = decode_audio(tmp_path / "out", sample_rate=44100, channels=1)
    # Sound in every part: nothing was dropped or replaced by silence.
    for start, stop in ((0.1, 0.5), (0.7, 0.9), (1.1, 1.4)):
        assert rms(samples[:, int(start * 44100) : int(stop * 44100)]) > 0.1


@pytest.mark.parametrize("fmt", sorted(AUDIO_FORMATS))
def test_every_output_format_decodes_back(tmp_path: Path, fmt: str) -> None:
    write_tone_wav(tmp_path / "a.wav", duration_s=0.5, sample_rate=24000)
    write_tone_wav(tmp_path / "b.wav", duration_s=0.5, sample_rate=24000)
    output = tmp_path / "out"  # no suffix: the format decides, not the name
    concat_audio([tmp_path / "a.wav", tmp_path / "b.wav"], output, fmt=fmt)
    mime = mime_of(output)
    expected = {
        "wav": "audio/wav",
        "mp3": "audio/mpeg",
        "flac": "audio/flac",
        "opus": "audio/ogg",
        "ogg": "audio/ogg",
        "aac": "audio/aac",
        "m4a": "audio/mp4",
    }[fmt]
    assert mime == expected
    measured = probe.measure(output, expected)
    assert measured.duration_s == pytest.approx(1.0, abs=0.08)
    if fmt in ("opus", "ogg"):
        assert measured.sample_rate == 48000


def test_concat_refuses_an_unknown_format_and_no_inputs(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "a.wav", duration_s=0.1)
    with pytest.raises(ValueError, match="wma"):
        concat_audio([tmp_path / "a.wav"], tmp_path / "out", fmt="wma")
    with pytest.raises(ValueError):
        concat_audio([], tmp_path / "out", fmt="wav")


def test_an_image_or_a_silent_video_is_not_audio(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png", format="PNG")
    write_tone_wav(tmp_path / "a.wav", duration_s=0.1)
    with pytest.raises(UnexpectedMediaType) as info:
        concat_audio([tmp_path / "a.wav", tmp_path / "x.png"], tmp_path / "out", fmt="wav")
    assert info.value.found == "image/png"
    assert not (tmp_path / "out").exists()  # nothing half-written is left
    clip(tmp_path / "v.mp4", frames=2, fps=2)
    with pytest.raises(UnexpectedMediaType):
        concat_audio([tmp_path / "v.mp4"], tmp_path / "out", fmt="mp3")


def test_write_audio_checks_the_shape(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_audio(np.zeros((3, 10), dtype=np.float32), tmp_path / "x", sample_rate=8000)


def test_mix_ducks_music_under_narration_and_fades(tmp_path: Path) -> None:
    rate = 44100
    write_tone_wav(tmp_path / "n1.wav", duration_s=0.6, sample_rate=22050, frequency=200)
    write_tone_wav(tmp_path / "n2.wav", duration_s=0.4, sample_rate=24000, frequency=200)
    write_tone_wav(
        tmp_path / "music.wav", duration_s=0.7, sample_rate=rate, frequency=2000, amplitude=0.5
    )
    write_tone_wav(tmp_path / "amb.wav", duration_s=0.3, sample_rate=rate, frequency=3000)
    mix_audio(
        [tmp_path / "n1.wav", tmp_path / "n2.wav"],
        tmp_path / "mix",
        music=tmp_path / "music.wav",
        ambience=tmp_path / "amb.wav",
        duration_s=3.0,
        fade_s=0.3,
    )
    assert mime_of(tmp_path / "mix") == "audio/wav"
    measured = probe.measure(tmp_path / "mix", "audio/wav")
    assert measured.duration_s == pytest.approx(3.0, abs=1e-3)
    assert (measured.sample_rate, measured.channels) == (rate, 2)

    mixed = decode_audio(tmp_path / "mix", sample_rate=rate, channels=2)

    def window(start: float, stop: float) -> np.ndarray:
        return mixed[:, int(start * rate) : int(stop * rate)]

    during = tone_amplitude(window(0.3, 0.8), rate, 2000)  # narration plays 0-1 s
    after = tone_amplitude(window(1.4, 2.4), rate, 2000)
    assert after == pytest.approx(0.5 * 10 ** (-12 / 20), rel=0.05)  # music gain -12 dB
    assert during == pytest.approx(after * 10 ** (-10 / 20), rel=0.1)  # ducked 10 dB more
    assert tone_amplitude(window(0.3, 0.8), rate, 200) == pytest.approx(0.3, rel=0.05)
    assert tone_amplitude(window(1.4, 2.4), rate, 3000) > 0.02  # ambience looped
    assert rms(window(0.0, 0.01)) < rms(window(0.3, 0.8))
    assert rms(window(2.99, 3.0)) < 0.1 * rms(window(1.4, 2.4))  # faded out


def test_mix_length_defaults_to_the_narration(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "n.wav", duration_s=0.7, sample_rate=24000)
    mix_audio([tmp_path / "n.wav"], tmp_path / "mix", music=None, ambience=None, duration_s=None)
    assert probe.measure(tmp_path / "mix", "audio/wav").duration_s == pytest.approx(0.7, abs=1e-3)
    with pytest.raises(ValueError):
        mix_audio([], tmp_path / "x", music=None, ambience=None, duration_s=1.0)


# -- video ----------------------------------------------------------------------


def test_video_writer_makes_h264_mp4_with_exact_frames(tmp_path: Path) -> None:
    clip(tmp_path / "v.mp4", frames=7, fps=14, size=(33, 21))
    with av.open(str(tmp_path / "v.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("h264", "mpeg4")
        assert stream.codec_context.pix_fmt == "yuv420p"
    measured = probe.measure(tmp_path / "v.mp4", "video/mp4")
    assert (measured.width, measured.height) == (32, 20)  # yuv420p: even sizes
    assert measured.frame_count == 7
    assert measured.fps == 14.0


def test_cut_concat_normalises_size_and_rate_to_the_first_clip(tmp_path: Path) -> None:
    first = clip(tmp_path / "a.mp4", frames=12, fps=12, size=(64, 48))
    second = clip(tmp_path / "b.mp4", frames=24, fps=24, size=(80, 60), colour=(0, 0, 255))
    concat_video([first, second], tmp_path / "out.mp4")
    measured = probe.measure(tmp_path / "out.mp4", "video/mp4")
    assert (measured.width, measured.height) == (64, 48)
    assert measured.fps == 12.0
    assert measured.frame_count == 24  # 1 s + 1 s at 12 fps
    assert measured.duration_s == pytest.approx(2.0, abs=1e-3)
    frames = decoded_frames(tmp_path / "out.mp4")
    assert frames[0][..., 0].mean() > 200
    assert frames[-1][..., 2].mean() > 200


def test_crossfade_overlaps_the_clips(tmp_path: Path) -> None:
    red = clip(tmp_path / "a.mp4", frames=12, fps=12)
    blue = clip(tmp_path / "b.mp4", frames=12, fps=12, colour=(0, 0, 255))
    concat_video([red, blue], tmp_path / "out.mp4", transitions=["crossfade"], crossfade_s=0.5)
    overlap = 6
    assert probe.measure(tmp_path / "out.mp4", "video/mp4").frame_count == 12 + 12 - overlap
    frames = decoded_frames(tmp_path / "out.mp4")
    middle = frames[12 - overlap + overlap // 2]
    assert 60 < middle[..., 0].mean() < 200  # part red, part blue
    assert 60 < middle[..., 2].mean() < 200


def test_transitions_per_join_and_given_size_and_rate(tmp_path: Path) -> None:
    a = clip(tmp_path / "a.mp4", frames=6, fps=6)
    b = clip(tmp_path / "b.mp4", frames=6, fps=6)
    concat_video(
        [a, b, a],
        tmp_path / "out.mp4",
        transitions=["cut", "crossfade"],
        crossfade_s=0.25,
        fps=12,
        size=(40, 30),
    )
    measured = probe.measure(tmp_path / "out.mp4", "video/mp4")
    assert (measured.width, measured.height, measured.fps) == (40, 30, 12.0)
    assert measured.frame_count == 36 - 3


def test_unknown_transition_is_named(tmp_path: Path) -> None:
    a = clip(tmp_path / "a.mp4", frames=2, fps=2)
    with pytest.raises(ValueError, match="'wipe'"):
        concat_video([a, a], tmp_path / "out.mp4", transitions=["wipe"])
    with pytest.raises(ValueError):
        concat_video([a, a, a], tmp_path / "out.mp4", transitions=["cut", "cut", "cut"])


def test_audio_or_an_image_is_not_a_clip(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "a.wav", duration_s=0.2)
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png", format="PNG")
    for wrong in (tmp_path / "a.wav", tmp_path / "x.png"):
        with pytest.raises(UnexpectedMediaType):
            concat_video([wrong], tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_mux_keeps_the_video_length(tmp_path: Path) -> None:
    picture = clip(tmp_path / "v.mp4", frames=12, fps=12)
    write_tone_wav(tmp_path / "long.wav", duration_s=2.5, sample_rate=24000)
    write_tone_wav(tmp_path / "short.wav", duration_s=0.4, sample_rate=24000)
    for sound in ("long", "short"):
        output = tmp_path / f"{sound}.mp4"
        mux_audio_video(picture, tmp_path / f"{sound}.wav", output)
        with av.open(str(output)) as container:
            kinds = sorted(s.type for s in container.streams)
            assert kinds == ["audio", "video"]
            assert container.streams.audio[0].codec_context.name == "aac"
            audio_samples = sum(f.samples for f in container.decode(audio=0))
        assert audio_samples / 24000 == pytest.approx(1.0, abs=0.05)
        assert probe.measure(output, "video/mp4").frame_count == 12


def test_mux_refuses_an_image_as_audio(tmp_path: Path) -> None:
    picture = clip(tmp_path / "v.mp4", frames=2, fps=2)
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png", format="PNG")
    with pytest.raises(UnexpectedMediaType):
        mux_audio_video(picture, tmp_path / "x.png", tmp_path / "out.mp4")
    with pytest.raises(UnexpectedMediaType):
        mux_audio_video(tmp_path / "x.png", picture, tmp_path / "out.mp4")


def test_fractional_rates_are_kept(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "v.mp4", width=16, height=16, fps=30000 / 1001) as writer:
        for _ in range(3):
            writer.write_rgb(np.zeros((16, 16, 3), dtype=np.uint8))
    assert writer.fps == Fraction(30000, 1001)
    assert probe.measure(tmp_path / "v.mp4", "video/mp4").fps == pytest.approx(29.97, abs=0.01)


def test_mux_re_encodes_video_mp4_cannot_hold(tmp_path: Path) -> None:
    avi = tmp_path / "v.avi"
    with av.open(str(avi), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuvj420p"
        for i in range(10):
            image = np.full((24, 32, 3), i * 20, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuvj420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    write_tone_wav(tmp_path / "t.wav", duration_s=0.5, sample_rate=24000)
    mux_audio_video(avi, tmp_path / "t.wav", tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert {s.type: s.codec_context.name for s in container.streams} == {
            "video": "h264" if video_codec() == "libx264" else "mpeg4",
            "audio": "aac",
        }
        audio_samples = sum(f.samples for f in container.decode(audio=0))
    assert audio_samples / 24000 == pytest.approx(1.0, abs=0.05)  # padded to the video
    measured = probe.measure(tmp_path / "out.mp4", "video/mp4")
    assert (measured.frame_count, measured.fps) == (10, 10.0)
