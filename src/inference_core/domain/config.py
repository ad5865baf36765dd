"""The runtime configuration schema (``inference_runtime.yaml``) and call policies.

Loading, ``${VAR}`` substitution and error reporting live in
:mod:`inference_core.adapters.config`; this module only says what a valid
configuration is. Every section rejects unknown keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from inference_core.domain.catalog import ModelSpec
from inference_core.domain.chat import GenerationParams
from inference_core.domain.routing import RoutingTable

__all__ = [
    "ApiKeyEntry",
    "EndpointConfig",
    "MediaSettings",
    "RetryPolicy",
    "RuntimeConfig",
    "TimeoutPolicy",
]

_STRICT = ConfigDict(frozen=True, extra="forbid")


class ApiKeyEntry(BaseModel):
    """One ``api_keys`` entry: the key (``None`` when its variable is unset) and its origin."""

    model_config = _STRICT
    value: SecretStr | None = None
    env_var: str | None = Field(
        default=None, description="The ${VAR} the value came from, quoted in errors."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data: Any) -> Any:
        if data is None or isinstance(data, str | SecretStr):
            return {"value": data or None}
        return data


class EndpointConfig(BaseModel):
    """A ``custom_endpoints`` entry."""

    model_config = _STRICT
    base_url: str


class RetryPolicy(BaseModel):
    """How the single retry owner retries one model call.

    Attributes:
        max_attempts: HTTP attempts per model, first one included.
        initial_delay: First backoff delay in seconds (then multiplied, with jitter).
        max_delay: Cap for any single backoff delay.
        multiplier: Growth factor of the exponential backoff.
        retry_after_cap: Cap for a server-requested ``Retry-After`` wait.
        deadline: Overall seconds for one call including retries, re-asks and
            fallbacks; no attempt starts that could not finish before it.
        fallback_on_auth_error: Try the fallback chain on authentication errors too.
    """

    model_config = _STRICT
    max_attempts: int = Field(default=3, ge=1, le=20)
    initial_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=20.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    retry_after_cap: float = Field(default=60.0, ge=0)
    deadline: float | None = Field(default=300.0, gt=0)
    fallback_on_auth_error: bool = False


class TimeoutPolicy(BaseModel):
    """Per-attempt network timeouts in seconds."""

    model_config = _STRICT
    connect: float = Field(default=10.0, gt=0)
    read: float = Field(default=120.0, gt=0)


class MediaSettings(BaseModel):
    """The ``media:`` section: where generated files go and where seed generators live.

    Attributes:
        output_dir: Directory generated files are written to (relative paths
            are taken from the current directory when the store is built).
        generator_dirs: Seed-style generator directories to scan
            (``<dir>/<name>/generator.py``), relative to the config file.
        max_output_bytes: Size cap of one generated file.
        concurrency: Default bound of ``generate_many``.
        journal_path: The SQLite job journal of queued providers (fal, WaveSpeed);
            ``None``: ``$XDG_STATE_HOME/inference-core/jobs.sqlite3`` (else
            ``~/.local/state/inference-core/jobs.sqlite3``).
    """

    model_config = _STRICT
    output_dir: str = "generated-media"
    generator_dirs: tuple[str, ...] = ()
    max_output_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    concurrency: int = Field(default=4, ge=1, le=256)
    journal_path: str | None = Field(default=None, min_length=1)


class RuntimeConfig(BaseModel):
    """A validated ``inference_runtime.yaml``.

    Seed keys: ``default_model``, ``api_keys``, ``custom_endpoints``,
    ``model_configs``, ``routing``. Added: ``models`` (custom models merged into
    the catalog), ``fallbacks``, ``retry``, ``timeouts``, ``generators`` (options
    per generator id), ``media`` (output directory, seed generator directories).
    """

    model_config = _STRICT
    default_model: str | None = None
    api_keys: dict[str, ApiKeyEntry] = Field(default_factory=dict)
    custom_endpoints: dict[str, EndpointConfig] = Field(default_factory=dict)
    model_configs: dict[str, GenerationParams] = Field(default_factory=dict)
    routing: RoutingTable = RoutingTable()
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    fallbacks: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    timeouts: TimeoutPolicy = TimeoutPolicy()
    generators: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Options per generator id (model, base_url...)."
    )
    media: MediaSettings = MediaSettings()
    source: str | None = Field(default=None, description="File the config was read from.")

    @field_validator("models", mode="before")
    @classmethod
    def _ids_from_keys(cls, value: Any) -> Any:
        # ``models: {my-model: {provider: ...}}``: the key is the id.
        if isinstance(value, dict):
            return {
                key: {"id": key, **body} if isinstance(body, dict) else body
                for key, body in value.items()
            }
        return value

    def routing_table(self) -> RoutingTable:
        """The routing table with ``custom_endpoints`` folded in as fixed base URLs."""
        if not self.custom_endpoints:
            return self.routing
        merged = {name: ep.base_url for name, ep in self.custom_endpoints.items()}
        merged.update(self.routing.provider_base_url)
        return self.routing.model_copy(update={"provider_base_url": merged})
