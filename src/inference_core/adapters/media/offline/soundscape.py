"""Offline music and ambience beds: deterministic, synthesised, real WAV files.

``offline_music`` plays a four-chord progression chosen by the mood (minor
for sombre words, major otherwise; tempo from the mood too), each chord a sum
of sine partials with an attack/release envelope. ``offline_ambience`` is
brown noise shaped by a slow swell, brighter for "rain"/"wind"/"city" words.
Both are seeded from a sha256 of their text (never ``hash()``), so the same
request gives the same bytes in every process. They are beds for mixing
(``AudioService.generate_music`` / ``generate_ambience``), not compositions.
"""

from __future__ import annotations

import asyncio
import hashlib
import wave
from pathlib import Path

import numpy as np
from pydantic import Field

from inference_core.domain.generator_input import GeneratorInput, input_schema
from inference_core.domain.media import (
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
)
from inference_core.ports.media import AssetStore, ProgressCallback
from inference_core.ports.plugins import GeneratorContext, GeneratorPlugin, requires

__all__ = ["AMBIENCE_PLUGIN", "MUSIC_PLUGIN", "SoundscapeGenerator", "SoundscapeInput"]

SAMPLE_RATE = 44_100
_SOMBRE = ("sad", "dark", "tense", "melanch", "somber", "sombre", "grim", "eerie", "lonely")
_BRIGHT_NOISE = ("rain", "wind", "city", "traffic", "crowd", "storm", "sea", "wave")
_MAJOR = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))  # I V vi IV
_MINOR = ((0, 3, 7), (8, 12, 15), (3, 7, 10), (10, 14, 17))  # i VI III VII


class SoundscapeInput(GeneratorInput):
    """Parameters of the offline music and ambience generators."""

    duration_s: float = Field(default=10.0, gt=0, le=600, description="Length in seconds.")
    gain_db: float = Field(default=-6.0, ge=-60, le=0, description="Peak level in dBFS.")


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def music(mood: str, duration_s: float, gain_db: float) -> np.ndarray:
    """Samples (float, mono, ``SAMPLE_RATE``) of a chord progression for ``mood``."""
    words = mood.lower()
    rng = np.random.default_rng(_seed(mood))
    progression = _MINOR if any(w in words for w in _SOMBRE) else _MAJOR
    root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)
    beats_per_s = (60 + 40 * (any(w in words for w in ("fast", "upbeat", "happy")))) / 60
    chord_len = int(SAMPLE_RATE * 4 / beats_per_s)  # one chord per bar of four beats
    total = int(duration_s * SAMPLE_RATE)
    t = np.arange(chord_len) / SAMPLE_RATE
    envelope = np.minimum(1.0, t / 0.08) * np.exp(-t * 0.6)
    bars = []
    for index in range(-(-total // chord_len)):
        chord = progression[index % len(progression)]
        tone = sum(
            np.sin(2 * np.pi * root * 2 ** (step / 12) * t * harmonic) / (harmonic * len(chord))
            for step in chord
            for harmonic in (1, 2, 3)
        )
        bars.append(tone * envelope)
    return _level(np.concatenate(bars)[:total], gain_db)


def ambience(description: str, duration_s: float, gain_db: float) -> np.ndarray:
    """Samples of a noise bed for ``description`` (brown noise with a slow swell)."""
    rng = np.random.default_rng(_seed(description))
    total = int(duration_s * SAMPLE_RATE)
    white = rng.standard_normal(total)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(2048) / 2048, mode="same")  # keep it centred
    bright = any(w in description.lower() for w in _BRIGHT_NOISE)
    bed = brown / (np.max(np.abs(brown)) or 1.0) + (0.25 * white / 4 if bright else 0.0)
    swell = 0.75 + 0.25 * np.sin(2 * np.pi * np.arange(total) / SAMPLE_RATE / 7.0)
    return _level(bed * swell, gain_db)


def _level(samples: np.ndarray, gain_db: float) -> np.ndarray:
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (10 ** (gain_db / 20) / peak) if peak else samples


def write_wav(path: Path, samples: np.ndarray) -> None:
    """Write mono float samples in [-1, 1] as 16-bit PCM WAV."""
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


class SoundscapeGenerator:
    """Music (``offline_music``) or ambience (``offline_ambience``) from a short text."""

    input_model = SoundscapeInput

    def __init__(self, generator_id: str, *, ambient: bool) -> None:
        self._ambient = ambient
        what = "ambience bed" if ambient else "music bed"
        self._info = GeneratorInfo(
            id=generator_id,
            kind=MediaKind.AUDIO,
            name=f"Offline {what}",
            description=f"A deterministic synthesised {what} (no network, free)",
            provider="local",
            capabilities=("text_to_audio",),
            input_schema=input_schema(SoundscapeInput),
            output_mime_types=("audio/wav",),
        )

    @property
    def info(self) -> GeneratorInfo:
        """Identity and the published input schema."""
        return self._info

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Synthesise the bed for ``request.prompt`` (or ``text``) and store it as WAV."""
        params = SoundscapeInput.model_validate(request.params)
        text = (request.prompt or request.text or "calm").strip() or "calm"
        make = ambience if self._ambient else music
        samples = await asyncio.to_thread(make, text, params.duration_s, params.gain_db)
        scratch = store.scratch_path(".wav")
        await asyncio.to_thread(write_wav, scratch, samples)
        name = request.name or self._info.id
        asset = await store.commit(scratch, name=name, kind=MediaKind.AUDIO)
        if on_progress is not None:
            on_progress(1.0, f"stored {Path(asset.path).name}")
        return GenerationOutput(
            assets=(asset,), usage=MediaUsage(seconds=params.duration_s, cost_usd=0.0)
        )


def _music(_: GeneratorContext) -> SoundscapeGenerator:
    return SoundscapeGenerator("offline_music", ambient=False)


def _ambience(_: GeneratorContext) -> SoundscapeGenerator:
    return SoundscapeGenerator("offline_ambience", ambient=True)


MUSIC_PLUGIN = GeneratorPlugin(
    id="offline_music",
    kind=MediaKind.AUDIO,
    create=_music,
    missing=requires("numpy"),
    description="Offline music bed (chord progression from the mood)",
)
AMBIENCE_PLUGIN = GeneratorPlugin(
    id="offline_ambience",
    kind=MediaKind.AUDIO,
    create=_ambience,
    missing=requires("numpy"),
    description="Offline ambience bed (shaped noise from the description)",
)
