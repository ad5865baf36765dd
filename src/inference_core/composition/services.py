"""The adapters the seed facades reshape, handed out by the composition root.

``compat`` never imports an adapter (an import-linter contract keeps it so):
what a facade needs beyond the use-cases - the Pillow image helper, the exact
token counter, Ollama's management API, the config file reader - it gets
from here, so which adapter serves it is decided in one place. Everything is
imported on first use: the facades load without Pillow, tiktoken or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inference_core.adapters.config import (
    environment_snapshot,
    find_file_upwards,
    load_runtime,
    read_env_file,
    substitute_env,
)
from inference_core.adapters.config.loader import parse_config_text, read_config_file
from inference_core.domain.images import ImageLimits
from inference_core.ports.tokens import TokenCounter

if TYPE_CHECKING:
    from inference_core.adapters.imaging import ImageSource, PillowImaging
    from inference_core.adapters.ollama import OllamaClient, PullProgress
    from inference_core.composition import Inference

__all__ = [
    "ImageSource",
    "OllamaClient",
    "PillowImaging",
    "PullProgress",
    "environment_snapshot",
    "exact_token_counter",
    "find_file_upwards",
    "image_processor",
    "load_runtime",
    "ollama_manager",
    "parse_config_text",
    "read_config_file",
    "read_env_file",
    "substitute_env",
]


def image_processor(limits: ImageLimits | None = None) -> PillowImaging:
    """The Pillow image helper (needs the ``media`` extra)."""
    from inference_core.adapters.imaging import PillowImaging

    return PillowImaging(limits)


def exact_token_counter() -> TokenCounter:
    """The tiktoken counter (needs the ``tokens`` extra; estimates without it)."""
    from inference_core.adapters.tokens import TiktokenCounter

    return TiktokenCounter()


def ollama_manager(inference: Inference, model: str) -> OllamaClient:
    """A client of Ollama's management API (tags, pull) on the server that serves ``model``.

    ``model`` is an Ollama model id (``ollama/llama3`` or ``llama3``); its
    connection (base URL, headers, key) is resolved by the router exactly as for
    a chat call, so ``base_url=``, config and ``OLLAMA_BASE_URL`` all apply.
    Close it with ``await client.aclose()``.
    """
    from inference_core.adapters.ollama import DEFAULT_BASE_URL, create_client

    router = inference.router
    routed = model if model.startswith("ollama/") else f"ollama/{model}"
    connection = router.connection(router.route(routed))
    if connection.base_url is None:
        connection = connection.model_copy(update={"base_url": DEFAULT_BASE_URL})
    return create_client(connection)
