"""Ollama adapter: the native HTTP API (``/api/chat``, ``/api/tags``, ``/api/show``, ``/api/pull``).

* :class:`OllamaChatModel` implements :class:`~inference_core.ports.ChatModel`
  (whole answers and NDJSON streams, JSON mode or a JSON Schema in ``format``,
  base64 images, ``options`` for sampling and length, function tools: Ollama
  has no ``tool_choice`` and sends each call whole).
* :class:`OllamaClient` lists, shows and pulls models.
* :func:`create_chat_model` is what the composition root calls for the
  ``ollama`` client path; :func:`create_client` builds a standalone client.

The base URL defaults to ``http://localhost:11434``. An API key, when one is
configured (an authenticating proxy, Ollama's hosted API), is sent as
``Authorization: Bearer``; it never appears in errors or ``repr``.

Importing this package does not import ``httpx``; building an adapter does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ClientPath, ProviderConnection
from inference_core.ports.plugins import ChatAdapterPlugin, requires

if TYPE_CHECKING:
    from inference_core.adapters.ollama._http import build_http_client
    from inference_core.adapters.ollama.chat import OllamaChatModel, chat_body
    from inference_core.adapters.ollama.client import (
        OllamaClient,
        OllamaModel,
        OllamaModelDetails,
        OllamaModelInfo,
        PullCallback,
        PullProgress,
    )

__all__ = [
    "CAPABILITIES",
    "CLIENT_PATHS",
    "DEFAULT_BASE_URL",
    "OllamaChatModel",
    "OllamaClient",
    "OllamaModel",
    "OllamaModelDetails",
    "OllamaModelInfo",
    "PullCallback",
    "PullProgress",
    "build_http_client",
    "chat_body",
    "create_chat_model",
    "create_client",
]

#: The client paths this package serves.
CLIENT_PATHS: tuple[ClientPath, ...] = (ClientPath.OLLAMA,)

#: Where a local Ollama daemon listens unless told otherwise.
DEFAULT_BASE_URL = "http://localhost:11434"

#: What the Ollama adapter can send and report, whatever the model.
CAPABILITIES = AdapterCapabilities(
    streaming=True,
    # A JSON Schema in ``format`` is enforced by Ollama's grammar sampler; "json" is JSON mode.
    json_outputs=(
        JSONOutput.JSON_SCHEMA,
        JSONOutput.JSON_OBJECT_WITH_SCHEMA,
        JSONOutput.JSON_OBJECT,
        JSONOutput.NONE,
    ),
    images=True,
    image_urls=False,  # /api/chat takes base64 images only
    audio_input=False,
    reasoning_effort=False,
    seed=True,
    stop=True,
    usage_fields=("input_tokens", "output_tokens"),
    tools=True,
    parallel_tool_calls=False,  # no switch for it
    forced_tool_choice=False,  # no tool_choice at all
    tool_call_streaming=False,  # each call arrives whole in one line
)

_LAZY = {
    "build_http_client": "_http",
    "OllamaChatModel": "chat",
    "chat_body": "chat",
    "OllamaClient": "client",
    "OllamaModel": "client",
    "OllamaModelDetails": "client",
    "OllamaModelInfo": "client",
    "PullCallback": "client",
    "PullProgress": "client",
}


def __getattr__(name: str) -> Any:
    # These modules import httpx, so they load on first use only.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def _require_httpx() -> None:
    try:
        import httpx  # noqa: F401 - probe only
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the Ollama adapter needs the 'ollama' extra: pip install 'inference-core[ollama]' "
            f"(missing module: {exc.name})"
        ) from exc


def create_chat_model(connection: ProviderConnection, **options: Any) -> OllamaChatModel:
    """Build the chat model for one Ollama endpoint (the composition root's hook).

    Args:
        connection: Endpoint, optional key, headers and timeouts.
        **options: ``http`` injects your own ``httpx.AsyncClient`` (its
            ``base_url`` must be the Ollama root); ``verify`` is the TLS
            setting of the client built otherwise.

    Raises:
        ConfigurationError: Wrong client path, or ``httpx`` is not installed.
    """
    if connection.client not in CLIENT_PATHS:
        raise ConfigurationError(
            f"the ollama adapter serves {[c.value for c in CLIENT_PATHS]}, "
            f"not {connection.client!r}"
        )
    _require_httpx()
    from inference_core.adapters.ollama._http import build_http_client
    from inference_core.adapters.ollama.chat import OllamaChatModel

    verify = options.pop("verify", True)
    http = options.pop("http", None) or build_http_client(connection, verify=verify)
    return OllamaChatModel(
        http,
        provider=connection.provider,
        connect_timeout=connection.connect_timeout,
        read_timeout=connection.read_timeout,
        **options,
    )


def create_client(connection: ProviderConnection) -> OllamaClient:
    """Build a standalone management client; close it with ``await client.aclose()``."""
    _require_httpx()
    from inference_core.adapters.ollama._http import build_http_client
    from inference_core.adapters.ollama.client import OllamaClient

    return OllamaClient(
        build_http_client(connection),
        provider=connection.provider,
        connect_timeout=connection.connect_timeout,
        read_timeout=connection.read_timeout,
        owns_http=True,
    )


#: The entry point ``inference_core.chat_adapters: ollama``.
PLUGIN = ChatAdapterPlugin(
    name="ollama",
    paths=(
        ClientPathInfo(
            name=ClientPath.OLLAMA,
            serves=("ollama",),
            keyless=("ollama",),
            extra="ollama",
            description="Ollama's native API (/api/chat, NDJSON streams, model management)",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("httpx"),
)
