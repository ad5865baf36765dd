"""A fast loopback fake of the OpenAI and Anthropic chat endpoints, on raw asyncio protocols.

Run it as its own process (``python -m bench.server``): it prints
``BENCH_SERVER_PORT=<port>`` once listening and exits when its stdin closes (so it
never outlives the harness) or on SIGTERM.

Endpoints (HTTP/1.1, keep-alive, pipelining-safe, ``Content-Length`` or chunked bodies):

* ``POST /v1/chat/completions`` (and ``/chat/completions``): a chat completion, or with
  ``"stream": true`` a chunked SSE stream of 20 text deltas, a usage chunk and ``[DONE]``.
* ``POST /v1/messages``: an Anthropic message, or its SSE event stream.
* ``POST /v1/images/generations``: one ~200 KB ``b64_json`` PNG with usage.
* ``GET /v1/models``: a one-model list. ``GET /_bench/stats``: requests served so far.

The model id picks the reply: ids containing ``bench-json`` get the ~50 KB storyboard
JSON text, anything else the 20-word sentence. Responses are rendered once per
(endpoint, model) and cached, so a request costs a header scan, two regex searches
and one write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
from collections.abc import Callable

from bench import payloads

__all__ = ["BenchServer", "main"]

_MAX_HEADER = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024
_MAX_CACHED_MODELS = 64

_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_STREAM = re.compile(rb'"stream"\s*:\s*true')

_NOT_FOUND = payloads.http_response(
    b'{"error":{"message":"not found","type":"invalid_request_error"}}', status="404 Not Found"
)
_BAD_REQUEST = payloads.http_response(
    b'{"error":{"message":"malformed request","type":"invalid_request_error"}}',
    status="400 Bad Request",
)
_TOO_LARGE = payloads.http_response(
    b'{"error":{"message":"request too large","type":"invalid_request_error"}}',
    status="413 Payload Too Large",
)
_MODELS = payloads.http_response(
    payloads.compact_json(
        {
            "object": "list",
            "data": [
                {"id": payloads.OPENAI_MODEL, "object": "model", "created": 0, "owned_by": "bench"}
            ],
        }
    )
)


class _Replies:
    """Rendered responses, cached per (endpoint, model id, streamed)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bytes, bool], bytes | list[bytes]] = {}
        self._image: bytes | None = None

    def image(self) -> bytes:
        """The images endpoint's answer (rendered once)."""
        if self._image is None:
            self._image = payloads.http_response(payloads.images_response())
        return self._image

    def get(self, endpoint: str, model: bytes, stream: bool) -> bytes | list[bytes]:
        key = (endpoint, model, stream)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._render(endpoint, model.decode("utf-8", "replace"), stream)
            if len(self._cache) < _MAX_CACHED_MODELS:  # bounded: model ids come from clients
                self._cache[key] = cached
        return cached

    @staticmethod
    def _render(endpoint: str, model: str, stream: bool) -> bytes | list[bytes]:
        text = payloads.JSON_REPLY if payloads.JSON_MODEL in model else payloads.REPLY_TEXT
        if endpoint == "openai":
            if stream:
                return payloads.chunked_frames(payloads.openai_stream_frames(model))
            return payloads.http_response(payloads.openai_completion(model, text))
        if stream:
            return payloads.chunked_frames(payloads.anthropic_stream_frames(model))
        return payloads.http_response(payloads.anthropic_message(model, text))


class _Request:
    __slots__ = ("body", "close", "method", "path")

    def __init__(self, method: bytes, path: bytes, body: bytes, close: bool) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.close = close


