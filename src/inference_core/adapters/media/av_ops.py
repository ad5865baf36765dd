"""Real media operations with PyAV: decode, resample, mix, concatenate, mux, encode.

Nothing here joins bytes: every input is decoded (any format FFmpeg reads; a
``.pcm`` file is raw s16le, 24 kHz, mono, which is what speech APIs stream),
converted to one sample rate / layout or one frame size / rate, and encoded
again as one continuous stream. An input that does not decode as the kind an
operation needs (an image where audio is expected) raises
:class:`~inference_core.domain.errors.UnexpectedMediaType`; no function ever
hands back an input unchanged in place of its result.

Every function is synchronous and CPU-bound: async callers run it in a thread
(``asyncio.to_thread``). Outputs are written to the path given, in the
container the function names (the path's suffix is never trusted, so a
suffix-less scratch path works); a failed call removes what it wrote.
Containers are written with ``fflags=+bitexact`` (no muxer version strings),
so the same audio inputs give the same bytes with the same FFmpeg build;
H.264 from libx264 is identical run to run nearly always, but not provably
(rare runs differ with identical frames).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Iterator, Sequence
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Any, Final

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from inference_core.domain.errors import UnexpectedMediaType
from inference_core.domain.media import SNIFF_BYTES, sniff_mime

__all__ = [
    "AUDIO_FORMATS",
    "PCM_INPUT",
    "TRANSITIONS",
    "VideoWriter",
    "concat_audio",
    "concat_video",
    "decode_audio",
    "mix_audio",
    "mux_audio_video",
    "video_codec",
    "write_audio",
    "write_tone_wav",
]

FloatArray = npt.NDArray[np.float32]
ImageArray = npt.NDArray[np.uint8]

#: Output format name -> (container, encoder) for audio.
AUDIO_FORMATS: Final[dict[str, tuple[str, str]]] = {
    "wav": ("wav", "pcm_s16le"),
    "mp3": ("mp3", "libmp3lame"),
    "flac": ("flac", "flac"),
    "opus": ("ogg", "libopus"),
    "ogg": ("ogg", "libopus"),
    "aac": ("adts", "aac"),
    "m4a": ("ipod", "aac"),
}
#: How a ``.pcm`` input is read: raw signed 16-bit little-endian, 24 kHz, mono.
PCM_INPUT: Final[dict[str, str]] = {"sample_rate": "24000", "ch_layout": "mono"}
#: The joins :func:`concat_video` knows.
TRANSITIONS: Final[tuple[str, ...]] = ("cut", "crossfade")

_BITEXACT: Final[dict[str, str]] = {"fflags": "+bitexact"}
_PCM_CHUNK = 4096  # samples per frame for encoders without a fixed frame size
_DUCK_WINDOW_S = 0.15  # music ramps down/up over this long around each narration clip
_IMAGE_FORMATS = ("image2", "_pipe")  # FFmpeg demuxers that read still images


# -- inputs ------------------------------------------------------------------------


def _found(path: Path, container: InputContainer | None = None) -> str | None:
    """What ``path`` really is, for an error message: its sniffed type or its container."""
    try:
        with path.open("rb") as source:
            mime = sniff_mime(source.read(SNIFF_BYTES))
    except OSError:
        mime = None
    if mime is not None:
        return mime
    if container is not None:
        if container.streams.video and _is_image_container(container):
            return "an image"
        if container.streams.video:
            return "video"
        if container.streams.audio:
            return "audio"
        return f"a {container.format.name} file with no audio or video"
    return None


def _is_image_container(container: InputContainer) -> bool:
    name = container.format.name
    return any(part in name for part in _IMAGE_FORMATS)


def _open_input(path: Path, expected: str) -> InputContainer:
    """Open ``path`` for decoding; a ``.pcm`` file is raw s16le (:data:`PCM_INPUT`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnexpectedMediaType: FFmpeg cannot read it at all.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such media file: {str(path)!r}")
    try:
        if path.suffix.lower() == ".pcm":
            return av.open(str(path), format="s16le", options=dict(PCM_INPUT))
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise UnexpectedMediaType(path.name, expected, _found(path), discarded=False) from exc


def _audio_stream(path: Path, container: InputContainer) -> AudioStream:
    if not container.streams.audio:
        raise UnexpectedMediaType(path.name, "audio", _found(path, container), discarded=False)
    return container.streams.audio[0]


def _video_stream(path: Path, container: InputContainer) -> VideoStream:
    if not container.streams.video or _is_image_container(container):
        raise UnexpectedMediaType(path.name, "video", _found(path, container), discarded=False)
    return container.streams.video[0]


def _audio_frames(path: Path) -> Iterator[AudioFrame]:
    """Every decoded frame of ``path``'s first audio stream."""
    with _open_input(path, "audio") as container:
        stream = _audio_stream(path, container)
        try:
            yield from container.decode(stream)
        except av.error.FFmpegError as exc:
            raise UnexpectedMediaType(
                path.name, "audio", "corrupt or truncated audio", discarded=False
            ) from exc


def _layout_of(path: Path) -> tuple[int, int]:
    """``(sample_rate, channels)`` of ``path``'s first audio stream."""
    with _open_input(path, "audio") as container:
        stream = _audio_stream(path, container)
        return stream.codec_context.sample_rate, stream.codec_context.channels


def _layout_name(channels: int) -> str:
    return "mono" if channels == 1 else "stereo"


class _Converter:
    """Converts one source's frames to a sample format, layout and rate.

    FFmpeg upmixes mono to stereo 3 dB down (mono is a centre channel); a
    mono voice should play at its own level on both sides, so mono sources
    are copied to both channels here instead.
    """

    def __init__(self, sample_format: str, layout: str, rate: int) -> None:
        self.sample_format = sample_format
        self.layout = layout
        self.rate = rate
        self._main: av.AudioResampler | None = None
        self._mono: av.AudioResampler | None = None
        self._upmix = False

    def convert(self, frame: AudioFrame | None) -> list[AudioFrame]:
        """Converted frames for ``frame``; ``None`` flushes what is buffered."""
        if self._main is None:
            if frame is None:
                return []
            self._upmix = frame.layout.nb_channels == 1 and self.layout == "stereo"
            self._main = av.AudioResampler(
                format=self.sample_format, layout=self.layout, rate=self.rate
            )
            if self._upmix:
                self._mono = av.AudioResampler(format="fltp", layout="mono", rate=frame.sample_rate)
        if frame is not None:
            frame.pts = None
        if not self._upmix or self._mono is None:
            return self._main.resample(frame)
        out: list[AudioFrame] = []
        for mono in self._mono.resample(frame):
            both = np.repeat(mono.to_ndarray().astype(np.float32), 2, axis=0)
            stereo = AudioFrame.from_ndarray(both, format="fltp", layout="stereo")
            stereo.sample_rate = mono.sample_rate
            out.extend(self._main.resample(stereo))
        if frame is None:
            out.extend(self._main.resample(None))
        return out


def decode_audio(path: Path, *, sample_rate: int, channels: int = 2) -> FloatArray:
    """Decode ``path`` to float32 samples, shape ``(channels, n)``, at ``sample_rate``.

    Raises:
        UnexpectedMediaType: ``path`` has no decodable audio, or no samples at all.
    """
    converter = _Converter("fltp", _layout_name(channels), sample_rate)
    chunks: list[FloatArray] = []
    for frame in _audio_frames(Path(path)):
        chunks.extend(out.to_ndarray().astype(np.float32) for out in converter.convert(frame))
    chunks.extend(out.to_ndarray().astype(np.float32) for out in converter.convert(None))
    if not chunks or sum(chunk.shape[1] for chunk in chunks) == 0:
        raise UnexpectedMediaType(
            Path(path).name, "audio", "an audio stream with no samples", discarded=False
        )
    return np.concatenate(chunks, axis=1)


# -- audio output ------------------------------------------------------------------


def _audio_format(fmt: str) -> tuple[str, str]:
    try:
        return AUDIO_FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown audio format {fmt!r} (expected one of {', '.join(AUDIO_FORMATS)})"
        ) from None


