"""Find the installed chat adapter plugins through ``importlib.metadata`` entry points.

Every adapter, built-in or third-party, is found the same way: an entry point in
the ``inference_core.chat_adapters`` group naming a
:class:`~inference_core.ports.plugins.ChatAdapterPlugin`. A plugin that fails to
load is not fatal: it is listed with the reason (``inference-core plugins``), and
routing to its client path fails with that reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPathInfo, ClientPaths
from inference_core.domain.routing import ProviderConnection
from inference_core.ports.chat import ChatModel
from inference_core.ports.plugins import CHAT_ADAPTERS_GROUP, ChatAdapterPlugin

__all__ = ["InstalledPlugins", "installed_plugins"]


@dataclass(frozen=True)
class InstalledPlugins:
    """The chat adapter plugins of this environment.

    Attributes:
        plugins: Those that loaded, in entry-point order.
        failed: ``(entry point, reason)`` for those that did not.
    """

    plugins: tuple[ChatAdapterPlugin, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    paths: ClientPaths = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "paths", ClientPaths(info for p in self.plugins for info in p.paths)
        )

    @classmethod
    def of(cls, plugins: Iterable[ChatAdapterPlugin]) -> InstalledPlugins:
        """A fixed set (tests, embedding applications)."""
        return cls(tuple(plugins))

    def plugin_for(self, path: str) -> ChatAdapterPlugin | None:
        """The plugin serving client path ``path``."""
        return next((p for p in self.plugins if any(i.name == path for i in p.paths)), None)

    def info(self, path: str) -> ClientPathInfo | None:
        """The declaration of client path ``path``."""
        return self.paths.get(path)

    def create(self, connection: ProviderConnection) -> ChatModel:
        """Build the adapter for ``connection`` with the plugin serving its client path.

        Raises:
            ConfigurationError: No installed plugin serves the path (listing the
                installed ones), or its dependencies are missing (naming the extra).
        """
        plugin = self.plugin_for(connection.client)
        if plugin is None:
            raise ConfigurationError(self.unknown_path_message(connection.client))
        missing = plugin.missing()
        if missing is not None:
            info = self.paths[connection.client]
            hint = f"pip install 'inference-core[{info.extra}]'" if info.extra else "install it"
            raise ConfigurationError(
                f"the {connection.client!r} client path (provider {connection.provider!r}) "
                f"needs the '{info.extra or plugin.name}' extra: {hint} "
                f"(missing module: {missing})"
            )
        return plugin.create(connection)

    def check_client_paths(self, client_paths: Mapping[str, str], source: str) -> None:
        """Refuse a ``routing.provider_client`` entry naming no installed client path.

        Raises:
            ConfigurationError: Naming ``source``, the key and the installed paths.
        """
        for provider, path in client_paths.items():
            if path not in self.paths:
                raise ConfigurationError(
                    f"{source}: routing.provider_client.{provider}: "
                    + self.unknown_path_message(path)
                )

    def unknown_path_message(self, path: str) -> str:
        """The error text for a client path no installed plugin serves."""
        names = ", ".join(sorted(self.paths)) or "none"
        failed = "".join(f"; {name} failed to load: {why}" for name, why in self.failed)
        return f"unknown client path {path!r}: installed client paths are {names}{failed}"

    def default_model(self) -> str | None:
        """The first model a plugin offers when nothing names one (the embedded model)."""
        for plugin in self.plugins:
            model = plugin.default_model()
            if model:
                return model
        return None


_lock = threading.Lock()
_cached: InstalledPlugins | None = None


def _load(point: EntryPoint) -> ChatAdapterPlugin:
    plugin = point.load()
    if not isinstance(plugin, ChatAdapterPlugin):
        raise TypeError(f"{point.value} is a {type(plugin).__name__}, not a ChatAdapterPlugin")
    return plugin


def installed_plugins(*, refresh: bool = False) -> InstalledPlugins:
    """The plugins registered in this environment (read once per process).

    Args:
        refresh: Read the entry points again (after installing a plugin at run time).
    """
    global _cached
    with _lock:
        if _cached is None or refresh:
            loaded: list[ChatAdapterPlugin] = []
            failed: list[tuple[str, str]] = []
            seen: set[str] = set()
            for point in entry_points(group=CHAT_ADAPTERS_GROUP):
                if point.name in seen:  # one distribution installed twice (editable + wheel)
                    continue
                seen.add(point.name)
                try:
                    loaded.append(_load(point))
                except Exception as exc:  # a broken plugin must not break the others
                    failed.append((point.name, f"{type(exc).__name__}: {exc}"))
            _cached = InstalledPlugins(tuple(loaded), tuple(failed))
        return _cached
