"""OpenAISpeechGenerator over the real SDK and real HTTP, against the local fake server."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from pydantic import SecretStr

from inference_core.adapters.media import openai_speech
from inference_core.adapters.media.openai_speech import (
    MAX_INPUT_CHARS,
    OpenAISpeechGenerator,
    speech_cost,
    split_text,
)
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidGeneratorInput,
    InvalidResponse,
    MediaTooLarge,
    MissingAPIKeyError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    UnexpectedMediaType,
)
from inference_core.domain.media import Capability, GenerationRequest, MediaKind
from inference_core.ports.media import MediaGenerator
from inference_core.ports.plugins import GeneratorContext
from tests.servers import FakeServer, Fault
from tests.servers.fixtures import fake_server, fake_server_session
from tests.servers.media_proto import SAMPLE_RATE, media_script, speech_duration

__all__ = ["fake_server", "fake_server_session"]  # pytest fixtures used below

KEY = "sk-test-speech-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_script(fake_server: FakeServer) -> Iterator[None]:
    media_script(fake_server).clear()
    yield
    media_script(fake_server).clear()


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "assets"


@pytest.fixture
def store(store_root: Path) -> FilesystemAssetStore:
    return FilesystemAssetStore(store_root)


def make(server: FakeServer, **options: Any) -> OpenAISpeechGenerator:
    options.setdefault("timeout", 5.0)
    return OpenAISpeechGenerator(api_key=KEY, base_url=server.openai_base_url, **options)


def speak(text: str | None = "Hello there.", **fields: Any) -> GenerationRequest:
    return GenerationRequest(kind=MediaKind.AUDIO, generator_id="openai_tts", text=text, **fields)


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def measure(path: str) -> tuple[float, int, int]:
    """(decoded duration in seconds, sample rate, channels) read back with PyAV."""
    with av.open(path) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate, stream.rate, stream.codec_context.channels


def long_text(chars: int) -> str:
    sentences: list[str] = []
    index = 0
    while sum(len(s) + 1 for s in sentences) < chars:
        index += 1
        sentences.append(f"Sentence number {index} says something rather ordinary, as they do.")
    return " ".join(sentences)


# --- splitting ---------------------------------------------------------------------------


def test_split_keeps_short_texts_whole_and_cuts_long_ones_at_sentence_ends() -> None:
    assert split_text("  Hi.  ") == ["Hi."]
    assert split_text("   ") == []
    text = long_text(9000)
    chunks = split_text(text)
    assert len(chunks) == 3
    assert all(len(c) <= MAX_INPUT_CHARS for c in chunks)
    assert all(c.endswith(".") for c in chunks)  # cut after a sentence, never inside one
    assert " ".join(chunks) == text


def test_split_falls_back_to_whitespace_then_to_hard_cuts() -> None:
    words = " ".join(["word"] * 2000)  # 9999 chars, no sentence end
    chunks = split_text(words, 4096)
    assert all(len(c) <= 4096 for c in chunks) and len(chunks) == 3
    assert " ".join(chunks).split() == words.split()
    blob = "x" * 10_000
    assert [len(c) for c in split_text(blob, 4096)] == [4096, 4096, 1808]
    mixed = "Short one. " + "y" * 5000 + " tail end."
    chunks = split_text(mixed, 4096)
    assert all(len(c) <= 4096 for c in chunks)
    assert "".join(chunks).replace(" ", "") == mixed.replace(" ", "")


def test_split_keeps_line_breaks_inside_a_chunk() -> None:
    text = "First line.\nSecond line!\n\n" + long_text(5000)
    assert split_text(text)[0].startswith("First line.\nSecond line!\n\n")


# --- the port ----------------------------------------------------------------------------


def test_it_is_a_media_generator_publishing_its_input_model(fake_server: FakeServer) -> None:
    gen = make(fake_server)
    assert isinstance(gen, MediaGenerator)
    assert (gen.info.id, gen.info.kind) == ("openai_tts", MediaKind.AUDIO)
    assert gen.info.capabilities == (Capability.TEXT_TO_SPEECH,)
    assert gen.info.input_schema == gen.input_model.model_json_schema(mode="validation")
    voices = gen.info.input_schema["properties"]["voice"]["enum"]
    assert {"alloy", "ash", "ballad", "coral", "echo", "fable"} <= set(voices)
    assert {"nova", "onyx", "sage", "shimmer", "verse"} <= set(voices)


# --- speech ------------------------------------------------------------------------------


async def test_speech_is_streamed_into_one_real_audio_file(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    text = ("Hello there. " * 200).strip()
    progress: list[tuple[float | None, str]] = []
    out = await make(fake_server).generate(
        speak(text, name="greeting", params={"voice": "nova", "speed": 1.25}),
        store=store,
        on_progress=lambda f, t: progress.append((f, t)),
    )
    (asset,) = out.assets
    assert asset.mime_type == "audio/mpeg"
    assert Path(asset.path) == store_root / "greeting.mp3"
    duration, rate, channels = measure(asset.path)
    assert duration == pytest.approx(speech_duration(text), abs=0.08)
    assert (rate, channels) == (SAMPLE_RATE, 1)
    (sent,) = fake_server.requests_for("/v1/audio/speech")
    assert sent.body == {
        "model": "tts-1",
        "voice": "nova",
        "input": text,
        "response_format": "mp3",
        "speed": 1.25,
    }
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert out.usage.characters == len(text)
    assert out.usage.cost_usd == pytest.approx(len(text) * 15.0 / 1e6)
    assert out.provider_request_id is not None and out.provider_request_id.startswith("req_")
    assert progress[0][0] == 0.0 and progress[-1][0] == 1.0
    assert files_in(store_root) == [Path(asset.path)]  # no scratch file left


@pytest.mark.parametrize(
    ("fmt", "mime", "rate"),
    [
        ("mp3", "audio/mpeg", 24_000),
        ("opus", "audio/ogg", 48_000),  # Opus decodes at 48 kHz
        ("aac", "audio/aac", 24_000),
        ("flac", "audio/flac", 24_000),
        ("wav", "audio/wav", 24_000),
        ("pcm", "audio/wav", 24_000),  # headerless PCM is stored inside a WAV header
    ],
)
async def test_every_response_format_gives_a_decodable_file(
    fake_server: FakeServer, store: FilesystemAssetStore, fmt: str, mime: str, rate: int
) -> None:
    text = "A short line to speak, in every format."
    out = await make(fake_server).generate(
        speak(text, params={"response_format": fmt}), store=store
    )
    (asset,) = out.assets
    assert asset.mime_type == mime
    duration, measured_rate, _ = measure(asset.path)
    assert measured_rate == rate
    assert duration == pytest.approx(speech_duration(text), abs=0.08)


async def test_text_falls_back_to_the_prompt(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    request = GenerationRequest(kind=MediaKind.AUDIO, generator_id="openai_tts", prompt="Hi you.")
    await make(fake_server).generate(request, store=store)
    assert fake_server.requests_for("/v1/audio/speech")[0].body["input"] == "Hi you."


async def test_instructions_go_to_gpt_4o_mini_tts(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    params = {"model": "gpt-4o-mini-tts", "instructions": "Whisper.", "voice": "sage"}
    out = await make(fake_server).generate(speak(params=params), store=store)
    body = fake_server.requests_for("/v1/audio/speech")[0].body
    assert body["instructions"] == "Whisper." and body["model"] == "gpt-4o-mini-tts"
    assert out.usage.cost_usd is None  # billed in tokens, not characters
    assert speech_cost("tts-1-hd", 1_000_000) == 30.0


# --- long texts --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mp3", "wav", "pcm"])
async def test_a_long_text_is_spoken_in_parts_and_joined_as_audio(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path, fmt: str
) -> None:
    text = long_text(9000)
    progress: list[float | None] = []
    out = await make(fake_server).generate(
        speak(text, name="story", params={"response_format": fmt}),
        store=store,
        on_progress=lambda f, _t: progress.append(f),
    )
    sent = [r.body["input"] for r in fake_server.requests_for("/v1/audio/speech")]
    assert len(sent) == 3
    assert all(len(part) <= MAX_INPUT_CHARS for part in sent)
    assert " ".join(sent) == text
    (asset,) = out.assets
    expected = sum(speech_duration(part) for part in sent)
    duration, rate, channels = measure(asset.path)
    assert duration == pytest.approx(expected, abs=0.1)
    assert (rate, channels) == (SAMPLE_RATE, 1)
    if fmt in ("wav", "pcm"):
        with wave.open(asset.path) as wav:  # one header describing every sample
            assert wav.getnframes() / wav.getframerate() == pytest.approx(expected, abs=0.01)
    assert out.usage.characters == len(text)
    assert out.metadata["parts"] == 3 and len(out.metadata["request_ids"]) == 3
    assert progress == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert files_in(store_root) == [Path(asset.path)]


async def test_a_failing_part_fails_the_whole_and_leaves_no_scratch(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    fake_server.fault(headers={"x-first": "served"}, path="/v1/audio")  # first part: served
    fake_server.fault(status=503, path="/v1/audio")  # second part: fails
    with pytest.raises(ProviderUnavailable) as caught:
        await make(fake_server).generate(speak(long_text(9000)), store=store)
    assert caught.value.retryable is True
    assert len(fake_server.requests_for("/v1/audio/speech")) == 2
    assert files_in(store_root) == []


async def test_a_part_that_is_not_audio_is_refused_before_joining(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    media_script(fake_server).wrong_bytes()
    with pytest.raises(UnexpectedMediaType):
        await make(fake_server).generate(speak(long_text(5000)), store=store)
    assert files_in(store_root) == []


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"params": {"instructions": "Slowly."}}, "instructions are only supported"),
        ({"params": {"model": "tts-1-hd", "instructions": "Slowly."}}, "gpt-4o-mini-tts"),
        ({"params": {"voice": "robot"}}, "voice:"),
        ({"params": {"response_format": "ogg"}}, "response_format:"),
        ({"params": {"speed": 5.0}}, "speed:"),
        ({"params": {"speed": True}}, "speed:"),
        ({"params": {"model": "tts-2"}}, "model:"),
        ({"params": {"pitch": 3}}, "unknown field 'pitch'"),
        ({"text": "   "}, "the text to speak is empty"),
        ({"text": None}, "the text to speak is empty"),
        ({"capability": Capability.TEXT_TO_IMAGE}, "not supported"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    fake_server: FakeServer, store: FilesystemAssetStore, fields: dict[str, Any], problem: str
) -> None:
    request = GenerationRequest(
        kind=MediaKind.AUDIO,
        generator_id="openai_tts",
        **{"text": "Hello.", **fields},
    )
    with pytest.raises(InvalidGeneratorInput) as caught:
        await make(fake_server).generate(request, store=store)
    assert problem in str(caught.value)
    assert fake_server.request_count == 0


# --- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "retryable"),
    [
        (Fault(status=429, headers={"retry-after": "3"}), RateLimitError, True),
        (Fault(status=500), ProviderUnavailable, True),
        (Fault(status=401), AuthenticationError, False),
        (Fault(delay=1.5), ProviderTimeout, True),
        (Fault(drop=True), ProviderUnavailable, True),
        (Fault(cut_after_chunks=1), InvalidResponse, True),  # body cut mid-stream
    ],
)
async def test_faults_map_to_domain_errors(
    fake_server: FakeServer,
    store: FilesystemAssetStore,
    store_root: Path,
    fault: Fault,
    error: type[ProviderError],
    retryable: bool,
) -> None:
    fake_server.fault(fault, path="/v1/audio")
    with pytest.raises(error) as caught:
        await make(fake_server, timeout=0.5).generate(speak("Hello. " * 580), store=store)
    exc = caught.value
    assert type(exc) is error and exc.retryable is retryable
    if fault.status == 429:
        assert exc.retry_after == 3.0
    assert KEY not in str(exc) and KEY not in repr(exc)
    assert files_in(store_root) == []
    assert fake_server.request_count == 1


async def test_wrong_bytes_are_refused_and_nothing_is_kept(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    media_script(fake_server).wrong_bytes()
    with pytest.raises(UnexpectedMediaType):
        await make(fake_server).generate(speak(), store=store)
    assert files_in(store_root) == []


@pytest.mark.parametrize(("fmt", "text"), [("mp3", "Hi."), ("pcm", "Hi."), ("mp3", None)])
async def test_oversized_audio_is_refused_and_nothing_is_kept(
    fake_server: FakeServer,
    store: FilesystemAssetStore,
    store_root: Path,
    fmt: str,
    text: str | None,
) -> None:
    media_script(fake_server).oversized(300_000)
    media_script(fake_server).oversized(300_000)
    with pytest.raises(MediaTooLarge) as caught:
        await make(fake_server, max_output_bytes=100_000).generate(
            speak(text or long_text(5000), params={"response_format": fmt}), store=store
        )
    assert caught.value.limit_bytes == 100_000
    assert files_in(store_root) == []


async def test_an_echoed_key_is_redacted(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    fake_server.fault(status=401, message=f"Incorrect API key provided: {KEY}.")
    with pytest.raises(AuthenticationError) as caught:
        await make(fake_server).generate(speak(), store=store)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert KEY not in str(chain)
        chain = chain.__cause__


# --- the plugin --------------------------------------------------------------------------


def test_plugin_needs_the_key_and_reads_its_options(fake_server: FakeServer) -> None:
    plugin = openai_speech.PLUGIN
    assert (plugin.id, plugin.kind) == ("openai_tts", MediaKind.AUDIO)
    assert plugin.missing() is None
    with pytest.raises(MissingAPIKeyError) as caught:
        plugin.create(GeneratorContext(secrets={"OPENAI_API_KEY": SecretStr("")}))
    assert "OPENAI_API_KEY" in str(caught.value)
    secrets = {"OPENAI_API_KEY": SecretStr(KEY)}
    gen = plugin.create(
        GeneratorContext(options={"model": "tts-1-hd", "timeout": 2.5}, secrets=secrets)
    )
    assert gen.info.input_schema["properties"]["model"]["default"] == "tts-1-hd"
    with pytest.raises(ConfigurationError, match="must be one of"):
        plugin.create(GeneratorContext(options={"model": "tts-9"}, secrets=secrets))