def _parse_chunked(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``start``; ``None`` until it is complete."""
    body = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)  # skip (ignored) trailers
            return (bytes(body), end + 4) if end >= 0 else None
        if len(buf) < pos + size + 2:
            return None
        body += buf[pos : pos + size]
        if len(body) > _MAX_BODY:
            raise ValueError("body too large")
        pos += size + 2


def _next_request(buf: bytearray) -> tuple[_Request, int] | None:
    """Parse one request from the front of ``buf``; ``None`` until one is complete.

    Raises:
        ValueError: The request is malformed or too large.
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > _MAX_HEADER:
            raise ValueError("headers too large")
        return None
    lines = bytes(buf[:end]).split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ValueError("bad request line")
    method, path, version = parts
    length = 0
    chunked = False
    close = version == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        elif lname == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif lname == b"connection":
            close = value.strip().lower() == b"close"
    start = end + 4
    if chunked:
        parsed = _parse_chunked(buf, start)
        if parsed is None:
            return None
        body, consumed = parsed
    else:
        if length < 0 or length > _MAX_BODY:
            raise ValueError("body too large")
        if len(buf) < start + length:
            return None
        body, consumed = bytes(buf[start : start + length]), start + length
    return _Request(method, path.split(b"?", 1)[0], body, close), consumed


class _Connection(asyncio.Protocol):
    """One client connection: parse requests in order, answer each from the cache."""

    def __init__(self, server: BenchServer) -> None:
        self._server = server
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._streaming = False
        self._closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._streaming:
            self._drain_requests()

    def _drain_requests(self) -> None:
        transport = self._transport
        assert transport is not None
        while not self._streaming and not self._closed:
            try:
                parsed = _next_request(self._buf)
            except ValueError as exc:
                transport.write(_TOO_LARGE if "large" in str(exc) else _BAD_REQUEST)
                transport.close()
                self._closed = True
                return
            if parsed is None:
                return
            request, consumed = parsed
            del self._buf[:consumed]
            reply = self._server.answer(request)
            if isinstance(reply, bytes):
                transport.write(reply)
                if request.close:
                    transport.close()
                    self._closed = True
            else:
                self._streaming = True
                task = asyncio.get_running_loop().create_task(self._stream(reply, request.close))
                self._server.track(task)

    async def _stream(self, writes: list[bytes], close: bool) -> None:
        transport = self._transport
        assert transport is not None
        for i, chunk in enumerate(writes):
            if self._closed:
                return
            transport.write(chunk)
            if i < len(writes) - 1:
                # Yield between events: each one leaves in its own send(), like a real
                # token stream, so "first chunk" and "total" differ on the client.
                await asyncio.sleep(0)
        self._streaming = False
        if close:
            transport.close()
            self._closed = True
            return
        if self._buf:
            self._drain_requests()


class BenchServer:
    """The loopback server; :meth:`start` binds, :meth:`serve_until` runs it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests = 0
        self._replies = _Replies()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def answer(self, request: _Request) -> bytes | list[bytes]:
        """The rendered reply for one request (bytes, or the writes of a stream)."""
        self.requests += 1
        path = request.path
        if request.method == b"POST":
            if path == b"/v1/images/generations":
                return self._replies.image()
            if path in (b"/v1/chat/completions", b"/chat/completions"):
                endpoint = "openai"
            elif path == b"/v1/messages":
                endpoint = "anthropic"
            else:
                return _NOT_FOUND
            model = _MODEL.search(request.body)
            if model is None:
                return _BAD_REQUEST
            return self._replies.get(endpoint, model.group(1), bool(_STREAM.search(request.body)))
        if request.method == b"GET":
            if path == b"/v1/models":
                return _MODELS
            if path == b"/_bench/stats":
                return payloads.http_response(json.dumps({"requests": self.requests}).encode())
        return _NOT_FOUND

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a streaming task until it finishes."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> int:
        """Bind and listen; returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=1024, reuse_address=True
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        return self.port

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then close every connection."""
        assert self._server is not None
        async with self._server:
            await stop.wait()
        for task in list(self._tasks):
            task.cancel()


async def _watch_stdin(on_eof: Callable[[], None]) -> None:
    """Call ``on_eof`` when stdin closes (the parent exited or closed our pipe)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    with contextlib.suppress(OSError, ValueError):
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while await reader.read(4096):
            pass
    on_eof()


async def _serve(host: str, port: int, watch_stdin: bool) -> None:
    server = BenchServer(host, port)
    bound = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = loop.create_task(_watch_stdin(stop.set)) if watch_stdin else None
    print(f"BENCH_SERVER_PORT={bound}", flush=True)
    await server.serve_until(stop)
    if watcher is not None:
        watcher.cancel()


def main(argv: list[str] | None = None) -> int:
    """Run the server until stdin closes or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stdin-watch", action="store_true", help="ignore stdin EOF")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the bench server listens on loopback only")
    asyncio.run(_serve(args.host, args.port, not args.no_stdin_watch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
