"""Fetch a generated file from the URL a provider answered, streamed into the asset store.

A result URL is data written by a third party, so it is treated as untrusted:

* only ``http``/``https`` (and ``data:`` URLs, decoded in slices, no network);
* the host must resolve to public addresses only - loopback, private,
  link-local (cloud metadata at 169.254.169.254), shared, reserved and
  multicast addresses are refused, unless the policy names the network in
  ``allow_networks`` (tests allow the loopback fake server that way). The
  address actually connected to is checked again before the body is read, so
  a DNS answer that changes between the check and the connect gains nothing;
* redirects are followed by hand, at most ``max_redirects``, each target
  checked like the first URL;
* no credentials: the provider's key is never sent to the file host, and
  environment proxies and ``.netrc`` are ignored (``trust_env=False``);
* a ``Content-Type`` of another media kind (an HTML error page) is refused
  before the body is read, a ``Content-Length`` over the cap too; the store
  then sniffs the bytes themselves and enforces the cap while streaming;
* connect and read timeouts per request, and one total timeout.

Errors: a refusal is :class:`~inference_core.domain.errors.DownloadRefused`
(final); 5xx/429/408 map through the shared status table (retryable); other
4xx (an expired or missing file) are a final ``InvalidResponse``; transport
failures are ``ProviderUnavailable``/``ProviderTimeout``. Messages name the
host only: the rest of a signed URL is a credential.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from inference_core.adapters.http_errors import connection_failure, error_for_status
from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.adapters.media._common import DEFAULT_MAX_OUTPUT_BYTES, b64_stream
from inference_core.domain.errors import (
    DownloadRefused,
    InvalidResponse,
    MediaTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    UnexpectedMediaType,
)
from inference_core.domain.media import MediaKind, StoredAsset
from inference_core.domain.messages import split_data_url
from inference_core.ports.media import AssetStore

if TYPE_CHECKING:
    import httpx

__all__ = ["DownloadPolicy", "ResultDownloader", "check_address"]

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Content types that say nothing about the bytes: the sniffed bytes decide.
_NEUTRAL_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", ""})
_READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class DownloadPolicy:
    """How result files are fetched.

    Attributes:
        max_bytes: Size cap of one file.
        max_redirects: Redirects followed before giving up.
        connect_timeout: Seconds to establish a connection.
        read_timeout: Seconds any one read may wait.
        total_timeout: Seconds for one whole download, redirects included.
        allow_networks: Networks (CIDR) allowed although not public, e.g.
            ``("127.0.0.0/8",)`` for a local test server. Empty by default.
    """

    max_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_redirects: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    total_timeout: float = 600.0
    allow_networks: tuple[str, ...] = field(default=())

    def networks(self) -> tuple[_Network, ...]:
        """``allow_networks`` parsed.

        Raises:
            ValueError: An entry is not a network.
        """
        return tuple(ipaddress.ip_network(net, strict=False) for net in self.allow_networks)


def check_address(address: str, allowed: Sequence[_Network] = ()) -> str | None:
    """Why ``address`` must not be fetched from (``None`` when it may be).

    Public unicast addresses pass; so does anything inside ``allowed``.
    """
    try:
        ip: _IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip.version == net.version and ip in net for net in allowed):
        return None
    for label, test in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if test:
            return f"it resolves to a {label} address ({ip})"
    if not ip.is_global:
        return f"it resolves to a non-public address ({ip})"
    return None


class ResultDownloader:
    """Streams result URLs into an :class:`~inference_core.ports.AssetStore` under a policy.

    Args:
        policy: Limits and the allowed non-public networks.
        provider: Named in errors (``fal``, ``wavespeed``).
        http_client: An ``httpx.AsyncClient`` to use (the caller owns it; it must
            not follow redirects by itself); default: one per event loop.
    """

    def __init__(
        self,
        policy: DownloadPolicy | None = None,
        *,
        provider: str,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.policy = policy or DownloadPolicy()
        self._networks = self.policy.networks()
        self._provider = provider
        self._http_client = http_client
        self._clients: LoopScoped[Any] = LoopScoped(self._new_client, _aclose)

    def __repr__(self) -> str:
        return f"ResultDownloader(provider={self._provider!r})"

    async def aclose(self) -> None:
        """Close the running loop's pooled client now (else it closes with its loop)."""
        await self._clients.aclose_current()

    async def save(
        self, url: str, *, store: AssetStore, name: str, kind: MediaKind, model: str | None = None
    ) -> StoredAsset:
        """Fetch ``url`` into ``store`` as a file of ``kind`` named after ``name``.

        Raises:
            DownloadRefused: Not http(s)/data, a non-public address, too many redirects.
            UnexpectedMediaType: The server declared, or the bytes are, another kind.
            MediaTooLarge: Larger than ``policy.max_bytes``.
            ProviderError: HTTP errors and transport failures (see the module docstring).
        """
        if url.startswith("data:"):
            return await self._save_data_url(url, store=store, name=name, kind=kind)
        try:
            async with asyncio.timeout(self.policy.total_timeout):
                return await self._fetch(url, store=store, name=name, kind=kind, model=model)
        except TimeoutError as exc:
            raise ProviderTimeout(
                f"downloading the result from {_host(url)} took longer than "
                f"{self.policy.total_timeout:g}s",
                provider=self._provider,
                model=model,
            ) from exc

    async def _save_data_url(
        self, url: str, *, store: AssetStore, name: str, kind: MediaKind
    ) -> StoredAsset:
        try:
            split = split_data_url(url)
        except ValueError as exc:
            raise InvalidResponse(
                f"malformed result: {exc}", provider=self._provider, retryable=False
            ) from None
        assert split is not None  # it starts with data:
        mime, payload = split
        _check_declared(mime, kind, name)
        import binascii

        try:
            return await store.save(
                b64_stream(payload), name=name, kind=kind, max_bytes=self.policy.max_bytes
            )
        except binascii.Error as exc:
            raise InvalidResponse(
                f"malformed result: the data URL is not base64 ({exc})",
                provider=self._provider,
                retryable=False,
            ) from exc

    async def _fetch(
        self, url: str, *, store: AssetStore, name: str, kind: MediaKind, model: str | None
    ) -> StoredAsset:
        import httpx

        client = self._http_client or self._clients.get()
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            await self._check_url(current)
            received = False
            try:
                async with client.stream("GET", current, follow_redirects=False) as response:
                    received = True
                    self._check_peer(response, current)
                    status = response.status_code
                    if status in _REDIRECTS and response.headers.get("location"):
                        current = urljoin(current, response.headers["location"])
                        continue
                    if status >= 400:
                        raise self._status_error(status, dict(response.headers), current, model)
                    _check_declared(response.headers.get("content-type", ""), kind, name)
                    self._check_length(response.headers.get("content-length"), name)
                    return await store.save(
                        self._body(response, model),
                        name=name,
                        kind=kind,
                        max_bytes=self.policy.max_bytes,
                    )
            except httpx.HTTPError as exc:
                raise self._transport(exc, current, model, in_body=received) from exc
        raise DownloadRefused(_host(url), f"more than {self.policy.max_redirects} redirects")

    async def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https"):
            raise DownloadRefused(host, f"the scheme {parts.scheme or '(none)'!r} is not http(s)")
        if not host:
            raise DownloadRefused(host, "the URL has no host")
        if parts.username or parts.password:
            raise DownloadRefused(host, "the URL carries credentials")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise DownloadRefused(host, "the URL's port is not a number") from None
        for address in await self._addresses(host, port, url):
            reason = check_address(address, self._networks)
            if reason is not None:
                raise DownloadRefused(host, reason)

    async def _addresses(self, host: str, port: int, url: str) -> list[str]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ProviderUnavailable(
                f"cannot resolve the result host {host}: {exc.strerror or exc}",
                provider=self._provider,
            ) from exc
        return sorted({str(info[4][0]) for info in infos})

    def _check_peer(self, response: httpx.Response, url: str) -> None:
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if isinstance(peer, tuple) and peer:
            reason = check_address(str(peer[0]), self._networks)
            if reason is not None:
                raise DownloadRefused(
                    _host(url),
                    f"the connection went to a refused address: "
                    f"{reason.removeprefix('it resolves to ')}",
                )

    def _check_length(self, value: str | None, name: str) -> None:
        if value is not None and value.isdigit() and int(value) > self.policy.max_bytes:
            raise MediaTooLarge(name, self.policy.max_bytes)

    async def _body(self, response: httpx.Response, model: str | None) -> AsyncIterator[bytes]:
        import httpx

        try:
            async for chunk in response.aiter_bytes(_READ_CHUNK):
                yield chunk
        except httpx.HTTPError as exc:
            raise self._transport(exc, str(response.url), model, in_body=True) from exc

    def _status_error(
        self, status: int, headers: dict[str, str], url: str, model: str | None
    ) -> ProviderError:
        host = _host(url)
        if status in (408, 429) or status >= 500:
            return error_for_status(
                status,
                f"the result file host {host} answered HTTP {status}",
                provider=self._provider,
                model=model,
                headers=headers,
            )
        # Missing, expired or forbidden: asking again will not make it appear.
        return InvalidResponse(
            f"the result file host {host} answered HTTP {status} (missing or expired file)",
            provider=self._provider,
            model=model,
            status=status,
            retryable=False,
        )

    def _transport(
        self, exc: Exception, url: str, model: str | None, *, in_body: bool
    ) -> ProviderError:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeout(
                f"timed out downloading the result from {_host(url)}",
                provider=self._provider,
                model=model,
            )
        error = connection_failure(
            exc, provider=self._provider, model=model, secret=None, in_stream=in_body
        )
        error.retryable = True  # a download repeats nothing billed
        return error

    def _new_client(self) -> Any:
        import httpx

        timeout = httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout)
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)


def _check_declared(content_type: str, kind: MediaKind, name: str) -> None:
    """Refuse a declared type of another kind (``text/html`` for a video)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _NEUTRAL_TYPES:
        return
    if mime.partition("/")[0] != kind.value:
        raise UnexpectedMediaType(name, kind.value, f"declared as {mime}")


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


async def _aclose(client: Any) -> None:
    await client.aclose()
