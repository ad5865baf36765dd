"""offline_video: an H.264 slideshow with exactly round(duration * fps) frames."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from inference_core.adapters.media.offline.video import (
    PLUGIN,
    PLUGIN_MOCK,
    SlideshowVideoGenerator,
    SlideshowVideoInput,
    frame_count,
)
from inference_core.adapters.media.probe import AVMediaProbe
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.domain.errors import InvalidGeneratorInput
from inference_core.domain.generator_input import input_schema
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    MediaInput,
    MediaKind,
)
from inference_core.ports.media import MediaGenerator
from inference_core.ports.plugins import GeneratorContext

SMALL = {"width": 64, "height": 36, "duration_s": 1.0, "fps": 12}


def request(
    prompt: str | None = "Sunrise over the bay. Boats leave.", **kwargs: Any
) -> GenerationRequest:
    params = {**SMALL, **kwargs.pop("params", {})}
    return GenerationRequest(
        kind=MediaKind.VIDEO, generator_id="offline_video", prompt=prompt, params=params, **kwargs
    )


async def generate(root: Path, req: GenerationRequest, **kwargs: Any) -> GenerationOutput:
    return await SlideshowVideoGenerator().generate(req, store=FilesystemAssetStore(root), **kwargs)


def png(colour: tuple[int, int, int], size: tuple[int, int] = (50, 40)) -> MediaInput:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return MediaInput(data=buffer.getvalue())


def frames_of(path: str) -> list[np.ndarray]:
    with av.open(path) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_plugins_build_media_generators() -> None:
    for plugin, generator_id in ((PLUGIN, "offline_video"), (PLUGIN_MOCK, "mock_video_generator")):
        generator = plugin.create(GeneratorContext())
        assert isinstance(generator, MediaGenerator)
        assert plugin.id == generator.info.id == generator_id
        assert plugin.kind is generator.info.kind is MediaKind.VIDEO
        assert plugin.missing() is None
        assert generator.info.input_schema == input_schema(SlideshowVideoInput)


async def test_text_to_video_is_a_real_h264_mp4(tmp_path: Path) -> None:
    seen: list[float | None] = []
    output = await generate(tmp_path, request(), on_progress=lambda f, _t: seen.append(f))
    (asset,) = output.assets
    assert asset.mime_type == "video/mp4"
    measured = AVMediaProbe().measure(Path(asset.path), asset.mime_type)
    assert measured.frame_count == 12
    assert measured.fps == 12.0
    assert (measured.width, measured.height) == (64, 36)
    assert measured.duration_s == pytest.approx(1.0, abs=1e-3)
    with av.open(asset.path) as container:
        assert container.streams.video[0].codec_context.name in ("h264", "mpeg4")
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert output.usage.seconds == pytest.approx(1.0)
    assert output.usage.cost_usd == 0.0
    assert output.metadata["slides"] == 2
    assert seen[0] == 0.0 and seen[-1] == 1.0


@pytest.mark.parametrize(("duration", "fps"), [(0.75, 10), (1.3, 7), (0.5, 3), (2.0, 1)])
async def test_frame_count_is_round_duration_times_fps(
    tmp_path: Path, duration: float, fps: int
) -> None:
    output = await generate(tmp_path, request(params={"duration_s": duration, "fps": fps}))
    measured = AVMediaProbe().measure(Path(output.assets[0].path), "video/mp4")
    assert measured.frame_count == round(duration * fps) == frame_count(duration, fps)
    assert measured.fps == float(fps)


async def test_image_to_video_shows_the_images_in_order_with_motion(tmp_path: Path) -> None:
    red, blue = png((220, 20, 20)), png((20, 20, 220), (30, 60))
    output = await generate(tmp_path, request(None, inputs=(red, blue)))
    assert output.metadata["capability"] == "image_to_video"
    frames = frames_of(output.assets[0].path)
    assert len(frames) == 12
    assert frames[0][..., 0].mean() > 150 > frames[0][..., 2].mean()
    assert frames[-1][..., 2].mean() > 150 > frames[-1][..., 0].mean()


async def test_the_camera_moves(tmp_path: Path) -> None:
    output = await generate(tmp_path, request("One slide only", params={"duration_s": 2.0}))
    frames = frames_of(output.assets[0].path)
    difference = np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean()
    assert difference > 2.0


async def test_the_same_request_gives_the_same_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our frames are a pure function of the request; the encoder's bytes are
    # not promised (x264 is deterministic only almost always).
    from inference_core.adapters.media import av_ops

    seen: list[str] = []
    write_rgb = av_ops.VideoWriter.write_rgb

    def recording(self: av_ops.VideoWriter, image: np.ndarray) -> None:
        seen.append(hashlib.sha256(image.tobytes()).hexdigest())
        write_rgb(self, image)

    monkeypatch.setattr(av_ops.VideoWriter, "write_rgb", recording)
    await generate(tmp_path / "a", request())
    first, seen[:] = list(seen), []
    await generate(tmp_path / "b", request())
    assert len(first) == 12
    assert seen == first
    seen.clear()
    await generate(tmp_path / "c", request("Another prompt entirely."))
    assert len(seen) == 12
    assert seen != first


@pytest.mark.parametrize(
    "params",
    [
        {"width": 65},  # odd
        {"height": 37},
        {"width": 14},
        {"fps": True},
        {"fps": 61},
        {"duration_s": 0.4},
        {"duration_s": 61},
        {"duration_s": "3"},
        {"seconds": 3},
    ],
)
async def test_invalid_params_are_refused(tmp_path: Path, params: dict[str, Any]) -> None:
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(params=params))


async def test_text_to_video_needs_a_prompt(tmp_path: Path) -> None:
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(None))
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(capability=Capability.IMAGE_TO_VIDEO))
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(capability=Capability.TEXT_TO_IMAGE))
    scratch = tmp_path / ".scratch"
    assert not scratch.exists() or list(scratch.iterdir()) == []
