"""The shared HTTP status -> domain error mapping."""

from __future__ import annotations

import pytest

from inference_core.adapters.http_errors import error_for_status, parse_retry_after
from inference_core.domain import errors


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "bad", errors.InvalidRequestError),
        (400, "This model's maximum context length is 8192 tokens", errors.ContextWindowExceeded),
        (400, "prompt is too long: 300000 tokens", errors.ContextWindowExceeded),
        (400, "Output blocked by content filtering policy", errors.ContentFiltered),
        (400, "Your credit balance is too low", errors.QuotaExceededError),
        (401, "no", errors.AuthenticationError),
        (402, "pay", errors.QuotaExceededError),
        (403, "no", errors.AuthenticationError),
        (404, "no model", errors.ModelNotFoundError),
        (408, "slow", errors.ProviderTimeout),
        (409, "conflict", errors.ProviderUnavailable),
        (429, "slow down", errors.RateLimitError),
        (429, "You exceeded your current quota", errors.QuotaExceededError),
        (500, "oops", errors.ProviderUnavailable),
        (529, "overloaded", errors.ProviderUnavailable),
    ],
)
def test_status_mapping(status: int, message: str, expected: type[errors.ProviderError]) -> None:
    err = error_for_status(status, message, provider="p", model="m")
    assert type(err) is expected
    assert (err.status, err.provider, err.model) == (status, "p", "m")


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert (
        parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, now=1445412480.0) == 5.0
    )
    assert parse_retry_after({"retry-after": "garbage"}) is None
    assert parse_retry_after({}) is None


def test_x_should_retry_overrides() -> None:
    assert (
        error_for_status(
            503, "x", provider="p", model=None, headers={"x-should-retry": "false"}
        ).retryable
        is False
    )
    assert (
        error_for_status(
            400, "x", provider="p", model=None, headers={"x-should-retry": "true"}
        ).retryable
        is True
    )
    assert (
        error_for_status(
            429, "x", provider="p", model=None, headers={"retry-after": "3"}
        ).retry_after
        == 3.0
    )
