"""Which provider, client path, key and endpoint serve a model: pure routing.

:func:`resolve` is a pure function of the model id, the routing table, the
catalog and an environment mapping passed in (never ``os.environ``). Rules, in
order:

1. an explicit ``routing.model_provider`` entry for the id;
2. a ``provider/model`` prefix naming a known provider (``anthropic/claude-...``,
   ``ollama/llama3``, ``openrouter/...``, ``local/...``);
3. a catalog entry (or alias) for the id;
4. ``routing.default_provider``;
5. otherwise :class:`~inference_core.domain.errors.ConfigurationError` listing
   what was tried.

Client path: ``routing.provider_client`` > the catalog's preferred client >
what the installed adapter plugins declare (:class:`~inference_core.domain.plugins.
ClientPaths`: the path that serves the provider, a model-family path when its
pattern matches, else the fallback path). Whether a provider needs a key and
how model ids are written on the wire come from the same declarations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from inference_core.domain.catalog import ModelCatalog, ModelSpec
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.plugins import ClientPaths

__all__ = [
    "WELL_KNOWN_PROVIDERS",
    "ClientPath",
    "ProviderConnection",
    "Route",
    "RoutingTable",
    "default_base_url_env",
    "default_key_env",
    "resolve",
]


class ClientPath(StrEnum):
    """Names of the client paths whose adapters ship with the library.

    A client path is any string an installed adapter plugin declares; these are
    the built-in ones, as constants (they compare equal to their strings).
    """

    OPENAI_SDK = "openai_sdk"
    GPT5_SDK = "gpt5_sdk"
    OPENAI_HTTP = "openai_http"
    GPT5_HTTP = "gpt5_http"
    ANTHROPIC_SDK = "anthropic_sdk"
    ANTHROPIC_HTTP = "anthropic_http"
    LITELLM = "litellm"
    OLLAMA = "ollama"
    LLAMA_CPP = "llama_cpp"


#: Provider names recognised as a ``provider/`` prefix even when no config mentions them.
WELL_KNOWN_PROVIDERS = frozenset(
    {
        "openai", "anthropic", "google", "gemini", "vertex_ai", "ollama", "openrouter",
        "local", "mistral", "groq", "bedrock", "azure", "deepseek", "together_ai",
        "xai", "cohere", "fireworks_ai", "perplexity",
    }
)  # fmt: skip

_NOT_ENV_CHARS = re.compile(r"[^A-Z0-9]+")


def default_key_env(provider: str) -> str:
    """``{PROVIDER}_API_KEY`` with the provider upper-cased and non-alphanumerics as ``_``."""
    return f"{_NOT_ENV_CHARS.sub('_', provider.upper())}_API_KEY"


def default_base_url_env(provider: str) -> str:
    """``{PROVIDER}_BASE_URL`` with the provider upper-cased and non-alphanumerics as ``_``."""
    return f"{_NOT_ENV_CHARS.sub('_', provider.upper())}_BASE_URL"


class RoutingTable(BaseModel):
    """The ``routing:`` section of the runtime config (seed keys plus base URLs).

    ``provider_key_env`` maps a provider to the env var holding its key; mapping
    it to ``null`` declares that the provider needs no key (a local server).
    ``provider_base_url`` holds fixed base URLs (from ``custom_endpoints``);
    a set ``provider_base_url_env`` variable wins over it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    model_provider: dict[str, str] = Field(default_factory=dict)
    provider_client: dict[str, str] = Field(default_factory=dict)
    provider_key_env: dict[str, str | None] = Field(default_factory=dict)
    provider_base_url_env: dict[str, str] = Field(default_factory=dict)
    provider_base_url: dict[str, str] = Field(default_factory=dict)
    provider_default_headers: dict[str, dict[str, str]] = Field(default_factory=dict)
    default_provider: str | None = None

    def known_providers(
        self, catalog: ModelCatalog, paths: ClientPaths | None = None
    ) -> frozenset[str]:
        """Every provider this table, the catalog, the plugins or the well-known list name."""
        named = {
            *self.model_provider.values(),
            *self.provider_client,
            *self.provider_key_env,
            *self.provider_base_url_env,
            *self.provider_base_url,
            *self.provider_default_headers,
        }
        if self.default_provider:
            named.add(self.default_provider)
        served = paths.providers() if paths is not None else frozenset()
        return WELL_KNOWN_PROVIDERS | catalog.providers() | named | served


