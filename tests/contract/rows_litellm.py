"""Rows for the LiteLLM adapter: LiteLLM pointed at the local OpenAI and Anthropic servers.

Routing hands LiteLLM ``provider/model`` ids; the suite uses bare ids, so each
row names LiteLLM's provider explicitly (sent as ``custom_llm_provider``).

LiteLLM 1.110 emits warnings from its own internals during calls (pydantic
``ReadOnly`` TypedDict notices when it lazily imports its streaming types, and
``PydanticDeprecatedSince211`` from ``model_response_utils``). Under the
project's ``filterwarnings = error`` they would surface as exceptions inside
LiteLLM, so a test that builds a LiteLLM model ignores exactly these (the
filter is added inside the test's own warning context and undone after it).

Where LiteLLM genuinely cannot express a case for a provider, the row lists it
in ``limitations`` with the reason; the case is reported as XFAIL with that
reason (see :meth:`_LiteLLMRow.build`), never skipped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
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
    #: ``case`` or ``case[param]`` (the row id left out) -> why LiteLLM cannot pass it.
    limitations: ClassVar[Mapping[str, str]] = {}

    def limitation(self, node_name: str) -> str | None:
        """The documented reason this row fails the case ``node_name``, if it does."""
        case, _, params = node_name.partition("[")
        ids = set(params.rstrip("]").replace(self.name, "").strip("-").split("-")) - {""}
        for key, reason in self.limitations.items():
            key_case, _, key_param = key.partition("[")
            if key_case == case and (not key_param or key_param.rstrip("]") in ids):
                return reason
        return None

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
    limitations: ClassVar[Mapping[str, str]] = {
        "test_json_output_request_shape[json_schema]": (
            "LiteLLM sends a JSON Schema to Anthropic as a forced tool call (tools + "
            "tool_choice json_tool_call), not the native output_config.format; the schema is "
            "still enforced and the JSON comes back as text"
        ),
        "test_json_output_request_shape[json_object]": (
            "Anthropic has no JSON mode and LiteLLM sends nothing for response_format "
            "json_object, while the adapter's one declaration (for every LiteLLM provider) "
            "includes JSON mode"
        ),
        "test_json_output_request_shape[json_object_with_schema]": (
            "the schema-carrying JSON mode is llama.cpp's form for OpenAI-compatible servers; "
            "for Anthropic LiteLLM turns it into a forced tool call, not output_config"
        ),
        "test_declared_seed_and_reasoning_effort_reach_the_wire": (
            "Anthropic takes no seed, so LiteLLM refuses it (UnsupportedParamsError -> "
            "InvalidRequestError; never dropped silently), and LiteLLM sends reasoning_effort "
            "as 'thinking' (for models it knows reason), not output_config.effort"
        ),
    }

    def endpoint(self, server: FakeServer) -> str:
        return server.base_url


ROWS: list[ChatHarness] = [
    LiteLLMOpenAIRow("litellm-openai"),
    LiteLLMAnthropicRow("litellm-anthropic"),
]