def _supported_rate(codec: av.Codec, wanted: int) -> int:
    rates = codec.audio_rates
    if not rates:
        return wanted
    higher = sorted(rate for rate in rates if rate >= wanted)
    return higher[0] if higher else max(rates)


class _AudioEncoder:
    """One audio stream of ``container``, fed decoded frames of any format.

    Frames are resampled to the encoder's rate, layout and sample format, queued
    in a FIFO and encoded in the encoder's frame size with continuous
    timestamps, so sources join without a gap or a click from a short frame.
    """

    def __init__(
        self, container: OutputContainer, codec_name: str, *, sample_rate: int, channels: int
    ) -> None:
        codec = av.Codec(codec_name, "w")
        formats = codec.audio_formats or []
        self.rate = _supported_rate(codec, sample_rate)
        self.layout = _layout_name(min(max(channels, 1), 2))
        self.sample_format = formats[0].name if formats else "s16"
        self.container = container
        stream = container.add_stream(
            codec_name, rate=self.rate, layout=self.layout, format=self.sample_format
        )
        assert isinstance(stream, AudioStream)
        self.stream = stream
        # Opened now, not when the container starts: the frame size is needed to queue.
        self.stream.codec_context.open()
        self.fifo = av.AudioFifo()
        self.written = 0
        self.limit: int | None = None
        self._finished = False
        self._converter: _Converter | None = None

    @property
    def frame_size(self) -> int:
        return self.stream.codec_context.frame_size or _PCM_CHUNK

    def begin_source(self) -> None:
        """Start a new source (its own sample format / rate): flush the previous one."""
        self._flush_source()
        self._converter = _Converter(self.sample_format, self.layout, self.rate)

    def add(self, frame: AudioFrame) -> None:
        if self._converter is None:
            self.begin_source()
        assert self._converter is not None
        self._queue(self._converter.convert(frame))

    def add_array(self, samples: FloatArray, sample_rate: int) -> None:
        """Queue float samples ``(channels, n)`` in [-1, 1] at ``sample_rate``."""
        self.begin_source()
        planar = np.ascontiguousarray(samples, dtype=np.float32)
        for start in range(0, planar.shape[1], 65536):
            frame = AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, start : start + 65536]),
                format="fltp",
                layout=_layout_name(planar.shape[0]),
            )
            frame.sample_rate = sample_rate
            self.add(frame)
        self._flush_source()

    def _flush_source(self) -> None:
        if self._converter is not None:
            self._queue(self._converter.convert(None))
            self._converter = None

    def _queue(self, frames: list[AudioFrame]) -> None:
        for frame in frames:
            frame.pts = None
            frame.time_base = Fraction(1, self.rate)  # sources differ; the FIFO wants one
            self.fifo.write(frame)
        self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        size = self.frame_size
        while self.fifo.samples >= size or (final and self.fifo.samples > 0):
            if self.limit is not None and self.written >= self.limit:
                self.fifo.read(self.fifo.samples)  # past the end: dropped
                return
            wanted = size
            if self.limit is not None:
                wanted = min(wanted, self.limit - self.written)
            frame = self.fifo.read(min(wanted, self.fifo.samples), partial=True)
            if frame is None:
                return
            self._encode(frame)

    def _encode(self, frame: AudioFrame | None) -> None:
        if frame is not None:
            frame.pts = self.written
            frame.time_base = Fraction(1, self.rate)
            self.written += frame.samples
        self.container.mux(self.stream.encode(frame))

    def pad_to(self, samples: int) -> None:
        """Append silence until ``samples`` samples in all have been queued or written."""
        missing = samples - self.written - self.fifo.samples
        if missing > 0:
            channels = 1 if self.layout == "mono" else 2
            self.add_array(np.zeros((channels, missing), dtype=np.float32), self.rate)

    def finish(self) -> None:
        """Encode what is queued and flush the encoder (once; later calls do nothing)."""
        if self._finished:
            return
        self._finished = True
        self._flush_source()
        self._drain(final=True)
        self._encode(None)


