"""OpenAI chat completions through the SDK (``openai_sdk``, ``gpt5_sdk``), opt-in.

The ``openai`` provider's default paths are ``openai_http``/``gpt5_http``
(:mod:`inference_core.adapters.openai_http`, no SDK, same wire and contract);
these serve configs that name them in ``routing.provider_client``, e.g. to use
an SDK feature the wire adapter does not have. Requests go through
``openai.AsyncOpenAI`` with SDK retries off. JSON output:
``json_schema`` (strict structured output), ``json_object`` (JSON mode) and the
llama.cpp form ``{"type": "json_object", "schema": ...}``. Images travel as
``image_url`` parts (remote URLs or data URLs), audio as ``input_audio``.
``gpt5_sdk`` sends ``max_completion_tokens`` and never ``temperature``/``top_p``.
Tools: function tools, every ``tool_choice``, ``parallel_tool_calls``, and
arguments streamed in pieces (reassembled into the final chunk's calls).
Usage reports cached, cache-write and reasoning tokens when the server does.

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
    from inference_core.adapters.openai.chat import OpenAIChatModel

__all__ = ["CAPABILITIES", "CLIENT_PATHS", "PLUGIN", "OpenAIChatModel", "create_chat_model"]

#: The client paths this package serves (docs and bootstrap use it).
CLIENT_PATHS: tuple[ClientPath, ...] = (ClientPath.OPENAI_SDK, ClientPath.GPT5_SDK)

#: What the adapter can send and report, whatever the model.
CAPABILITIES = AdapterCapabilities(
    streaming=True,
    json_outputs=(
        JSONOutput.JSON_SCHEMA,
        JSONOutput.JSON_OBJECT_WITH_SCHEMA,
        JSONOutput.JSON_OBJECT,
        JSONOutput.NONE,
    ),
    images=True,
    image_urls=True,
    audio_input=True,
    reasoning_effort=True,
    seed=True,
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


def create_chat_model(connection: ProviderConnection, **options: Any) -> OpenAIChatModel:
    """Build the chat model for ``connection`` (the bootstrap factory entry point).

    Args:
        connection: Endpoint, key, headers and timeouts; ``client`` must be
            ``openai_sdk`` or ``gpt5_sdk``.
        **options: Passed to :class:`OpenAIChatModel` (``http_backend``,
            ``stream_usage``, ``client``...).

    Raises:
        ConfigurationError: Wrong client path, or the ``openai`` extra is missing.
    """
    if connection.client not in CLIENT_PATHS:
        raise ConfigurationError(
            f"the openai adapter serves {[c.value for c in CLIENT_PATHS]}, "
            f"not {connection.client!r}"
        )
    try:
        from inference_core.adapters.openai.chat import OpenAIChatModel
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the OpenAI adapter needs the 'openai' extra: pip install 'inference-core[openai]' "
            f"(missing module: {exc.name})"
        ) from exc
    return OpenAIChatModel(connection, **options)


#: The entry point ``inference_core.chat_adapters: openai`` (see ``pyproject.toml``).
PLUGIN = ChatAdapterPlugin(
    name="openai",
    paths=(
        ClientPathInfo(
            name=ClientPath.OPENAI_SDK,
            extra="openai",
            description="OpenAI chat completions through the openai SDK (opt-in; "
            "openai_http is the default)",
        ),
        ClientPathInfo(
            name=ClientPath.GPT5_SDK,
            extra="openai",
            description="GPT-5 family through the openai SDK: max_completion_tokens, "
            "no sampling params (opt-in)",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("openai"),
)


def __getattr__(name: str) -> Any:
    # The adapter class imports the SDK, so it loads on first use only.
    if name == "OpenAIChatModel":
        from inference_core.adapters.openai.chat import OpenAIChatModel

        return OpenAIChatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
