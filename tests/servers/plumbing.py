"""aiohttp plumbing shared by the protocol handlers: recording, faults, streaming."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from aiohttp import web

from tests.servers.errors import Protocol, error_body
from tests.servers.state import CHAT_PATHS, Fault, RecordedRequest, ServerState

STATE_KEY = web.AppKey("fake_server_state", ServerState)
CONTROL_PREFIX = "/_fake/"

# The middleware, the handler and the response-prepare signal of one request all
# run in the same task, so a context variable carries the per-request data
# without relying on request storage keys (which differ across aiohttp versions).
_CURRENT: ContextVar[tuple[RecordedRequest, Fault | None]] = ContextVar("fake_current")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def state_of(request: web.Request) -> ServerState:
    """Return the server state attached to the app.

    Args:
        request: Current request.

    Returns:
        The shared :class:`ServerState`.
    """
    return request.app[STATE_KEY]


def recorded(request: web.Request) -> RecordedRequest:
    """Return the recording of the current request.

    Args:
        request: Current request.

    Returns:
        The :class:`RecordedRequest` built by the middleware.
    """
    del request
    return _CURRENT.get()[0]


def fault_of(request: web.Request) -> Fault | None:
    """Return the fault assigned to the current request, if any.

    Args:
        request: Current request.

    Returns:
        The fault or ``None``.
    """
    del request
    current = _CURRENT.get(None)
    return current[1] if current is not None else None


def protocol_for(path: str, headers: Mapping[str, str]) -> Protocol:
    """Guess which provider protocol a path belongs to.

    Args:
        path: Request path.
        headers: Lower-case request headers (``anthropic-version`` decides
            ``/v1/models``).

    Returns:
        The protocol name.
    """
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/api/") or path == "/":
        return "ollama"
    if path.startswith("/v1/models") and "anthropic-version" in headers:
        return "anthropic"
    return "openai"


def json_bytes(data: Any) -> bytes:
    """Serialise compactly to UTF-8 JSON.

    Args:
        data: JSON-serialisable value.

    Returns:
        The encoded bytes.
    """
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(data: Any, status: int = 200) -> web.Response:
    """Build a JSON response.

    Args:
        data: Body.
        status: HTTP status.

    Returns:
        The response.
    """
    return web.Response(body=json_bytes(data), status=status, content_type="application/json")


def error_response(
    protocol: Protocol, status: int, message: str | None = None, body: Any | None = None
) -> web.Response:
    """Build a provider-shaped error response.

    Args:
        protocol: Provider shape.
        status: HTTP status.
        message: Message for the default body.
        body: Explicit body overriding the default.

    Returns:
        The response.
    """
    data = body if body is not None else error_body(protocol, status, message)
    return json_response(data, status)


def abort_connection(request: web.Request) -> None:
    """Close the TCP connection abruptly (no HTTP terminator).

    Args:
        request: Current request.
    """
    transport = request.transport
    if transport is not None:
        transport.abort()


class _Dropped(web.StreamResponse):
    """Response placeholder for an already aborted connection (writes nothing)."""

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def dropped(request: web.Request) -> web.StreamResponse:
    """Abort the connection and return a response object aiohttp will not write.

    Args:
        request: Current request.

    Returns:
        A placeholder response.
    """
    abort_connection(request)
    return _Dropped()


def is_chat(method: str, path: str) -> bool:
    """Tell whether a request is a chat request (eligible for random faults).

    Args:
        method: HTTP method.
        path: Request path.

    Returns:
        True for POSTs to a chat endpoint.
    """
    return method == "POST" and path in CHAT_PATHS


@web.middleware
async def fake_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request, then apply latency and any pre-response fault.

    Args:
        request: Current request.
        handler: Next handler.

    Returns:
        The response.
    """
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    state = state_of(request)
    raw = await request.read()
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
    headers = {k.lower(): v for k, v in request.headers.items()}
    rec = RecordedRequest(request.method, request.path, headers, body, raw, dict(request.query))
    state._record(rec)
    chat = is_chat(request.method, request.path)
    fault = state._take_fault(request.path, raw, body, chat)
    _CURRENT.set((rec, fault))
    if chat and state.latency > 0:
        await asyncio.sleep(state.latency)
    if fault is not None:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            return dropped(request)
        protocol = protocol_for(request.path, headers)
        if fault.status is not None and fault.raw_body is None:
            return error_response(protocol, fault.status, fault.message, fault.body)
        if fault.raw_body is not None:
            return web.Response(
                body=fault.raw_body,
                status=fault.status or 200,
                content_type=fault.content_type or "application/json",
            )
    return await handler(request)


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Add fault headers and provider request-id headers to every response.

    Args:
        request: Current request.
        response: Response being prepared.
    """
    if request.path.startswith(CONTROL_PREFIX):
        return
    rid = uuid.uuid4().hex
    if protocol_for(request.path, request.headers) == "anthropic":
        response.headers.setdefault("request-id", f"req_{rid}")
    else:
        response.headers.setdefault("x-request-id", f"req_{rid}")
    fault = fault_of(request)
    if fault is not None:
        for name, value in fault.headers.items():
            response.headers[name] = value


async def send_json_with_fault(
    request: web.Request, protocol: Protocol, data: Any
) -> web.StreamResponse | None:
    """Answer a non-streaming body, honouring cut/error stream faults.

    ``cut_after_chunks`` sends half of the body (with the full
    ``Content-Length``) and aborts; ``error_event_after_chunks`` answers 500.

    Args:
        request: Current request.
        protocol: Provider shape for errors.
        data: The JSON body to send.

    Returns:
        The response, or ``None`` when the body was sent completely via the
        returned normal response (caller should then mark it served).
    """
    fault = fault_of(request)
    if fault is None:
        return None
    if fault.error_event_after_chunks is not None:
        return error_response(protocol, 500, fault.message or "Overloaded")
    if fault.drip_seconds > 0:
        payload = json_bytes(data)
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        resp.content_length = len(payload)
        await resp.prepare(request)
        step = max(len(payload) // 10, 1)
        for start in range(0, len(payload), step):
            await resp.write(payload[start : start + step])
            await asyncio.sleep(fault.drip_seconds / 10)
        await resp.write_eof()
        return resp
    if fault.cut_after_chunks is not None:
        payload = json_bytes(data)
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        resp.content_length = len(payload)
        await resp.prepare(request)
        await resp.write(payload[: len(payload) // 2])
        return dropped(request) if not fault.clean_cut else resp
    return None


class FaultyStream:
    """A streamed response that applies cut/error faults after N content chunks."""

    def __init__(
        self,
        request: web.Request,
        content_type: str,
        error_frame: Callable[[str], bytes],
    ) -> None:
        """Create the stream (not yet prepared).

        Args:
            request: Current request.
            content_type: Response content type (SSE or NDJSON).
            error_frame: Builds the protocol's mid-stream error frame from a message.
        """
        self.request = request
        self.fault = fault_of(request)
        self.response = web.StreamResponse(status=200)
        self.response.content_type = content_type
        self.response.headers["Cache-Control"] = "no-cache"
        self._error_frame = error_frame
        self._delay = state_of(request).chunk_delay
        self.content_sent = 0
        self.broken = False

    async def start(self) -> None:
        """Send the status line and headers."""
        await self.response.prepare(self.request)

    def _fault_due(self) -> str | None:
        f = self.fault
        if f is None:
            return None
        if f.cut_after_chunks is not None and self.content_sent >= f.cut_after_chunks:
            return "cut"
        if (
            f.error_event_after_chunks is not None
            and self.content_sent >= f.error_event_after_chunks
        ):
            return "error"
        return None

    async def send(self, data: bytes, kind: str = "content") -> bool:
        """Write one frame, or fire the fault instead when it is due.

        Args:
            data: Encoded frame.
            kind: ``pre`` (preamble, never faulted), ``content`` (counted) or
                ``post`` (terminator frames).

        Returns:
            False when the stream was broken by a fault or the client left;
            the caller must stop sending.
        """
        if self.broken:
            return False
        due = None if kind == "pre" else self._fault_due()
        try:
            if due == "cut":
                self.broken = True
                assert self.fault is not None
                if self.fault.clean_cut:
                    await self.response.write_eof()
                else:
                    abort_connection(self.request)
                return False
            if due == "error":
                self.broken = True
                assert self.fault is not None
                await self.response.write(self._error_frame(self.fault.message or "Overloaded"))
                await self.response.write_eof()
                return False
            await self.response.write(data)
        except (ConnectionError, RuntimeError):
            self.broken = True
            return False
        if kind == "content":
            self.content_sent += 1
            if self._delay > 0:
                await asyncio.sleep(self._delay)
        return True

    async def finish(self) -> bool:
        """End the HTTP body cleanly.

        Returns:
            True when the stream completed without a fault.
        """
        if self.broken:
            return False
        try:
            await self.response.write_eof()
        except (ConnectionError, RuntimeError):
            return False
        return True

    def result(self) -> web.StreamResponse:
        """Return the response object to hand back to aiohttp.

        Returns:
            The stream response, or a no-op placeholder if the connection was
            aborted.
        """
        f = self.fault
        if self.broken and f is not None and f.cut_after_chunks is not None and not f.clean_cut:
            return _Dropped()
        return self.response
