"""Anthropic Messages straight over HTTP (``anthropic_http``): no vendor SDK.

The default client path for the ``anthropic`` provider. The same request rules
(:mod:`inference_core.adapters.anthropic.params`), capabilities and contract as
the SDK adapter (``anthropic_sdk``, now opt-in), over aiohttp + orjson: the SDK's
import alone costs about a second, and its per-call CPU is several times ours
(docs/benchmarks.md). It speaks API version :data:`API_VERSION`.

Importing this package imports neither aiohttp nor orjson; :func:`create_chat_model` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inference_core.adapters.anthropic import CAPABILITIES
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.plugins import ChatAdapterPlugin, requires

if TYPE_CHECKING:
    from inference_core.adapters.anthropic_http.chat import AnthropicHTTPChatModel

__all__ = [
    "API_VERSION",
    "CAPABILITIES",
    "CLIENT_PATHS",
    "PLUGIN",
    "AnthropicHTTPChatModel",
    "create_chat_model",
]

#: The ``anthropic-version`` header (the version the request rules are written for).
API_VERSION = "2026-10-21"

#: The client paths this package serves.
CLIENT_PATHS: tuple[ClientPath, ...] = (ClientPath.ANTHROPIC_HTTP,)


def create_chat_model(connection: ProviderConnection, **options: Any) -> AnthropicHTTPChatModel:
    """Build the chat model for ``connection`` (the plugin's factory).

    Args:
        connection: Endpoint, key, headers and timeouts; ``client`` must be ``anthropic_http``.
        **options: Passed to :class:`AnthropicHTTPChatModel` (``ssl_context``,
            ``connection_limit``, ``capabilities``).

    Raises:
        ConfigurationError: Wrong client path, or aiohttp/orjson are missing.
    """
    if connection.client not in CLIENT_PATHS:
        raise ConfigurationError(
            f"the anthropic_http adapter serves {[c.value for c in CLIENT_PATHS]}, "
            f"not {connection.client!r}"
        )
    try:
        from inference_core.adapters.anthropic_http.chat import AnthropicHTTPChatModel
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the anthropic_http adapter needs the 'anthropic' extra: "
            "pip install 'inference-core[anthropic]' "
            f"(missing module: {exc.name})"
        ) from exc
    return AnthropicHTTPChatModel(connection, **options)


#: The entry point ``inference_core.chat_adapters: anthropic_http`` (see ``pyproject.toml``).
PLUGIN = ChatAdapterPlugin(
    name="anthropic_http",
    paths=(
        ClientPathInfo(
            name=ClientPath.ANTHROPIC_HTTP,
            serves=("anthropic",),
            extra="anthropic",
            description="Anthropic Messages over aiohttp, no SDK (the default)",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("aiohttp", "orjson"),
)


def __getattr__(name: str) -> Any:
    # The adapter class imports aiohttp and orjson, so it loads on first use only.
    if name == "AnthropicHTTPChatModel":
        from inference_core.adapters.anthropic_http.chat import AnthropicHTTPChatModel

        return AnthropicHTTPChatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
