"""Rows of the ChatModel contract suite: what a row is and the helpers rows share.

Every ``tests/contract/rows_*.py`` module exposes ``ROWS: list[ChatHarness]``;
``conftest.py`` collects them and runs every case of ``test_chat_contract.py``
once per row. Adding an adapter to the suite means adding a row.

A row built on a local wire-protocol server subclasses :class:`ServerChatHarness`
and implements two methods::

    class MyRow(ServerChatHarness):
        protocol = "openai"           # wire shape the cases assert on
        view = OpenAIView()           # reads max_tokens/stop/system... from a body

        def endpoint(self, server: FakeServer) -> str:
            return server.openai_base_url

        def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
            return my_adapter.create_chat_model(ProviderConnection(...), **options)

    ROWS = [MyRow("my-adapter")]

The conftest attaches the session's :class:`~tests.servers.FakeServer` to the
row before each test (after resetting it) and closes every model the row built
after the test.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from inference_core.domain.catalog import AdapterCapabilities
from inference_core.ports.chat import ChatModel
from tests.servers import FakeServer, Fault
from tests.servers.text import content_text

__all__ = [
    "CONTRACT_MODEL",
    "DEFAULT_KEY",
    "AnthropicView",
    "ChatHarness",
    "DomainView",
    "OllamaView",
    "OpenAIView",
    "ServerChatHarness",
    "WireView",
    "closed_port",
    "shared_tls_context",
    "wait_until",
]

#: The model id every case asks for (the conftest makes the local server know it).
CONTRACT_MODEL = "contract-model"

#: The API key rows build their adapters with unless a case passes another one.
DEFAULT_KEY = "sk-contract-test-key-0123456789"


# --- reading request bodies --------------------------------------------------------------


class WireView(Protocol):
    """Reads protocol-neutral facts out of the request body a row sent."""

    def system(self, body: Mapping[str, Any]) -> str | None:
        """The system prompt text, or ``None`` when none was sent."""
        ...

    def turns(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(role, text) of every non-system message, in order."""
        ...

    def max_tokens(self, body: Mapping[str, Any]) -> int | None:
        """The output-length cap that was sent."""
        ...

    def stop(self, body: Mapping[str, Any]) -> list[str]:
        """The stop sequences that were sent."""
        ...

    def seed(self, body: Mapping[str, Any]) -> int | None:
        """The seed that was sent."""
        ...

    def reasoning_effort(self, body: Mapping[str, Any]) -> str | None:
        """The reasoning effort that was sent."""
        ...


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _openai_like_text(message: Mapping[str, Any]) -> str:
    return content_text(message.get("content"))


class OpenAIView:
    """Chat-completions bodies (``max_completion_tokens`` wins over ``max_tokens``)."""

    def system(self, body: Mapping[str, Any]) -> str | None:
        texts = [
            _openai_like_text(m)
            for m in body.get("messages", [])
            if m.get("role") in ("system", "developer")
        ]
        return "\n\n".join(texts) if texts else None

    def turns(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            (str(m["role"]), _openai_like_text(m))
            for m in body.get("messages", [])
            if m.get("role") not in ("system", "developer")
        ]

    def max_tokens(self, body: Mapping[str, Any]) -> int | None:
        value = body.get("max_completion_tokens", body.get("max_tokens"))
        return int(value) if value is not None else None

    def stop(self, body: Mapping[str, Any]) -> list[str]:
        stop = body.get("stop")
        return [stop] if isinstance(stop, str) else list(stop or [])

    def seed(self, body: Mapping[str, Any]) -> int | None:
        return _int(body.get("seed"))

    def reasoning_effort(self, body: Mapping[str, Any]) -> str | None:
        return _str(body.get("reasoning_effort"))


