"""Composition root: read settings and config, build adapters lazily, wire the use-cases.

:func:`bootstrap` is the only place that reads the environment (through the
config adapter) and chooses concrete adapters. Everything it builds can be
replaced by passing a port implementation (tests pass fakes)::

    inference = bootstrap(chat_model=FakeChatModel("hi"))

Vendor SDKs are imported the first time a route needs them, never here at
import time.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from pydantic import SecretStr

from inference_core.adapters.config import LoadedRuntime, load_runtime
from inference_core.adapters.config.settings import InferenceSettings
from inference_core.adapters.http_errors import scrub_chain
from inference_core.adapters.plugins import installed_plugins
from inference_core.adapters.router import (
    ChatModelFactory,
    ConfiguredModelRouter,
    default_chat_model_factory,
)
from inference_core.adapters.telemetry import SecretRedactor, StructlogEventLog
from inference_core.application import (
    ChatJSON,
    ChatText,
    ExecuteDescriptor,
    GenerateMedia,
    ModelCaller,
    StreamChat,
    SyncRunner,
    UsageLedger,
)
from inference_core.domain.catalog import (
    ModelCatalog,
    ModelSpec,
    builtin_catalog,
)
from inference_core.domain.config import RetryPolicy, RuntimeConfig
from inference_core.domain.routing import Route
from inference_core.ports.chat import ChatModel
from inference_core.ports.media import AssetStore, GeneratorRegistry, MediaProbe
from inference_core.ports.runtime import Clock, EventLog, Sleeper, UsageSink

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
        runner: The long-lived loops of :meth:`run_sync`, one per calling thread
            plus a background one (shared by the instances :meth:`with_credentials`
            derives).
        chat_text: The :class:`~inference_core.application.ChatText` use-case.
        chat_json: The :class:`~inference_core.application.ChatJSON` use-case.
        stream_chat: The :class:`~inference_core.application.StreamChat` use-case.
        generator_registry: A generator registry to use instead of the one built
            on first use from the installed plugins and ``media.generator_dirs``.
        asset_store: Where generated files go (default ``media.output_dir``).
        media_probe: Reads generated files back to measure and check them.
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
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    generator_registry: GeneratorRegistry | None = field(default=None, repr=False)
    asset_store: AssetStore | None = field(default=None, repr=False)
    media_probe: MediaProbe | None = field(default=None, repr=False)
    caller: ModelCaller = field(init=False, repr=False)
    chat_text: ChatText = field(init=False, repr=False)
    chat_json: ChatJSON = field(init=False, repr=False)
    stream_chat: StreamChat = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sinks = [self.ledger] if self.usage_sink is None else [self.ledger, self.usage_sink]
        self._sinks = sinks
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
        self._generate_media: GenerateMedia | None = None
        self._execute_descriptor: ExecuteDescriptor | None = None

    @property
    def generate_media(self) -> GenerateMedia:
        """The :class:`~inference_core.application.GenerateMedia` use-case (built on first use)."""
        if self._generate_media is None:
            self._generate_media = self._media(self.generators, self.caller.log, None)
        return self._generate_media

    @property
    def execute_descriptor(self) -> ExecuteDescriptor:
        """The :class:`~inference_core.application.ExecuteDescriptor` use-case (lazy)."""
        if self._execute_descriptor is None:
            media = self.generate_media
            self._execute_descriptor = ExecuteDescriptor(
                self.chat_json, media, media.probe, concurrency=self.config.media.concurrency
            )
        return self._execute_descriptor

    @property
    def generators(self) -> GeneratorRegistry:
        """The generator registry: installed plugins plus ``media.generator_dirs`` (lazy)."""
        if self.generator_registry is None:
            self.generator_registry = self._registry(self.config, self.env, self.redactor)
        return self.generator_registry

    def media_with(
        self,
        *,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        secrets: Mapping[str, str | SecretStr] | None = None,
        retry: RetryPolicy | None = None,
    ) -> GenerateMedia:
        """A :class:`GenerateMedia` whose generators get extra options and keys.

        ``options`` (per generator id) win over the config's ``generators:``
        section, ``secrets`` over the environment, ``retry`` over the configured
        policy. Store, probe, ledger and usage sink are shared with this
        instance. The seed's services (``ImageService(api_key=..., model=...)``)
        are built this way; the keys are masked in every event and error.
        """
        extra = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in (secrets or {}).items()
        }
        redactor = self.redactor.including(*extra.values())
        config = self.config
        if options:
            merged = dict(config.generators)
            for generator_id, section in options.items():
                merged[generator_id] = {**merged.get(generator_id, {}), **section}
            config = config.model_copy(update={"generators": merged})
        registry = self._registry(config, {**self.env, **extra}, redactor)
        return self._media(registry, StructlogEventLog(redactor), retry)

    def _registry(
        self, config: RuntimeConfig, env: Mapping[str, str], redactor: SecretRedactor
    ) -> GeneratorRegistry:
        from inference_core.adapters.media.setup import build_registry

        return build_registry(
            config,
            env,
            config_dir=self.config_path.parent if self.config_path else None,
            redact=redactor.redact_text,
        )

    def _media(
        self, registry: GeneratorRegistry, log: EventLog, retry: RetryPolicy | None
    ) -> GenerateMedia:
        from inference_core.adapters.media.probe import AVMediaProbe
        from inference_core.adapters.media.setup import build_store

        if self.asset_store is None:
            self.asset_store = build_store(self.config)
        if self.media_probe is None:
            self.media_probe = AVMediaProbe()
        return GenerateMedia(
            registry,
            self.asset_store,
            self.media_probe,
            retry=retry or self.retry or self.config.retry,
            usage_sinks=self._sinks,
            log=log,
            clock=self.clock,
            sleeper=self.sleeper,
        )

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
        the :meth:`run_sync` loops. The key joins the redactor's masked values.
        """
        key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        router = self.router.with_overrides(api_key=key, base_url=base_url)
        return Inference(
            config=self.config,
            catalog=self.catalog,
            router=router,
            config_path=self.config_path,
            env_file=self.env_file,
            extras=self.extras,
            usage_sink=self.usage_sink,
            clock=self.clock,
            sleeper=self.sleeper,
            retry=self.retry,
            redactor=router.redactor,  # masks the new key too
            ledger=self.ledger,
            runner=self.runner,
            owns_runner=False,
            env=self.env,
            generator_registry=self.generator_registry,
            asset_store=self.asset_store,
            media_probe=self.media_probe,
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
        """Run ``coro`` from sync code on one of this instance's long-lived event loops.

        In a thread running no event loop, ``coro`` runs right there, on that
        thread's own loop (reused by its every call, with its adapters and
        connection pools); inside a running loop (Jupyter), on a background loop
        while the caller blocks. Call :meth:`close` when done to close them.
        """
        return self.runner.run(coro)

    def close(self) -> None:
        """Close the adapters used through :meth:`run_sync` and stop its loops.

        Every loop shuts down, closing the adapters built on it on that loop (a
        loop another thread is using right now does so when that call returns).
        An instance from :meth:`with_credentials` closes only its own adapters,
        on every loop: the loops belong to the instance it came from.
        """
        if self.owns_runner:
            self.runner.close()
        else:
            self.runner.run_on_each_loop(self.router.aclose)


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
            InferenceSettings() if environ is None else InferenceSettings.from_environ(environ)
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
        env=loaded.env,
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
