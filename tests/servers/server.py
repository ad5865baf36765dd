"""The fake server harness: one aiohttp app serving OpenAI, Anthropic and Ollama."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from dataclasses import asdict, fields
from types import TracebackType

from aiohttp import web

from tests.servers import anthropic_proto, media_proto, ollama_proto, openai_proto, queue_proto
from tests.servers.errors import PROTOCOLS, Protocol
from tests.servers.plumbing import (
    CONTROL_PREFIX,
    STATE_KEY,
    fake_middleware,
    json_response,
    on_prepare,
    state_of,
)
from tests.servers.state import Fault, ServerState

_SHUTDOWN_TIMEOUT = 0.5
_PROTOCOLS_KEY = web.AppKey("fake_server_protocols", tuple)


async def _models(request: web.Request) -> web.StreamResponse:
    """Dispatch ``GET /v1/models`` on the ``anthropic-version`` header."""
    if "anthropic-version" in request.headers and "anthropic" in request.app[_PROTOCOLS_KEY]:
        return anthropic_proto.list_models(request)
    return await openai_proto.list_models(request)


def _control_routes(app: web.Application) -> None:
    """Register ``/_fake/...`` endpoints to script a server in another process."""

    async def reply(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        state_of(request).reply(str(data["text"]), data.get("usage"), data.get("finish_reason"))
        return json_response({"ok": True})

    async def fault(request: web.Request) -> web.StreamResponse:
        data = dict(await request.json())
        if isinstance(data.get("raw_body"), str):
            data["raw_body"] = data["raw_body"].encode()
        allowed = {f.name for f in fields(Fault)}
        state_of(request).fault(Fault(**{k: v for k, v in data.items() if k in allowed}))
        return json_response({"ok": True})

    async def random_faults(request: web.Request) -> web.StreamResponse:
        data = dict(await request.json())
        if "kinds" in data:
            data["kinds"] = tuple(data["kinds"])
        state_of(request).random_faults(**data)
        return json_response({"ok": True})

    async def clear(request: web.Request) -> web.StreamResponse:
        state_of(request).clear()
        return json_response({"ok": True})

    async def config(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        state = state_of(request)
        for key in ("chunk_words", "chunk_delay", "latency", "record_requests"):
            if key in data:
                setattr(state, key, data[key])
        if "require_key" in data:
            state.require_key(data["require_key"])
        return json_response({"ok": True})

    async def stats(request: web.Request) -> web.StreamResponse:
        state = state_of(request)
        return json_response(
            {
                "request_count": state.request_count,
                "served": state.served,
                "served_prompt_tokens": state.served_prompt_tokens,
                "served_completion_tokens": state.served_completion_tokens,
                "injected_faults": state.injected_faults,
                "pending_faults": state.pending_faults(),
            }
        )

    async def requests(request: web.Request) -> web.StreamResponse:
        out = []
        for rec in state_of(request).requests:
            item = asdict(rec)
            item.pop("raw")
            out.append(item)
        return json_response(out)

    app.router.add_post(CONTROL_PREFIX + "reply", reply)
    app.router.add_post(CONTROL_PREFIX + "fault", fault)
    app.router.add_post(CONTROL_PREFIX + "random_faults", random_faults)
    app.router.add_post(CONTROL_PREFIX + "clear", clear)
    app.router.add_post(CONTROL_PREFIX + "config", config)
    app.router.add_get(CONTROL_PREFIX + "stats", stats)
    app.router.add_get(CONTROL_PREFIX + "requests", requests)


def build_app(state: ServerState, protocols: Iterable[Protocol] = PROTOCOLS) -> web.Application:
    """Build the aiohttp application for the given protocols.

    Args:
        state: State shared with the test (recordings, replies, faults).
        protocols: Protocols to serve; all by default (paths do not collide).

    Returns:
        The application.
    """
    chosen = tuple(protocols)
    unknown = [p for p in chosen if p not in PROTOCOLS]
    if unknown:
        raise ValueError(f"unknown protocols: {unknown}")
    app = web.Application(middlewares=[fake_middleware], client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    app[_PROTOCOLS_KEY] = chosen
    app.on_response_prepare.append(on_prepare)
    if "openai" in chosen:
        openai_proto.add_routes(app)
        media_proto.add_routes(app)
        queue_proto.add_routes(app)
    if "anthropic" in chosen:
        anthropic_proto.add_routes(app)
    if "openai" in chosen or "anthropic" in chosen:
        app.router.add_get("/v1/models", _models)
    if "ollama" in chosen:
        ollama_proto.add_routes(app)
    _control_routes(app)
    return app


class FakeServer(ServerState):
    """A local HTTP server speaking the OpenAI, Anthropic and Ollama protocols.

    ``start()`` runs it in a daemon thread with its own event loop, so sync
    tests and async tests on any loop can call it. Use as a context manager::

        with FakeServer() as server:
            client = OpenAI(base_url=server.openai_base_url, api_key="k")
    """

    def __init__(
        self,
        protocols: Iterable[Protocol] = PROTOCOLS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the server (not started).

        Args:
            protocols: Protocols to serve (default: all three).
            host: Interface to bind.
            port: Port to bind; 0 picks a free one.
        """
        super().__init__()
        self.protocols: tuple[Protocol, ...] = tuple(protocols)
        self.host = host
        self._requested_port = port
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ urls
    @property
    def base_url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (Anthropic/Ollama base URL)."""
        if not self.port:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for the OpenAI SDK (``base_url + "/v1"``)."""
        return self.base_url + "/v1"

    def url(self, path: str) -> str:
        """Absolute URL of a path.

        Args:
            path: Path starting with ``/``.

        Returns:
            The URL.
        """
        return self.base_url + path

    # -------------------------------------------------------------- lifecycle
    async def start_async(self) -> web.AppRunner:
        """Start serving on the *current* event loop.

        Returns:
            The runner (``await runner.cleanup()`` to stop).
        """
        runner = web.AppRunner(
            build_app(self, self.protocols),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
        await site.start()
        address = runner.addresses[0]
        self.port = int(address[1])
        self._runner = runner
        return runner

    def start(self) -> FakeServer:
        """Start the server in a background thread.

        Returns:
            ``self``, for chaining.

        Raises:
            RuntimeError: If already started or startup failed.
        """
        if self._thread is not None:
            raise RuntimeError("server already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"FakeServer-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            self._thread.join(1)
            self._thread = None
            raise RuntimeError("fake server failed to start") from errors[0]
        return self

    def stop(self) -> None:
        """Stop the server and join its thread (idempotent)."""
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None:
            return
        if runner is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            with contextlib.suppress(Exception):  # best effort shutdown
                future.result(timeout=5)
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> FakeServer:
        """Start and return the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    async def __aenter__(self) -> FakeServer:
        """Start (in its own thread) and return the server."""
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server without blocking the caller's loop."""
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        """Short description."""
        where = self.base_url if self.port else "stopped"
        return f"<FakeServer {','.join(self.protocols)} {where}>"


class OpenAIServer(FakeServer):
    """A :class:`FakeServer` serving only the OpenAI protocol."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Configure the server.

        Args:
            host: Interface to bind.
            port: Port (0 = free port).
        """
        super().__init__(("openai",), host, port)


class AnthropicServer(FakeServer):
    """A :class:`FakeServer` serving only the Anthropic protocol."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Configure the server.

        Args:
            host: Interface to bind.
            port: Port (0 = free port).
        """
        super().__init__(("anthropic",), host, port)


class OllamaServer(FakeServer):
    """A :class:`FakeServer` serving only the Ollama protocol."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Configure the server.

        Args:
            host: Interface to bind.
            port: Port (0 = free port).
        """
        super().__init__(("ollama",), host, port)
