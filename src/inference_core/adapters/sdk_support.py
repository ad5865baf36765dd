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

__all__ = ["HttpBackend", "call_options", "keyless_headers", "sdk_http_client"]

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