class Route(BaseModel):
    """How one model id is served.

    Attributes:
        requested: The id the caller asked for.
        model: Canonical id (catalog id when known, prefix stripped otherwise).
        api_model: The id to send to the provider API.
        provider: Provider name.
        client: Client path (adapter) to use.
        key_env: Env var holding the API key; ``None`` when no key is needed.
        base_url_env: Env var that may override the base URL.
        base_url: Endpoint to call; ``None`` means the SDK's default endpoint.
        headers: Extra default headers for every request to this provider.
        rule: Which routing rule matched, for humans (``inference-core route``).
        spec: Catalog entry, when the model is in the catalog.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    requested: str
    model: str
    api_model: str
    provider: str
    client: str
    key_env: str | None
    base_url_env: str
    base_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    rule: str
    spec: ModelSpec | None = None


class ProviderConnection(BaseModel):
    """Everything an adapter needs to reach one provider endpoint.

    One adapter instance serves one connection (and any model behind it), so
    connection pools are shared by every call to that endpoint.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    provider: str
    client: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)

    def cache_key(self) -> tuple[object, ...]:
        """A hashable identity; the key is included only as a hash, never as text."""
        secret = self.api_key.get_secret_value() if self.api_key else ""
        return (
            self.client,
            self.provider,
            self.base_url,
            hash(secret),
            tuple(sorted(self.headers.items())),
            self.connect_timeout,
            self.read_timeout,
        )


def _split_prefix(model: str, known: frozenset[str]) -> tuple[str, str] | None:
    prefix, sep, rest = model.partition("/")
    if sep and rest and prefix in known:
        return prefix, rest
    return None


def _pick_client(
    provider: str, api_model: str, table: RoutingTable, spec: ModelSpec | None, paths: ClientPaths
) -> str:
    if provider in table.provider_client:
        return table.provider_client[provider]
    if spec is not None and spec.client is not None:
        return spec.client
    chosen = paths.default_for(provider, api_model)
    if chosen is None:
        raise ConfigurationError(
            f"no installed client path serves provider {provider!r}: set "
            f"routing.provider_client.{provider} (installed: {', '.join(sorted(paths)) or 'none'})"
        )
    return chosen


def resolve(
    model: str,
    table: RoutingTable,
    catalog: ModelCatalog,
    env: Mapping[str, str],
    *,
    paths: ClientPaths,
    source: str | None = None,
) -> Route:
    """Decide how ``model`` is served (see the module docstring for the rules).

    Args:
        model: Model id as the caller wrote it.
        table: The routing table from the runtime config.
        catalog: Known models (built-in plus configured).
        env: Environment to read base URL overrides from.
        paths: The installed client paths and what they declare.
        source: Config file name, quoted in the error when routing fails.

    Raises:
        ConfigurationError: No rule matched; the message lists what was tried.
    """
    if not model or not model.strip():
        raise ConfigurationError("model id is empty")
    spec: ModelSpec | None = catalog.get(model)
    api_model = spec.api_model if spec else model
    canonical = spec.id if spec else model

    if model in table.model_provider:
        provider, rule = table.model_provider[model], f"routing.model_provider[{model!r}]"
    elif (split := _split_prefix(model, table.known_providers(catalog, paths))) is not None:
        provider, bare = split
        rule = f"provider prefix {provider!r}"
        if spec is None:
            spec = catalog.get(bare)
            canonical = spec.id if spec else bare
            api_model = spec.api_model if spec else bare
    elif spec is not None:
        provider, rule = spec.provider, f"catalog entry {spec.id!r}"
    elif table.default_provider:
        provider, rule = table.default_provider, "routing.default_provider"
    else:
        where = f" in {source}" if source else ""
        raise ConfigurationError(
            f"cannot route model {model!r}: tried routing.model_provider (no entry), "
            f"a 'provider/model' prefix (none known), the model catalog ({len(catalog)} models, "
            f"not listed) and routing.default_provider (not set){where}. "
            "Add the model under routing.model_provider or models:, or use 'provider/model'."
        )

    client = _pick_client(provider, api_model, table, spec, paths)
    info = paths.get(client)
    if info is not None and info.model_ids == "provider_prefixed":
        # e.g. LiteLLM selects its provider from a "provider/" prefix on the model id.
        if "/" not in api_model:
            api_model = f"{provider}/{api_model}"
        elif model.startswith(f"{provider}/"):
            api_model = model

    if provider in table.provider_key_env:
        key_env = table.provider_key_env[provider]
    else:
        key_env = None if paths.keyless(provider) else default_key_env(provider)
    base_url_env = table.provider_base_url_env.get(provider, default_base_url_env(provider))
    base_url = env.get(base_url_env) or table.provider_base_url.get(provider)
    return Route(
        requested=model,
        model=canonical,
        api_model=api_model,
        provider=provider,
        client=client,
        key_env=key_env,
        base_url_env=base_url_env,
        base_url=base_url,
        headers=dict(table.provider_default_headers.get(provider, {})),
        rule=rule,
        spec=spec,
    )
