"""What we know about models: capabilities, limits and prices, as data.

The built-in catalog ships inside the package (``inference_core/data/catalog.json``)
and is read on first use, never at import and never from the network. Runtime
config may add models (``models:``); they merge over the built-in entries.
Unknown figures are ``None``: an unknown price gives an unknown cost, never 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inference_core.domain.chat import Usage
from inference_core.domain.errors import ConfigurationError

__all__ = [
    "AdapterCapabilities",
    "JSONOutput",
    "ModelCapabilities",
    "ModelCatalog",
    "ModelSpec",
    "Pricing",
    "builtin_catalog",
]


class JSONOutput(StrEnum):
    """How strongly a model can be held to JSON output, strongest first."""

    JSON_SCHEMA = "json_schema"
    """Provider-native structured output: the schema is enforced server-side."""
    JSON_OBJECT_WITH_SCHEMA = "json_object_with_schema"
    """JSON mode whose ``response_format`` also carries the schema (llama.cpp grammar)."""
    JSON_OBJECT = "json_object"
    """JSON mode: any syntactically valid JSON object; the schema goes in the prompt."""
    NONE = "none"
    """No JSON mode: the schema is requested in the prompt only."""

    @property
    def strength(self) -> int:
        """Higher is stronger; used to pick the best strategy both sides support."""
        return _JSON_STRENGTH[self]


_JSON_STRENGTH = {
    JSONOutput.JSON_SCHEMA: 3,
    JSONOutput.JSON_OBJECT_WITH_SCHEMA: 2,
    JSONOutput.JSON_OBJECT: 1,
    JSONOutput.NONE: 0,
}

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ModelCapabilities(BaseModel):
    """Declared abilities of one model (data, not code paths)."""

    model_config = _FROZEN
    streaming: bool = True
    stream_usage: bool = Field(
        default=True, description="The provider reports usage at the end of a stream."
    )
    vision: bool = False
    audio_input: bool = False
    json_output: JSONOutput = JSONOutput.JSON_OBJECT
    tools: bool = Field(default=False, description="Takes tool definitions and calls tools.")
    parallel_tool_calls: bool = Field(
        default=True, description="May call several tools in one answer (with tools)."
    )
    forced_tool_choice: bool = Field(
        default=True, description="Accepts tool_choice 'required' or a named tool (with tools)."
    )
    reasoning: bool = Field(default=False, description="Accepts reasoning_effort.")
    sampling_params: bool = Field(
        default=True, description="Accepts temperature/top_p (GPT-5 reasoning models do not)."
    )


class AdapterCapabilities(BaseModel):
    """What a chat adapter can send and report, whatever the model (data for docs and policy).

    A use-case combines this with the model's :class:`ModelCapabilities`: a
    feature is used only when both sides have it.
    """

    model_config = _FROZEN
    streaming: bool = True
    json_outputs: tuple[JSONOutput, ...] = (JSONOutput.JSON_OBJECT, JSONOutput.NONE)
    images: bool = False
    image_urls: bool = Field(default=False, description="Remote image URLs, not only inline.")
    audio_input: bool = False
    reasoning_effort: bool = False
    seed: bool = False
    stop: bool = True
    usage_fields: tuple[str, ...] = ("input_tokens", "output_tokens")
    tools: bool = Field(default=False, description="Sends tool definitions, reports tool calls.")
    parallel_tool_calls: bool = Field(
        default=False, description="Can switch parallel tool calls on and off per request."
    )
    forced_tool_choice: bool = Field(
        default=False, description="Can force a call: tool_choice 'required' or a named tool."
    )
    tool_call_streaming: bool = Field(
        default=False,
        description="Streams tool-call arguments in pieces (else each call arrives whole).",
    )
    max_context_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Prompt plus output this adapter can hold, whatever the model (llama.cpp's "
        "allocated n_ctx); the smaller of it and the model's window applies.",
    )

    def best_json_output(self, declared: JSONOutput) -> JSONOutput:
        """The strongest JSON strategy the adapter supports that the model also declares."""
        usable = [j for j in self.json_outputs if j.strength <= declared.strength]
        return max(usable, key=lambda j: j.strength, default=JSONOutput.NONE)


class Pricing(BaseModel):
    """US dollars per million tokens; ``None`` where unknown."""

    model_config = _FROZEN
    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


class ModelSpec(BaseModel):
    """One model: identity, provider, limits, capabilities and prices.

    Attributes:
        id: Catalog id, e.g. ``gpt-4o`` or ``google-ai-studio/gemini-2.5-flash``.
        provider: Provider name used for routing (``openai``, ``anthropic``...).
        wire_id: Id sent to the provider API when it differs from ``id``.
        client: Preferred client path, overriding the provider's default.
        aliases: Other names that resolve to this model (``gemini-pro``).
        max_output_tokens: The most output tokens the model can produce.
        default_max_tokens: Output cap sent when a call sets none; ``None`` sends
            ``max_output_tokens``. Set for slow models (a CPU-bound local model
            would otherwise generate for minutes when a call forgets a cap).
    """

    model_config = _FROZEN
    id: str
    provider: str
    name: str | None = None
    description: str | None = None
    wire_id: str | None = None
    client: str | None = None
    aliases: tuple[str, ...] = ()
    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    default_max_tokens: int | None = Field(default=None, gt=0)
    capabilities: ModelCapabilities = ModelCapabilities()
    pricing: Pricing = Pricing()

    @property
    def api_model(self) -> str:
        """The model id to send on the wire."""
        return self.wire_id or self.id

    def cost(self, usage: Usage) -> float | None:
        """Price ``usage`` with this model's prices; ``None`` if a needed price is unknown."""
        p = self.pricing
        if usage.input_tokens is None and usage.output_tokens is None:
            return None
        total = 0.0
        cached = usage.cached_tokens or 0
        written = usage.cache_write_tokens or 0
        # input_tokens counts every prompt token; cached and cache-write ones are priced apart.
        fresh_input = (usage.input_tokens or 0) - cached - written
        for tokens, price in (
            (fresh_input, p.input),
            (cached, p.cached_input if p.cached_input is not None else p.input),
            (
                usage.cache_write_tokens or 0,
                p.cache_write if p.cache_write is not None else p.input,
            ),
            (usage.output_tokens or 0, p.output),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price / 1_000_000
        return total


class ModelCatalog(Mapping[str, ModelSpec]):
    """An immutable id -> :class:`ModelSpec` mapping that also resolves aliases."""

    __slots__ = ("_aliases", "_specs")

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        self._aliases: dict[str, str] = {}
        for spec in specs:
            self._specs[spec.id] = spec
            for alias in spec.aliases:
                self._aliases[alias] = spec.id

    def __getitem__(self, model_id: str) -> ModelSpec:
        spec: ModelSpec | None = self.get(model_id)
        if spec is None:
            raise KeyError(model_id)
        return spec

    def get(self, model_id: str, default: Any = None) -> Any:  # noqa: D102 - Mapping API
        spec = self._specs.get(model_id)
        if spec is None:
            canonical = self._aliases.get(model_id)
            spec = self._specs.get(canonical) if canonical else None
        return default if spec is None else spec

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def canonical_id(self, model_id: str) -> str:
        """Return the catalog id for ``model_id`` or one of its aliases (unchanged if unknown)."""
        return model_id if model_id in self._specs else self._aliases.get(model_id, model_id)

    def by_provider(self) -> dict[str, list[ModelSpec]]:
        """Group models by provider, in catalog order."""
        grouped: dict[str, list[ModelSpec]] = {}
        for spec in self._specs.values():
            grouped.setdefault(spec.provider, []).append(spec)
        return grouped

    def providers(self) -> frozenset[str]:
        """Every provider named by some model."""
        return frozenset(spec.provider for spec in self._specs.values())

    def merged(self, specs: Iterable[ModelSpec]) -> ModelCatalog:
        """Return a new catalog with ``specs`` added or replacing same-id entries."""
        return ModelCatalog([*self._specs.values(), *specs])


@cache
def builtin_catalog() -> ModelCatalog:
    """Load the catalog shipped in the package (read once, then cached)."""
    raw = resources.files("inference_core.data").joinpath("catalog.json").read_bytes()
    return catalog_from_data(json.loads(raw), source="inference_core/data/catalog.json")


def catalog_from_data(data: Mapping[str, Any], *, source: str) -> ModelCatalog:
    """Build a catalog from ``{"models": [...]}`` data, naming ``source`` on errors."""
    specs = []
    for index, entry in enumerate(data.get("models", [])):
        try:
            specs.append(ModelSpec.model_validate(entry))
        except ValidationError as exc:
            ident = entry.get("id", "?") if isinstance(entry, Mapping) else "?"
            raise ConfigurationError(f"{source}: models[{index}] ({ident}): {exc}") from exc
    return ModelCatalog(specs)
