"""OpenAI SDK exceptions -> domain errors (the adapter edge).

=======================================  ==========================================
SDK failure                              domain error
=======================================  ==========================================
``APIStatusError`` (4xx/5xx)             ``http_errors.error_for_status``
``APIError`` without status (an error    the class its ``type``/``code`` stands for
payload inside a 200 SSE stream)         (``server_error`` -> ProviderUnavailable...)
``APITimeoutError`` caused by a timeout  ProviderTimeout
``APIConnectionError`` before a reply    ProviderUnavailable
``APIConnectionError`` mid-stream        InvalidResponse (retryable: the stream was cut)
``APIResponseValidationError``, bad      InvalidResponse
JSON, a body that is not a completion
=======================================  ==========================================

The SDK's aiohttp transport reports a dropped connection as ``APITimeoutError``;
only a failure whose cause chain holds a real :class:`TimeoutError` counts as a
timeout here. Messages come from the provider's error text with the API key
redacted, never from request headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from inference_core.adapters.http_errors import (
    connection_failure,
    error_for_status,
    redact,
    scrub_exception,
)
from inference_core.domain.errors import (
    InvalidResponse,
    ProviderError,
)

if TYPE_CHECKING:
    import openai

__all__ = ["map_openai_error", "payload_fields", "payload_status"]


# Error ``type``/``code`` words of a mid-stream error payload -> the HTTP status they stand for.
_PAYLOAD_STATUS = (
    ("insufficient_quota", 429),
    ("rate_limit", 429),
    ("invalid_api_key", 401),
    ("authentication", 401),
    ("permission", 403),
    ("not_found", 404),
    ("context_length", 400),
    ("content_filter", 400),
    ("invalid_request", 400),
    ("timeout", 408),
)


def payload_fields(body: object) -> tuple[str, str | None]:
    """(message, type+code evidence) from an OpenAI error object or its wrapper."""
    if isinstance(body, Mapping):
        inner: Any = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            words = " ".join(str(inner[k]) for k in ("type", "code") if inner.get(k) is not None)
            return (str(message) if message else ""), (words or None)
        if isinstance(inner, str):
            return inner, None
    if isinstance(body, str):
        return body.strip()[:500], None
    return "", None


def payload_status(evidence: str | None) -> int:
    """The HTTP status an error payload's ``type``/``code`` words stand for (500 if none)."""
    lowered = (evidence or "").lower()
    if {"tokens", "requests"} & set(lowered.split()):
        return 429  # OpenAI's rate-limit types name the exhausted budget
    for word, status in _PAYLOAD_STATUS:
        if word in lowered:
            return status
    return 500


def map_openai_error(
    exc: openai.OpenAIError,
    *,
    provider: str,
    model: str | None,
    secret: str | None,
    in_stream: bool,
) -> ProviderError:
    """Translate one OpenAI SDK exception into the domain error to raise ``from`` it.

    Args:
        exc: The SDK exception.
        provider: Provider name for the error.
        model: Model id that was called.
        secret: The API key, redacted from every message.
        in_stream: The failure happened while reading a stream body (after the
            response headers), so a broken connection means a cut stream.
    """
    scrub_exception(exc, secret)
    import openai

    if isinstance(exc, openai.APIConnectionError):
        return connection_failure(
            exc, provider=provider, model=model, secret=secret, in_stream=in_stream
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return InvalidResponse(
            f"malformed response body (HTTP {exc.status_code})",
            provider=provider,
            model=model,
            status=exc.status_code,
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 400:
        message, evidence = payload_fields(exc.body)
        return error_for_status(
            exc.status_code,
            redact(message, secret),
            provider=provider,
            model=model,
            headers=exc.response.headers,
            code=evidence,
        )
    if isinstance(exc, openai.APIError):
        # An error payload inside a 200 stream: no HTTP status, no retry headers.
        message, evidence = payload_fields(exc.body)
        error = error_for_status(
            payload_status(evidence),
            redact(message or exc.message, secret),
            provider=provider,
            model=model,
            code=evidence,
        )
        error.status = None
        return error
    return ProviderError(redact(str(exc), secret), provider=provider, model=model)
