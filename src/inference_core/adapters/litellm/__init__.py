"""LiteLLM adapter: every provider without a dedicated adapter (Gemini, Vertex, Bedrock...).

* :class:`LiteLLMChatModel` implements :class:`~inference_core.ports.ChatModel`
  over ``litellm.acompletion`` with one attempt per call (``num_retries=0``,
  ``max_retries=0``) and LiteLLM's exceptions mapped to domain errors.
* :func:`create_chat_model` is what the composition root calls for the
  ``litellm`` client path.

Importing this package does NOT import LiteLLM (it takes seconds and, left to
itself, fetches a cost map over the network): the first call does, offline,
in a worker thread. See :mod:`inference_core.adapters.litellm._loader` for how
the bundled cost map is selected without touching ``os.environ``.
"""

from __future__ import annotations

from typing import Any

from inference_core.adapters.litellm._loader import load_litellm
from inference_core.adapters.litellm.chat import (
    CAPABILITIES,
    KEYLESS_PLACEHOLDER,
    LiteLLMChatModel,
    Loader,
    completion_kwargs,
)
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.plugins import ChatAdapterPlugin, requires

__all__ = [
    "CAPABILITIES",
    "CLIENT_PATHS",
    "KEYLESS_PLACEHOLDER",
    "LiteLLMChatModel",
    "Loader",
    "completion_kwargs",
    "create_chat_model",
    "load_litellm",
]


#: The client paths this package serves.
CLIENT_PATHS: tuple[ClientPath, ...] = (ClientPath.LITELLM,)


def create_chat_model(connection: ProviderConnection, **options: Any) -> LiteLLMChatModel:
    """Build the chat model for one LiteLLM-served provider endpoint.

    Args:
        connection: Provider, key, base URL (``api_base``), headers and timeouts.
        **options: Passed to :class:`LiteLLMChatModel` (``loader``, ``litellm_provider``).

    Raises:
        ConfigurationError: Wrong client path.
    """
    if connection.client not in CLIENT_PATHS:
        raise ConfigurationError(
            f"the litellm adapter serves {[c.value for c in CLIENT_PATHS]}, "
            f"not {connection.client!r}"
        )
    return LiteLLMChatModel(
        provider=connection.provider,
        api_key=connection.api_key,
        base_url=connection.base_url,
        headers=connection.headers,
        connect_timeout=connection.connect_timeout,
        read_timeout=connection.read_timeout,
        **options,
    )


#: The entry point ``inference_core.chat_adapters: litellm``.
PLUGIN = ChatAdapterPlugin(
    name="litellm",
    paths=(
        ClientPathInfo(
            name=ClientPath.LITELLM,
            fallback=True,  # every provider no other path serves: Gemini, OpenRouter, ...
            model_ids="provider_prefixed",  # LiteLLM picks the provider from "provider/"
            extra="litellm",
            description="LiteLLM: Gemini, OpenRouter, Bedrock and 100+ other providers",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("litellm"),
)
