"""Measure media files by decoding them: Pillow for images, PyAV for video and audio.

Nothing is taken from a header alone where decoding can tell the truth:

* Images: fully decoded (so a truncated file fails); width and height.
* Video: every frame of the first video stream is decoded and counted;
  ``fps`` is the stream's average rate (else frames / duration) and
  ``duration_s`` runs from the first frame's timestamp to the end of the last
  frame. An audio track's sample rate and channels are reported from its
  stream parameters (not decoded).
* Audio: every frame is decoded; ``duration_s`` is the samples decoded
  divided by the sample rate.

A file that does not decode as the claimed type - bytes of another kind, an
image given as video, a truncated or empty stream - raises
:class:`~inference_core.domain.errors.UnexpectedMediaType`. The probe is
synchronous and CPU-bound: the use-case runs it in a thread.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import InputContainer
from PIL import Image, UnidentifiedImageError

from inference_core.domain.errors import UnexpectedMediaType
from inference_core.domain.media import (
    SNIFF_BYTES,
    MediaKind,
    MediaMeasurements,
    kind_of_mime,
    sniff_mime,
)

__all__ = ["AVMediaProbe"]

_PILLOW_MIME = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
_IMAGE_DEMUXERS = ("image2", "_pipe")


class AVMediaProbe:
    """The :class:`~inference_core.ports.MediaProbe` of the ``media`` extra.

    Args:
        max_image_pixels: Images larger than this are refused before decoding
            (a decompression-bomb guard); ``None`` keeps Pillow's own limit.
    """

    def __init__(self, *, max_image_pixels: int | None = None) -> None:
        self.max_image_pixels = max_image_pixels

    def __repr__(self) -> str:
        return "AVMediaProbe()"

    def measure(self, path: Path, mime_type: str) -> MediaMeasurements:
        """Decode ``path`` as ``mime_type`` and measure it.

        Raises:
            UnexpectedMediaType: The file cannot be decoded as ``mime_type``.
            FileNotFoundError: There is no such file.
        """
        path = Path(path)
        kind = kind_of_mime(mime_type)
        if kind is None:
            raise UnexpectedMediaType(path.name, mime_type, "a type the probe cannot measure")
        with path.open("rb") as source:
            sniffed = sniff_mime(source.read(SNIFF_BYTES))
        if sniffed is not None and kind_of_mime(sniffed) is not kind:
            raise UnexpectedMediaType(path.name, mime_type, sniffed)
        if kind is MediaKind.IMAGE:
            return self._image(path, mime_type)
        try:
            container = av.open(str(path))
        except av.error.FFmpegError as exc:
            raise UnexpectedMediaType(path.name, mime_type, sniffed or "undecodable") from exc
        with container:
            if kind is MediaKind.VIDEO:
                return _video(path, mime_type, container)
            return _audio(path, mime_type, container)

    def _image(self, path: Path, mime_type: str) -> MediaMeasurements:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    if self.max_image_pixels is not None and (
                        image.width * image.height > self.max_image_pixels
                    ):
                        raise UnexpectedMediaType(
                            path.name,
                            mime_type,
                            f"an image of {image.width}x{image.height} pixels (limit "
                            f"{self.max_image_pixels})",
                        )
                    found = _PILLOW_MIME.get(image.format or "", image.format)
                    image.load()
                    width, height = image.size
        except UnexpectedMediaType:
            raise
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
            OSError,
            SyntaxError,
            ValueError,
            EOFError,
        ) as exc:
            raise UnexpectedMediaType(
                path.name, mime_type, f"not a decodable image ({exc})"
            ) from exc
        if found != mime_type and mime_type in _PILLOW_MIME.values():
            raise UnexpectedMediaType(path.name, mime_type, found)
        return MediaMeasurements(width=width, height=height)


def _is_image_demuxer(container: InputContainer) -> bool:
    return any(part in container.format.name for part in _IMAGE_DEMUXERS)


def _video(path: Path, mime_type: str, container: InputContainer) -> MediaMeasurements:
    if not container.streams.video or _is_image_demuxer(container):
        found = "an image" if container.streams.video else "a file with no video stream"
        raise UnexpectedMediaType(path.name, mime_type, found)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    time_base = stream.time_base or Fraction(1, 90000)
    rate = stream.average_rate or stream.guessed_rate
    frames = 0
    first: int | None = None
    end: int | None = None
    width = height = 0
    try:
        for frame in container.decode(stream):
            frames += 1
            width, height = frame.width, frame.height
            if frame.pts is None:
                continue
            first = frame.pts if first is None else min(first, frame.pts)
            length = frame.duration if frame.duration else 0
            if not length and rate:
                length = round(1 / (rate * time_base))
            stop = frame.pts + length
            end = stop if end is None else max(end, stop)
    except av.error.FFmpegError as exc:
        raise UnexpectedMediaType(path.name, mime_type, "corrupt or truncated video") from exc
    if frames == 0:
        raise UnexpectedMediaType(path.name, mime_type, "a video stream with no frames")
    if first is not None and end is not None and end > first:
        duration = float((end - first) * time_base)
    elif rate:
        duration = float(frames / rate)
    else:
        duration = None
    fps = float(rate) if rate else (frames / duration if duration else None)
    audio = container.streams.audio[0] if container.streams.audio else None
    return MediaMeasurements(
        width=width or None,
        height=height or None,
        frame_count=frames,
        fps=fps,
        duration_s=duration,
        sample_rate=(audio.codec_context.sample_rate or None) if audio else None,
        channels=(audio.codec_context.channels or None) if audio else None,
    )


def _audio(path: Path, mime_type: str, container: InputContainer) -> MediaMeasurements:
    if not container.streams.audio:
        found = "video with no audio" if container.streams.video else "a file with no audio"
        raise UnexpectedMediaType(path.name, mime_type, found)
    # Cover art in an MP3/M4A is an attached picture, not a video track.
    if any(not _is_attached_picture(s) for s in container.streams.video):
        raise UnexpectedMediaType(path.name, mime_type, "video")
    stream = container.streams.audio[0]
    samples = 0
    sample_rate = stream.codec_context.sample_rate
    channels = stream.codec_context.channels
    try:
        for frame in container.decode(stream):
            samples += frame.samples
            sample_rate = frame.sample_rate or sample_rate
            channels = frame.layout.nb_channels or channels
    except av.error.FFmpegError as exc:
        raise UnexpectedMediaType(path.name, mime_type, "corrupt or truncated audio") from exc
    if samples == 0 or not sample_rate:
        raise UnexpectedMediaType(path.name, mime_type, "an audio stream with no samples")
    return MediaMeasurements(
        duration_s=samples / sample_rate,
        sample_rate=sample_rate,
        channels=channels or None,
    )


def _is_attached_picture(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)
