"""offline_image_card: real PNG/JPEG/WebP cards, deterministic, strictly validated."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from inference_core.adapters.media.offline.image_card import (
    PLUGIN,
    ImageCardGenerator,
    ImageCardInput,
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

SMALL = {"width": 128, "height": 96}


def request(prompt: str | None = "A red fox in the snow", **kwargs: Any) -> GenerationRequest:
    params = {**SMALL, **kwargs.pop("params", {})}
    return GenerationRequest(
        kind=MediaKind.IMAGE,
        generator_id="offline_image_card",
        prompt=prompt,
        params=params,
        **kwargs,
    )


async def generate(store_root: Path, req: GenerationRequest, **kwargs: Any) -> GenerationOutput:
    return await ImageCardGenerator().generate(
        req, store=FilesystemAssetStore(store_root), **kwargs
    )


def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.glob("*") if p.is_file()]


def scratch_left(root: Path) -> list[Path]:
    scratch = root / ".scratch"
    return list(scratch.iterdir()) if scratch.exists() else []


def test_plugin_builds_a_media_generator_publishing_its_model() -> None:
    generator = PLUGIN.create(GeneratorContext())
    assert isinstance(generator, MediaGenerator)
    assert PLUGIN.id == generator.info.id == "offline_image_card"
    assert PLUGIN.kind is generator.info.kind is MediaKind.IMAGE
    assert PLUGIN.missing() is None
    assert generator.input_model is ImageCardInput
    assert generator.info.input_schema == input_schema(ImageCardInput)
    assert set(generator.info.capabilities) == {
        Capability.TEXT_TO_IMAGE,
        Capability.IMAGE_TO_IMAGE,
    }


async def test_text_to_image_writes_a_png_of_the_asked_size(tmp_path: Path) -> None:
    seen: list[float | None] = []
    output = await generate(tmp_path, request(), on_progress=lambda f, _t: seen.append(f))
    (asset,) = output.assets
    assert asset.mime_type == "image/png"
    measured = AVMediaProbe().measure(Path(asset.path), asset.mime_type)
    assert (measured.width, measured.height) == (128, 96)
    assert output.usage.images == 1
    assert output.usage.cost_usd == 0.0
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert scratch_left(tmp_path) == []


async def test_defaults_are_1024_square(tmp_path: Path) -> None:
    req = GenerationRequest(kind=MediaKind.IMAGE, generator_id="offline_image_card", prompt="x")
    output = await generate(tmp_path, req)
    with Image.open(output.assets[0].path) as image:
        assert image.size == (1024, 1024)


async def test_the_same_prompt_gives_the_same_bytes(tmp_path: Path) -> None:
    first = await generate(tmp_path / "a", request())
    second = await generate(tmp_path / "b", request())
    other = await generate(tmp_path / "c", request("A grey wolf in the snow"))
    assert first.assets[0].sha256 == second.assets[0].sha256
    assert first.assets[0].sha256 != other.assets[0].sha256
    assert file_sha256(first.assets[0].path) == first.assets[0].sha256


async def test_n_cards_each_with_their_own_colours(tmp_path: Path) -> None:
    output = await generate(tmp_path, request(params={"n": 3}))
    assert len(output.assets) == 3
    assert len({a.sha256 for a in output.assets}) == 3
    assert output.usage.images == 3
    single = await generate(tmp_path / "one", request())
    assert single.assets[0].sha256 == output.assets[0].sha256  # card 1 of n is the n=1 card


@pytest.mark.parametrize(("fmt", "mime"), [("jpeg", "image/jpeg"), ("webp", "image/webp")])
async def test_other_output_formats(tmp_path: Path, fmt: str, mime: str) -> None:
    output = await generate(tmp_path, request(params={"output_format": fmt}))
    assert output.assets[0].mime_type == mime
    assert AVMediaProbe().measure(Path(output.assets[0].path), mime).width == 128


async def test_background_colour_is_used(tmp_path: Path) -> None:
    output = await generate(tmp_path, request(params={"background": "#102030"}))
    with Image.open(output.assets[0].path) as image:
        colours = {colour for _count, colour in image.convert("RGB").getcolors(1 << 16) or []}
    assert (16, 32, 48) in colours


async def test_image_to_image_composites_the_input(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 255, 0)).save(buffer, format="PNG")
    req = request(inputs=(MediaInput(data=buffer.getvalue()),))
    output = await generate(tmp_path, req)
    assert output.metadata["capability"] == "image_to_image"
    with Image.open(output.assets[0].path) as image:
        rgb = image.convert("RGB")
        # The picture sits centred in the upper part of the card.
        assert rgb.getpixel((64, 30)) == (0, 255, 0)
    text_only = await generate(tmp_path / "t", request())
    assert text_only.assets[0].sha256 != output.assets[0].sha256


async def test_image_to_image_needs_no_prompt(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 20), (0, 0, 255)).save(buffer, format="PNG")
    output = await generate(tmp_path, request(None, inputs=(MediaInput(data=buffer.getvalue()),)))
    assert output.assets[0].mime_type == "image/png"


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},  # unknown field
        {"width": True},  # a bool is not an int
        {"width": "128"},  # strict: no coercion
        {"width": 63},
        {"height": 4097},
        {"n": 5},
        {"background": "blue"},
        {"output_format": "gif"},
    ],
)
async def test_invalid_params_are_refused(tmp_path: Path, params: dict[str, Any]) -> None:
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(params=params))
    assert stored_files(tmp_path) == []


async def test_a_prompt_is_needed_for_text_to_image(tmp_path: Path) -> None:
    with pytest.raises(InvalidGeneratorInput, match="prompt"):
        await generate(tmp_path, request("   "))


async def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(inputs=(MediaInput(url="https://example.com/x.png"),)))
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(inputs=(MediaInput(data=b"not an image at all"),)))
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(capability=Capability.TEXT_TO_VIDEO))
