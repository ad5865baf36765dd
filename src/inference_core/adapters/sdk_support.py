"""What the vendor-SDK adapters share: the transport choice, keyless auth, per-call options.

The OpenAI and Anthropic SDKs have the same shape (``AsyncX(api_key=...,
http_client=...)``, ``DefaultAioHttpClient``/``DefaultAsyncHttpxClient``, an
``omit`` sentinel for headers), so one implementation serves both; each
adapter passes its SDK module.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any, Literal

from inference_core.domain.errors import ConfigurationError
from inference_core.domain.routing import ProviderConnection

__all__ = ["HttpBackend", "build_sdk_client", "call_options", "keyless_headers", "sdk_http_client"]

#: The transport of an SDK client: aiohttp when installed (``auto``), or httpx.
HttpBackend = Literal["auto", "aiohttp", "httpx"]


def sdk_http_client(sdk: ModuleType, backend: HttpBackend, extra: str) -> Any:
    """The SDK's aiohttp-backed client when asked for (or ``auto`` and installed), else httpx.

    Raises:
        ConfigurationError: ``aiohttp`` was asked for and is not installed.
    """
    if backend != "httpx":
        try:
            return sdk.DefaultAioHttpClient()
        except RuntimeError as exc:  # the SDK's stand-in when aiohttp is missing
            if backend == "aiohttp":
                raise ConfigurationError(
                    f"http_backend='aiohttp' needs aiohttp: pip install 'inference-core[{extra}]'"
                ) from exc
    return sdk.DefaultAsyncHttpxClient()


def keyless_headers(
    connection: ProviderConnection, *, injected_client: bool, omit: Any
) -> dict[str, Any] | None:
    """``extra_headers`` that strip the placeholder ``Authorization`` of a keyless endpoint.

    The SDKs insist on some key; a keyless local server gets a placeholder and
    the header is removed from every request - unless the connection brings
    its own ``Authorization`` header or the caller injected its own client.
    """
    secret = connection.api_key.get_secret_value() if connection.api_key else None
    own_auth = any(name.lower() == "authorization" for name in connection.headers)
    if injected_client or secret or own_auth:
        return None
    return {"Authorization": omit}


def call_options(timeout: float | None, extra_headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The per-call SDK options: the request's timeout and the keyless header rule."""
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = timeout
    if extra_headers is not None:
        options["extra_headers"] = extra_headers
    return options


def build_sdk_client(
    client_class: Any,
    sdk: ModuleType,
    connection: ProviderConnection,
    *,
    placeholder_key: str,
    default_base_url: str,
    http_client: Any | None,
    http_backend: HttpBackend,
    extra: str,
) -> Any:
    """An SDK client for ``connection``: its key, endpoint, headers and timeouts, no SDK retries.

    ``max_retries=0`` because the library owns retries; the SDK's own key
    lookups (environment, profiles) never run because a key - the
    connection's or ``placeholder_key`` for keyless endpoints - is always given.
    """
    secret = connection.api_key.get_secret_value() if connection.api_key else None
    return client_class(
        api_key=secret or placeholder_key,
        base_url=connection.base_url or default_base_url,
        timeout=sdk.Timeout(connection.read_timeout, connect=connection.connect_timeout),
        max_retries=0,
        default_headers=dict(connection.headers) or None,
        http_client=http_client or sdk_http_client(sdk, http_backend, extra),
    )
