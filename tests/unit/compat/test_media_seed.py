"""The seed's media API: registries, generator base classes and services, with real files.

A generator written for the original (flat schema, no-arg constructor,
``generate(**kwargs) -> dict``) must register and run unchanged; every
``generate`` return shape is asserted; services return bytes that decode.
"""

from __future__ import annotations

import base64
import io
import textwrap
import wave
from pathlib import Path
from typing import Any

import av
import pytest
from openai import AsyncOpenAI
from PIL import Image

from inference_core import (
    AudioGeneratorRegistry,
    AudioService,
    BaseImageGenerator,
    GeneratorMetadata,
    ImageGeneratorRegistry,
    ImageService,
    MockAudioService,
    MockImageService,
    MockVideoService,
    VideoGeneratorRegistry,
    bootstrap,
)
from inference_core.composition import Inference
from inference_core.domain.config import MediaSettings, RuntimeConfig
from inference_core.domain.errors import InvalidGeneratorInput
from tests.servers import FakeServer
from tests.servers.fixtures import fake_server, fake_server_session
from tests.servers.media_proto import media_script, openrouter_base_url

__all__ = ["fake_server", "fake_server_session"]

OPENROUTER_KEY = "sk-or-v1-seedtest-0123456789abcdef"


def wired(tmp_path: Path, **media: Any) -> Inference:
    config = RuntimeConfig(media=MediaSettings(output_dir=str(tmp_path / "media"), **media))
    return bootstrap(config=config, environ={})


def decode_data_url(url: str) -> tuple[str, bytes]:
    header, _, payload = url.partition(",")
    assert header.startswith("data:") and header.endswith(";base64")
    return header[5:-7], base64.b64decode(payload)


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


class SeedStyleGenerator(BaseImageGenerator):
    """Written exactly as for the original module."""

    def get_metadata(self) -> GeneratorMetadata:
        return GeneratorMetadata(
            id="seed_style_generator",
            name="Seed style",
            description="flat schema, sync generate",
            capabilities=["text_to_image"],
            input_schema={
                "prompt": {"type": "string", "required": True, "description": "what to draw"},
                "width": {"type": "integer", "default": 16},
                "images": {"type": "array"},
            },
            output_schema={"images": {"type": "array"}},
        )

    def generate(self, **kwargs: Any) -> dict[str, Any]:
        inputs = self.validate_inputs(kwargs)
        data = png(inputs["width"], 8)
        url = "data:image/png;base64," + base64.b64encode(data).decode()
        return {"images": [url], "metadata": {"mode": "text_to_image", "bytes": len(data)}}


def test_a_seed_style_generator_registers_and_runs_unchanged(tmp_path: Path) -> None:
    registry = ImageGeneratorRegistry(wired(tmp_path))
    registry.register_generator(SeedStyleGenerator())
    assert "seed_style_generator" in registry.list_generators()
    assert isinstance(registry.get_generator("seed_style_generator"), SeedStyleGenerator)
    assert registry.get_generator_class("seed_style_generator") is SeedStyleGenerator

    result = registry.generate("seed_style_generator", prompt="a dot", width=24)

    assert set(result) == {"images", "metadata"}
    mime, data = decode_data_url(result["images"][0])
    assert mime == "image/png"
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (24, 8)
    assert result["metadata"]["mode"] == "text_to_image"
    assert result["metadata"]["bytes"] == len(data)
    (path,) = result["metadata"]["paths"]
    assert Path(path).read_bytes() == data  # the file is kept, not only returned


def test_the_flat_schema_is_enforced_not_silently_dropped(tmp_path: Path) -> None:
    registry = ImageGeneratorRegistry(wired(tmp_path))
    registry.register_generator(SeedStyleGenerator())
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        registry.generate("seed_style_generator", prompt="x", colour="red")
    with pytest.raises(ValueError, match="width"):
        registry.generate("seed_style_generator", prompt="x", width=True)
    with pytest.raises(ValueError, match="missing required field 'prompt'"):
        registry.generate("seed_style_generator")
    info = SeedStyleGenerator().get_info()
    assert info["id"] == "seed_style_generator" and isinstance(info["created_at"], str)
    schema = SeedStyleGenerator().get_input_schema()
    assert schema["required"] == ["prompt"] and schema["additionalProperties"] is False


def test_unknown_ids_raise_value_error_naming_them(tmp_path: Path) -> None:
    registry = ImageGeneratorRegistry(wired(tmp_path))
    with pytest.raises(ValueError, match=r"'nope'.*offline_image_card"):
        registry.generate("nope", prompt="x")
    assert registry.get_generator("nope") is None


def test_seed_directories_are_scanned_and_broken_ones_stay_listed(tmp_path: Path) -> None:
    root = tmp_path / "generators"
    (root / "painter").mkdir(parents=True)
    (root / "painter" / "generator.py").write_text(
        textwrap.dedent(
            """
            import base64
            from inference_core import BaseImageGenerator, GeneratorMetadata

            PNG = base64.b64decode(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
            )

            class Painter(BaseImageGenerator):
                def get_metadata(self):
                    return GeneratorMetadata(id="dir_painter", name="Painter", description="d",
                                             input_schema={"prompt": {"type": "string"}})

                async def generate(self, **kwargs):
                    return {"images": ["data:image/png;base64," + base64.b64encode(PNG).decode()],
                            "metadata": {"bytes": len(PNG)}}
            """
        )
    )
    (root / "broken").mkdir()
    (root / "broken" / "generator.py").write_text("import not_a_module_anywhere\n")
    registry = ImageGeneratorRegistry(wired(tmp_path, generator_dirs=(str(root),)))

    assert {"dir_painter", "broken"} <= set(registry.list_generators())
    infos = {i["id"]: i for i in registry.get_all_generators_info()}
    assert infos["dir_painter"]["error"] is None
    assert "not_a_module_anywhere" in infos["broken"]["error"]
    assert registry.get_generator("broken") is None
    result = registry.generate("dir_painter", prompt="anything")
    _, data = decode_data_url(result["images"][0])
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1, 1)