def _open_output(output: Path, container_format: str) -> OutputContainer:
    return av.open(str(output), "w", format=container_format, container_options=dict(_BITEXACT))


@contextlib.contextmanager
def _removing_on_error(output: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        Path(output).unlink(missing_ok=True)
        raise


def write_audio(
    samples: npt.NDArray[Any], output: Path, *, sample_rate: int, fmt: str = "wav"
) -> None:
    """Encode ``samples`` to ``output`` in ``fmt`` (one of :data:`AUDIO_FORMATS`).

    Args:
        samples: Float samples in [-1, 1] (or int16), shape ``(channels, n)`` or ``(n,)``.
        output: The file to write.
        sample_rate: The samples' rate (the encoder may need another: resampled).
        fmt: The output format.
    """
    data = np.asarray(samples)
    if data.ndim == 1:
        data = data[np.newaxis, :]
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    if data.ndim != 2 or data.shape[0] not in (1, 2) or data.shape[1] == 0:
        raise ValueError(f"samples must be (1 or 2 channels, n > 0), not shape {data.shape}")
    container_format, codec_name = _audio_format(fmt)
    with _removing_on_error(output), _open_output(output, container_format) as container:
        encoder = _AudioEncoder(
            container, codec_name, sample_rate=sample_rate, channels=data.shape[0]
        )
        encoder.add_array(np.clip(data, -1.0, 1.0).astype(np.float32), sample_rate)
        encoder.finish()


def write_tone_wav(
    path: Path,
    *,
    duration_s: float,
    sample_rate: int = 24000,
    frequency: float = 440.0,
    amplitude: float = 0.3,
) -> None:
    """Write a mono sine tone as 16-bit WAV (mocks and tests)."""
    count = max(1, round(duration_s * sample_rate))
    t = np.arange(count, dtype=np.float64) / sample_rate
    tone = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    write_audio(tone, path, sample_rate=sample_rate, fmt="wav")


def concat_audio(inputs: Sequence[Path], output: Path, *, fmt: str) -> None:
    """Decode ``inputs`` in order and encode them as one continuous stream in ``fmt``.

    The output's sample rate is the highest of the inputs' (raised to one the
    encoder supports: Opus is 48 kHz), its layout mono when every input is
    mono, else stereo. ``fmt`` is one of :data:`AUDIO_FORMATS` (``opus`` and
    ``ogg`` are Opus in Ogg, ``aac`` is ADTS, ``m4a`` is AAC in MP4).

    Raises:
        ValueError: No inputs, or an unknown ``fmt``.
        UnexpectedMediaType: An input has no decodable audio.
    """
    paths = [Path(p) for p in inputs]
    if not paths:
        raise ValueError("concat_audio needs at least one input")
    container_format, codec_name = _audio_format(fmt)
    layouts = [_layout_of(path) for path in paths]
    rate = max(rate for rate, _ in layouts)
    channels = 2 if any(count > 1 for _, count in layouts) else 1
    with _removing_on_error(output), _open_output(output, container_format) as container:
        encoder = _AudioEncoder(container, codec_name, sample_rate=rate, channels=channels)
        for path in paths:
            encoder.begin_source()
            for frame in _audio_frames(path):
                encoder.add(frame)
        encoder.finish()


# -- mixing -----------------------------------------------------------------------


def _db(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


def _looped(bed: FloatArray, total: int) -> FloatArray:
    repeats = math.ceil(total / bed.shape[1])
    return np.tile(bed, (1, repeats))[:, :total]


def _fades(total: int, fade: int) -> FloatArray:
    envelope = np.ones(total, dtype=np.float32)
    fade = min(fade, total // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        envelope[:fade] = ramp
        envelope[total - fade :] = ramp[::-1]
    return envelope


def _smoothed(mask: FloatArray, window: int) -> FloatArray:
    """Centred moving average of ``mask`` (linear ramps of ``window`` samples at edges)."""
    if window <= 1:
        return mask
    half = window // 2
    padded = np.concatenate([np.zeros(half + 1), mask.astype(np.float64), np.zeros(half)])
    sums = np.cumsum(padded)
    averaged: npt.NDArray[np.float64] = (sums[window:] - sums[:-window]) / window
    return averaged[: mask.shape[0]].astype(np.float32)


def mix_audio(
    narration: Sequence[Path],
    output: Path,
    *,
    music: Path | None,
    ambience: Path | None,
    duration_s: float | None,
    music_gain_db: float = -12.0,
    ambience_gain_db: float = -18.0,
    duck_db: float = -10.0,
    fade_s: float = 0.5,
    sample_rate: int = 44100,
) -> None:
    """Mix narration over a music bed and an ambience bed into a stereo WAV (pcm_s16le).

    * Narration clips play one after another from 0 s, at unity gain.
    * The total length is ``duration_s`` when given (narration past it is cut),
      else the narration's length, else (no narration) the music's, else the
      ambience's.
    * Music and ambience are looped or trimmed to the total, attenuated by
      their gains, and faded in and out over ``fade_s`` (the beds only:
      narration is never faded).
    * Music is ducked by a further ``duck_db`` while any narration clip plays,
      ramping over 150 ms around each clip.
    * The sum is scaled down as a whole only if it would clip.

    Raises:
        ValueError: Nothing to mix, or a non-positive ``duration_s`` / rate.
        UnexpectedMediaType: An input has no decodable audio.
    """
    if not narration and music is None and ambience is None:
        raise ValueError("mix_audio needs narration, music or ambience")
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"duration_s must be positive, not {duration_s}")
    if sample_rate <= 0 or fade_s < 0:
        raise ValueError("sample_rate must be positive and fade_s not negative")
    clips = [decode_audio(Path(p), sample_rate=sample_rate, channels=2) for p in narration]
    music_bed = decode_audio(Path(music), sample_rate=sample_rate) if music else None
    ambience_bed = decode_audio(Path(ambience), sample_rate=sample_rate) if ambience else None
    if duration_s is not None:
        total = max(1, round(duration_s * sample_rate))
    elif clips:
        total = sum(clip.shape[1] for clip in clips)
    else:
        bed = music_bed if music_bed is not None else ambience_bed
        assert bed is not None
        total = bed.shape[1]

    mix = np.zeros((2, total), dtype=np.float32)
    speaking = np.zeros(total, dtype=np.float32)
    position = 0
    for clip in clips:
        take = max(0, min(clip.shape[1], total - position))
        mix[:, position : position + take] += clip[:, :take]
        speaking[position : position + take] = 1.0
        position += clip.shape[1]

    fades = _fades(total, round(fade_s * sample_rate))
    if music_bed is not None:
        ducked = _smoothed(speaking, round(_DUCK_WINDOW_S * sample_rate))
        envelope = (1.0 - (1.0 - _db(duck_db)) * ducked) * fades * _db(music_gain_db)
        mix += _looped(music_bed, total) * envelope
    if ambience_bed is not None:
        mix += _looped(ambience_bed, total) * (fades * _db(ambience_gain_db))
    peak = float(np.max(np.abs(mix))) if total else 0.0
    if peak > 1.0:
        mix /= peak / 0.99
    write_audio(mix, output, sample_rate=sample_rate, fmt="wav")


# -- video ------------------------------------------------------------------------


def video_codec() -> str:
    """The H.264 encoder when this PyAV build has one (``libx264``), else ``mpeg4``."""
    try:
        av.Codec("libx264", "w")
    except av.error.FFmpegError:
        return "mpeg4"
    except ValueError:
        return "mpeg4"
    return "libx264"


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _rate(fps: float | Fraction | int) -> Fraction:
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"fps must be positive, not {fps}")
    return rate


class VideoWriter:
    """Writes frames to an MP4: H.264 (``libx264``, else ``mpeg4``), yuv420p, constant rate.

    Frames get timestamps ``0, 1, 2...`` in units of ``1/fps``; a frame of
    another size or pixel format is converted. Use as a context manager, or
    call :meth:`close` (which flushes the encoder).

    Args:
        output: The MP4 to write.
        width: Frame width (rounded down to even: yuv420p needs it).
        height: Frame height (idem).
        fps: Frames per second.
        audio: ``(sample_rate, channels)`` to add an AAC stream fed through
            :meth:`add_audio`, or ``None``.
    """

    def __init__(
        self,
        output: Path,
        *,
        width: int,
        height: int,
        fps: float | Fraction | int,
        audio: tuple[int, int] | None = None,
    ) -> None:
        self.output = Path(output)
        self.width = _even(width)
        self.height = _even(height)
        self.fps = _rate(fps)
        self.frames = 0
        self.container = _open_output(self.output, "mp4")
        codec = video_codec()
        options = {"preset": "veryfast", "crf": "20"} if codec == "libx264" else {"qscale": "3"}
        stream = self.container.add_stream(codec, rate=self.fps, options=options)
        assert isinstance(stream, VideoStream)
        self.stream = stream
        self.stream.width = self.width
        self.stream.height = self.height
        self.stream.pix_fmt = "yuv420p"
        self.audio: _AudioEncoder | None = None
        if audio is not None:
            self.audio = _AudioEncoder(
                self.container, "aac", sample_rate=audio[0], channels=audio[1]
            )
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write_rgb(self, image: ImageArray) -> None:
        """Append one ``(height, width, 3)`` uint8 RGB frame."""
        self.write_frame(VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24"))

    def write_frame(self, frame: VideoFrame) -> None:
        """Append one frame (converted to the output's size and yuv420p)."""
        converted = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        converted.pts = self.frames
        converted.time_base = 1 / self.fps
        self.frames += 1
        self.container.mux(self.stream.encode(converted))

    def add_audio(self, frame: AudioFrame) -> None:
        """Queue one decoded audio frame for the AAC stream."""
        if self.audio is None:
            raise ValueError("this VideoWriter was built without an audio stream")
        self.audio.add(frame)

    @property
    def duration_s(self) -> float:
        """Seconds of video written so far."""
        return float(self.frames / self.fps)

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.frames == 0:
                raise ValueError("a video needs at least one frame")
            self.container.mux(self.stream.encode(None))
            if self.audio is not None:
                self.audio.finish()
        except BaseException:
            self.container.close()
            self.output.unlink(missing_ok=True)
            raise
        self.container.close()

    def abort(self) -> None:
        """Close without finishing and delete the partial file."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(av.error.FFmpegError):
                self.container.close()
        self.output.unlink(missing_ok=True)


def _video_geometry(path: Path) -> tuple[int, int, Fraction]:
    with _open_input(path, "video") as container:
        stream = _video_stream(path, container)
        rate = stream.average_rate or stream.guessed_rate or Fraction(24)
        return stream.codec_context.width, stream.codec_context.height, Fraction(rate)


def _clip_frames(path: Path, width: int, height: int, fps: Fraction) -> Iterator[ImageArray]:
    """``path``'s frames as RGB arrays of ``width`` x ``height``, retimed to ``fps``.

    Output frame ``k`` (at ``k / fps`` seconds from the clip's first frame) is
    the source frame showing at that time, so a clip keeps its duration:
    frames are repeated or dropped, never blended.
    """
    with _open_input(path, "video") as container:
        stream = _video_stream(path, container)
        stream.thread_type = "AUTO"
        source_rate = Fraction(stream.average_rate or stream.guessed_rate or fps)
        time_base = stream.time_base or Fraction(1, 90000)
        emitted = 0
        start: int | None = None
        current: ImageArray | None = None
        current_t = Fraction(0)
        current_duration = 1 / source_rate
        try:
            for index, frame in enumerate(container.decode(stream)):
                if frame.pts is not None:
                    start = frame.pts if start is None else start
                    t = (frame.pts - start) * time_base
                else:
                    t = index / source_rate
                if current is not None:
                    while emitted / fps < t:
                        yield current
                        emitted += 1
                rgb = frame.reformat(width=width, height=height, format="rgb24")
                current = rgb.to_ndarray().astype(np.uint8, copy=False)
                current_t = Fraction(t)
                duration = getattr(frame, "duration", None)
                current_duration = (
                    duration * time_base
                    if isinstance(duration, int) and duration > 0
                    else 1 / source_rate
                )
        except av.error.FFmpegError as exc:
            raise UnexpectedMediaType(
                path.name, "video", "corrupt or truncated video", discarded=False
            ) from exc
        if current is None:
            raise UnexpectedMediaType(
                path.name, "video", "a video stream with no frames", discarded=False
            )
        end = current_t + current_duration
        while emitted / fps < end or emitted == 0:
            yield current
            emitted += 1


def _blend(first: ImageArray, second: ImageArray, weight: float) -> ImageArray:
    mixed = first.astype(np.float32) * (1.0 - weight) + second.astype(np.float32) * weight
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _joins(transitions: Sequence[str], count: int) -> list[str]:
    joins = list(transitions)
    for name in joins:
        if name not in TRANSITIONS:
            raise ValueError(
                f"unknown transition {name!r} (expected one of {', '.join(TRANSITIONS)})"
            )
    if not joins:
        return ["cut"] * (count - 1)
    if len(joins) == 1:
        return joins * (count - 1)
    if len(joins) != count - 1:
        raise ValueError(
            f"{count} clips have {count - 1} joins but {len(joins)} transitions were given"
        )
    return joins


def concat_video(
    inputs: Sequence[Path],
    output: Path,
    *,
    transitions: Sequence[str] = (),
    crossfade_s: float = 0.5,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
) -> None:
    """Join video clips into one H.264 MP4 (yuv420p), with a cut or a crossfade at each join.

    Every clip is decoded, scaled to ``size`` (default: the first clip's,
    rounded down to even) and retimed to ``fps`` (default: the first clip's);
    audio tracks are not carried over (mux audio afterwards with
    :func:`mux_audio_video`).

    Args:
        inputs: The clips, in order.
        output: The MP4 to write.
        transitions: One per join (``"cut"`` or ``"crossfade"``); empty means
            all cuts, a single value applies to every join.
        crossfade_s: Length of each crossfade. A crossfade overlaps the end of
            one clip with the start of the next, so it shortens the result by
            ``round(crossfade_s * fps)`` frames (at most the shorter clip).
        fps: Output frame rate.
        size: Output ``(width, height)``.

    Raises:
        ValueError: No inputs, an unknown transition (named), or a wrong
            number of transitions.
        UnexpectedMediaType: An input is not a decodable video (an image, audio).
    """
    paths = [Path(p) for p in inputs]
    if not paths:
        raise ValueError("concat_video needs at least one input")
    joins = _joins(transitions, len(paths))
    if crossfade_s < 0:
        raise ValueError(f"crossfade_s must not be negative, not {crossfade_s}")
    first_width, first_height, first_rate = _video_geometry(paths[0])
    width, height = size or (first_width, first_height)
    width, height = _even(width), _even(height)
    rate = _rate(fps) if fps is not None else _rate(first_rate)
    overlap = round(crossfade_s * rate) if "crossfade" in joins else 0

    with VideoWriter(output, width=width, height=height, fps=rate) as writer:
        tail: deque[ImageArray] = deque()  # the last `overlap` frames, not yet written

        def push(image: ImageArray) -> None:
            tail.append(image)
            if len(tail) > overlap:
                writer.write_rgb(tail.popleft())

        previous_count = 0
        for index, path in enumerate(paths):
            frames = _clip_frames(path, width, height, rate)
            count = 0
            if index > 0 and joins[index - 1] == "crossfade":
                head = list(islice(frames, overlap))
                shared = min(overlap, len(head), len(tail), previous_count)
                while len(tail) > shared:
                    writer.write_rgb(tail.popleft())
                ending = list(tail)
                tail.clear()
                for j in range(shared):
                    push(_blend(ending[j], head[j], (j + 1) / (shared + 1)))
                    count += 1
                for image in head[shared:]:
                    push(image)
                    count += 1
            for image in frames:
                push(image)
                count += 1
            previous_count = count
        while tail:
            writer.write_rgb(tail.popleft())


def _video_span(path: Path) -> tuple[float, str]:
    """``(duration in seconds, codec name)`` of ``path``'s video stream, from its packets."""
    with _open_input(path, "video") as container:
        stream = _video_stream(path, container)
        time_base = stream.time_base or Fraction(1, 90000)
        first: int | None = None
        end: int | None = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            stop = packet.pts + (packet.duration or 0)
            end = stop if end is None else max(end, stop)
        if first is None or end is None:
            raise UnexpectedMediaType(
                path.name, "video", "a video stream with no frames", discarded=False
            )
        return float((end - first) * time_base), stream.codec_context.name


_MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "mpeg4", "av1", "vp9"})


def mux_audio_video(video: Path, audio: Path, output: Path) -> None:
    """Put ``video``'s picture and ``audio``'s sound in one MP4 (audio encoded as AAC).

    The result is as long as the video: audio longer than the video is cut at
    the video's end, shorter audio is padded with silence, so both streams
    end together. The video stream is copied when MP4 can hold its codec
    (H.264, HEVC, MPEG-4, AV1, VP9), re-encoded as H.264 otherwise; any audio
    the video file had is replaced.

    Raises:
        UnexpectedMediaType: ``video`` has no video stream or ``audio`` no audio.
    """
    video, audio, output = Path(video), Path(audio), Path(output)
    duration, codec_name = _video_span(video)
    rate, channels = _layout_of(audio)
    if codec_name not in _MP4_VIDEO_CODECS:
        width, height, fps = _video_geometry(video)
        with VideoWriter(
            output, width=width, height=height, fps=fps, audio=(rate, channels)
        ) as writer:
            for image in _clip_frames(video, writer.width, writer.height, writer.fps):
                writer.write_rgb(image)
            assert writer.audio is not None
            _feed_audio(writer.audio, audio, round(writer.duration_s * writer.audio.rate))
        return
    with (
        _removing_on_error(output),
        _open_output(output, "mp4") as container,
        _open_input(video, "video") as source,
    ):
        in_stream = _video_stream(video, source)
        out_stream = container.add_stream_from_template(in_stream)
        encoder = _AudioEncoder(container, "aac", sample_rate=rate, channels=channels)
        for packet in source.demux(in_stream):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = out_stream
            container.mux(packet)
        _feed_audio(encoder, audio, round(duration * encoder.rate))


def _feed_audio(encoder: _AudioEncoder, audio: Path, samples: int) -> None:
    encoder.limit = samples
    encoder.begin_source()
    for frame in _audio_frames(audio):
        encoder.add(frame)
        if encoder.written >= samples:
            break
    encoder.pad_to(samples)
    encoder.finish()
