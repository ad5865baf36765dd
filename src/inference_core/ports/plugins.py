"""The extension points: what a plugin's entry point must name.

A package adds a client path by exposing a :class:`ChatAdapterPlugin` under the
``inference_core.chat_adapters`` entry-point group, and a media generator by
exposing a :class:`GeneratorPlugin` under ``inference_core.media_generators``
(``pyproject.toml``)::

    [project.entry-points."inference_core.chat_adapters"]
    my_gateway = "my_package.inference_plugin:PLUGIN"

    [project.entry-points."inference_core.media_generators"]
    my_painter = "my_package.painter:PLUGIN"

The built-in adapters and generators register the same way. Loading the entry
point must be cheap: import the vendor SDK in ``create``, not at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.media import MediaKind
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ProviderConnection
from inference_core.ports.chat import ChatModel
from inference_core.ports.media import MediaGenerator

__all__ = [
    "CHAT_ADAPTERS_GROUP",
    "MEDIA_GENERATORS_GROUP",
    "ChatAdapterPlugin",
    "GeneratorContext",
    "GeneratorPlugin",
    "requires",
]

#: The entry-point group chat adapter plugins register under.
CHAT_ADAPTERS_GROUP = "inference_core.chat_adapters"
#: The entry-point group media generator plugins register under.
MEDIA_GENERATORS_GROUP = "inference_core.media_generators"


def _always() -> str | None:
    return None


def requires(*modules: str) -> Callable[[], str | None]:
    """A ``missing`` check: the first of ``modules`` not installed (found without importing)."""
    from importlib.util import find_spec

    def missing() -> str | None:
        return next((name for name in modules if find_spec(name) is None), None)

    return missing


def _no_default() -> str | None:
    return None


@dataclass(frozen=True)
class ChatAdapterPlugin:
    """A chat adapter as a plugin.

    Attributes:
        name: The plugin's name (shown by ``inference-core plugins``).
        paths: The client paths it serves, with their routing declarations.
        create: Builds the adapter for one provider connection; must raise
            :class:`~inference_core.domain.errors.ConfigurationError` (never an
            ImportError) when something it needs is missing.
        capabilities: What the adapter can send and report, whatever the model.
        missing: Returns the name of a missing dependency, or ``None`` when the
            adapter can be built (checked without importing the dependency).
        default_model: Returns the model this adapter offers when nothing names
            one (the embedded local model), or ``None``.
        diagnose: Checks for ``inference-core doctor``: ``(check, status, detail)``
            rows, status ``ok`` / ``warn`` / ``FAIL``. Must not load models or
            reach the network.
    """

    name: str
    paths: tuple[ClientPathInfo, ...]
    create: Callable[[ProviderConnection], ChatModel]
    capabilities: AdapterCapabilities
    missing: Callable[[], str | None] = _always
    default_model: Callable[[], str | None] = _no_default
    diagnose: Callable[[], list[tuple[str, str, str]]] = lambda: []


@dataclass(frozen=True)
class GeneratorContext:
    """What a generator factory may use: its settings and the secrets it names.

    Attributes:
        options: The generator's section of ``generators:`` in the runtime
            config (model, base_url, timeouts...), ``${VAR}`` already substituted.
        secrets: API keys by environment-variable name, as the runtime loaded
            them (process environment, then ``.env`` when allowed). Never
            ``os.environ`` directly, so tests and hosts can inject keys.
    """

    options: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, SecretStr] = field(default_factory=dict)

    def secret(self, *names: str) -> SecretStr | None:
        """The first of ``names`` that holds a non-empty key."""
        for name in names:
            value = self.secrets.get(name)
            if value is not None and value.get_secret_value():
                return value
        return None

    def option(self, name: str, default: Any = None) -> Any:
        """One setting of this generator's config section."""
        return self.options.get(name, default)


@dataclass(frozen=True)
class GeneratorPlugin:
    """A media generator as a plugin.

    Attributes:
        id: The generator id requests name (``openai_images``...).
        kind: What it produces.
        create: Builds the generator; raises
            :class:`~inference_core.domain.errors.ConfigurationError` when a key
            or setting it needs is missing. Called lazily, on first use.
        missing: Returns the name of a missing dependency, or ``None``.
        description: One line for ``inference-core generators``.
    """

    id: str
    kind: MediaKind
    create: Callable[[GeneratorContext], MediaGenerator]
    missing: Callable[[], str | None] = _always
    description: str = ""
