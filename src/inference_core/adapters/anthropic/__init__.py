"""Anthropic Messages API through the SDK (``anthropic_sdk``, opt-in): Claude.

The ``anthropic`` provider's default path is ``anthropic_http``
(:mod:`inference_core.adapters.anthropic_http`: the same rules and contract, no
SDK); this one serves configs that name it in ``routing.provider_client``.
Requests go through ``anthropic.AsyncAnthropic`` (API version 2026-10-21) with
SDK retries off. System messages become the top-level ``system`` field and
consecutive same-role messages are merged. Images travel as ``image`` blocks
(base64 or URL). ``max_tokens`` is always sent (4096 when the request sets
none). JSON: native structured output (``output_config.format`` json_schema)
when a schema is given; otherwise the caller asks for JSON in the prompt.
``temperature``/``top_p`` (rejected by this API version), ``seed`` and
``reasoning_effort`` are not sent. Usage reports cache reads and writes.
Tools: ``tool_use`` / ``tool_result`` blocks, every ``tool_choice``,
``disable_parallel_tool_use``, and ``input_json_delta`` pieces in streams.

Importing this package does not import the SDK; :func:`create_chat_model` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.plugins import ChatAdapterPlugin, requires

if TYPE_CHECKING:
    from inference_core.adapters.anthropic.chat import AnthropicChatModel

__all__ = ["CAPABILITIES", "CLIENT_PATHS", "PLUGIN", "AnthropicChatModel", "create_chat_model"]

#: The client paths this package serves (docs and bootstrap use it).
CLIENT_PATHS: tuple[ClientPath, ...] = (ClientPath.ANTHROPIC_SDK,)

#: What the adapter can send and report, whatever the model.
CAPABILITIES = AdapterCapabilities(
    streaming=True,
    json_outputs=(JSONOutput.JSON_SCHEMA, JSONOutput.NONE),
    images=True,
    image_urls=True,
    audio_input=False,
    reasoning_effort=False,
    seed=False,
    stop=True,
    usage_fields=(
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    ),
    tools=True,
    parallel_tool_calls=True,
    forced_tool_choice=True,
    tool_call_streaming=True,
)


def create_chat_model(connection: ProviderConnection, **options: Any) -> AnthropicChatModel:
    """Build the chat model for ``connection`` (the bootstrap factory entry point).

    Args:
        connection: Endpoint, key, headers and timeouts; ``client`` must be
            ``anthropic_sdk``.
        **options: Passed to :class:`AnthropicChatModel` (``http_backend``, ``client``...).

    Raises:
        ConfigurationError: Wrong client path, or the ``anthropic`` extra is missing.
    """
    if connection.client not in CLIENT_PATHS:
        raise ConfigurationError(
            f"the anthropic adapter serves 'anthropic_sdk', not {connection.client!r}"
        )
    try:
        from inference_core.adapters.anthropic.chat import AnthropicChatModel
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the Anthropic adapter needs the 'anthropic' extra: "
            f"pip install 'inference-core[anthropic]' (missing module: {exc.name})"
        ) from exc
    return AnthropicChatModel(connection, **options)


#: The entry point ``inference_core.chat_adapters: anthropic``.
PLUGIN = ChatAdapterPlugin(
    name="anthropic",
    paths=(
        ClientPathInfo(
            name=ClientPath.ANTHROPIC_SDK,
            extra="anthropic",
            description="Anthropic Messages through the anthropic SDK (opt-in; "
            "anthropic_http is the default)",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("anthropic"),
)


def __getattr__(name: str) -> Any:
    # The adapter class imports the SDK, so it loads on first use only.
    if name == "AnthropicChatModel":
        from inference_core.adapters.anthropic.chat import AnthropicChatModel

        return AnthropicChatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
