"""MediaGenerator contract rows of the queued generators (fal queue, WaveSpeed).

They join :data:`tests.contract.media_rows.ROWS` (``ROWS + QUEUED_ROWS``). A
queued row's wire is the local queue protocol server: its ``path`` is the
submit endpoint (so ``requests_seen`` counts submits - what is billed), the
shared :class:`~tests.servers.Fault` queue hits the submit first, and every
build gets a fresh in-memory job journal, so no test collects another's job.

What the suite cannot express for them (a queued answer is a document of file
URLs, not the media itself) is covered by ``tests/unit/adapters/media/test_fal.py``
and ``test_wavespeed.py`` (downloads too large / of the wrong type / at a
private address, deadlines, failed jobs, 504 after completion).
"""

from __future__ import annotations

from typing import Any

from inference_core.adapters.jobs import MemoryJobJournal
from inference_core.adapters.media.download import DownloadPolicy
from inference_core.adapters.media.fal import (
    FalImageGenerator,
    FalSpeechGenerator,
    FalVideoGenerator,
)
from inference_core.adapters.media.queued import QueueTiming
from inference_core.adapters.media.queued_generator import QueueOptions
from inference_core.adapters.media.wavespeed import WavespeedVideoGenerator
from inference_core.domain.media import MediaKind
from inference_core.ports.media import MediaGenerator
from tests.contract.media_rows import Happy, MediaRow, WireRow
from tests.servers import FakeServer, Fault
from tests.servers.queue_proto import FAL_PREFIX, WAVESPEED_PREFIX, fal_queue_url, wavespeed_api_url
from tests.servers.queue_state import queue_script

__all__ = ["QUEUED_ROWS", "QueueRow"]

_DOCUMENT = (
    "a queued job answers a document of file URLs: no image, a refusal, padding or wrong "
    "bytes are download cases of tests/unit/adapters/media/test_fal.py"
)


def _options(options: dict[str, Any]) -> QueueOptions:
    timeout = float(options.pop("timeout", 5.0))
    max_bytes = int(options.pop("max_output_bytes", 8 * 1024 * 1024))
    if options:
        raise TypeError(f"unknown options {sorted(options)}")
    return QueueOptions(
        timing=QueueTiming(deadline_s=30.0, poll_interval=0.01, poll_max_interval=0.03),
        http_timeout=timeout,
        download=DownloadPolicy(max_bytes=max_bytes, allow_networks=("127.0.0.0/8",)),
    )


def _fal_image(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    assert key is not None
    return FalImageGenerator(
        api_key=key, base_url=base_url, options=_options(options), journal=MemoryJobJournal()
    )


def _fal_tts(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    assert key is not None
    return FalSpeechGenerator(
        api_key=key, base_url=base_url, options=_options(options), journal=MemoryJobJournal()
    )


def _fal_video(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    assert key is not None
    return FalVideoGenerator(
        api_key=key, base_url=base_url, options=_options(options), journal=MemoryJobJournal()
    )


def _wavespeed(base_url: str, key: str | None, options: dict[str, Any]) -> MediaGenerator:
    assert key is not None
    return WavespeedVideoGenerator(
        api_key=key, base_url=base_url, options=_options(options), journal=MemoryJobJournal()
    )


class QueueRow(WireRow):
    """A queued generator's row: the server's queue script is cleared around each test."""

    def attach(self, server: FakeServer) -> None:
        queue_script(server).clear()
        super().attach(server)

    def detach(self) -> None:
        if self._server is not None:
            queue_script(self._server).clear()
        super().detach()


_CANNOT = {
    "no_image": _DOCUMENT,
    "refused": _DOCUMENT,
    "oversized": _DOCUMENT,
    "wrong_type": _DOCUMENT,
}

QUEUED_ROWS: list[MediaRow] = [
    QueueRow(
        "fal_image_generator",
        MediaKind.IMAGE,
        _fal_image,
        endpoint=fal_queue_url,
        path=FAL_PREFIX + "/fal-ai/nano-banana",
        happy=Happy(
            prompt="a blue square",
            params={"num_images": 1},
            expect={"width": 64, "height": 48, "mime_type": "image/png"},
        ),
        api_key="fal-media-contract-0123456789abcdef:secret",
        malformed=Fault(raw_body=b'{"request_id": '),
        cannot=_CANNOT,
    ),
    QueueRow(
        "fal_video_generator",
        MediaKind.VIDEO,
        _fal_video,
        endpoint=fal_queue_url,
        path=FAL_PREFIX + "/fal-ai/kling-video",
        happy=Happy(
            prompt="a lighthouse in a storm",
            params={"duration": "5", "aspect_ratio": "16:9"},
            expect={"width": 64, "height": 36, "frame_count": 40, "fps": 8.0},
        ),
        api_key="fal-media-contract-video-0123456789abcdef:secret",
        malformed=Fault(raw_body=b'{"request_id": '),
        cannot=_CANNOT,
    ),
    QueueRow(
        "fal_tts_generator",
        MediaKind.AUDIO,
        _fal_tts,
        endpoint=fal_queue_url,
        path=FAL_PREFIX + "/fal-ai/minimax",
        happy=Happy(
            text="Hello there.",
            expect={"sample_rate": 32_000, "mime_type": "audio/mpeg"},
        ),
        api_key="fal-media-contract-tts-0123456789abcdef:secret",
        malformed=Fault(raw_body=b'{"request_id": '),
        cannot=_CANNOT,
    ),
    QueueRow(
        "wavespeed_video_generator",
        MediaKind.VIDEO,
        _wavespeed,
        endpoint=wavespeed_api_url,
        path=WAVESPEED_PREFIX + "/bytedance/",
        happy=Happy(
            prompt="waves on a beach",
            params={"duration": 5},
            expect={"width": 64, "height": 36, "frame_count": 40, "fps": 8.0},
        ),
        api_key="ws-media-contract-0123456789abcdef",
        cost="unknown",  # WaveSpeed prices are not declared by default: None, never 0
        malformed=Fault(raw_body=b'{"code": 200, "data": '),
        cannot=_CANNOT,
    ),
]
