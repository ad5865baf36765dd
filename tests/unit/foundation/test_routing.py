"""Routing rules: explicit entry, provider prefix, catalog, default provider, error listing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference_core.adapters.plugins import installed_plugins
from inference_core.domain.catalog import ModelSpec, builtin_catalog
from inference_core.domain.errors import ConfigurationError
from inference_core.domain.routing import (
    ClientPath,
    RoutingTable,
    default_base_url_env,
    default_key_env,
    resolve,
)

CATALOG = builtin_catalog()
#: The client paths the built-in adapter plugins declare (what routing reads).
PATHS = installed_plugins().paths


def route(model: str, table: RoutingTable | None = None, env: dict[str, str] | None = None):
    return resolve(model, table or RoutingTable(), CATALOG, env or {}, paths=PATHS)


def test_catalog_entry_routes_to_its_provider_and_default_client() -> None:
    r = route("gpt-4o")
    assert (r.provider, r.client, r.api_model, r.key_env) == (
        "openai",
        ClientPath.OPENAI_HTTP,
        "gpt-4o",
        "OPENAI_API_KEY",
    )
    assert r.rule == "catalog entry 'gpt-4o'"
    assert r.spec is not None and r.spec.max_output_tokens == 16384


def test_gpt5_family_uses_the_gpt5_client_path() -> None:
    assert route("gpt-5").client == ClientPath.GPT5_HTTP
    assert route("gpt-5-mini").client == ClientPath.GPT5_HTTP
    # Not in the catalog but clearly GPT-5 family behind an explicit openai prefix.
    assert route("openai/gpt-5.1-preview").client == ClientPath.GPT5_HTTP
    assert route("openai/gpt-4o-2024-08-06").client == ClientPath.OPENAI_HTTP


@pytest.mark.parametrize(
    ("model", "provider", "client", "api_model"),
    [
        (
            "anthropic/claude-3-5-sonnet-20241022",
            "anthropic",
            ClientPath.ANTHROPIC_HTTP,
            "claude-3-5-sonnet-20241022",
        ),
        ("ollama/llama3", "ollama", ClientPath.OLLAMA, "llama3"),
        (
            "openrouter/meta-llama/llama-3-8b",
            "openrouter",
            ClientPath.LITELLM,
            "openrouter/meta-llama/llama-3-8b",
        ),
        ("local/gemma-3-270m", "local", ClientPath.LLAMA_CPP, "gemma-3-270m"),
        ("mistral/mistral-large", "mistral", ClientPath.LITELLM, "mistral/mistral-large"),
    ],
)
def test_provider_prefix(model: str, provider: str, client: ClientPath, api_model: str) -> None:
    r = route(model)
    assert (r.provider, r.client, r.api_model) == (provider, client, api_model)
    assert r.rule == f"provider prefix {provider!r}"


def test_explicit_model_provider_entry_wins_over_catalog() -> None:
    table = RoutingTable(
        model_provider={"gpt-4o": "gateway"},
        provider_client={"gateway": ClientPath.OPENAI_SDK},
        provider_key_env={"gateway": "CF_GATEWAY_TOKEN"},
        provider_base_url_env={"gateway": "CF_GATEWAY_URL"},
        provider_default_headers={"gateway": {"cf-aig-metadata": "run-7"}},
    )
    r = route("gpt-4o", table, {"CF_GATEWAY_URL": "https://gw.example/v1"})
    assert r.provider == "gateway"
    assert r.client == ClientPath.OPENAI_SDK
    assert r.key_env == "CF_GATEWAY_TOKEN"
    assert r.base_url == "https://gw.example/v1"
    assert r.headers == {"cf-aig-metadata": "run-7"}
    assert r.rule == "routing.model_provider['gpt-4o']"
    # The catalog entry still describes the model.
    assert r.spec is not None and r.spec.id == "gpt-4o"


def test_alias_resolves_to_the_canonical_catalog_model() -> None:
    r = route("gemini-pro")
    assert r.model == "google-ai-studio/gemini-2.5-flash"
    assert r.provider == "google"
    assert r.client == ClientPath.LITELLM
    assert r.api_model == "gemini/gemini-2.5-flash"
    assert r.key_env == "GOOGLE_API_KEY"


def test_default_provider_catches_unknown_models() -> None:
    r = route("my-finetune", RoutingTable(default_provider="openai"))
    assert (r.provider, r.client, r.rule) == (
        "openai",
        ClientPath.OPENAI_HTTP,
        "routing.default_provider",
    )
    assert r.spec is None


def test_unroutable_model_error_lists_everything_tried() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(
            "mystery-model",
            RoutingTable(),
            CATALOG,
            {},
            paths=PATHS,
            source="/etc/app/inference_runtime.yaml",
        )
    message = str(info.value)
    assert "mystery-model" in message
    for tried in (
        "routing.model_provider",
        "'provider/model' prefix",
        "catalog",
        "routing.default_provider",
    ):
        assert tried in message
    assert "/etc/app/inference_runtime.yaml" in message


def test_unknown_prefix_is_not_mistaken_for_a_provider() -> None:
    with pytest.raises(ConfigurationError):
        route("meta-llama/llama-3-8b")
    # ...unless config names that provider somewhere.
    table = RoutingTable(provider_client={"meta-llama": ClientPath.OPENAI_SDK})
    assert route("meta-llama/llama-3-8b", table).provider == "meta-llama"


def test_provider_client_overrides_the_default_client() -> None:
    table = RoutingTable(provider_client={"openrouter": ClientPath.OPENAI_SDK})
    r = route("openrouter/openai/gpt-4o-mini", table)
    assert r.client == ClientPath.OPENAI_SDK
    assert r.api_model == "openai/gpt-4o-mini"  # no LiteLLM prefix on the OpenAI path


def test_keyless_providers_and_explicit_no_key() -> None:
    assert route("ollama/llama3").key_env is None
    assert route("local/gemma-3-270m").key_env is None
    table = RoutingTable(
        model_provider={"tiny": "vllm"},
        provider_client={"vllm": ClientPath.OPENAI_SDK},
        provider_key_env={"vllm": None},
    )
    assert route("tiny", table).key_env is None


def test_base_url_env_overrides_custom_endpoint() -> None:
    table = RoutingTable(provider_base_url={"ollama": "http://box:11434"})
    assert route("ollama/llama3", table).base_url == "http://box:11434"
    env = {"OLLAMA_BASE_URL": "http://other:11434"}
    assert route("ollama/llama3", table, env).base_url == "http://other:11434"
    assert route("ollama/llama3").base_url_env == "OLLAMA_BASE_URL"


def test_catalog_preferred_client_is_used() -> None:
    spec = ModelSpec(id="house-model", provider="openai", client="gpt5_sdk")
    r = resolve("house-model", RoutingTable(), CATALOG.merged([spec]), {}, paths=PATHS)
    assert r.client == ClientPath.GPT5_SDK


def test_empty_model_id_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        route("  ")


@given(st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True))
def test_env_var_names_are_upper_snake(provider: str) -> None:
    key, base = default_key_env(provider), default_base_url_env(provider)
    assert key.endswith("_API_KEY") and base.endswith("_BASE_URL")
    assert all(c.isupper() or c.isdigit() or c == "_" for c in key + base)


@given(st.sampled_from(sorted(CATALOG)))
def test_every_catalog_model_routes(model_id: str) -> None:
    r = route(model_id)
    assert r.spec is not None and r.spec.id == model_id
    assert r.api_model
