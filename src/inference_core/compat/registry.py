"""The seed's model registry API (``ModelRegistry``, ``get_model_config``, ``ModelConfig``).

A thin view over the domain :class:`~inference_core.domain.catalog.ModelCatalog`:
no model data lives here. ``ModelRegistry()`` shows the built-in catalog;
``ModelRegistry(inference.catalog)`` shows it merged with the runtime config's
``models:`` section. Custom models registered through the seed's
``register_custom_model`` become :class:`ModelSpec` values through
:func:`custom_model_spec`, which validates them exactly like a ``models:``
entry of ``inference_runtime.yaml``.

Seed usage::

    registry = ModelRegistry()
    registry.list_models()               # ["gpt-5", "gpt-5-mini", ...]
    registry.list_models_by_provider()   # {"openai": [...], "anthropic": [...], ...}
    info = get_model_config("gpt-4o")
    info.name, info.supports_multimodal, info.max_tokens, info.context_window
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from inference_core.domain.catalog import ModelCatalog, ModelSpec, builtin_catalog
from inference_core.domain.chat import GenerationParams
from inference_core.domain.config import RuntimeConfig
from inference_core.domain.errors import ConfigurationError

__all__ = [
    "ModelConfig",
    "ModelInfo",
    "ModelRegistry",
    "custom_model_spec",
    "get_model_config",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ModelConfig(BaseModel):
    """Per-call model settings, as the seed's ``ModelConfig``.

    Every field is optional: unset fields fall back to the model's configured
    defaults (``model_configs``) and then to the provider's.

    Attributes:
        model: Model id (catalog id, alias or ``provider/model``).
        temperature: Sampling temperature, 0 to 2.
        max_tokens: Output token cap.
        top_p: Nucleus sampling mass, (0, 1].
        api_key: Key for this call, overriding the configured one (never shown in ``repr``).
        base_url: Endpoint for this call, overriding the configured one.
    """

    model_config = _FROZEN
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    api_key: SecretStr | None = None
    base_url: str | None = None

    def generation_params(self) -> GenerationParams:
        """The sampling and length settings as domain :class:`GenerationParams`."""
        return GenerationParams(
            temperature=self.temperature, max_tokens=self.max_tokens, top_p=self.top_p
        )


class ModelInfo(BaseModel):
    """What the seed's registry returned for one model: a read-only view of a :class:`ModelSpec`.

    Attributes:
        model_id: Catalog id.
        name: Display name (the id when the catalog has none).
        provider: Provider name used for routing.
        supports_streaming: The model can stream its answer.
        supports_multimodal: The model accepts images.
        max_tokens: Maximum output tokens, ``None`` when unknown.
        context_window: Context window in tokens, ``None`` when unknown.
        description: Free text, ``None`` when the catalog has none.
        spec: The full catalog entry (capabilities, prices, aliases...).
    """

    model_config = ConfigDict(frozen=True)
    model_id: str
    name: str
    provider: str
    supports_streaming: bool
    supports_multimodal: bool
    max_tokens: int | None
    context_window: int | None
    description: str | None
    spec: ModelSpec = Field(repr=False, exclude=True)

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> ModelInfo:
        """Build the seed-shaped view of ``spec``."""
        return cls(
            model_id=spec.id,
            name=spec.name or spec.id,
            provider=spec.provider,
            supports_streaming=spec.capabilities.streaming,
            supports_multimodal=spec.capabilities.vision,
            max_tokens=spec.max_output_tokens,
            context_window=spec.context_window,
            description=spec.description,
            spec=spec,
        )


def custom_model_spec(
    model_id: str,
    name: str | None = None,
    provider: str = "custom",
    supports_streaming: bool = True,
    supports_multimodal: bool = False,
    max_tokens: int | None = None,
    context_window: int | None = None,
    description: str | None = None,
    **fields: Any,
) -> ModelSpec:
    """Turn the seed's ``register_custom_model`` arguments into a catalog entry.

    The entry is validated as a ``models:`` entry of the runtime config, so a
    model registered in code and one declared in YAML are the same thing.

    Args:
        model_id: The id callers will use.
        name: Display name.
        provider: Provider name used for routing (seed default ``custom``).
        supports_streaming: Seed flag, stored as ``capabilities.streaming``.
        supports_multimodal: Seed flag, stored as ``capabilities.vision``.
        max_tokens: Maximum output tokens (``max_output_tokens``).
        context_window: Context window in tokens.
        description: Free text.
        **fields: Any other ``models:`` key (``wire_id``, ``client``, ``aliases``,
            ``pricing``, ``capabilities``...); ``capabilities`` merges with the flags.

    Raises:
        ConfigurationError: A value is invalid (the message names the field).
    """
    if "id" in fields:
        raise ConfigurationError(f"invalid custom model {model_id!r}: pass the id as model_id")
    capabilities = {
        "streaming": supports_streaming,
        "vision": supports_multimodal,
        **dict(fields.pop("capabilities", None) or {}),
    }
    entry: dict[str, Any] = {
        "provider": provider,
        "capabilities": capabilities,
        **fields,
    }
    for key, value in (
        ("name", name),
        ("description", description),
        ("max_output_tokens", max_tokens),
        ("context_window", context_window),
    ):
        if value is not None:
            entry[key] = value
    try:
        config = RuntimeConfig.model_validate({"models": {model_id: entry}})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][2:]) or 'entry'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"invalid custom model {model_id!r}: {problems}") from exc
    return config.models[model_id]


class ModelRegistry:
    """The seed's model registry, over a :class:`ModelCatalog`.

    Args:
        catalog: The models to show; the built-in catalog when omitted.
    """

    def __init__(self, catalog: ModelCatalog | None = None) -> None:
        self._catalog = catalog if catalog is not None else builtin_catalog()

    def __repr__(self) -> str:
        return f"ModelRegistry({len(self._catalog)} models)"

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self._catalog.get(model_id) is not None

    def __iter__(self) -> Iterator[ModelInfo]:
        return (ModelInfo.from_spec(spec) for spec in self._catalog.values())

    def __len__(self) -> int:
        return len(self._catalog)

    @property
    def catalog(self) -> ModelCatalog:
        """The catalog this registry shows, including models registered on it."""
        return self._catalog

    def list_models(self) -> list[str]:
        """Every model id, in catalog order."""
        return list(self._catalog)

    def list_models_by_provider(self) -> dict[str, list[str]]:
        """Model ids grouped by provider, in catalog order."""
        return {
            provider: [spec.id for spec in specs]
            for provider, specs in self._catalog.by_provider().items()
        }

    def get_model(self, model_id: str) -> ModelInfo | None:
        """The model's info (``model_id`` may be an alias), or ``None`` when unknown."""
        spec: ModelSpec | None = self._catalog.get(model_id)
        return None if spec is None else ModelInfo.from_spec(spec)

    def register_model(self, model: ModelSpec | ModelInfo) -> ModelInfo:
        """Add ``model`` to this registry (replacing a same-id entry) and return its info.

        Only this registry's catalog changes; the built-in catalog and other
        registries are untouched.
        """
        spec = model.spec if isinstance(model, ModelInfo) else model
        self._catalog = self._catalog.merged([spec])
        return ModelInfo.from_spec(spec)

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
        """Register a model from the seed's keyword arguments (see :func:`custom_model_spec`)."""
        return self.register_model(
            custom_model_spec(
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
        )


def get_model_config(model_id: str, catalog: ModelCatalog | None = None) -> ModelInfo | None:
    """The seed's lookup: info for ``model_id`` (or an alias), ``None`` when unknown.

    Args:
        model_id: Catalog id or alias.
        catalog: Where to look; the built-in catalog when omitted.
    """
    return ModelRegistry(catalog).get_model(model_id)
