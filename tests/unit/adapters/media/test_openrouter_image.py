"""OpenRouterImageGenerator over real HTTP (httpx), against the local fake server."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from inference_core.adapters.media import openrouter_image
from inference_core.adapters.media.openrouter_image import OpenRouterImageGenerator
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.domain.errors import (
    AuthenticationError,
    ContentFiltered,
    InvalidGeneratorInput,
    InvalidResponse,
    MediaTooLarge,
    MissingAPIKeyError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceededError,
    RateLimitError,
    UnexpectedMediaType,
)
from inference_core.domain.media import Capability, GenerationRequest, MediaInput, MediaKind
from inference_core.ports.media import MediaGenerator
from inference_core.ports.plugins import GeneratorContext
from tests.servers import FakeServer, Fault
from tests.servers.fixtures import fake_server, fake_server_session
from tests.servers.media_proto import media_script, openrouter_base_url, png_bytes

__all__ = ["fake_server", "fake_server_session"]  # pytest fixtures used below

KEY = "sk-or-v1-test-0123456789abcdef"
PATH = "/openrouter/api/v1/chat/completions"


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


def make(server: FakeServer, **options: Any) -> OpenRouterImageGenerator:
    options.setdefault("timeout", 5.0)
    return OpenRouterImageGenerator(api_key=KEY, base_url=openrouter_base_url(server), **options)


def request(prompt: str = "a lighthouse at dusk", **fields: Any) -> GenerationRequest:
    return GenerationRequest(
        kind=MediaKind.IMAGE, generator_id="openrouter_image_generator", prompt=prompt, **fields
    )


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(out, format="JPEG")
    return out.getvalue()


def test_it_is_a_media_generator_publishing_its_input_model(fake_server: FakeServer) -> None:
    gen = make(fake_server)
    assert isinstance(gen, MediaGenerator)
    assert (gen.info.id, gen.info.kind) == ("openrouter_image_generator", MediaKind.IMAGE)
    assert set(gen.info.capabilities) == {Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE}
    assert gen.info.input_schema == gen.input_model.model_json_schema(mode="validation")
    schema = gen.info.input_schema["properties"]
    assert schema["model"]["default"] == "google/gemini-2.5-flash-image"


async def test_text_to_image_stores_a_real_png_of_the_asked_aspect(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    progress: list[float | None] = []
    out = await make(fake_server).generate(
        request(name="lighthouse", params={"aspect_ratio": "16:9", "image_size": "1K"}),
        store=store,
        on_progress=lambda f, _t: progress.append(f),
    )
    (asset,) = out.assets
    assert asset.mime_type == "image/png" and Path(asset.path).name == "lighthouse.png"
    with Image.open(asset.path) as image:
        assert image.size == (1024, 576)
    (sent,) = fake_server.requests_for(PATH)
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {
        "model": "google/gemini-2.5-flash-image",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a lighthouse at dusk"}]}
        ],
        "modalities": ["image", "text"],
        "stream": False,
        "image_config": {"aspect_ratio": "16:9", "image_size": "1K"},
    }
    assert out.usage.images == 1
    assert (out.usage.input_tokens, out.usage.output_tokens) == (12, 1290)
    assert out.usage.cost_usd == pytest.approx(0.039)
    assert out.provider_request_id is not None and out.provider_request_id.startswith("gen-")
    assert progress == [0.0, 1.0]


async def test_image_to_image_sends_real_types_and_passes_urls_through(
    fake_server: FakeServer, store: FilesystemAssetStore, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(jpeg_bytes())  # a JPEG behind a .png name: the bytes decide
    logo = png_bytes(20, 20)
    inputs = (
        MediaInput(path=str(photo)),
        MediaInput(data=logo, mime_type="image/webp"),
        MediaInput(url="https://example.com/ref.webp"),
    )
    out = await make(fake_server).generate(
        request(prompt="merge them", inputs=inputs, params={"aspect_ratio": "3:4"}),
        store=store,
    )
    content = fake_server.requests_for(PATH)[0].body["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "merge them"}
    urls = [part["image_url"]["url"] for part in content[1:]]
    assert urls[0].startswith("data:image/jpeg;base64,")
    assert base64.b64decode(urls[0].partition(",")[2]) == photo.read_bytes()
    assert urls[1] == "data:image/png;base64," + base64.b64encode(logo).decode()
    assert urls[2] == "https://example.com/ref.webp"
    with Image.open(out.assets[0].path) as image:
        assert image.size == (768, 1024)
    assert out.usage.input_tokens == 12 + 3 * 258
    assert out.metadata["capability"] == "image_to_image"


async def test_no_reported_cost_means_unknown_cost(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    media_script(fake_server).openrouter_cost = None
    out = await make(fake_server).generate(request(), store=store)
    assert out.usage.cost_usd is None


async def test_an_injected_client_is_used_and_left_open(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    async with httpx.AsyncClient(headers={"x-caller": "yes"}) as client:
        gen = make(fake_server, http_client=client, headers={"X-Title": "tests"})
        await gen.generate(request(), store=store)
        assert not client.is_closed
    sent = fake_server.requests_for(PATH)[0].headers
    assert (sent["x-caller"], sent["x-title"]) == ("yes", "tests")


async def test_chat_without_the_image_modality_is_plain_chat(fake_server: FakeServer) -> None:
    # The fake OpenRouter route answers text chat like the OpenAI one.
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            openrouter_base_url(fake_server) + "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert answer.json()["choices"][0]["message"]["content"] == "Echo: hi"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"params": {"aspect_ratio": "7:3"}}, "aspect_ratio:"),
        ({"params": {"image_size": "8K"}}, "image_size:"),
        ({"params": {"n": 2}}, "unknown field 'n'"),
        ({"params": {"model": ""}}, "model:"),
        ({"prompt": ""}, "a prompt is required"),
        ({"capability": Capability.IMAGE_TO_IMAGE}, "needs at least one input image"),
        ({"inputs": (MediaInput(data=b"GIF? no: text"),)}, "inputs[0] is not an image"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    fake_server: FakeServer, store: FilesystemAssetStore, fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidGeneratorInput) as caught:
        await make(fake_server).generate(request(**fields), store=store)
    assert problem in str(caught.value)
    assert fake_server.request_count == 0


def _moderation_403() -> Fault:
    body = {
        "error": {
            "code": 403,
            "message": "google/gemini-2.5-flash-image requires moderation on OpenRouter. "
            'Your input was flagged for "violence".',
            "metadata": {"reasons": ["violence"], "flagged_input": "a lighthouse..."},
        }
    }
    return Fault(status=403, body=body)


def _in_200(code: int) -> Fault:
    body = {"error": {"code": code, "message": "Upstream provider error"}}
    return Fault(raw_body=json.dumps(body).encode())


@pytest.mark.parametrize(
    ("script", "fault", "error", "retryable"),
    [
        (None, Fault(status=429, headers={"retry-after": "9"}), RateLimitError, True),
        (None, Fault(status=502), ProviderUnavailable, True),
        (None, Fault(status=401), AuthenticationError, False),
        (None, Fault(status=402, message="Insufficient credits"), QuotaExceededError, False),
        (None, _moderation_403(), ContentFiltered, False),
        (None, _in_200(502), ProviderUnavailable, True),
        (None, Fault(delay=1.5), ProviderTimeout, True),
        (None, Fault(drop=True), ProviderUnavailable, True),
        (None, Fault(cut_after_chunks=1), InvalidResponse, True),
        (None, Fault(raw_body=b'{"choices": [{"message": '), InvalidResponse, False),
        (
            None,
            Fault(raw_body=b"<html>gateway</html>", content_type="text/html"),
            InvalidResponse,
            False,
        ),
        (None, Fault(raw_body=b'{"choices": []}'), InvalidResponse, False),
        ("refuse", None, ContentFiltered, False),
        ("no_image", None, InvalidResponse, False),
        ("bad_base64", None, InvalidResponse, False),
    ],
)
async def test_faults_map_to_domain_errors(
    fake_server: FakeServer,
    store: FilesystemAssetStore,
    store_root: Path,
    script: str | None,
    fault: Fault | None,
    error: type[ProviderError],
    retryable: bool,
) -> None:
    if fault is not None:
        fake_server.fault(fault, path=PATH)
    if script is not None:
        getattr(media_script(fake_server), script)()
    with pytest.raises(error) as caught:
        await make(fake_server, timeout=0.5).generate(request(), store=store)
    exc = caught.value
    assert type(exc) is error and exc.retryable is retryable
    assert exc.provider == "openrouter" and exc.model == "google/gemini-2.5-flash-image"
    if fault is not None and fault.headers.get("retry-after"):
        assert exc.retry_after == 9.0
    assert KEY not in str(exc) and KEY not in repr(exc)
    assert files_in(store_root) == []
    assert fake_server.request_count == 1


async def test_a_text_only_answer_says_what_the_model_said(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    media_script(fake_server).no_image()
    with pytest.raises(InvalidResponse, match="answered in text: 'I would rather describe"):
        await make(fake_server).generate(request(), store=store)


async def test_an_echoed_key_is_redacted(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    fake_server.fault(status=401, message=f"No auth credentials found for {KEY}", path=PATH)
    with pytest.raises(AuthenticationError) as caught:
        await make(fake_server).generate(request(), store=store)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert KEY not in str(chain)
        chain = chain.__cause__


async def test_wrong_bytes_are_refused_and_nothing_is_kept(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    media_script(fake_server).wrong_bytes()
    with pytest.raises(UnexpectedMediaType):
        await make(fake_server).generate(request(), store=store)
    assert files_in(store_root) == []


async def test_an_oversized_image_is_refused_and_nothing_is_kept(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    media_script(fake_server).oversized(400_000)
    with pytest.raises(MediaTooLarge) as caught:
        await make(fake_server, max_output_bytes=300_000).generate(request(), store=store)
    assert caught.value.limit_bytes == 300_000
    assert files_in(store_root) == []


def test_plugin_needs_the_key_and_reads_its_options(fake_server: FakeServer) -> None:
    plugin = openrouter_image.PLUGIN
    assert (plugin.id, plugin.kind) == ("openrouter_image_generator", MediaKind.IMAGE)
    assert plugin.missing() is None
    with pytest.raises(MissingAPIKeyError) as caught:
        plugin.create(GeneratorContext(secrets={"OPENAI_API_KEY": SecretStr(KEY)}))
    assert "OPENROUTER_API_KEY" in str(caught.value)
    gen = plugin.create(
        GeneratorContext(
            options={"model": "black-forest-labs/flux.2-pro", "base_url": "http://127.0.0.1:9"},
            secrets={"OPENROUTER_API_KEY": SecretStr(KEY)},
        )
    )
    assert gen.info.input_schema["properties"]["model"]["default"] == "black-forest-labs/flux.2-pro"
    assert KEY not in repr(gen)
