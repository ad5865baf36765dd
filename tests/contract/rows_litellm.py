"""Rows for the LiteLLM adapter: LiteLLM pointed at the local OpenAI and Anthropic servers.

Routing hands LiteLLM ``provider/model`` ids; the suite uses bare ids, so each
row names LiteLLM's provider explicitly (sent as ``custom_llm_provider``).

LiteLLM 1.110 emits warnings from its own internals during calls (pydantic
``ReadOnly`` TypedDict notices when it lazily imports its streaming types, and
``PydanticDeprecatedSince211`` from ``model_response_utils``). Under the
project's ``filterwarnings = error`` they would surface as exceptions inside
LiteLLM, so a test that builds a LiteLLM model ignores exactly these (the
filter is added inside the test's own warning context and undone after it).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic.warnings import PydanticDeprecatedSince211

from inference_core.adapters.litellm import create_chat_model
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.contract.harness import AnthropicView, ChatHarness, OpenAIView, ServerChatHarness
from tests.servers import FakeServer


def ignore_litellm_internal_warnings() -> None:
    """Ignore the warnings LiteLLM's own code raises (see the module docstring)."""
    warnings.filterwarnings(
        "ignore",
        message=r"Item '.*' on TypedDict class '.*' is using the `ReadOnly`",
        category=UserWarning,
    )
    warnings.filterwarnings("ignore", category=PydanticDeprecatedSince211, module=r"litellm\.")


class _LiteLLMRow(ServerChatHarness):
    """LiteLLM's ``litellm_provider`` against the local server speaking that protocol."""

    litellm_provider: ClassVar[str]

    def build(self, **options: Any) -> ChatModel:
        ignore_litellm_internal_warnings()
        return super().build(**options)

    def create(self, base_url: str, api_key: str | None, **options: Any) -> ChatModel:
        connection = ProviderConnection(
            provider=self.litellm_provider,
            client=ClientPath.LITELLM,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,
            connect_timeout=5.0,
            read_timeout=30.0,
        )
        return create_chat_model(connection, litellm_provider=self.litellm_provider, **options)


class LiteLLMOpenAIRow(_LiteLLMRow):
    """``openai/<model>`` with ``api_base`` = the local chat-completions server."""

    litellm_provider = "openai"
    protocol = "openai"
    view = OpenAIView()
    chat_paths = ("/v1/chat/completions",)

    def endpoint(self, server: FakeServer) -> str:
        return server.openai_base_url


class LiteLLMAnthropicRow(_LiteLLMRow):
    """``anthropic/<model>`` with ``api_base`` = the local Messages API server."""

    litellm_provider = "anthropic"
    protocol = "anthropic"
    view = AnthropicView()
    chat_paths = ("/v1/messages",)

    def endpoint(self, server: FakeServer) -> str:
        return server.base_url


ROWS: list[ChatHarness] = [
    LiteLLMOpenAIRow("litellm-openai"),
    LiteLLMAnthropicRow("litellm-anthropic"),
]
