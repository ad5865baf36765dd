"""The seed's ``CustomModelClient``: ``LLMClient`` plus Ollama helpers and custom models.

``call(model="ollama/llama3")`` routes like any model (to the native Ollama
adapter). ``call_ollama``/``stream_ollama`` force the Ollama route for a bare
model name; ``list_ollama_models``/``pull_ollama_model`` use Ollama's
management API; ``register_custom_model`` adds a catalog entry through the
same validation as the runtime config's ``models:`` section.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from inference_core.compat.llm_client import LLMClient
from inference_core.compat.registry import ModelConfig, ModelInfo, custom_model_spec
from inference_core.composition import Inference, bootstrap
from inference_core.composition.services import ollama_manager
from inference_core.domain.chat import ReasoningEffort

if TYPE_CHECKING:  # the Ollama adapter (and httpx) load on first use only
    from inference_core.composition.services import PullProgress

__all__ = ["CustomModelClient"]

_OLLAMA = "ollama"


def _ollama_id(model: str) -> str:
    return model if model.startswith(f"{_OLLAMA}/") else f"{_OLLAMA}/{model}"


class CustomModelClient(LLMClient):
    """Self-hosted and custom models (Ollama first), with the seed's extra methods.

    Args:
        base_url: The Ollama server (wins over config and ``OLLAMA_BASE_URL``).
        default_model: Model used when a call names none (seed default ``llama3``).
        config_path: Runtime config file (else the usual search).
        max_tokens: Default output cap for every call.
        reasoning_effort: Default reasoning effort (models that accept it).
        inference: A ready :class:`Inference` (tests); skips bootstrap.
    """

    def __init__(
        self,
        base_url: str | None = None,
        default_model: str | None = "llama3",
        config_path: str | None = None,
        *,
        max_tokens: int | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        inference: Inference | None = None,
    ) -> None:
        if inference is None:
            inference = bootstrap(
                config_path=config_path,
                default_model=default_model,
                endpoints={_OLLAMA: base_url} if base_url else None,
            )
        super().__init__(
            default_model,
            max_tokens=max_tokens,
            reasoning_effort=reasoning_effort,
            inference=inference,
        )

    def _ollama_model(self, model: str | None) -> str:
        return _ollama_id(model or self.default_model or "llama3")

    def call_ollama(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """:meth:`call` on the Ollama route for a bare model name (``llama3``)."""
        return self.call(messages, self._ollama_model(model), config, **kwargs)

    def stream_ollama(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`stream_call` on the Ollama route for a bare model name."""
        return self.stream_call(messages, self._ollama_model(model), config, **kwargs)

    def astream_ollama(
        self,
        messages: Sequence[Any],
        model: str | None = None,
        config: ModelConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Async :meth:`stream_ollama`."""
        return self.astream_call(messages, self._ollama_model(model), config, **kwargs)

    def list_ollama_models(self) -> list[str]:
        """Names of the models installed in the Ollama server (``/api/tags``)."""

        async def names() -> list[str]:
            client = ollama_manager(self._inference, self._ollama_model(None))
            try:
                return [model.name for model in await client.list_models()]
            finally:
                await client.aclose()

        return self._inference.run_sync(names())

    def pull_ollama_model(
        self, model: str, progress: Callable[[PullProgress], None] | None = None
    ) -> dict[str, Any]:
        """Download ``model`` into the Ollama server, reporting progress lines.

        Returns:
            The final status line as a dict (``{"status": "success", ...}``).
        """
        name = model.removeprefix(f"{_OLLAMA}/")

        async def pull() -> dict[str, Any]:
            client = ollama_manager(self._inference, name)
            try:
                final = await client.pull(name, progress)
            finally:
                await client.aclose()
            status: dict[str, Any] = final.model_dump(exclude_none=True)
            return status

        return self._inference.run_sync(pull())

    def register_custom_model(
        self,
        model_id: str,
        name: str | None = None,
        provider: str = "custom",
        supports_streaming: bool = True,
        supports_multimodal: bool = False,
        max_tokens: int | None = None,
        context_window: int | None = None,
        description: str | None = None,
        **fields: Any,
    ) -> ModelInfo:
        """Add a model to this client's catalog (same validation as config ``models:``).

        Extra keyword arguments are ``models:`` keys (``wire_id``, ``client``,
        ``pricing``, ``capabilities``...). Route the provider with
        ``routing.provider_client`` etc. in the runtime config when it is not a
        known provider.
        """
        spec = custom_model_spec(
            model_id,
            name=name,
            provider=provider,
            supports_streaming=supports_streaming,
            supports_multimodal=supports_multimodal,
            max_tokens=max_tokens,
            context_window=context_window,
            description=description,
            **fields,
        )
        self._inference.register_model(spec)
        return ModelInfo.from_spec(spec)