def test_image_registry_shapes_for_text_and_image_inputs(tmp_path: Path) -> None:
    registry = ImageGeneratorRegistry(wired(tmp_path))
    text = registry.generate("offline_image_card", prompt="sunset", width=200, height=100)
    assert text["metadata"]["mode"] == "text_to_image"
    _, data = decode_data_url(text["images"][0])
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (200, 100)

    reference = tmp_path / "ref.png"
    reference.write_bytes(png(50, 50))
    edited = registry.generate("offline_image_card", prompt="sunset", images=[str(reference)])
    assert edited["metadata"]["mode"] == "image_to_image"
    assert edited["metadata"]["provider"] == "local"


def test_video_registry_shape_and_the_seed_example_arguments(tmp_path: Path) -> None:
    registry = VideoGeneratorRegistry(wired(tmp_path))
    result = registry.generate(
        "mock_video_generator", prompt="A cat walking on the beach", duration=1, fps=8,
        width=160, height=90,
    )  # fmt: skip
    assert set(result) == {"video", "metadata"}
    mime, data = decode_data_url(result["video"])
    assert mime == "video/mp4" and result["metadata"]["bytes"] == len(data)
    with av.open(io.BytesIO(data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 8


def test_audio_registry_shape(tmp_path: Path) -> None:
    registry = AudioGeneratorRegistry(wired(tmp_path))
    result = registry.generate("offline_tts", text="The quick brown fox.")
    assert set(result) == {"audio", "metadata"}
    mime, data = decode_data_url(result["audio"])
    assert mime == "audio/wav" and result["metadata"]["format"] == "wav"
    with wave.open(io.BytesIO(data)) as decoded:
        assert decoded.getnframes() / decoded.getframerate() > 0.5


async def test_mock_services_return_real_media(tmp_path: Path) -> None:
    inference = wired(tmp_path)
    image = await MockImageService(inference=inference).generate_image("a tree")
    with Image.open(io.BytesIO(image)) as decoded:
        assert decoded.format == "PNG"
    edited = await MockImageService(inference=inference).edit_image(png(40, 40), "a tree")
    assert edited[:8] == b"\x89PNG\r\n\x1a\n"

    video = MockVideoService(inference=inference)
    clip = await video.generate_clip(
        shot_id="s1", keyframe_images=[png(64, 36)], prompt="pan", duration_sec=1, fps=10,
        width=64, height=36,
    )  # fmt: skip
    other = await video.generate_clip(
        shot_id="s2", keyframe_images=[], prompt="title", duration_sec=1, fps=10,
        width=64, height=36,
    )  # fmt: skip
    scene = await video.assemble_scene(
        scene_id="a", clip_bytes_list=[clip, other], transitions=["crossfade"]
    )
    with av.open(io.BytesIO(scene)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert 10 + 10 - 5 <= frames <= 10 + 10 - 4  # a 0.5 s crossfade overlaps ~5 frames
    with pytest.raises(InvalidGeneratorInput, match="wipe"):
        await video.assemble_scene(
            scene_id="a", clip_bytes_list=[clip, other], transitions=["wipe"]
        )

    audio = MockAudioService(inference=inference)
    speech = await audio.generate_speech("Narration for the scene.")
    music = await audio.generate_music(mood="calm", duration_sec=3)
    ambience = await audio.generate_ambience(description="rain on a roof", duration_sec=3)
    mix = await audio.mix_scene_audio(
        narration_bytes_list=[speech], music_bytes=music, ambience_bytes=ambience, duration_sec=3
    )
    with wave.open(io.BytesIO(mix)) as decoded:
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(3.0, abs=0.05)
    final = await audio.assemble_final(scene_mix_bytes_list=[mix, mix])
    with wave.open(io.BytesIO(final)) as decoded:
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(6.0, abs=0.1)
    muxed = await audio.mux_audio_with_video(video_bytes=scene, audio_bytes=mix)
    with av.open(io.BytesIO(muxed)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1


async def test_image_service_over_the_openrouter_wire(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    media_script(fake_server).clear()
    service = ImageService(
        api_key=OPENROUTER_KEY,
        base_url=openrouter_base_url(fake_server),
        inference=wired(tmp_path),
    )
    data = await service.generate_image("a lighthouse")
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "PNG"
    edited = await service.edit_image([png(30, 30), png(20, 20)], "recolour it")
    assert edited[:8] == b"\x89PNG\r\n\x1a\n"
    sent = [r for r in fake_server.requests if r.path.endswith("/chat/completions")]
    assert sent[-1].headers["authorization"] == f"Bearer {OPENROUTER_KEY}"
    parts = sent[-1].body["messages"][0]["content"]
    assert sum(1 for p in parts if p["type"] == "image_url") == 2
    await service.close()


async def test_audio_service_takes_the_clients_key_and_endpoint(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    client = AsyncOpenAI(api_key="sk-test-audio-0123456789", base_url=fake_server.openai_base_url)
    service = AudioService(client=client, default_voice="nova", inference=wired(tmp_path))
    audio = await service.generate_speech("Hello there.", response_format="wav")
    with wave.open(io.BytesIO(audio)) as decoded:
        assert decoded.getnframes() > 0
    sent = [r for r in fake_server.requests if r.path == "/v1/audio/speech"][-1]
    assert sent.body["voice"] == "nova" and sent.body["model"] == "tts-1"
    await client.close()
