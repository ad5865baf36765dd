"""Domain values: the error tree, usage arithmetic, costs, the catalog's shipped facts."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from inference_core.domain import errors
from inference_core.domain.catalog import JSONOutput, ModelSpec, Pricing, builtin_catalog
from inference_core.domain.chat import GenerationParams, ResponseFormat, Usage
from inference_core.domain.messages import ImagePart, Message, TextPart

CATALOG = builtin_catalog()


def test_every_error_derives_from_the_root() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.InferenceError), name


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (errors.RateLimitError, True),
        (errors.ProviderTimeout, True),
        (errors.ProviderUnavailable, True),
        (errors.DeadlineExceeded, False),
        (errors.QuotaExceededError, False),
        (errors.AuthenticationError, False),
        (errors.InvalidRequestError, False),
        (errors.ContextWindowExceeded, False),
        (errors.InvalidResponse, False),
    ],
)
def test_retryable_defaults_and_override(cls: type[errors.ProviderError], retryable: bool) -> None:
    assert cls("x").retryable is retryable
    assert cls("x", retryable=not retryable).retryable is (not retryable)


def test_provider_error_text_and_pickling() -> None:
    err = errors.RateLimitError(
        "slow down", provider="openai", model="gpt-4o", status=429, retry_after=1.5
    )
    assert str(err) == "[openai/gpt-4o HTTP 429] slow down"
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is errors.RateLimitError
    assert (clone.status, clone.retry_after, clone.retryable) == (429, 1.5, True)


def test_stream_interrupted_is_never_retryable_and_keeps_text() -> None:
    err = errors.StreamInterrupted("cut", partial_text="Once upon", retryable=True, provider="x")
    assert err.retryable is False and err.partial_text == "Once upon"


def test_all_fallbacks_failed_is_an_exception_group() -> None:
    group = errors.AllFallbacksFailed(
        "every model failed", [errors.RateLimitError("a"), errors.ProviderUnavailable("b")]
    )
    assert isinstance(group, ExceptionGroup) and isinstance(group, errors.InferenceError)
    with pytest.raises(ExceptionGroup) as info:
        raise group
    assert [type(e) for e in info.value.exceptions] == [
        errors.RateLimitError,
        errors.ProviderUnavailable,
    ]


def test_generator_not_found_lists_available() -> None:
    err = errors.GeneratorNotFound("nope", ["b", "a"])
    assert str(err) == "unknown generator 'nope' (available: a, b)"
    assert isinstance(err, KeyError)


def test_missing_key_error_never_contains_a_value() -> None:
    err = errors.MissingAPIKeyError("openai", "OPENAI_API_KEY", "api_keys.openai in x.yaml")
    assert str(err) == (
        "no API key for provider 'openai': set OPENAI_API_KEY "
        "(referenced by api_keys.openai in x.yaml)"
    )


def test_unknown_usage_is_none_not_zero() -> None:
    u = Usage()
    assert u.input_tokens is None and u.total_tokens is None and u.cost_usd is None
    assert not u.is_known


def test_usage_sum_keeps_unknown_cost_unknown() -> None:
    priced = Usage(input_tokens=10, output_tokens=5, cost_usd=0.5)
    unpriced = Usage(input_tokens=1, output_tokens=1)
    assert (priced + priced).cost_usd == 1.0
    assert (priced + unpriced).cost_usd is None
    assert (Usage() + priced) == priced
    assert (priced + Usage()) == priced


_counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))


@given(_counts, _counts, _counts, _counts)
def test_usage_addition_is_commutative(
    a: int | None, b: int | None, c: int | None, d: int | None
) -> None:
    x, y = Usage(input_tokens=a, output_tokens=b), Usage(input_tokens=c, output_tokens=d)
    assert x + y == y + x


def test_cost_uses_cached_price_and_is_none_when_a_price_is_missing() -> None:
    spec = CATALOG["gpt-4o"]
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_tokens=400_000)
    # 600k fresh at 2.50 + 400k cached at 1.25 + 1M out at 10.00
    assert spec.cost(usage) == pytest.approx(1.5 + 0.5 + 10.0)
    unknown = ModelSpec(id="x", provider="p", pricing=Pricing(input=1.0))
    assert unknown.cost(Usage(input_tokens=10, output_tokens=10)) is None
    assert unknown.cost(Usage(input_tokens=10, output_tokens=0)) == pytest.approx(1e-5)
    assert unknown.cost(Usage()) is None


# Figures from the original module's MODELS.md (shared/seed/MODELS-facts.md).
@pytest.mark.parametrize(
    ("model_id", "vision", "max_output", "context"),
    [
        ("gpt-4o", True, 16384, 128000),
        ("gpt-4o-mini", True, 16384, 128000),
        ("gpt-4-turbo", True, 4096, 128000),
        ("gpt-4", False, 4096, 8192),
        ("gpt-3.5-turbo", False, 4096, 16385),
        ("claude-3-5-sonnet-20241022", True, 8192, 200000),
        ("claude-3-opus-20240229", True, 4096, 200000),
        ("claude-3-sonnet-20240229", True, 4096, 200000),
        ("claude-3-haiku-20240307", True, 4096, 200000),
        ("google-ai-studio/gemini-2.5-flash", True, 8192, 1048576),
        ("gemini-pro-vision", True, 4096, 16384),
    ],
)
def test_catalog_carries_the_seed_figures(
    model_id: str, vision: bool, max_output: int, context: int
) -> None:
    spec = CATALOG[model_id]
    assert spec.capabilities.vision is vision
    assert (spec.max_output_tokens, spec.context_window) == (max_output, context)


def test_catalog_has_the_seed_models_and_families() -> None:
    for model_id in (
        "gpt-5",
        "gpt-5-mini",
        "llama2",
        "llama3",
        "mistral",
        "codellama",
        "gpt-4.1",
        "claude-3-7-sonnet-20250219",
        "claude-sonnet-4-5-20250929",
        "gemini-1.5-pro",
        "gemini-2.0-flash",
        "local/gemma-3-270m",
    ):
        assert model_id in CATALOG, model_id
    assert CATALOG["gemini-pro"].id == "google-ai-studio/gemini-2.5-flash"
    assert CATALOG["gpt-5"].capabilities.sampling_params is False
    assert CATALOG["gemini-pro-vision"].pricing.input is None  # unknown, not 0


def test_json_output_strength_orders_strategies() -> None:
    order = sorted(JSONOutput, key=lambda j: j.strength, reverse=True)
    assert order == [
        JSONOutput.JSON_SCHEMA,
        JSONOutput.JSON_OBJECT_WITH_SCHEMA,
        JSONOutput.JSON_OBJECT,
        JSONOutput.NONE,
    ]


def test_image_part_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError):
        ImagePart()
    with pytest.raises(ValidationError):
        ImagePart(url="https://x/y.png", data=b"x", mime_type="image/png")
    with pytest.raises(ValidationError):
        ImagePart(data=b"x")
    with pytest.raises(ValidationError):
        ImagePart(url="ftp://x/y.png")
    part = ImagePart(data=b"\x89PNG", mime_type="image/png")
    assert part.as_url() == "data:image/png;base64,iVBORw=="
    assert ImagePart(url=part.as_url()).inline() == ("image/png", b"\x89PNG")


def test_message_text_and_images() -> None:
    m = Message(
        role="user",
        content=(TextPart(text="a"), ImagePart(url="https://x/i.png"), TextPart(text="b")),
    )
    assert m.text == "a\nb" and len(m.images) == 1
    with pytest.raises(ValidationError):
        Message(role="wizard", content="hi")  # type: ignore[arg-type]


def test_params_validation_and_merge() -> None:
    with pytest.raises(ValidationError):
        GenerationParams(temperature=3.0)
    with pytest.raises(ValidationError):
        GenerationParams(max_tokens=0)
    merged = GenerationParams(max_tokens=50).merged_over(
        GenerationParams(temperature=0.2, max_tokens=9)
    )
    assert (merged.temperature, merged.max_tokens) == (0.2, 50)
    with pytest.raises(ValidationError):
        ResponseFormat(type="json_schema")


def test_cache_write_tokens_are_priced_once() -> None:
    spec = ModelSpec(id="x", provider="p", pricing=Pricing(input=1.0, output=2.0, cache_write=1.25))
    usage = Usage(input_tokens=1_000_000, output_tokens=0, cache_write_tokens=400_000)
    # 600k fresh at 1.00 + 400k written at 1.25
    assert spec.cost(usage) == pytest.approx(0.6 + 0.5)
