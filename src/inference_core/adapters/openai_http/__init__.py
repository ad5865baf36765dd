"""OpenAI chat completions straight over HTTP (``openai_http``, ``gpt5_http``): no vendor SDK.

The default client paths for the ``openai`` provider. The same protocol, request
rules and capabilities as the SDK adapter (:mod:`inference_core.adapters.openai`,
client paths ``openai_sdk``/``gpt5_sdk``, now opt-in): JSON output
(``json_schema``, ``json_object``, llama.cpp's ``json_object`` with a schema),
images and audio input, tools with streamed arguments, usage with cached and
reasoning tokens. ``gpt5_http`` (GPT-5 family models, matched by
:data:`GPT5_PATTERN`) sends ``max_completion_tokens`` and never
``temperature``/``top_p``. It costs several times less client CPU per call than
the SDK (docs/benchmarks.md), which is what bounds a pipeline that fans thousands
of calls out to a self-hosted server.

Importing this package imports neither aiohttp nor orjson; :func:`create_chat_model` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inference_core.adapters.openai import CAPABILITIES
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.plugins import ChatAdapterPlugin, requires

if TYPE_CHECKING:
    from inference_core.adapters.openai_http.chat import OpenAIHTTPChatModel

__all__ = [
    "CAPABILITIES",
    "CLIENT_PATHS",
    "GPT5_PATTERN",
    "PLUGIN",
    "OpenAIHTTPChatModel",
    "create_chat_model",
]

#: Models routed to ``gpt5_http`` by default (the GPT-5 family takes no sampling params).
GPT5_PATTERN = r"^gpt-5(\b|[.-])"

#: The client paths this package serves.
CLIENT_PATHS: tuple[ClientPath, ...] = (ClientPath.OPENAI_HTTP, ClientPath.GPT5_HTTP)


def create_chat_model(connection: ProviderConnection, **options: Any) -> OpenAIHTTPChatModel:
    """Build the chat model for ``connection`` (the plugin's factory).

    Args:
        connection: Endpoint, key, headers and timeouts; ``client`` must be
            ``openai_http`` or ``gpt5_http``.
        **options: Passed to :class:`OpenAIHTTPChatModel` (``stream_usage``,
            ``ssl_context``, ``connection_limit``, ``capabilities``).

    Raises:
        ConfigurationError: Wrong client path, or aiohttp/orjson are missing.
    """
    if connection.client not in CLIENT_PATHS:
        raise ConfigurationError(
            f"the openai_http adapter serves {[c.value for c in CLIENT_PATHS]}, "
            f"not {connection.client!r}"
        )
    try:
        from inference_core.adapters.openai_http.chat import OpenAIHTTPChatModel
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the openai_http adapter needs the 'openai' extra: "
            "pip install 'inference-core[openai]' "
            f"(missing module: {exc.name})"
        ) from exc
    return OpenAIHTTPChatModel(connection, **options)


#: The entry point ``inference_core.chat_adapters: openai_http`` (see ``pyproject.toml``).
PLUGIN = ChatAdapterPlugin(
    name="openai_http",
    paths=(
        ClientPathInfo(
            name=ClientPath.OPENAI_HTTP,
            serves=("openai",),
            extra="openai",
            description="OpenAI chat completions over aiohttp, no SDK (the default; "
            "any OpenAI-compatible server)",
        ),
        ClientPathInfo(
            name=ClientPath.GPT5_HTTP,
            serves=("openai",),
            model_pattern=GPT5_PATTERN,
            extra="openai",
            description="GPT-5 family over aiohttp: max_completion_tokens, no sampling params",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("aiohttp", "orjson"),
)


def __getattr__(name: str) -> Any:
    # The adapter class imports aiohttp and orjson, so it loads on first use only.
    if name == "OpenAIHTTPChatModel":
        from inference_core.adapters.openai_http.chat import OpenAIHTTPChatModel

        return OpenAIHTTPChatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
