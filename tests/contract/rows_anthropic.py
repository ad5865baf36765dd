"""Rows for the Anthropic adapter, on both of the SDK's HTTP transports."""

from __future__ import annotations

from typing import Any, Literal

import anthropic
from pydantic import SecretStr

from inference_core.adapters.anthropic import create_chat_model
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import (
    AnthropicView,
    ChatHarness,
    ServerChatHarness,
    shared_tls_context,
)
from tests.servers import FakeServer


class AnthropicRow(ServerChatHarness):
    """The Anthropic adapter against the local Messages API server."""

    protocol = "anthropic"
    view = AnthropicView()
    chat_paths = ("/v1/messages",)

    def __init__(self, name: str, transport: Literal["aiohttp", "httpx"]) -> None:
        super().__init__(name)
        self.transport = transport

    def endpoint(self, server: FakeServer) -> str:
        return server.base_url

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider="anthropic",
            client=ClientPath.ANTHROPIC_SDK,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,
            connect_timeout=5.0,
            read_timeout=30.0,
        )
        # The SDK's own aiohttp/httpx clients, sharing one TLS context across tests.
        make = (
            anthropic.DefaultAioHttpClient
            if self.transport == "aiohttp"
            else anthropic.DefaultAsyncHttpxClient
        )
        options.setdefault("http_client", make(verify=shared_tls_context()))
        return create_chat_model(connection, **options)


ROWS: list[ChatHarness] = [
    AnthropicRow("anthropic_sdk-aiohttp", "aiohttp"),
    AnthropicRow("anthropic_sdk-httpx", "httpx"),
]
