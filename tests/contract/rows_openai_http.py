"""Rows for the no-SDK OpenAI adapter (``openai_http``): an OpenAI model and a GPT-5 one."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SecretStr

from inference_core.adapters.openai_http import create_chat_model
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import ChatHarness, OpenAIView, ServerChatHarness, shared_tls_context
from tests.servers import FakeServer


class OpenAIHTTPRow(ServerChatHarness):
    """The aiohttp adapter against the local chat-completions server."""

    protocol = "openai"
    view = OpenAIView()
    chat_paths = ("/v1/chat/completions",)
    extra_features: ClassVar[frozenset[str]] = frozenset({"stream_usage_optional"})

    def endpoint(self, server: FakeServer) -> str:
        return server.openai_base_url

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider="openai",
            client=ClientPath.OPENAI_HTTP,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,
            connect_timeout=5.0,
            read_timeout=30.0,
        )
        options.setdefault("ssl_context", shared_tls_context())
        return create_chat_model(connection, **options)


ROWS: list[ChatHarness] = [OpenAIHTTPRow("openai_http")]
