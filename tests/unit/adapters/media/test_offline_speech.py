"""offline_tts: real speech from libespeak-ng, deterministic, strictly validated."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference_core.adapters.media.av_ops import decode_audio
from inference_core.adapters.media.offline.speech import (
    AUTO_VOICES,
    PLUGIN,
    EspeakSpeechGenerator,
    EspeakSpeechInput,
    pick_voice,
)
from inference_core.adapters.media.probe import AVMediaProbe
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.domain.errors import InvalidGeneratorInput, MediaGenerationError
from inference_core.domain.generator_input import input_schema
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    MediaKind,
)
from inference_core.ports.media import MediaGenerator
from inference_core.ports.plugins import GeneratorContext

TEXT = "The quick brown fox jumps over the lazy dog."


def request(text: str | None = TEXT, **params: Any) -> GenerationRequest:
    return GenerationRequest(
        kind=MediaKind.AUDIO, generator_id="offline_tts", text=text, params=params
    )


async def generate(root: Path, req: GenerationRequest, **kwargs: Any) -> GenerationOutput:
    return await EspeakSpeechGenerator().generate(req, store=FilesystemAssetStore(root), **kwargs)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.glob("*") if p.is_file()]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))


def test_plugin_builds_a_media_generator() -> None:
    generator = PLUGIN.create(GeneratorContext())
    assert isinstance(generator, MediaGenerator)
    assert PLUGIN.id == generator.info.id == "offline_tts"
    assert PLUGIN.kind is generator.info.kind is MediaKind.AUDIO
    assert PLUGIN.missing() is None
    assert generator.info.capabilities == (Capability.TEXT_TO_SPEECH,)
    assert generator.info.input_schema == input_schema(EspeakSpeechInput)


async def test_speech_is_a_real_22050_hz_wav_with_sound(tmp_path: Path) -> None:
    seen: list[float | None] = []
    output = await generate(tmp_path, request(), on_progress=lambda f, _t: seen.append(f))
    (asset,) = output.assets
    assert asset.mime_type == "audio/wav"
    measured = AVMediaProbe().measure(Path(asset.path), asset.mime_type)
    assert (measured.sample_rate, measured.channels) == (22050, 1)
    assert 1.5 < (measured.duration_s or 0) < 6.0
    assert output.metadata["duration_s"] == pytest.approx(measured.duration_s, abs=1e-3)
    samples = decode_audio(Path(asset.path), sample_rate=22050, channels=1)
    assert rms(samples) > 0.02  # speech, not silence
    assert output.usage.characters == len(TEXT)
    assert output.usage.cost_usd == 0.0
    assert output.metadata["voice"] == "en"
    assert seen[0] == 0.0 and seen[-1] == 1.0


async def test_the_same_text_gives_the_same_audio(tmp_path: Path) -> None:
    first = await generate(tmp_path, request())
    second = await generate(tmp_path, request())
    assert first.assets[0].sha256 == second.assets[0].sha256
    assert first.assets[0].path != second.assets[0].path  # never overwritten


async def test_auto_voice_is_chosen_from_the_text(tmp_path: Path) -> None:
    texts = [f"Sentence number {i}." for i in range(12)]
    picks = [pick_voice(t, "auto") for t in texts]
    assert picks == [pick_voice(t, "auto") for t in texts]
    assert set(picks) <= set(AUTO_VOICES)
    assert len(set(picks)) > 1
    assert pick_voice(TEXT, "de") == "de"
    first = await generate(tmp_path, request(voice="auto"))
    second = await generate(tmp_path, request(voice="auto"))
    assert first.metadata["voice"] == second.metadata["voice"] == pick_voice(TEXT, "auto")
    assert first.assets[0].sha256 == second.assets[0].sha256


@pytest.mark.parametrize(("fmt", "mime"), [("mp3", "audio/mpeg"), ("flac", "audio/flac")])
async def test_encoded_formats(tmp_path: Path, fmt: str, mime: str) -> None:
    wav = await generate(tmp_path, request())
    output = await generate(tmp_path, request(response_format=fmt))
    assert output.assets[0].mime_type == mime
    probe = AVMediaProbe()
    measured = probe.measure(Path(output.assets[0].path), mime)
    reference = probe.measure(Path(wav.assets[0].path), "audio/wav").duration_s or 0
    assert measured.duration_s == pytest.approx(reference, abs=0.06)


async def test_rate_and_pitch_change_the_speech(tmp_path: Path) -> None:
    slow = await generate(tmp_path, request(rate=100))
    fast = await generate(tmp_path, request(rate=400))
    assert (slow.metadata["duration_s"]) > 1.8 * fast.metadata["duration_s"]
    low = await generate(tmp_path, request(pitch=0))
    high = await generate(tmp_path, request(pitch=99))
    assert low.assets[0].sha256 != high.assets[0].sha256


@pytest.mark.parametrize(
    "params",
    [
        {"speed": 1.0},
        {"rate": 79},
        {"rate": 451},
        {"pitch": True},
        {"pitch": 100},
        {"response_format": "ogg"},
        {"voice": "../../etc"},
        {"voice": ""},
    ],
)
async def test_invalid_params_are_refused(tmp_path: Path, params: dict[str, Any]) -> None:
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request(**params))


async def test_an_unknown_voice_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidGeneratorInput, match="no-such-voice"):
        await generate(tmp_path, request(voice="no-such-voice"))
    assert list((tmp_path / ".scratch").iterdir()) == []


async def test_text_is_required(tmp_path: Path) -> None:
    with pytest.raises(InvalidGeneratorInput):
        await generate(tmp_path, request("  "))
    prompt_only = GenerationRequest(
        kind=MediaKind.AUDIO, generator_id="offline_tts", prompt="Hello from the prompt."
    )
    assert (await generate(tmp_path, prompt_only)).usage.characters == len("Hello from the prompt.")


async def test_a_missing_espeak_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import fails
    with pytest.raises(MediaGenerationError, match="espeakng-loader"):
        await generate(tmp_path, request())
    assert stored_files(tmp_path) == []


async def test_concurrent_requests_are_serialised_and_each_correct(tmp_path: Path) -> None:
    texts = ["First voice line.", "A second, somewhat longer line of speech."]
    alone = [await generate(tmp_path / "alone", request(t)) for t in texts]
    together = await asyncio.gather(*(generate(tmp_path / "together", request(t)) for t in texts))
    assert [o.assets[0].sha256 for o in together] == [o.assets[0].sha256 for o in alone]


async def test_without_a_private_copy_the_shared_library_still_speaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference_core.adapters.media.offline import _espeak

    monkeypatch.setattr(_espeak, "_dlclose", lambda: None)
    output = await generate(tmp_path, request())
    samples = decode_audio(Path(output.assets[0].path), sample_rate=22050, channels=1)
    assert rms(samples) > 0.02