class AnthropicView:
    """Messages API bodies (top-level ``system``, ``stop_sequences``)."""

    def system(self, body: Mapping[str, Any]) -> str | None:
        system = body.get("system")
        return content_text(system) if system is not None else None

    def turns(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        out = []
        for m in body.get("messages", []):
            content = m.get("content")
            if isinstance(content, list):
                text = "\n".join(b["text"] for b in content if b.get("type") == "text")
            else:
                text = content_text(content)
            out.append((str(m["role"]), text))
        return out

    def max_tokens(self, body: Mapping[str, Any]) -> int | None:
        return _int(body.get("max_tokens"))

    def stop(self, body: Mapping[str, Any]) -> list[str]:
        return list(body.get("stop_sequences") or [])

    def seed(self, body: Mapping[str, Any]) -> int | None:
        return _int(body.get("seed"))

    def reasoning_effort(self, body: Mapping[str, Any]) -> str | None:
        return _str((body.get("output_config") or {}).get("effort"))


class OllamaView:
    """Ollama ``/api/chat`` bodies (``options.num_predict``, ``options.stop``...)."""

    def system(self, body: Mapping[str, Any]) -> str | None:
        return OpenAIView().system(body)

    def turns(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        return OpenAIView().turns(body)

    def max_tokens(self, body: Mapping[str, Any]) -> int | None:
        return _int((body.get("options") or {}).get("num_predict"))

    def stop(self, body: Mapping[str, Any]) -> list[str]:
        stop = (body.get("options") or {}).get("stop")
        return [stop] if isinstance(stop, str) else list(stop or [])

    def seed(self, body: Mapping[str, Any]) -> int | None:
        return _int((body.get("options") or {}).get("seed"))

    def reasoning_effort(self, body: Mapping[str, Any]) -> str | None:
        think = body.get("think")
        return think if isinstance(think, str) else None


class DomainView:
    """``ChatRequest.model_dump(by_alias=True)`` dicts, for rows with no wire (fakes)."""

    def system(self, body: Mapping[str, Any]) -> str | None:
        texts = [_domain_text(m) for m in body["messages"] if m["role"] in ("system", "developer")]
        return "\n\n".join(texts) if texts else None

    def turns(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            (m["role"], _domain_text(m))
            for m in body["messages"]
            if m["role"] not in ("system", "developer")
        ]

    def max_tokens(self, body: Mapping[str, Any]) -> int | None:
        return _int(body["params"]["max_tokens"])

    def stop(self, body: Mapping[str, Any]) -> list[str]:
        return list(body["params"]["stop"])

    def seed(self, body: Mapping[str, Any]) -> int | None:
        return _int(body["params"]["seed"])

    def reasoning_effort(self, body: Mapping[str, Any]) -> str | None:
        return _str(body["params"]["reasoning_effort"])


def _domain_text(message: Mapping[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p["type"] == "text")


# --- the row interface -------------------------------------------------------------------


@runtime_checkable
class ChatHarness(Protocol):
    """One row of the contract suite: a way to build a ChatModel and to script what it meets.

    Attributes:
        name: Test id of the row.
        protocol: Wire shape of :meth:`last_request` (``openai``, ``anthropic``,
            ``ollama``, or ``domain`` for rows without a wire); cases branch on
            it to assert provider-specific shapes (images, JSON formats).
        tool_wire: How tools travel (usually the protocol; ``grammar`` for the
            llama.cpp row, whose tools become a decoding grammar).
        view: Reads protocol-neutral facts from :meth:`last_request`.
    """

    name: str
    tool_wire: str

    @property
    def protocol(self) -> str:
        """Wire shape of :meth:`last_request` (see the class docstring)."""
        ...

    @property
    def view(self) -> WireView:
        """Reads protocol-neutral facts from :meth:`last_request`."""
        ...

    def attach(self, server: FakeServer) -> None:
        """Point the row at the (already reset) session server before a test."""
        ...

    def build(self, **options: Any) -> ChatModel:
        """A fresh adapter pointed at the local server.

        Options every row understands: ``api_key`` (str) and
        ``unreachable=True`` (an endpoint nobody listens on). Others are
        passed to the adapter.
        """
        ...

    def reply(
        self,
        text: str,
        *,
        usage: Mapping[str, int] | None = None,
        finish_reason: str | None = None,
    ) -> None:
        """Script the next answer (usage keys and finish reasons as in ``FakeServer.reply``)."""
        ...

    def fault(self, fault: Fault) -> None:
        """Make the next call meet ``fault`` (servers inject it; fakes raise its domain twin)."""
        ...

    def reply_tools(self, calls: Sequence[Mapping[str, Any]], *, text: str = "") -> None:
        """Script the next answer to a request that offers tools.

        ``calls`` are ``{"id", "name", "arguments": {...}}``; with none, the
        answer is ``text`` (a row whose model answers tool requests in an
        envelope, the llama.cpp grammar, wraps it as that model would).
        """
        ...

    def last_request(self) -> dict[str, Any]:
        """The body of the last chat request, in this row's :attr:`protocol` shape."""
        ...

    def request_count(self) -> int:
        """Chat requests received since the test started (HTTP attempts, for server rows)."""
        ...

    def open_connections(self) -> int | None:
        """Client connections the server holds open now, or ``None`` when unobservable."""
        ...

    def pace_stream(self, seconds_per_chunk: float) -> None:
        """Make the server pause between streamed chunks (keeps a response in flight)."""
        ...

    def supports(self, feature: str) -> bool:
        """Whether the row can express ``feature`` (see :data:`FEATURES`)."""
        ...

    def capabilities(self) -> AdapterCapabilities:
        """The declared capabilities of the adapter this row builds."""
        ...

    async def aclose(self) -> None:
        """Close every model built during the test."""
        ...


#: Features a case may ask :meth:`ChatHarness.supports` about.
FEATURES = {
    "http": "calls cross a real HTTP connection (SDK exceptions are chained as __cause__)",
    "api_key": "the adapter holds an API key (so it can keep it out of errors and reprs)",
    "content_filter_finish": "the protocol can end an answer with a content-filter reason",
    "stream_usage_optional": "the adapter can be told the server sends no stream usage",
    "generation_timeout_final": (
        "a timed-out call is final, not retryable: the adapter generates in-process, and the "
        "same generation would take as long again"
    ),
}


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """One TLS context for every HTTP client the suite builds.

    Loading the CA bundle costs 30-100 ms per client on a busy machine, which
    dominated the suite; rows hand this context to the clients they inject.
    """
    return ssl.create_default_context()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(
    predicate: Callable[[], bool], *, within: float = 5.0, interval: float = 0.01
) -> bool:
    """Poll ``predicate`` until it holds or ``within`` seconds pass; return its last value.

    For state another thread changes (the server's connection table); the
    result decides the test, the elapsed time never does.
    """
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


class ServerChatHarness:
    """Base for rows whose adapter talks HTTP to the session :class:`FakeServer`.

    Subclasses set :attr:`protocol` and :attr:`view` and implement
    :meth:`endpoint` and :meth:`create`.
    """

    protocol: str = "openai"
    view: WireView = OpenAIView()

    @property
    def tool_wire(self) -> str:
        """Tools travel in the protocol's own shape."""
        return self.protocol

    #: Path prefixes of the chat endpoint(s) this row calls.
    chat_paths: ClassVar[Sequence[str]] = ("/v1/chat/completions",)
    extra_features: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        self._options = options
        self._server: FakeServer | None = None
        self._built: list[ChatModel] = []
        self._capabilities: AdapterCapabilities | None = None

    def __repr__(self) -> str:
        return f"<row {self.name}>"

    @property
    def server(self) -> FakeServer:
        """The attached server."""
        if self._server is None:
            raise RuntimeError(f"row {self.name} has no server attached")
        return self._server

    def endpoint(self, server: FakeServer) -> str:
        """Base URL the adapter should use for ``server``."""
        raise NotImplementedError

    def unreachable_endpoint(self, port: int) -> str:
        """The same endpoint shape on a port nobody listens on."""
        return self.endpoint(self.server).replace(f":{self.server.port}", f":{port}", 1)

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        """Build the adapter for ``base_url`` with ``api_key``."""
        raise NotImplementedError

    def attach(self, server: FakeServer) -> None:
        self._server = server

    def build(
        self, *, api_key: str | None = DEFAULT_KEY, unreachable: bool = False, **options: Any
    ) -> ChatModel:
        base_url = (
            self.unreachable_endpoint(closed_port()) if unreachable else self.endpoint(self.server)
        )
        model = self.create(base_url, api_key, **{**self._options, **options})
        self._built.append(model)
        self._capabilities = model.capabilities
        return model

    def capabilities(self) -> AdapterCapabilities:
        if self._capabilities is None:
            self.build()
        assert self._capabilities is not None
        return self._capabilities

    def reply(
        self,
        text: str,
        *,
        usage: Mapping[str, int] | None = None,
        finish_reason: str | None = None,
    ) -> None:
        self.server.reply(text, usage, finish_reason)

    def fault(self, fault: Fault) -> None:
        self.server.fault(fault)

    def reply_tools(self, calls: Sequence[Mapping[str, Any]], *, text: str = "") -> None:
        self.server.reply(text, tool_calls=calls)

    def _chat_requests(self) -> list[Any]:
        return [
            r
            for r in self.server.requests
            if r.method == "POST" and any(r.path.startswith(p) for p in self.chat_paths)
        ]

    def last_request(self) -> dict[str, Any]:
        requests = self._chat_requests()
        assert requests, f"row {self.name}: the server saw no chat request"
        body = requests[-1].body
        assert isinstance(body, dict), f"row {self.name}: the chat request body is not JSON"
        return body

    def request_count(self) -> int:
        return len(self._chat_requests())

    def open_connections(self) -> int | None:
        # TODO(servers): use a public FakeServer.open_connections once it exists.
        runner = getattr(self.server, "_runner", None)
        web_server = getattr(runner, "server", None)
        if web_server is None:
            return None
        for _ in range(10):  # the table changes on the server thread
            try:
                return len(web_server.connections)
            except RuntimeError:
                continue
        return None

    def pace_stream(self, seconds_per_chunk: float) -> None:
        self.server.chunk_delay = seconds_per_chunk

    def supports(self, feature: str) -> bool:
        if feature not in FEATURES:
            raise KeyError(f"unknown feature {feature!r}; known: {sorted(FEATURES)}")
        if feature == "content_filter_finish":
            return self.protocol != "ollama"  # Ollama's done_reason has no such value
        return feature in ("http", "api_key") or feature in self.extra_features

    async def aclose(self) -> None:
        built, self._built = self._built, []
        for model in built:
            await model.aclose()


def data_url(mime: str, data: bytes) -> str:
    """``data:<mime>;base64,...`` for ``data``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
