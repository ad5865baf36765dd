"""OpenAIImageGenerator over the real SDK and real HTTP, against the local fake server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from inference_core.adapters.media import openai_images
from inference_core.adapters.media.openai_images import (
    IMAGE_PRICES,
    OpenAIImageGenerator,
    image_cost,
)
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    ContentFiltered,
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
from inference_core.domain.media import (
    Capability,
    GenerationRequest,
    MediaInput,
    MediaKind,
)
from inference_core.ports.media import MediaGenerator
from inference_core.ports.plugins import GeneratorContext
from tests.servers import FakeServer, Fault
from tests.servers.fixtures import fake_server, fake_server_session
from tests.servers.media_proto import media_script, png_bytes

__all__ = ["fake_server", "fake_server_session"]  # pytest fixtures used below

KEY = "sk-test-images-0123456789abcdef"


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


def make(server: FakeServer, **options: Any) -> OpenAIImageGenerator:
    options.setdefault("timeout", 5.0)
    return OpenAIImageGenerator(api_key=KEY, base_url=server.openai_base_url, **options)


def request(prompt: str = "a blue square", **fields: Any) -> GenerationRequest:
    return GenerationRequest(
        kind=MediaKind.IMAGE, generator_id="openai_images", prompt=prompt, **fields
    )


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(out, format="JPEG")
    return out.getvalue()


def mask_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


# --- the port ----------------------------------------------------------------------------


def test_it_is_a_media_generator_publishing_its_input_model(fake_server: FakeServer) -> None:
    gen = make(fake_server)
    assert isinstance(gen, MediaGenerator)
    assert gen.info.id == "openai_images"
    assert gen.info.kind is MediaKind.IMAGE
    assert set(gen.info.capabilities) == {Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE}
    assert gen.info.input_schema == gen.input_model.model_json_schema(mode="validation")
    assert gen.info.input_schema["properties"]["n"]["maximum"] == 10


# --- text to image -----------------------------------------------------------------------


async def test_text_to_image_stores_real_images_and_reports_usage(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    progress: list[tuple[float | None, str]] = []
    out = await make(fake_server).generate(
        request(name="sky", params={"n": 2, "size": "1024x1536", "quality": "low"}),
        store=store,
        on_progress=lambda f, t: progress.append((f, t)),
    )
    assert len(out.assets) == 2
    for asset in out.assets:
        assert asset.mime_type == "image/png"
        with Image.open(asset.path) as image:
            assert image.size == (1024, 1536)
        assert Path(asset.path).parent == store_root
    assert {Path(a.path).name for a in out.assets} == {"sky-1.png", "sky-2.png"}
    sent = fake_server.requests_for("/v1/images/generations")[0]
    assert sent.body == {
        "model": "gpt-image-1",
        "prompt": "a blue square",
        "n": 2,
        "size": "1024x1536",
        "quality": "low",
    }
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    usage = out.usage
    assert usage.images == 2
    assert usage.input_tokens == 3 and usage.output_tokens == 2 * 1056
    assert usage.cost_usd == pytest.approx((3 * 5.0 + 2 * 1056 * 40.0) / 1_000_000)
    assert out.provider_request_id is not None and out.provider_request_id.startswith("req_")
    assert progress[0][0] == 0.0
    assert [f for f, _ in progress[1:]] == [0.5, 1.0]


async def test_output_format_jpeg_is_stored_as_jpeg(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    out = await make(fake_server).generate(
        request(params={"output_format": "jpeg", "output_compression": 80, "size": "256x256"}),
        store=store,
    )
    (asset,) = out.assets
    assert asset.mime_type == "image/jpeg"
    with Image.open(asset.path) as image:
        assert (image.format, image.size) == ("JPEG", (256, 256))


async def test_dall_e_asks_for_b64_json_and_unknown_models_cost_nothing_known(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    out = await make(fake_server).generate(
        request(params={"model": "dall-e-3", "size": "1024x1024"}), store=store
    )
    body = fake_server.requests_for("/v1/images/generations")[0].body
    assert body["response_format"] == "b64_json"
    assert out.usage.cost_usd is None  # no price for dall-e-3 in the table
    assert image_cost("gpt-image-1", None) is None
    assert "gpt-image-1" in IMAGE_PRICES


async def test_the_configured_model_is_the_schema_default(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    gen = make(fake_server, model="gpt-image-1-mini")
    assert gen.info.input_schema["properties"]["model"]["default"] == "gpt-image-1-mini"
    await gen.generate(request(), store=store)
    assert fake_server.requests_for("/v1/images/generations")[0].body["model"] == "gpt-image-1-mini"


async def test_keyless_generator_sends_no_authorization(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    gen = OpenAIImageGenerator(api_key=None, base_url=fake_server.openai_base_url)
    await gen.generate(request(), store=store)
    assert "authorization" not in fake_server.requests_for("/v1/images/generations")[0].headers


# --- image to image (multipart edits) ----------------------------------------------------


async def test_edits_send_every_image_and_the_mask_with_real_types(
    fake_server: FakeServer, store: FilesystemAssetStore, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes())
    logo = png_bytes(32, 32)
    inputs = (
        MediaInput(path=str(photo)),
        MediaInput(data=logo, mime_type="image/jpeg"),  # a wrong declared type: bytes decide
        MediaInput(data=mask_png()),
    )
    out = await make(fake_server).generate(
        request(
            prompt="put the logo on the photo",
            inputs=inputs,
            params={"mask_index": 2, "size": "1024x1024", "n": 1},
        ),
        store=store,
    )
    (upload,) = media_script(fake_server).uploads
    parts = [(p.name, p.filename, p.content_type) for p in upload.files]
    assert parts == [
        ("image[]", "photo.jpg", "image/jpeg"),
        ("image[]", "image-2.png", "image/png"),
        ("mask", "image-3.png", "image/png"),
    ]
    assert upload.files[1].data == logo
    assert upload.fields["prompt"] == "put the logo on the photo"
    assert upload.fields["model"] == "gpt-image-1"
    assert upload.fields["n"] == "1"
    assert "mask_index" not in upload.fields
    (asset,) = out.assets
    with Image.open(asset.path) as image:
        assert image.size == (1024, 1024)
    # Input image tokens are billed at the image rate.
    assert out.usage.cost_usd == pytest.approx((6 * 5.0 + 130 * 10.0 + 1056 * 40.0) / 1e6)
    assert out.metadata["capability"] == "image_to_image"


async def test_a_single_edit_image_without_mask(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    await make(fake_server).generate(
        request(inputs=(MediaInput(data=png_bytes(16, 16)),)), store=store
    )
    (upload,) = media_script(fake_server).uploads
    assert [(p.name, p.content_type) for p in upload.files] == [("image[]", "image/png")]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"params": {"colour": "blue"}}, "unknown field 'colour'"),
        ({"params": {"n": True}}, "n:"),
        ({"params": {"n": 11}}, "n:"),
        ({"params": {"n": "2"}}, "n:"),
        ({"params": {"size": "999x999"}}, "size:"),
        ({"params": {"output_format": "gif"}}, "output_format:"),
        ({"params": {"output_compression": 50}}, "output_compression needs"),
        ({"params": {"background": "transparent", "output_format": "jpeg"}}, "transparent"),
        ({"prompt": "  "}, "a prompt is required"),
        (
            {"capability": Capability.TEXT_TO_IMAGE, "inputs": (MediaInput(data=b"x"),)},
            "text_to_image takes no input",
        ),
        ({"capability": Capability.IMAGE_TO_IMAGE}, "needs at least one input image"),
        ({"capability": Capability.TEXT_TO_SPEECH}, "not supported"),
        ({"inputs": (MediaInput(data=b"<html></html>"),)}, "inputs[0] is not an image"),
        ({"inputs": (MediaInput(url="https://example.com/a.png"),)}, "a URL cannot be uploaded"),
        ({"inputs": (MediaInput(path="/nonexistent/a.png"),)}, "cannot read 'a.png'"),
        ({"params": {"mask_index": 0}}, "mask_index needs input images"),
        (
            {"inputs": (MediaInput(data=png_bytes(8, 8)),), "params": {"mask_index": 3}},
            "out of range",
        ),
        (
            {"inputs": (MediaInput(data=png_bytes(8, 8)),), "params": {"mask_index": 0}},
            "besides the mask",
        ),
        (
            {
                "inputs": (MediaInput(data=png_bytes(8, 8)), MediaInput(data=jpeg_bytes())),
                "params": {"mask_index": 1},
            },
            "mask must be a PNG",
        ),
        (
            {"inputs": (MediaInput(data=png_bytes(8, 8)),), "params": {"moderation": "low"}},
            "moderation applies to text_to_image only",
        ),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    fake_server: FakeServer,
    store: FilesystemAssetStore,
    store_root: Path,
    fields: dict[str, Any],
    problem: str,
) -> None:
    with pytest.raises(InvalidGeneratorInput) as caught:
        await make(fake_server).generate(request(**fields), store=store)
    assert problem in str(caught.value)
    assert fake_server.request_count == 0
    assert files_in(store_root) == []


# --- faults ------------------------------------------------------------------------------


def _status(status: int, **extra: Any) -> Fault:
    return Fault(status=status, path="/v1/images", **extra)


@pytest.mark.parametrize(
    ("script", "fault", "error", "retryable"),
    [
        (None, _status(429, headers={"retry-after": "7"}), RateLimitError, True),
        (None, _status(500), ProviderUnavailable, True),
        (None, _status(503), ProviderUnavailable, True),
        (None, _status(401), AuthenticationError, False),
        (None, Fault(delay=1.5, path="/v1/images"), ProviderTimeout, True),
        # A malformed body is final, as in the chat adapters (InvalidResponse's default).
        (None, Fault(raw_body=b'{"data": [', path="/v1/images"), InvalidResponse, False),
        (None, Fault(raw_body=b"[1, 2]", path="/v1/images"), InvalidResponse, False),
        (None, Fault(cut_after_chunks=1, path="/v1/images"), ProviderUnavailable, True),
        (None, Fault(drop=True, path="/v1/images"), ProviderUnavailable, True),
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
        fake_server.fault(fault)
    if script is not None:
        getattr(media_script(fake_server), script)()
    gen = make(fake_server, timeout=0.5)
    with pytest.raises(error) as caught:
        await gen.generate(request(params={"size": "256x256"}), store=store)
    exc = caught.value
    assert type(exc) is error
    assert exc.retryable is retryable
    assert exc.provider == "openai" and exc.model == "gpt-image-1"
    if fault is not None and fault.headers.get("retry-after"):
        assert exc.retry_after == 7.0
    assert KEY not in str(exc) and KEY not in repr(exc)
    assert files_in(store_root) == []
    assert fake_server.request_count == 1  # exactly one attempt


async def test_an_echoed_key_is_redacted(
    fake_server: FakeServer, store: FilesystemAssetStore
) -> None:
    fake_server.fault(status=400, message=f"Incorrect API key provided: {KEY}.")
    with pytest.raises(ProviderError) as caught:
        await make(fake_server).generate(request(), store=store)
    assert KEY not in str(caught.value)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert KEY not in str(chain)
        chain = chain.__cause__


async def test_wrong_bytes_are_refused_and_nothing_is_kept(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    media_script(fake_server).wrong_bytes()
    with pytest.raises(UnexpectedMediaType) as caught:
        await make(fake_server).generate(request(params={"n": 2}), store=store)
    assert caught.value.found is None  # HTML is no media type
    assert files_in(store_root) == []


async def test_an_oversized_image_is_refused_and_nothing_is_kept(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    media_script(fake_server).oversized(200_000)
    gen = make(fake_server, max_output_bytes=100_000)
    with pytest.raises(MediaTooLarge) as caught:
        await gen.generate(request(params={"size": "256x256"}), store=store)
    assert caught.value.limit_bytes == 100_000
    assert files_in(store_root) == []


async def test_a_failure_after_the_first_image_discards_it(
    fake_server: FakeServer, store: FilesystemAssetStore, store_root: Path
) -> None:
    # Two images, the second larger than the cap: the first must not be left behind.
    small = png_bytes(16, 16)
    big = png_bytes(16, 16) + b"\0" * 5000
    import base64
    import json

    body = {
        "created": 1,
        "data": [
            {"b64_json": base64.b64encode(small).decode()},
            {"b64_json": base64.b64encode(big).decode()},
        ],
    }
    fake_server.fault(raw_body=json.dumps(body).encode(), path="/v1/images")
    gen = make(fake_server, max_output_bytes=len(small) + 100)
    with pytest.raises(MediaTooLarge):
        await gen.generate(request(params={"n": 2}), store=store)
    assert files_in(store_root) == []


# --- the plugin --------------------------------------------------------------------------


def test_plugin_needs_the_key_and_reads_its_options(fake_server: FakeServer) -> None:
    plugin = openai_images.PLUGIN
    assert (plugin.id, plugin.kind) == ("openai_images", MediaKind.IMAGE)
    assert plugin.missing() is None
    with pytest.raises(MissingAPIKeyError) as caught:
        plugin.create(GeneratorContext())
    assert "OPENAI_API_KEY" in str(caught.value)
    gen = plugin.create(
        GeneratorContext(
            options={
                "model": "gpt-image-1.5",
                "base_url": fake_server.openai_base_url,
                "timeout": 3,
                "max_output_bytes": 1234,
            },
            secrets={"OPENAI_API_KEY": SecretStr(KEY)},
        )
    )
    assert gen.info.input_schema["properties"]["model"]["default"] == "gpt-image-1.5"
    assert KEY not in repr(gen)
    for bad in ({"timeout": "soon"}, {"max_output_bytes": True}, {"model": ""}):
        with pytest.raises(ConfigurationError):
            plugin.create(GeneratorContext(options=bad, secrets={"OPENAI_API_KEY": SecretStr(KEY)}))
