"""LiteLLM exceptions -> domain errors.

LiteLLM normalises every provider's failures into OpenAI-style exception
classes (``litellm.exceptions``) and keeps the original failure in the cause
chain. The HTTP mapping itself is the shared one in
:mod:`inference_core.adapters.http_errors`; this module gathers the evidence
from the chain, because LiteLLM's own class and ``status_code`` are not always
the truth:

* the real HTTP status and headers come from the ``httpx.HTTPStatusError`` in
  the chain (LiteLLM reports an Anthropic 529 as a 500, for one);
* an HTTP 408 answer and a client-side timeout are both ``litellm.Timeout``;
  only the former has a status;
* refused/dropped connections arrive as ``InternalServerError`` (status 500)
  over an ``httpx.ConnectError``/``OSError``: no HTTP status at all;
* a body or stream cut midway, a malformed body and a non-JSON page arrive as
  ``InternalServerError``/``APIConnectionError``/``MidStreamFallbackError``;
  the chain (transport error mid-body, ``JSONDecodeError``, LiteLLM's own
  wording) tells them apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from inference_core.adapters.http_errors import (
    error_for_status,
    exception_chain,
    redact,
    should_retry_override,
)
from inference_core.domain.errors import (
    ConfigurationError,
    ContentFiltered,
    ContextWindowExceeded,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)

__all__ = ["map_litellm_error"]

_MAX_TEXT = 500
_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)+")
# Words LiteLLM / httpx / aiohttp use when a body or stream was cut after it started.
_CUT_WORDS = (
    "payload is not completed",
    "complete message body",
    "incomplete chunked read",
    "stream ended before a finish_reason",
)
# LiteLLM's wording for a 200 whose body is not the provider's JSON (a proxy's HTML page).
_NOT_JSON_WORDS = ("empty or invalid response from llm endpoint",)


def _clean(text: str, secret: str | None) -> str:
    text = redact(text, secret)
    text = _PREFIX.sub("", text.strip())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "..."


def _headers(exc: BaseException) -> dict[str, str]:
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        if isinstance(source, Mapping) and source:
            return {str(k): str(v) for k, v in source.items()}
    return {}


def _code(exc: BaseException) -> str | None:
    """The provider's machine-readable error code/type, from ``body`` when LiteLLM kept it."""
    body: Any = getattr(exc, "body", None)
    if body is None:
        response = getattr(exc, "response", None)
        try:
            body = json.loads(response.content) if response is not None else None
        except (ValueError, AttributeError, TypeError):
            body = None
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if not isinstance(body, Mapping):
        return None
    parts = [str(body[k]) for k in ("code", "type") if body.get(k)]
    return " ".join(parts) or None


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _http_response(links: list[BaseException]) -> Any:
    """The provider's actual HTTP error response, when one was received."""
    import httpx  # a LiteLLM dependency

    for link in links:
        if isinstance(link, httpx.HTTPStatusError):
            return link.response
    return None


def _mentions(links: list[BaseException], words: tuple[str, ...]) -> bool:
    return any(word in str(link).lower() for link in links for word in words)


def map_litellm_error(
    exc: Exception,
    litellm: ModuleType,
    *,
    provider: str,
    model: str,
    secret: str | None,
) -> ProviderError | ConfigurationError | None:
    """Return the domain error for a LiteLLM (or OpenAI SDK) exception, else ``None``.

    Anything else (a ``TypeError`` from a LiteLLM bug...) is not a provider
    failure and is left to propagate. A provider whose LiteLLM code needs a
    package that is not installed (Vertex AI needs ``google-auth``...) is a
    :class:`ConfigurationError`, not a retryable outage.

    Args:
        exc: What ``litellm.acompletion`` or its stream raised.
        litellm: The loaded LiteLLM module (its exception classes).
        provider: Provider name for the error.
        model: Model id that was called.
        secret: The API key, scrubbed from any text that would quote it.
    """
    import httpx
    import openai  # LiteLLM's exception classes all derive from the OpenAI SDK's

    if not isinstance(exc, openai.OpenAIError):
        return None
    ex = litellm.exceptions
    links = list(exception_chain(exc))
    message = _clean(str(getattr(exc, "message", "") or exc), secret) or type(exc).__name__
    response = _http_response(links)
    http_status: int | None = response.status_code if response is not None else None
    headers = _headers(exc) or (dict(response.headers) if response is not None else {})
    retry_hint = should_retry_override(headers)

    def unavailable() -> ProviderError:
        return ProviderUnavailable(message, provider=provider, model=model)

    def invalid(*, retryable: bool) -> ProviderError:
        return InvalidResponse(message, provider=provider, model=model, retryable=retryable)

    missing = next((link for link in links if isinstance(link, ImportError)), None)
    if missing is not None:
        name = getattr(missing, "name", None) or str(missing)
        return ConfigurationError(
            f"LiteLLM's {provider!r} provider needs a package that is not installed "
            f"({name}); install it next to 'inference-core[litellm]'"
        )
    if any(isinstance(link, json.JSONDecodeError) for link in links):
        return invalid(retryable=False)
    if _mentions(links, _NOT_JSON_WORDS):
        return invalid(retryable=False)
    if isinstance(exc, ex.Timeout) and http_status is None:
        return ProviderTimeout(message, provider=provider, model=model)
    transport_failure = any(
        isinstance(link, httpx.TransportError | OSError | StopAsyncIteration) for link in links
    )
    if isinstance(exc, ex.MidStreamFallbackError):
        if transport_failure or _mentions(links, _CUT_WORDS):
            # Cut before its terminator: another attempt may well get the whole answer.
            return invalid(retryable=True)
        # An error event inside an open stream: the provider failed mid-answer.
        return unavailable()
    if http_status is None and (transport_failure or _mentions(links, _CUT_WORDS)):
        return unavailable()  # refused, dropped, or a whole-answer body cut midway
    if isinstance(exc, ex.ContextWindowExceededError):
        return ContextWindowExceeded(
            message,
            provider=provider,
            model=model,
            status=http_status or _status(exc),
            retryable=retry_hint,
        )
    if isinstance(exc, ex.ContentPolicyViolationError):
        return ContentFiltered(
            message,
            provider=provider,
            model=model,
            status=http_status or _status(exc),
            retryable=retry_hint,
        )
    status = http_status or _status(exc)
    if status is None or (isinstance(exc, ex.APIConnectionError) and http_status is None):
        return unavailable()
    return error_for_status(
        status, message, provider=provider, model=model, headers=headers, code=_code(exc)
    )
