"""The chat model port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.chat import ChatChunk, ChatRequest, ChatResponse

__all__ = ["ChatModel"]


@runtime_checkable
class ChatModel(Protocol):
    """Talks to one provider endpoint (one base URL and key) for any of its models.

    Every implementation guarantees:

    * It makes exactly ONE attempt per call: no retries of its own (SDKs are
      built with retries off); retrying is the application's job.
    * Failures raise :class:`~inference_core.domain.errors.ProviderError`
      subclasses chosen by the mapping in the error tree, chained with
      ``raise ... from exc``, with ``retryable`` and ``retry_after`` filled
      from the response (``retry-after-ms``, ``Retry-After``, ``x-should-retry``).
    * No API key appears in any error message, ``repr`` or log line.
    * Unknown usage is ``None``, never ``0``.
    """

    @property
    def capabilities(self) -> AdapterCapabilities:
        """What this adapter can send and report (static data)."""
        ...

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one chat request and return the whole answer.

        ``request.model`` is the provider's model id. ``request.timeout``, when
        set, bounds this single attempt in seconds.
        """
        ...

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Send one chat request and yield the answer as it arrives.

        Text arrives as ``ChatChunk.text`` deltas. The LAST chunk always has a
        ``finish_reason`` and a ``usage`` (fields ``None`` when unreported).
        A stream that ends before the protocol's terminator (``[DONE]``,
        ``message_stop``, ``done: true``) or carries an error event raises
        :class:`~inference_core.domain.errors.InvalidResponse` (or the mapped
        error), never a silently shorter answer. Closing the iterator early
        (``aclose()`` / ``break`` in ``async for``) closes the HTTP stream.
        """
        ...

    async def aclose(self) -> None:
        """Release pooled connections; the adapter must not be used afterwards."""
        ...
