"""Anthropic SDK (and stream transport) exceptions -> domain errors.

=======================================  ==========================================
failure                                  domain error
=======================================  ==========================================
``APIStatusError`` with a 4xx/5xx        ``http_errors.error_for_status``
``error`` SSE event (status 200)         the class its ``error.type`` stands for
                                         (``overloaded_error`` -> ProviderUnavailable)
timeout (a real ``TimeoutError`` cause)  ProviderTimeout
connection error before a reply          ProviderUnavailable
connection error mid-stream (the SDK     InvalidResponse (retryable: the stream was cut)
lets ``httpx2`` errors through there)
=======================================  ==========================================

Messages come from the provider's error text with the API key redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

__all__ = ["ERROR_TYPE_STATUS", "error_for_payload", "map_anthropic_error"]


#: Anthropic ``error.type`` -> the HTTP status it is documented with.
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


_CONTENT_FILTERING = "content filtering"


def _payload_fields(body: object) -> tuple[str, str | None]:
    """(message, ``error.type``) from an Anthropic error body."""
    if isinstance(body, Mapping):
        inner: Any = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            kind = inner.get("type")
            return (str(message) if message else ""), (str(kind) if kind else None)
    if isinstance(body, str):
        return body.strip()[:500], None
    return "", None


def error_for_payload(
    status: int | None,
    body: object,
    *,
    headers: Mapping[str, str] | None,
    provider: str,
    model: str | None,
    secret: str | None,
) -> ProviderError:
    """The domain error for an Anthropic error body (SDK-free: the wire adapter uses it too).

    Args:
        status: The HTTP status, or ``None`` for an ``error`` event inside a 200
            stream (then ``error.type`` stands for the status, and the error
            carries none).
        body: The decoded error body (``{"type": "error", "error": {...}}``) or its text.
        headers: Response headers (retry hints), when there was a response.
        provider: Provider name for the error.
        model: Model id that was called.
        secret: The API key, redacted from the message.
    """
    message, kind = _payload_fields(body)
    if _CONTENT_FILTERING in message.lower():
        # Anthropic's wording for a policy block; the shared markers do not know it.
        kind = f"{kind or ''} content_filter".strip()
    if status is not None:
        return error_for_status(
            status, redact(message, secret), provider=provider, model=model,
            headers=headers, code=kind,
        )  # fmt: skip
    error = error_for_status(
        ERROR_TYPE_STATUS.get(kind or "", 500),
        redact(message or "error event in the stream", secret),
        provider=provider,
        model=model,
        code=kind,
    )
    error.status = None
    return error


def map_anthropic_error(
    exc: Exception,
    *,
    provider: str,
    model: str | None,
    secret: str | None,
    in_stream: bool,
) -> ProviderError:
    """Translate an SDK or transport exception into the domain error to raise ``from`` it.

    Args:
        exc: An ``anthropic.AnthropicError`` or ``httpx2.TransportError``.
        provider: Provider name for the error.
        model: Model id that was called.
        secret: The API key, redacted from every message.
        in_stream: The failure happened while reading a stream body, so a
            broken connection means a cut stream.
    """
    scrub_exception(exc, secret)
    import anthropic  # loaded already: the exception came from it
    import httpx2

    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        return connection_failure(
            exc, provider=provider, model=model, secret=secret, in_stream=in_stream
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return InvalidResponse(
            f"malformed response body (HTTP {exc.status_code})",
            provider=provider,
            model=model,
            status=exc.status_code,
        )
    if isinstance(exc, anthropic.APIStatusError):
        return error_for_payload(
            exc.status_code if exc.status_code >= 400 else None,
            exc.body,
            headers=exc.response.headers,
            provider=provider,
            model=model,
            secret=secret,
        )
    return ProviderError(redact(str(exc), secret), provider=provider, model=model)
