"""The row for the no-SDK Anthropic adapter (``anthropic_http``)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from inference_core.adapters.anthropic_http import create_chat_model
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import AnthropicView, ChatHarness, ServerChatHarness, shared_tls_context
from tests.servers import FakeServer


class AnthropicHTTPRow(ServerChatHarness):
    """The aiohttp adapter against the local Messages API server."""

    protocol = "anthropic"
    view = AnthropicView()
    chat_paths = ("/v1/messages",)

    def endpoint(self, server: FakeServer) -> str:
        return server.base_url

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider="anthropic",
            client=ClientPath.ANTHROPIC_HTTP,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,
            connect_timeout=5.0,
            read_timeout=30.0,
        )
        options.setdefault("ssl_context", shared_tls_context())
        return create_chat_model(connection, **options)


ROWS: list[ChatHarness] = [AnthropicHTTPRow("anthropic_http")]
