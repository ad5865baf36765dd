"""The floor: a minimal HTTP/1.1 keep-alive client on asyncio streams.

It does the least any client must do (write a request, read status, headers and a
``Content-Length`` or chunked body, decode JSON), so its numbers show what the
loopback server and the event loop cost on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["RawHTTPClient", "RawHTTPError"]


class RawHTTPError(RuntimeError):
    """The server answered with a non-200 status or broke the framing."""


class RawHTTPClient:
    """A pool of up to ``max_connections`` keep-alive connections to one host."""

    def __init__(self, host: str, port: int, *, max_connections: int = 100) -> None:
        self._host = host
        self._port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(max_connections)

    @staticmethod
    def request_bytes(
        host: str, port: int, path: str, body: bytes, headers: dict[str, str]
    ) -> bytes:
        """Render a POST request once; callers reuse the bytes for every call."""
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode("ascii") + body

    async def _acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self._slots.acquire()
        if self._idle:
            return self._idle.pop()
        try:
            return await asyncio.open_connection(self._host, self._port)
        except BaseException:
            self._slots.release()
            raise

    def _release(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], *, reusable: bool
    ) -> None:
        if reusable:
            self._idle.append(conn)
        else:
            conn[1].close()
        self._slots.release()

    @staticmethod
    async def _head(reader: asyncio.StreamReader) -> tuple[int, bool]:
        """Read status line and headers; return (content length or -1, chunked)."""
        head = await reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        if status != b"200":
            raise RawHTTPError(f"status {status.decode(errors='replace')}")
        length = -1
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length < 0 and not chunked:
            raise RawHTTPError("response has neither Content-Length nor chunked encoding")
        return length, chunked

    async def post_json(self, request: bytes) -> Any:
        """Send a pre-rendered request and return its decoded JSON body."""
        conn = await self._acquire()
        reusable = False
        try:
            reader, writer = conn
            writer.write(request)
            length, chunked = await self._head(reader)
            if chunked:
                body = b"".join([chunk async for chunk in self._chunks(reader)])
            else:
                body = await reader.readexactly(length)
            reusable = True
            return json.loads(body)
        finally:
            self._release(conn, reusable=reusable)

    async def post_stream(self, request: bytes, marker: bytes) -> float:
        """Send a streaming request, read every chunk; return when ``marker`` first arrived.

        Returns:
            ``time.perf_counter()`` at the first chunk containing ``marker`` (a text delta).
        """
        conn = await self._acquire()
        reusable = False
        first = 0.0
        try:
            reader, writer = conn
            writer.write(request)
            _, chunked = await self._head(reader)
            if not chunked:
                raise RawHTTPError("expected a chunked event stream")
            async for chunk in self._chunks(reader):
                if not first and marker in chunk:
                    first = time.perf_counter()
            reusable = True
        finally:
            self._release(conn, reusable=reusable)
        if not first:
            raise RawHTTPError("the stream carried no text delta")
        return first

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # end of (empty) trailers
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2]

    async def aclose(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
