"""ResultDownloader: third-party result URLs fetched safely into the asset store."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inference_core.adapters.media.download import DownloadPolicy, ResultDownloader, check_address
from inference_core.adapters.storage.filesystem import FilesystemAssetStore
from inference_core.domain.errors import (
    DownloadRefused,
    InvalidResponse,
    MediaTooLarge,
    ProviderUnavailable,
    UnexpectedMediaType,
)
from inference_core.domain.media import MediaKind
from tests.servers import FakeServer
from tests.servers.queue_state import JobPlan, QueueJob, QueueScript, image_bytes, video_bytes
from tests.unit.adapters.media.queued_support import (
    LOOPBACK,
    fake_server,
    fake_server_session,
    files_in,
    queue,
)

__all__ = ["fake_server", "fake_server_session", "queue"]


@pytest.fixture
def store(tmp_path: Path) -> FilesystemAssetStore:
    return FilesystemAssetStore(tmp_path / "assets")


def serve(server: FakeServer, script: QueueScript, data: bytes, mime: str, **plan: object) -> str:
    job = QueueJob(id="j", protocol="fal", model="m", app="m", arguments={},
                   plan=JobPlan(**plan))  # type: ignore[arg-type]  # fmt: skip
    token = script.add_file(job, data, mime)
    return f"{server.base_url}/queue-files/{token}"


_OPEN: list[ResultDownloader] = []


def downloader(**policy: object) -> ResultDownloader:
    policy.setdefault("allow_networks", LOOPBACK)
    built = ResultDownloader(DownloadPolicy(**policy), provider="fal")  # type: ignore[arg-type]
    _OPEN.append(built)
    return built


@pytest.fixture(autouse=True)
async def _close_downloaders() -> AsyncIterator[None]:
    yield
    while _OPEN:
        await _OPEN.pop().aclose()


@pytest.mark.parametrize(
    ("address", "verdict"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_check_address(address: str, verdict: str | None) -> None:
    reason = check_address(address)
    assert reason is None if verdict is None else verdict in (reason or "")


def test_allowed_networks_open_only_themselves() -> None:
    import ipaddress

    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    assert check_address("127.0.0.1", allowed) is None
    assert check_address("10.0.0.1", allowed) is not None


async def test_a_real_file_streams_into_the_store(
    fake_server: FakeServer, queue: QueueScript, store: FilesystemAssetStore
) -> None:
    clip = video_bytes(1.0)
    url = serve(fake_server, queue, clip, "video/mp4")
    asset = await downloader().save(url, store=store, name="clip", kind=MediaKind.VIDEO)
    assert Path(asset.path).read_bytes() == clip and asset.mime_type == "video/mp4"
    sent = fake_server.requests_for("/queue-files/")[0]
    assert "authorization" not in sent.headers  # the provider's key never goes to file hosts


async def test_loopback_is_refused_unless_allowed(
    fake_server: FakeServer, queue: QueueScript, store: FilesystemAssetStore
) -> None:
    url = serve(fake_server, queue, image_bytes(), "image/png")
    with pytest.raises(DownloadRefused, match="loopback"):
        await downloader(allow_networks=()).save(url, store=store, name="i", kind=MediaKind.IMAGE)
    localhost = url.replace("127.0.0.1", "localhost")
    with pytest.raises(DownloadRefused, match="loopback"):
        await downloader(allow_networks=()).save(
            localhost, store=store, name="i", kind=MediaKind.IMAGE
        )
    assert queue.downloads == 0


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://example.com/x.png", "scheme 'ftp'"),
        ("http://10.0.0.7/x.png", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://user:pw@127.0.0.1/x.png", "credentials"),
    ],
)
async def test_unsafe_urls_are_refused_before_any_connection(
    store: FilesystemAssetStore, url: str, match: str
) -> None:
    with pytest.raises(DownloadRefused, match=match) as caught:
        await downloader().save(url, store=store, name="x", kind=MediaKind.IMAGE)
    assert "pw" not in str(caught.value)


async def test_declared_type_size_and_bytes_are_checked(
    fake_server: FakeServer, queue: QueueScript, store: FilesystemAssetStore
) -> None:
    png = image_bytes()
    html = b"<!DOCTYPE html><html></html>"
    with pytest.raises(UnexpectedMediaType, match="text/html"):
        await downloader().save(
            serve(fake_server, queue, html, "text/html"), store=store, name="a",
            kind=MediaKind.IMAGE,
        )  # fmt: skip
    with pytest.raises(UnexpectedMediaType, match="image"):
        await downloader().save(
            serve(fake_server, queue, html, "image/png"), store=store, name="b",
            kind=MediaKind.IMAGE,
        )  # fmt: skip
    with pytest.raises(MediaTooLarge):
        await downloader(max_bytes=len(png) - 1).save(
            serve(fake_server, queue, png, "image/png"), store=store, name="c",
            kind=MediaKind.IMAGE,
        )  # fmt: skip
    octet = serve(fake_server, queue, png, "application/octet-stream")
    asset = await downloader().save(octet, store=store, name="d", kind=MediaKind.IMAGE)
    assert asset.mime_type == "image/png"  # a neutral type: the bytes decide
    assert [p.name for p in files_in(store.root) if ".scratch" not in p.parts] == ["d.png"]


async def test_redirects_are_followed_checked_and_bounded(
    fake_server: FakeServer, queue: QueueScript, store: FilesystemAssetStore
) -> None:
    png = image_bytes()
    ok = serve(fake_server, queue, png, "image/png", download="redirect")
    asset = await downloader().save(ok, store=store, name="r", kind=MediaKind.IMAGE)
    assert Path(asset.path).read_bytes() == png
    loop = serve(fake_server, queue, png, "image/png", download="redirect_loop")
    with pytest.raises(DownloadRefused, match="more than 3 redirects"):
        await downloader(max_redirects=3).save(loop, store=store, name="l", kind=MediaKind.IMAGE)
    private = serve(fake_server, queue, png, "image/png", download="redirect_private")
    with pytest.raises(DownloadRefused, match=r"169\.254\.169\.254"):
        await downloader().save(private, store=store, name="p", kind=MediaKind.IMAGE)


async def test_http_errors_map_to_retryable_or_final(
    fake_server: FakeServer, queue: QueueScript, store: FilesystemAssetStore
) -> None:
    url = serve(fake_server, queue, image_bytes(), "image/png")
    queue.fault("download", status=502)
    with pytest.raises(ProviderUnavailable) as busy:
        await downloader().save(url, store=store, name="e", kind=MediaKind.IMAGE)
    assert busy.value.retryable and busy.value.status == 502
    missing = f"{fake_server.base_url}/queue-files/nope"
    with pytest.raises(InvalidResponse, match="404") as gone:
        await downloader().save(missing, store=store, name="g", kind=MediaKind.IMAGE)
    assert gone.value.retryable is False


async def test_data_urls_are_decoded_without_the_network(store: FilesystemAssetStore) -> None:
    png = image_bytes()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    asset = await downloader().save(url, store=store, name="inline", kind=MediaKind.IMAGE)
    assert Path(asset.path).read_bytes() == png
    with pytest.raises(UnexpectedMediaType):
        await downloader().save(
            "data:text/html;base64,PGh0bWw+", store=store, name="x", kind=MediaKind.IMAGE
        )
