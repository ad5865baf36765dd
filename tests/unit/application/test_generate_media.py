"""GenerateMedia: validation before sending, retries that never pay twice, checked files."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from inference_core.adapters.fakes import FakeMediaGenerator
from inference_core.adapters.media.probe import AVMediaProbe
from inference_core.adapters.media.registry import PluginGeneratorRegistry
from inference_core.adapters.storage import FilesystemAssetStore
from inference_core.application import GenerateMedia, MediaProgress, UsageLedger
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    ContentFiltered,
    GeneratorNotFound,
    InvalidGeneratorInput,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    UnexpectedMediaType,
)
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    MediaKind,
    MediaUsage,
)
from inference_core.ports.media import AssetStore, ProgressCallback
from tests.unit.application.support import FakeClock, ListSink, RecordingSleeper

RETRY = RetryPolicy(max_attempts=3, initial_delay=1.0, max_delay=4.0)


def wired(
    tmp_path: Path, *generators: Any, sink: ListSink | None = None
) -> tuple[GenerateMedia, UsageLedger, RecordingSleeper]:
    clock = FakeClock()
    sleeper = RecordingSleeper(clock)
    ledger = UsageLedger()
    sinks = [ledger] if sink is None else [ledger, sink]
    use_case = GenerateMedia(
        PluginGeneratorRegistry.of(generators),
        FilesystemAssetStore(tmp_path),
        AVMediaProbe(),
        retry=RETRY,
        usage_sinks=sinks,
        clock=clock,
        sleeper=sleeper,
    )
    return use_case, ledger, sleeper


def image(prompt: str = "a lighthouse", **params: Any) -> GenerationRequest:
    return GenerationRequest(
        kind=MediaKind.IMAGE, generator_id="fake_image_generator", prompt=prompt, params=params
    )


def files_in(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_file())


async def test_one_image_is_stored_measured_and_accounted(tmp_path: Path) -> None:
    use_case, ledger, _ = wired(tmp_path, FakeMediaGenerator(cost_usd=0.04))
    result = await use_case(image(width=96, height=48))
    (file,) = result.files
    with Image.open(file.path) as decoded:
        assert decoded.size == (96, 48)
    assert (file.width, file.height, file.mime_type) == (96, 48, "image/png")
    assert result.attempts == 1
    assert result.usage == MediaUsage(images=1, cost_usd=0.04)
    total = ledger.total
    assert (total.images, total.cost_usd, total.ok) == (1, 0.04, 1)
    assert ledger.by_model()["fake_image_generator"].images == 1


async def test_audio_duration_is_measured_from_the_file(tmp_path: Path) -> None:
    fake = FakeMediaGenerator("fake_tts", MediaKind.AUDIO)
    use_case, ledger, _ = wired(tmp_path, fake)
    result = await use_case(
        GenerationRequest(
            kind=MediaKind.AUDIO, generator_id="fake_tts", text="hello", params={"duration_s": 1.5}
        )
    )
    (file,) = result.files
    with wave.open(file.path) as decoded:
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(1.5)
    assert file.duration_s == pytest.approx(1.5, abs=0.05)
    assert file.sample_rate == 16_000
    assert ledger.total.media_seconds == pytest.approx(1.5)
    assert ledger.total.characters == 5


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"width": True}, "width"),
        ({"width": "64"}, "width"),
        ({"width": 0}, "width"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
async def test_bad_params_are_refused_before_anything_runs(
    tmp_path: Path, params: dict[str, Any], named: str
) -> None:
    fake = FakeMediaGenerator()
    use_case, ledger, _ = wired(tmp_path, fake)
    with pytest.raises(InvalidGeneratorInput, match=named):
        await use_case(image(**params))
    assert fake.calls == []
    assert ledger.total.attempts == 0


async def test_wrong_kind_and_capability_are_refused(tmp_path: Path) -> None:
    use_case, _, _ = wired(tmp_path, FakeMediaGenerator())
    with pytest.raises(InvalidGeneratorInput, match="makes image, not video"):
        await use_case(image().model_copy(update={"kind": MediaKind.VIDEO}))
    with pytest.raises(InvalidGeneratorInput, match="image_to_image"):
        await use_case(image().model_copy(update={"capability": Capability.IMAGE_TO_IMAGE}))


async def test_unknown_generator_lists_the_known_ones(tmp_path: Path) -> None:
    use_case, _, _ = wired(tmp_path, FakeMediaGenerator())
    with pytest.raises(GeneratorNotFound, match="fake_image_generator"):
        await use_case(image().model_copy(update={"generator_id": "nope"}))


async def test_rate_limit_is_retried_after_retry_after(tmp_path: Path) -> None:
    fake = FakeMediaGenerator(script=[RateLimitError("slow down", retry_after=2.5)])
    use_case, ledger, sleeper = wired(tmp_path, fake)
    result = await use_case(image())
    assert result.attempts == 2
    assert sleeper.delays == [2.5]
    assert (ledger.total.attempts, ledger.total.errors, ledger.total.images) == (2, 1, 1)
    assert len(files_in(tmp_path)) == 1


async def test_overload_is_retried_until_attempts_run_out(tmp_path: Path) -> None:
    script = [ProviderUnavailable("busy", status=503) for _ in range(3)]
    use_case, ledger, _ = wired(tmp_path, FakeMediaGenerator(script=script))
    with pytest.raises(ProviderUnavailable) as caught:
        await use_case(image())
    assert caught.value.attempts == 3
    assert ledger.total.errors == 3


@pytest.mark.parametrize(
    "error",
    [
        ProviderTimeout("read timed out", retryable=True),
        ContentFiltered("refused", status=400),
    ],
)
async def test_timeouts_and_refusals_are_never_repeated(tmp_path: Path, error: Exception) -> None:
    fake = FakeMediaGenerator(script=[error])
    use_case, ledger, sleeper = wired(tmp_path, fake)
    with pytest.raises(type(error)):
        await use_case(image())
    assert len(fake.calls) == 1  # a timed-out job may have been billed: not paid twice
    assert sleeper.delays == []
    assert ledger.total.attempts == 1


class LyingGenerator(FakeMediaGenerator):
    """Says image, stores audio: the probe must catch it and nothing may be kept."""

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        wav = FakeMediaGenerator("x", MediaKind.AUDIO)
        out = await wav.generate(request, store=store)
        return out


async def test_a_file_of_the_wrong_kind_is_deleted_and_final(tmp_path: Path) -> None:
    use_case, ledger, _ = wired(tmp_path, LyingGenerator())
    with pytest.raises(UnexpectedMediaType):
        await use_case(image())
    assert files_in(tmp_path) == []
    assert ledger.total.attempts == 1


async def test_batch_is_bounded_ordered_and_keeps_going(tmp_path: Path) -> None:
    running = 0
    peak = 0

    class Slow(FakeMediaGenerator):
        async def generate(
            self,
            request: GenerationRequest,
            *,
            store: AssetStore,
            on_progress: ProgressCallback | None = None,
        ) -> GenerationOutput:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1
            if request.prompt == "bad":
                raise ContentFiltered("refused")
            return await super().generate(request, store=store, on_progress=on_progress)

    use_case, _, _ = wired(tmp_path, Slow())
    seen: list[MediaProgress] = []
    prompts = [f"p{i}" for i in range(10)]
    prompts[3] = "bad"
    results = await use_case.generate_many(
        [image(p) for p in prompts], concurrency=3, on_progress=seen.append
    )
    assert peak == 3
    assert isinstance(results[3], ContentFiltered)
    ok = [r for i, r in enumerate(results) if i != 3]
    assert all(not isinstance(r, Exception) for r in ok)
    assert len(files_in(tmp_path)) == 9
    done = [p for p in seen if p.done]
    assert sorted(p.index for p in done) == list(range(10))
    assert all(p.total == 10 for p in seen)


async def test_batch_validates_every_request_first(tmp_path: Path) -> None:
    fake = FakeMediaGenerator()
    use_case, _, _ = wired(tmp_path, fake)
    with pytest.raises(InvalidGeneratorInput, match="request 1: unknown field 'x'"):
        await use_case.generate_many([image(), image(x=1)])
    assert fake.calls == []
    with pytest.raises(InvalidGeneratorInput, match="concurrency"):
        await use_case.generate_many([image()], concurrency=0)


async def test_media_events_are_logged_per_attempt(tmp_path: Path) -> None:
    sink = ListSink()
    fake = FakeMediaGenerator(script=[RateLimitError("slow", retry_after=0.1)], cost_usd=None)
    use_case, ledger, _ = wired(tmp_path, fake, sink=sink)
    await use_case(image())
    assert [e.outcome for e in sink.events] == ["error", "ok"]
    assert all(e.operation == "media" and e.event_name == "inference.media" for e in sink.events)
    assert len({e.request_id for e in sink.events}) == 1
    assert ledger.total.cost_usd is None  # an unknown price is not zero
    assert ledger.total.unpriced_attempts == 1
