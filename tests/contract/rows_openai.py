"""Rows for the OpenAI adapter: ``openai_sdk`` on aiohttp and ``gpt5_sdk`` on httpx."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import openai
from pydantic import SecretStr

from inference_core.adapters.openai import create_chat_model
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import (
    ChatHarness,
    OpenAIView,
    ServerChatHarness,
    shared_tls_context,
)
from tests.servers import FakeServer


class OpenAIRow(ServerChatHarness):
    """The OpenAI adapter against the local chat-completions server."""

    protocol = "openai"
    view = OpenAIView()
    chat_paths = ("/v1/chat/completions",)
    extra_features: ClassVar[frozenset[str]] = frozenset({"stream_usage_optional"})

    def __init__(
        self, name: str, client: ClientPath, transport: Literal["aiohttp", "httpx"]
    ) -> None:
        super().__init__(name)
        self.client = client
        self.transport = transport

    def endpoint(self, server: FakeServer) -> str:
        return server.openai_base_url

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider="openai",
            client=self.client,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,
            connect_timeout=5.0,
            read_timeout=30.0,
        )
        # The SDK's own aiohttp/httpx clients, sharing one TLS context across tests.
        make = (
            openai.DefaultAioHttpClient
            if self.transport == "aiohttp"
            else openai.DefaultAsyncHttpxClient
        )
        options.setdefault("http_client", make(verify=shared_tls_context()))
        return create_chat_model(connection, **options)


ROWS: list[ChatHarness] = [
    OpenAIRow("openai_sdk-aiohttp", ClientPath.OPENAI_SDK, "aiohttp"),
    OpenAIRow("gpt5_sdk-httpx", ClientPath.GPT5_SDK, "httpx"),
]
