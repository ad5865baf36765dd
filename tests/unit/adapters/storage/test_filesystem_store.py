"""FilesystemAssetStore: streamed atomic writes, safe names, sniffed types, nothing left behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from inference_core.adapters.storage import FilesystemAssetStore, safe_name
from inference_core.domain.errors import AssetStoreError, MediaTooLarge, UnexpectedMediaType
from inference_core.domain.media import MediaKind


def png_bytes(width: int = 8, height: int = 4) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def visible_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_file())


def leftovers(root: Path) -> list[str]:
    scratch = root / ".scratch"
    return sorted(p.name for p in scratch.iterdir()) if scratch.exists() else []


async def test_save_bytes_describes_the_file(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path)
    data = png_bytes()
    asset = await store.save(data, name="card", kind=MediaKind.IMAGE)
    path = Path(asset.path)
    assert path == tmp_path.resolve() / "card.png"
    assert path.read_bytes() == data
    assert asset.mime_type == "image/png"
    assert asset.size_bytes == len(data)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    with Image.open(path) as image:
        assert image.size == (8, 4)
    assert leftovers(tmp_path) == []


async def test_streamed_chunks_are_joined_in_order(tmp_path: Path) -> None:
    data = png_bytes(64, 64)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 7):
            yield data[start : start + 7]

    asset = await FilesystemAssetStore(tmp_path).save(chunks(), name="x", kind=MediaKind.IMAGE)
    assert Path(asset.path).read_bytes() == data


async def test_existing_names_are_never_overwritten(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path)
    first, second, third = await asyncio.gather(
        *(store.save(png_bytes(4 + i, 4), name="same", kind=MediaKind.IMAGE) for i in range(3))
    )
    names = {Path(a.path).name for a in (first, second, third)}
    assert names == {"same.png", "same-1.png", "same-2.png"}
    sizes = set()
    for asset in (first, second, third):
        with Image.open(asset.path) as image:
            sizes.add(image.size)
    assert len(sizes) == 3


async def test_overwrite_replaces_when_asked(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path, overwrite=True)
    await store.save(png_bytes(4, 4), name="same", kind=MediaKind.IMAGE)
    asset = await store.save(png_bytes(9, 9), name="same", kind=MediaKind.IMAGE)
    assert visible_files(tmp_path) == ["same.png"]
    with Image.open(asset.path) as image:
        assert image.size == (9, 9)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs/path", "..", "a/b\\c", ".hidden", "", "\x00evil"]
)
async def test_unsafe_names_stay_inside_the_root(tmp_path: Path, name: str) -> None:
    root = tmp_path / "store"
    asset = await FilesystemAssetStore(root).save(png_bytes(), name=name, kind=MediaKind.IMAGE)
    path = Path(asset.path)
    assert path.parent == root.resolve()
    assert not path.name.startswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_safe_name_is_bounded() -> None:
    assert len(safe_name("x" * 1000)) <= 120
    assert safe_name("héllo wörld") == "h_llo_w_rld"


async def test_too_large_leaves_nothing(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path, max_bytes=100)
    with pytest.raises(MediaTooLarge) as caught:
        await store.save(png_bytes(200, 200), name="big", kind=MediaKind.IMAGE)
    assert caught.value.limit_bytes == 100
    assert visible_files(tmp_path) == []
    assert leftovers(tmp_path) == []


async def test_wrong_type_leaves_nothing(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path)
    with pytest.raises(UnexpectedMediaType) as caught:
        await store.save(b"<html>rate limited</html>", name="page", kind=MediaKind.IMAGE)
    assert caught.value.found is None
    with pytest.raises(UnexpectedMediaType) as caught:
        await store.save(png_bytes(), name="png-as-audio", kind=MediaKind.AUDIO)
    assert caught.value.found == "image/png"
    assert visible_files(tmp_path) == []
    assert leftovers(tmp_path) == []


async def test_a_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield png_bytes()[:20]
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        await FilesystemAssetStore(tmp_path).save(broken(), name="cut", kind=MediaKind.IMAGE)
    assert visible_files(tmp_path) == []
    assert leftovers(tmp_path) == []


async def test_commit_checks_and_moves_a_scratch_file(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path)
    scratch = store.scratch_path(".png")
    Image.new("RGB", (5, 6)).save(scratch, "PNG")
    asset = await store.commit(scratch, name="drawn", kind=MediaKind.IMAGE)
    assert Path(asset.path).name == "drawn.png"
    assert not scratch.exists()

    bad = store.scratch_path(".png")
    bad.write_bytes(b"not an image")
    with pytest.raises(UnexpectedMediaType):
        await store.commit(bad, name="bad", kind=MediaKind.IMAGE)
    assert not bad.exists()
    assert visible_files(tmp_path) == ["drawn.png"]


async def test_commit_refuses_files_outside_its_scratch(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(png_bytes())
    with pytest.raises(AssetStoreError, match="not a scratch file"):
        await FilesystemAssetStore(tmp_path / "s").commit(outside, name="x", kind=MediaKind.IMAGE)


async def test_discard_removes_only_its_own_files(tmp_path: Path) -> None:
    store = FilesystemAssetStore(tmp_path / "s")
    asset = await store.save(png_bytes(), name="gone", kind=MediaKind.IMAGE)
    await store.discard(asset)
    assert not Path(asset.path).exists()
    foreign = tmp_path / "keep.png"
    foreign.write_bytes(png_bytes())
    await store.discard(asset.model_copy(update={"path": str(foreign)}))
    assert foreign.exists()


@pytest.mark.parametrize("via", ["save", "commit"])
async def test_a_cancel_during_placement_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    # The rename runs in a worker thread that a cancel cannot stop: hold it there,
    # cancel the caller, then let it finish; the placed file must be deleted.
    store = FilesystemAssetStore(tmp_path)
    entered, release = threading.Event(), threading.Event()
    claim = store._claim

    def slow_claim(stem: str, extension: str, scratch: Path) -> Path:
        entered.set()
        release.wait(10)
        return claim(stem, extension, scratch)

    monkeypatch.setattr(store, "_claim", slow_claim)
    if via == "save":
        pending = store.save(png_bytes(), name="frame", kind=MediaKind.IMAGE)
    else:
        scratch = store.scratch_path(".png")
        scratch.write_bytes(png_bytes())
        pending = store.commit(scratch, name="frame", kind=MediaKind.IMAGE)
    task = asyncio.create_task(pending)
    await asyncio.to_thread(entered.wait, 10)
    task.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert visible_files(tmp_path) == [] and leftovers(tmp_path) == []
