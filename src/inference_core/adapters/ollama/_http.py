"""HTTP plumbing shared by the Ollama chat model and client: errors and NDJSON.

Ollama answers errors as ``{"error": "<text>"}`` with an HTTP status, or - once
a stream has started with 200 - as an NDJSON line of the same shape. Both
become domain errors here; httpx transport failures too.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx

from inference_core.adapters.http_errors import error_for_status, redact
from inference_core.adapters.ollama import DEFAULT_BASE_URL
from inference_core.domain.errors import (
    ContextWindowExceeded,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from inference_core.domain.routing import ProviderConnection

__all__ = [
    "OllamaError",
    "bearer_token",
    "build_http_client",
    "build_timeout",
    "error_from_line",
    "iter_ndjson",
    "parse_json_body",
    "raise_for_status",
    "transport_error",
]

_MAX_ERROR_TEXT = 500
# Ollama's wording when a prompt does not fit the model's context (num_ctx).
_CONTEXT_WORDS = ("context length", "context window", "exceeds the context", "too long")
# Refusals from filtering gateways in front of Ollama; Ollama sends no error codes, so
# these words decide (the shared table knows the first two; "blocked by" is ours).
_FILTER_WORDS = ("content blocked", "safety filter", "blocked by")

During = Literal["request", "body", "stream"]


class OllamaError(Exception):
    """An error Ollama reported in a body (``{"error": "..."}``).

    Chained as the ``__cause__`` of the domain error built from it, like an SDK
    exception would be.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


def build_timeout(seconds: float | None, *, connect: float, read: float) -> httpx.Timeout:
    """The httpx timeout for one attempt: ``seconds`` bounds every phase when given."""
    if seconds is not None:
        return httpx.Timeout(seconds)
    return httpx.Timeout(read, connect=connect)


def build_http_client(
    connection: ProviderConnection, *, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for ``connection`` (base URL, key, headers, timeouts).

    ``verify`` is httpx's TLS setting; pass one shared ``ssl.SSLContext`` when
    building many clients (loading the CA bundle each time is slow).
    """
    headers = dict(connection.headers)
    if connection.api_key is not None:
        headers["Authorization"] = f"Bearer {connection.api_key.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=(connection.base_url or DEFAULT_BASE_URL).rstrip("/"),
        headers=headers,
        timeout=build_timeout(
            None, connect=connection.connect_timeout, read=connection.read_timeout
        ),
        verify=verify,
    )


def bearer_token(headers: httpx.Headers) -> str | None:
    """The key a client sends, so error texts that echo it can be scrubbed."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _short(text: str, secret: str | None) -> str:
    text = redact(text, secret)
    text = text.strip()
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "..."


def _error_text(raw: bytes, secret: str | None) -> str:
    """The message of an error body: Ollama's ``error`` string, or an OpenAI-style object."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str):
        return _short(error, secret)
    return _short(raw.decode("utf-8", errors="replace"), secret)


def raise_for_status(
    response: httpx.Response, *, provider: str, model: str | None, secret: str | None
) -> None:
    """Raise the domain error for a non-2xx response (body already read), else nothing."""
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        message = _error_text(response.content, secret) or response.reason_phrase
        code = (
            "content_filter"
            if response.status_code in (400, 422)
            and any(w in message.lower() for w in _FILTER_WORDS)
            else None
        )
        raise error_for_status(
            response.status_code,
            message,
            provider=provider,
            model=model,
            headers=dict(response.headers),
            code=code,
        ) from exc


def error_from_line(
    message: str, *, provider: str, model: str | None, secret: str | None = None
) -> ProviderError:
    """Map an ``{"error": ...}`` line sent after a 200 status (no HTTP status to go by).

    Ollama sends these when the model runner fails mid-generation, which is a
    server-side fault worth retrying, unless the text says the prompt is too long.
    """
    text = _short(message, secret) or "error in stream"
    if any(word in text.lower() for word in _CONTEXT_WORDS):
        return ContextWindowExceeded(text, provider=provider, model=model)
    return ProviderUnavailable(text, provider=provider, model=model)


def transport_error(
    exc: httpx.HTTPError, *, provider: str, model: str | None, during: During
) -> ProviderError:
    """Map an httpx failure by when it happened.

    ``request``: before any response (refused, dropped) - the provider is
    unavailable. ``body``: a whole-answer body cut midway - the same, retryable.
    ``stream``: a stream cut before ``done: true`` - an invalid (cut) response,
    still worth retrying.
    """
    detail = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        phase = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for"
        return ProviderTimeout(
            f"timed out {phase} Ollama ({detail})", provider=provider, model=model
        )
    if during == "stream":
        return InvalidResponse(
            f"Ollama stream was cut before 'done: true' ({detail})",
            provider=provider,
            model=model,
            retryable=True,
        )
    if during == "body":
        return ProviderUnavailable(
            f"Ollama answer was cut midway ({detail})", provider=provider, model=model
        )
    if isinstance(exc, httpx.ConnectError):
        return ProviderUnavailable(
            f"cannot connect to Ollama ({detail}); is `ollama serve` running?",
            provider=provider,
            model=model,
        )
    if isinstance(exc, httpx.TransportError):
        return ProviderUnavailable(
            f"connection to Ollama failed ({detail})", provider=provider, model=model
        )
    # httpx.InvalidURL, UnsupportedProtocol...: a configuration problem, not transient.
    return ProviderUnavailable(
        f"cannot call Ollama ({detail})", provider=provider, model=model, retryable=False
    )


def parse_json_body(
    raw: bytes, *, provider: str, model: str | None, secret: str | None = None
) -> dict[str, Any]:
    """Parse a JSON object body, or raise :class:`InvalidResponse` (or the reported error)."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidResponse(
            f"Ollama sent a body that is not JSON: {exc}", provider=provider, model=model
        ) from exc
    if not isinstance(data, dict):
        raise InvalidResponse(
            f"Ollama sent JSON {type(data).__name__}, expected an object",
            provider=provider,
            model=model,
        )
    if isinstance(data.get("error"), str):
        reported = OllamaError(_short(data["error"], secret))
        raise error_from_line(
            data["error"], provider=provider, model=model, secret=secret
        ) from reported
    return data


async def iter_ndjson(
    response: httpx.Response, *, provider: str, model: str | None, secret: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield each NDJSON object of a streamed 200 response.

    Raises:
        ProviderError: An ``{"error": ...}`` line (mapped), a line that is not a
            JSON object (:class:`InvalidResponse`), or a transport failure.
    """
    try:
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            yield parse_json_body(line.encode(), provider=provider, model=model, secret=secret)
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider=provider, model=model, during="stream") from exc
