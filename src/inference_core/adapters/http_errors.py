"""Shared HTTP-to-domain error mapping for every provider adapter.

Each adapter extracts (status, headers, provider error text/code) from its
vendor exception and calls :func:`error_for_status`; the mapping is the one in
the error tree:

=========================  ==========================================
HTTP / condition           domain error
=========================  ==========================================
400, 422                   InvalidRequestError (ContextWindowExceeded
                           when the body says the context is too long;
                           ContentFiltered for content-policy refusals)
401, 403                   AuthenticationError
404                        ModelNotFoundError
408                        ProviderTimeout
409, 5xx, 529              ProviderUnavailable (retryable)
429                        RateLimitError, or QuotaExceededError when the
                           body says the quota/credit is exhausted
402 (or 400 about credit)  QuotaExceededError
=========================  ==========================================

``retry-after-ms`` wins over ``Retry-After`` (seconds or an HTTP date); the
server's ``x-should-retry: true|false`` overrides the class's retryable flag.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime

from inference_core.adapters.telemetry.redaction import MASK
from inference_core.domain.errors import (
    AuthenticationError,
    ContentFiltered,
    ContextWindowExceeded,
    InvalidRequestError,
    InvalidResponse,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnreachable,
    QuotaExceededError,
    RateLimitError,
)

__all__ = [
    "caused_by_timeout",
    "connection_failure",
    "error_for_status",
    "exception_chain",
    "parse_retry_after",
    "redact",
    "scrub_chain",
    "scrub_exception",
    "should_retry_override",
    "stream_cut",
]


_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input is too long",
)
_QUOTA_MARKERS = (
    "insufficient_quota",
    "quota",
    "billing",
    "credit balance",
    "exceeded your current",
)
_FILTER_MARKERS = (
    "content_filter",
    "content filtering",
    "content blocked",
    "safety filter",
    "content_policy",
    "content policy",
    "safety system",
    "moderation",
)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    return value


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date).

    Returns ``None`` when neither header is present or parseable; never negative.
    """
    ms = _header(headers, "retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def should_retry_override(headers: Mapping[str, str]) -> bool | None:
    """The server's ``x-should-retry`` verdict, or ``None`` when it gave none."""
    value = _header(headers, "x-should-retry")
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def _mentions(text: str, markers: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in markers)


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    model: str | None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> ProviderError:
    """Build the domain error for an HTTP error response.

    Args:
        status: HTTP status code.
        message: The provider's error message (never request headers or keys).
        provider: Provider name for the error.
        model: Model id that was called.
        headers: Response headers (for ``Retry-After`` and ``x-should-retry``).
        code: The provider's machine-readable error code/type, when it sent one.
    """
    headers = headers or {}
    evidence = f"{code or ''} {message}"
    cls: type[ProviderError]
    if status == 402 or (status == 400 and _mentions(evidence, _QUOTA_MARKERS)):
        cls = QuotaExceededError  # payment required / "credit balance is too low"
    elif status in (400, 413, 422):
        if _mentions(evidence, _CONTEXT_MARKERS):
            cls = ContextWindowExceeded
        elif _mentions(evidence, _FILTER_MARKERS):
            cls = ContentFiltered
        else:
            cls = InvalidRequestError
    elif status in (401, 403):
        cls = AuthenticationError
    elif status == 404:
        cls = ModelNotFoundError
    elif status == 408:
        cls = ProviderTimeout
    elif status == 429:
        cls = QuotaExceededError if _mentions(evidence, _QUOTA_MARKERS) else RateLimitError
    elif status == 409 or status >= 500:
        cls = ProviderUnavailable
    else:
        cls = InvalidRequestError if 400 <= status < 500 else ProviderUnavailable
    return cls(
        message or f"HTTP {status}",
        provider=provider,
        model=model,
        status=status,
        retryable=should_retry_override(headers),
        retry_after=parse_retry_after(headers),
    )


def _scrub(value: object, mask: Callable[[str], str]) -> object:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        masked = mask(text)
        return value if masked == text else masked.encode()
    if isinstance(value, dict):
        return {k: _scrub(v, mask) for k, v in value.items()}
    # Exact types only: a NamedTuple (aiohttp's ConnectionKey) cannot be rebuilt from one iterable.
    if type(value) is list:
        return [_scrub(v, mask) for v in value]
    if type(value) is tuple:
        return tuple(_scrub(v, mask) for v in value)
    return value


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it chains, each once.

    Causes, contexts, exception-group members, and the ``original_exception``
    links LiteLLM uses.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (
            getattr(current, "original_exception", None),
            current.__cause__,
            current.__context__,
            *getattr(current, "exceptions", ()),
        )
        todo.extend(e for e in linked if isinstance(e, BaseException))


def scrub_chain(exc: BaseException, mask: Callable[[str], str]) -> None:
    """Apply ``mask`` to every text an exception chain carries, in place.

    Covers ``args`` and every instance attribute (an SDK error's ``.message``,
    ``.body``, ``.api_message``, ``.type``/``.param``/``.code``, a
    ``JSONDecodeError``'s ``.doc``...) of every exception in the chain, so a
    key a server echoed back survives in no rendered traceback and no attribute.
    """
    for current in exception_chain(exc):
        current.args = tuple(_scrub(arg, mask) for arg in current.args)
        for name, value in list(vars(current).items()):
            if name.startswith("__"):
                continue
            scrubbed = _scrub(value, mask)
            if scrubbed is not value and scrubbed != value:
                # A read-only property refuses: its text comes from args, scrubbed above.
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(current, name, scrubbed)


def scrub_exception(exc: BaseException, secret: str | None) -> None:
    """Mask ``secret`` wherever a vendor exception (and what it chains) quotes it, in place.

    Adapters chain vendor exceptions (``raise mapped from exc``) so tracebacks keep
    their evidence; servers sometimes echo the key back in an error message, and a
    rendered traceback (``logger.exception``, ``--debug``) would then print it. The
    use-cases then mask every other configured key too (:func:`scrub_chain`).
    """
    if secret:
        scrub_chain(exc, lambda text: redact(text, secret))


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` (servers sometimes echo keys)."""
    if secret and secret in text:
        return text.replace(secret, MASK)
    return text


def caused_by_timeout(exc: BaseException) -> bool:
    """True when a real :class:`TimeoutError` is in ``exc``'s cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TimeoutError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def stream_cut(
    detail: str, *, provider: str, model: str | None, retryable: bool = True
) -> InvalidResponse:
    """The error for a stream that ended before its protocol's terminator."""
    return InvalidResponse(
        f"stream ended before its terminator: {detail}",
        provider=provider,
        model=model,
        retryable=retryable,
    )


def _root_message(exc: BaseException) -> str:
    """The innermost cause's text: more telling than an SDK's "Connection error."."""
    current = exc
    while current.__cause__ is not None:
        current = current.__cause__
    return str(current) or type(current).__name__


def connection_failure(
    exc: BaseException, *, provider: str, model: str | None, secret: str | None, in_stream: bool
) -> ProviderError:
    """The domain error for a request that got no (complete) HTTP answer.

    A real timeout in the cause chain is a :class:`ProviderTimeout`; a connection
    lost while reading a stream is a cut stream; anything else means the provider
    could not be reached.
    """
    if caused_by_timeout(exc):
        return ProviderTimeout("timed out waiting for the provider", provider=provider, model=model)
    if in_stream:
        return stream_cut("connection lost", provider=provider, model=model)
    error_class = ProviderUnreachable if never_connected(exc) else ProviderUnavailable
    return error_class(
        redact(f"cannot reach the provider: {_root_message(exc)}", secret),
        provider=provider,
        model=model,
    )


#: Exception class names (httpx, httpx2, aiohttp) that mean no connection was made.
_CONNECT_ERRORS = frozenset({"ConnectError", "ClientConnectorError", "ClientConnectorDNSError"})


def never_connected(exc: BaseException) -> bool:
    """True when the cause chain shows the connection itself failed (nothing was sent)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError | socket.gaierror):
            return True
        if type(current).__name__ in _CONNECT_ERRORS:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
