"""The port that turns a model id into a ready chat model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from inference_core.domain.catalog import ModelCapabilities, ModelSpec
from inference_core.domain.chat import GenerationParams
from inference_core.domain.routing import Route
from inference_core.ports.chat import ChatModel

__all__ = ["ModelRouter", "ResolvedModel"]


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A routed model: how it is reached, its adapter and its declared capabilities."""

    route: Route
    chat_model: ChatModel
    capabilities: ModelCapabilities
    defaults: GenerationParams = field(default_factory=GenerationParams)
    """Per-model defaults from ``model_configs``; explicit call params win."""

    @property
    def spec(self) -> ModelSpec | None:
        """The catalog entry, when the model is in the catalog."""
        return self.route.spec


@runtime_checkable
class ModelRouter(Protocol):
    """Resolves model ids to ready adapters.

    Implementations guarantee: the same (client path, endpoint, key) reuses one
    adapter (connection pooling) within one event loop; ``None`` means the
    configured default model; unroutable ids and missing keys raise
    :class:`~inference_core.domain.errors.ConfigurationError` subclasses.
    """

    def resolve(self, model: str | None) -> ResolvedModel:
        """Return the route, adapter and capabilities for ``model``."""
        ...

    def fallbacks(self, model: str) -> tuple[str, ...]:
        """The configured fallback chain for ``model`` (without ``model`` itself)."""
        ...
