"""Seed model registry API over the domain catalog."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from inference_core.adapters.config import config_from_data
from inference_core.compat.registry import (
    ModelConfig,
    ModelInfo,
    ModelRegistry,
    custom_model_spec,
    get_model_config,
)
from inference_core.domain.catalog import JSONOutput, ModelCatalog, ModelSpec, builtin_catalog
from inference_core.domain.chat import GenerationParams
from inference_core.domain.errors import ConfigurationError

# The original MODELS.md figures the seed promised (max output, context window).
SEED_FIGURES = {
    "gpt-4o": (True, 16384, 128000),
    "gpt-4o-mini": (True, 16384, 128000),
    "gpt-4-turbo": (True, 4096, 128000),
    "gpt-4": (False, 4096, 8192),
    "gpt-3.5-turbo": (False, 4096, 16385),
    "claude-3-5-sonnet-20241022": (True, 8192, 200000),
    "claude-3-opus-20240229": (True, 4096, 200000),
    "claude-3-sonnet-20240229": (True, 4096, 200000),
    "claude-3-haiku-20240307": (True, 4096, 200000),
    "google-ai-studio/gemini-2.5-flash": (True, 8192, 1048576),
    "gemini-pro-vision": (True, 4096, 16384),
}


def test_seed_example_reads_model_info() -> None:
    info = get_model_config("gpt-4o")
    assert info is not None
    assert info.name == "gpt-4o"
    assert info.supports_multimodal is True
    assert info.max_tokens == 16384
    assert info.context_window == 128000
    assert info.provider == "openai"
    assert info.supports_streaming is True
    assert info.description is None


@pytest.mark.parametrize(("model_id", "figures"), sorted(SEED_FIGURES.items()))
def test_seed_models_keep_their_figures(model_id: str, figures: tuple[bool, int, int]) -> None:
    info = get_model_config(model_id)
    assert info is not None
    assert (info.supports_multimodal, info.max_tokens, info.context_window) == figures


def test_seed_model_ids_are_all_listed() -> None:
    registry = ModelRegistry()
    listed = set(registry.list_models())
    seed_ids = {*SEED_FIGURES, "gpt-5", "gpt-5-mini", "llama2", "llama3", "mistral", "codellama"}
    assert seed_ids <= listed
    by_provider = registry.list_models_by_provider()
    assert {"llama2", "llama3", "mistral", "codellama"} <= set(by_provider["ollama"])
    assert by_provider["anthropic"][0].startswith("claude-")
    assert sum(len(ids) for ids in by_provider.values()) == len(registry) == len(listed)


def test_alias_resolves_to_the_canonical_model() -> None:
    info = get_model_config("gemini-pro")
    assert info is not None
    assert info.model_id == "google-ai-studio/gemini-2.5-flash"
    assert "gemini-pro" in ModelRegistry()


def test_unknown_model_is_none() -> None:
    assert get_model_config("no-such-model") is None
    assert ModelRegistry().get_model("no-such-model") is None
    assert "no-such-model" not in ModelRegistry()


def test_info_is_a_frozen_view_of_the_spec() -> None:
    info = get_model_config("local/gemma-3-270m")
    assert info is not None
    assert info.name == "Gemma 3 270M (embedded, Q4_K_M)"
    assert info.spec is builtin_catalog()["local/gemma-3-270m"]
    assert info.spec.capabilities.json_output is JSONOutput.JSON_OBJECT_WITH_SCHEMA
    with pytest.raises(ValidationError):
        info.name = "other"  # type: ignore[misc]
    assert "spec" not in info.model_dump()


def test_register_custom_model_matches_a_config_models_entry() -> None:
    from_code = custom_model_spec(
        "my-custom-model",
        name="My Custom Model",
        provider="custom",
        supports_streaming=True,
        supports_multimodal=False,
        max_tokens=4096,
        context_window=8192,
        description="My custom trained model",
    )
    from_yaml = config_from_data(
        {
            "models": {
                "my-custom-model": {
                    "provider": "custom",
                    "name": "My Custom Model",
                    "description": "My custom trained model",
                    "max_output_tokens": 4096,
                    "context_window": 8192,
                    "capabilities": {"streaming": True, "vision": False},
                }
            }
        },
        {},
        source="inference_runtime.yaml",
    ).models["my-custom-model"]
    assert from_code == from_yaml


def test_custom_model_takes_any_models_key() -> None:
    spec = custom_model_spec(
        "qwen-local",
        provider="local",
        supports_multimodal=True,
        wire_id="/models/qwen.gguf",
        aliases=["qwen"],
        capabilities={"json_output": "json_object_with_schema"},
        pricing={"input": 0.0, "output": 0.0},
    )
    assert spec.api_model == "/models/qwen.gguf"
    assert spec.aliases == ("qwen",)
    assert spec.capabilities.vision is True
    assert spec.capabilities.json_output is JSONOutput.JSON_OBJECT_WITH_SCHEMA
    assert spec.pricing.input == 0.0
    assert spec.pricing.cached_input is None


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"max_tokens": 0}, "max_output_tokens"),
        ({"context_window": -1}, "context_window"),
        ({"capabilities": {"json_output": "xml"}}, "capabilities.json_output"),
        ({"colour": "red"}, "colour"),
        ({"id": "other"}, "model_id"),
    ],
)
def test_invalid_custom_model_names_the_field(kwargs: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigurationError, match=names) as caught:
        custom_model_spec("bad-model", **kwargs)  # type: ignore[arg-type]
    assert "bad-model" in str(caught.value)


def test_register_changes_only_that_registry() -> None:
    registry = ModelRegistry()
    before = len(builtin_catalog())
    info = registry.register_custom_model(
        "my-custom-model", name="Mine", provider="custom", max_tokens=4096, context_window=8192
    )
    assert info == registry.get_model("my-custom-model")
    assert info.max_tokens == 4096
    assert registry.list_models_by_provider()["custom"] == ["my-custom-model"]
    assert len(registry) == before + 1
    assert len(builtin_catalog()) == before
    assert get_model_config("my-custom-model") is None
    assert ModelRegistry().get_model("my-custom-model") is None


def test_register_replaces_a_same_id_entry() -> None:
    registry = ModelRegistry()
    replacement = ModelSpec(id="gpt-4o", provider="openai", context_window=1000)
    registry.register_model(replacement)
    registry.register_model(ModelInfo.from_spec(replacement))
    info = registry.get_model("gpt-4o")
    assert info is not None
    assert info.context_window == 1000
    assert registry.list_models().count("gpt-4o") == 1


def test_registry_over_a_given_catalog() -> None:
    catalog = ModelCatalog([ModelSpec(id="m1", provider="p"), ModelSpec(id="m2", provider="q")])
    registry = ModelRegistry(catalog)
    assert registry.list_models() == ["m1", "m2"]
    assert [info.model_id for info in registry] == ["m1", "m2"]
    assert registry.catalog is catalog
    assert get_model_config("m2", catalog) == registry.get_model("m2")
    assert get_model_config("gpt-4o", catalog) is None


def test_model_config_seed_forms() -> None:
    config = ModelConfig(model="gpt-4o", temperature=0.9, max_tokens=2000, top_p=0.95)
    assert config.generation_params() == GenerationParams(
        temperature=0.9, max_tokens=2000, top_p=0.95
    )
    keyed = ModelConfig(
        temperature=0.9,
        max_tokens=2000,
        api_key="sk-secret-value",  # type: ignore[arg-type]
        base_url="https://api.openai.com/v1",
    )
    assert isinstance(keyed.api_key, SecretStr)
    assert keyed.api_key.get_secret_value() == "sk-secret-value"
    assert "sk-secret-value" not in repr(keyed)
    assert "sk-secret-value" not in str(keyed.model_dump())
    assert ModelConfig().generation_params() == GenerationParams()


@pytest.mark.parametrize(
    "kwargs",
    [{"temperature": 3.0}, {"max_tokens": 0}, {"top_p": 0.0}, {"temprature": 0.5}],
)
def test_model_config_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ModelConfig(**kwargs)  # type: ignore[arg-type]
