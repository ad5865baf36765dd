"""One JSON-over-HTTP endpoint on aiohttp: what the no-SDK wire adapters share.

:class:`Endpoint` keeps one ``aiohttp.ClientSession`` per event loop
(:class:`~inference_core.adapters.loop_scoped.LoopScoped`: a session is bound
to the loop that made it), the URL and static headers built once, and the
connection's timeouts. It sends pre-encoded bodies, maps transport failures
through :func:`~inference_core.adapters.http_errors.connection_failure` and
decodes streams with :class:`~inference_core.adapters.sse.SSEDecoder`. What a
body means (and which error a status is) stays with each protocol's adapter.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncGenerator, Callable, Mapping

import aiohttp
from yarl import URL

from inference_core.adapters.http_errors import connection_failure, scrub_exception
from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.adapters.sse import ServerSentEvent, SSEDecoder
from inference_core.domain.errors import ProviderError
from inference_core.domain.routing import ProviderConnection

__all__ = ["DEFAULT_CONNECTION_LIMIT", "TRANSPORT_ERRORS", "Answer", "Endpoint"]

#: Connections kept per event loop: enough for a wide fan-out to one server.
DEFAULT_CONNECTION_LIMIT = 1000

#: What aiohttp raises when no (complete) HTTP answer arrived.
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


class Answer:
    """A response whose body is still to be read (a stream)."""

    __slots__ = ("_response", "complete")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        #: Set by the reader once the protocol's terminator arrived.
        self.complete = False

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (case-insensitive)."""
        return self._response.headers

    def release(self) -> None:
        """Hand the connection back when the body was read to its end, else close it."""
        if self.complete and self._response.content.is_eof():
            self._response.release()
        else:
            self._response.close()  # an early exit or a server still sending: drop it


async def _close(session: aiohttp.ClientSession) -> None:
    await session.close()


class Endpoint:
    """POSTs JSON bodies to one URL of one provider connection.

    Args:
        connection: Endpoint, timeouts, provider name (for errors) and key (redacted).
        path: Appended to the connection's base URL (``/chat/completions``).
        default_base_url: Used when the connection names none.
        headers: Static request headers (auth included); sent on every request.
        ssl_context: TLS context for ``https`` (share one: loading CAs is slow).
        connection_limit: Connections per event loop (``0``: no limit).
    """

    def __init__(
        self,
        connection: ProviderConnection,
        *,
        path: str,
        default_base_url: str,
        headers: Mapping[str, str],
        ssl_context: ssl.SSLContext | None = None,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> None:
        self.provider = connection.provider
        self.base_url = (connection.base_url or default_base_url).rstrip("/")
        self._secret = connection.api_key.get_secret_value() if connection.api_key else None
        self._url = URL(self.base_url + path)
        self._headers = dict(headers)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._limit = connection_limit
        self._connect = connection.connect_timeout
        self._read = connection.read_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=self._connect, sock_read=self._read
        )
        self._sessions: LoopScoped[aiohttp.ClientSession] = LoopScoped(self._new_session, _close)

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limit, limit_per_host=0, ssl=self._ssl),
            headers=self._headers,
            timeout=self._timeout,
            skip_auto_headers=("User-Agent",),  # the adapter's own is in the static headers
            raise_for_status=False,
        )

    def _attempt(self, seconds: float | None) -> aiohttp.ClientTimeout:
        # Always a ClientTimeout: aiohttp reads ``timeout=None`` as "no timeout at all".
        if seconds is None:
            return self._timeout
        return aiohttp.ClientTimeout(total=seconds, connect=self._connect, sock_read=self._read)

    def transport_error(self, exc: BaseException, model: str, *, in_stream: bool) -> ProviderError:
        """The domain error for a request that got no (complete) answer."""
        scrub_exception(exc, self._secret)
        return connection_failure(
            exc, provider=self.provider, model=model, secret=self._secret, in_stream=in_stream
        )

    async def post(
        self, body: bytes, *, seconds: float | None, model: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send ``body``; return the status, headers and whole response body.

        ``seconds`` bounds the whole attempt (``None``: the connection's timeouts only).

        Raises:
            ProviderError: No complete answer (refused, timed out, cut midway).
        """
        session = self._sessions.get()
        try:
            async with session.post(self._url, data=body, timeout=self._attempt(seconds)) as r:
                return r.status, r.headers, await r.read()
        except TRANSPORT_ERRORS as exc:
            raise self.transport_error(exc, model, in_stream=False) from exc

    async def open_stream(self, body: bytes, *, seconds: float | None, model: str) -> Answer:
        """Send ``body`` and return once the response headers arrived.

        The caller reads it with :meth:`events` or :meth:`read` and must call
        :meth:`Answer.release` in a ``finally``.

        Raises:
            ProviderError: No answer (refused, timed out before the headers).
        """
        session = self._sessions.get()
        try:
            response = await session.post(self._url, data=body, timeout=self._attempt(seconds))
        except TRANSPORT_ERRORS as exc:
            raise self.transport_error(exc, model, in_stream=False) from exc
        return Answer(response)

    async def read(self, answer: Answer, *, model: str) -> bytes:
        """The whole body of ``answer`` (an error answer to a stream request)."""
        try:
            return await answer._response.read()
        except TRANSPORT_ERRORS as exc:
            raise self.transport_error(exc, model, in_stream=False) from exc

    async def events(
        self, answer: Answer, *, model: str, settled: Callable[[], bool]
    ) -> AsyncGenerator[ServerSentEvent, None]:
        """The server-sent events of ``answer``, until its body ends.

        A connection lost mid-stream raises the cut-stream error, unless
        ``settled()`` says the answer was already complete (its final event
        arrived): then the stream just ends, so a paid-for answer is kept.
        """
        decoder = SSEDecoder()
        try:
            async for data in answer._response.content.iter_any():
                for event in decoder.feed(data):
                    yield event
        except TRANSPORT_ERRORS as exc:
            if not settled():
                raise self.transport_error(exc, model, in_stream=True) from exc

    async def aclose(self) -> None:
        """Close the current loop's session (sessions of other loops close with their loop)."""
        await self._sessions.aclose_current()
