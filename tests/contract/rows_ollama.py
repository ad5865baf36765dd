"""The row for the Ollama adapter against the local ``/api/chat`` NDJSON server."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from inference_core.adapters.ollama import create_chat_model
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import (
    ChatHarness,
    OllamaView,
    ServerChatHarness,
    shared_tls_context,
)
from tests.servers import FakeServer


class OllamaRow(ServerChatHarness):
    """Ollama's native API; the server's root URL is the adapter's base URL."""

    protocol = "ollama"
    view = OllamaView()
    chat_paths = ("/api/chat",)

    def endpoint(self, server: FakeServer) -> str:
        return server.base_url

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider="ollama",
            client=ClientPath.OLLAMA,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,
            connect_timeout=5.0,
            read_timeout=30.0,
        )
        options.setdefault("verify", shared_tls_context())
        return create_chat_model(connection, **options)


ROWS: list[ChatHarness] = [OllamaRow("ollama-httpx")]
