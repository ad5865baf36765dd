"""Process-level settings from the environment and ``.env`` (pydantic-settings).

Read when :func:`~inference_core.composition.bootstrap` runs, never at import.
Environment variables win over ``.env`` values; nothing is written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

__all__ = ["InferenceSettings"]


class InferenceSettings(BaseSettings):
    """Settings that select the config file and defaults.

    Attributes:
        default_model: ``INFERENCE_DEFAULT_MODEL``; wins over the config's ``default_model``.
        runtime_config: ``INFERENCE_RUNTIME_CONFIG``; the runtime config file to use.
        ollama_base_url: ``OLLAMA_BASE_URL``; where the Ollama server listens.
        read_dotenv: Whether to merge the nearest ``.env`` file (upward search).
    """

    model_config = SettingsConfigDict(
        env_prefix="INFERENCE_", extra="ignore", frozen=True, populate_by_name=True
    )
    default_model: str | None = None
    runtime_config: Path | None = None
    ollama_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OLLAMA_BASE_URL", "ollama_base_url")
    )
    read_dotenv: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> InferenceSettings:
        """Settings read from ``environ`` instead of ``os.environ`` (tests, embedding apps).

        The same pydantic-settings mapping (prefix, aliases, parsing) as the
        process environment; ``os.environ`` and ``.env`` are not consulted.
        """
        source = _MappingSource(cls, environ)
        return cls.model_validate(source())


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._environ)
        return {name.lower(): value for name, value in self._environ.items()}
