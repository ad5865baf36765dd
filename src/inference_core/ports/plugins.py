"""The extension point for chat adapters: what a plugin's entry point must name.

A package adds a client path by exposing a :class:`ChatAdapterPlugin` under the
``inference_core.chat_adapters`` entry-point group (``pyproject.toml``)::

    [project.entry-points."inference_core.chat_adapters"]
    my_gateway = "my_package.inference_plugin:PLUGIN"

The built-in adapters register the same way. Loading the entry point must be
cheap: import the vendor SDK in ``create``, not at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.plugins import ClientPathInfo
from inference_core.domain.routing import ProviderConnection
from inference_core.ports.chat import ChatModel

__all__ = ["CHAT_ADAPTERS_GROUP", "ChatAdapterPlugin", "requires"]

#: The entry-point group chat adapter plugins register under.
CHAT_ADAPTERS_GROUP = "inference_core.chat_adapters"


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
