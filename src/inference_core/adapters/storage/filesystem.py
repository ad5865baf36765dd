"""A local-directory :class:`~inference_core.ports.AssetStore`: streamed, atomic, contained.

How a file is written: chunks go to a hidden temporary file inside the root
(``.scratch/``, same filesystem, so the final ``os.replace`` is atomic), the
sha256 and size are computed while writing, the mime type is sniffed from the
first bytes, and only a complete, checked file is renamed to its final name.
Any failure - too large, wrong type, I/O error, cancellation - removes the
temporary file, so a reader never sees a partial asset.

Names come from ids and prompts, i.e. from untrusted data: every name is
reduced to ``[A-Za-z0-9._-]`` (no separators, no leading dots), capped in
length, and the final path is checked to lie inside the root. An existing
file is never overwritten unless the store was built with ``overwrite=True``;
``name-1.png``, ``name-2.png``... are used instead (claimed with ``O_EXCL``-style
hard links, so two concurrent writers cannot take the same name).

Atomic here means "never seen half-written"; files are not fsync'd (a power
cut may lose a just-written asset, never expose a torn one under its name).
Writes to the scratch file are plain buffered writes from the event loop: they
land in the page cache and cost microseconds per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterable, Callable
from pathlib import Path

from inference_core.domain.errors import AssetStoreError, MediaTooLarge, UnexpectedMediaType
from inference_core.domain.media import (
    EXTENSIONS,
    SNIFF_BYTES,
    MediaKind,
    StoredAsset,
    kind_of_mime,
    sniff_mime,
)

__all__ = ["FilesystemAssetStore", "safe_name"]

_SCRATCH = ".scratch"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 120
_CHUNK = 1 << 20


def safe_name(name: str) -> str:
    """``name`` reduced to a plain file-name stem: no separators, no leading dots, bounded."""
    stem = _UNSAFE.sub("_", name).strip("._-")[:_MAX_NAME]
    return stem or "asset"


class FilesystemAssetStore:
    """Stores generated media under ``root``.

    Args:
        root: The directory files are written to (created when missing).
        overwrite: Replace an existing file of the same name instead of numbering.
        max_bytes: Default size cap for every file (``None``: no cap); a call's
            own ``max_bytes`` wins.
    """

    def __init__(
        self, root: str | Path, *, overwrite: bool = False, max_bytes: int | None = None
    ) -> None:
        self.root = Path(root).resolve()
        self.overwrite = overwrite
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"FilesystemAssetStore({str(self.root)!r})"

    # -- the port -----------------------------------------------------------

    async def save(
        self,
        content: bytes | AsyncIterable[bytes],
        *,
        name: str,
        kind: MediaKind,
        max_bytes: int | None = None,
    ) -> StoredAsset:
        """Stream ``content`` to a new file; see the module docstring for the guarantees."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        scratch = self.scratch_path(".part")
        try:
            digest, size, head = await self._write(scratch, content, name, limit)
            return await self._placed(lambda: self._place(scratch, name, kind, digest, size, head))
        finally:
            await asyncio.to_thread(scratch.unlink, missing_ok=True)

    def scratch_path(self, suffix: str) -> Path:
        """A fresh, unused path in the store's scratch directory."""
        directory = self.root / _SCRATCH
        directory.mkdir(parents=True, exist_ok=True)
        extension = f".{safe_name(suffix.lstrip('.'))}" if suffix.strip(".") else ""
        return directory / f"{uuid.uuid4().hex}{extension}"

    async def commit(
        self, scratch: Path, *, name: str, kind: MediaKind, max_bytes: int | None = None
    ) -> StoredAsset:
        """Check a finished scratch file and rename it into place (scratch removed either way)."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        return await self._placed(lambda: self._commit_now(scratch, name, kind, limit))

    async def discard(self, asset: StoredAsset) -> None:
        """Delete ``asset``'s file if it is inside this store."""
        await asyncio.to_thread(self._discard_now, Path(asset.path))

    # -- internals ----------------------------------------------------------

    async def _placed(self, place: Callable[[], StoredAsset]) -> StoredAsset:
        """Run ``place`` in a worker thread; a cancel waits for it and deletes what it placed.

        A thread cannot be stopped: cancelling the wait alone would let the file
        land after the caller gave up, owned by nobody.
        """
        placing = asyncio.ensure_future(asyncio.to_thread(place))
        try:
            return await asyncio.shield(placing)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                asset = await asyncio.shield(placing)
                await asyncio.shield(asyncio.to_thread(self._discard_now, Path(asset.path)))
            raise

    async def _write(
        self,
        scratch: Path,
        content: bytes | AsyncIterable[bytes],
        name: str,
        limit: int | None,
    ) -> tuple[str, int, bytes]:
        digest = hashlib.sha256()
        size = 0
        head = b""
        with scratch.open("wb") as out:
            async for chunk in _chunks(content):
                size += len(chunk)
                if limit is not None and size > limit:
                    raise MediaTooLarge(name, limit)
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest(), size, head

    def _commit_now(
        self, scratch: Path, name: str, kind: MediaKind, limit: int | None
    ) -> StoredAsset:
        try:
            if scratch.resolve().parent != (self.root / _SCRATCH).resolve():
                raise AssetStoreError(f"{scratch.name!r} is not a scratch file of this store")
            digest, size, head = _hash_file(scratch, name, limit)
            return self._place(scratch, name, kind, digest, size, head)
        finally:
            scratch.unlink(missing_ok=True)

    def _discard_now(self, path: Path) -> None:
        resolved = path.resolve()
        if resolved.is_relative_to(self.root):
            resolved.unlink(missing_ok=True)

    def _place(
        self, scratch: Path, name: str, kind: MediaKind, digest: str, size: int, head: bytes
    ) -> StoredAsset:
        mime = sniff_mime(head)
        if mime == "video/mp4" and kind is MediaKind.AUDIO:
            mime = "audio/mp4"  # ISO BMFF is either; the probe checks there is audio in it
        if mime is None or kind_of_mime(mime) is not kind:
            raise UnexpectedMediaType(name, kind.value, mime)
        final = self._claim(safe_name(name), EXTENSIONS[mime], scratch)
        return StoredAsset(path=str(final), mime_type=mime, size_bytes=size, sha256=digest)

    def _claim(self, stem: str, extension: str, scratch: Path) -> Path:
        """Move ``scratch`` to a free final name (or over the old one when overwriting)."""
        self.root.mkdir(parents=True, exist_ok=True)
        candidate = self._inside(f"{stem}{extension}")
        if self.overwrite:
            os.replace(scratch, candidate)
            return candidate
        number = 0
        while True:
            try:
                # link() fails if the name exists: an atomic "create if absent".
                os.link(scratch, candidate)
            except FileExistsError:
                number += 1
                candidate = self._inside(f"{stem}-{number}{extension}")
                continue
            return candidate

    def _inside(self, file_name: str) -> Path:
        path = (self.root / file_name).resolve()
        if path.parent != self.root:
            raise AssetStoreError(f"refusing to write {file_name!r} outside the store's root")
        return path


async def _chunks(content: bytes | AsyncIterable[bytes]) -> AsyncIterable[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        data = memoryview(content)
        for start in range(0, len(data), _CHUNK):
            yield bytes(data[start : start + _CHUNK])
        return
    async for chunk in content:
        if chunk:
            yield bytes(chunk)


def _hash_file(path: Path, name: str, limit: int | None) -> tuple[str, int, bytes]:
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise MediaTooLarge(name, limit)
    digest = hashlib.sha256()
    with path.open("rb") as source:
        head = source.read(SNIFF_BYTES)
        digest.update(head)
        while block := source.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest(), size, head
