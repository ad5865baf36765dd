r"""An incremental ``text/event-stream`` decoder for the wire adapters.

Bytes go in as the transport delivers them (any split, even mid-line or between
``\r`` and ``\n``); complete events come out. It follows the WHATWG
event-stream rules an LLM API can exercise: ``\n``, ``\r\n`` and ``\r`` line
ends, ``:`` comment lines (OpenRouter's keep-alives), one optional space after a
field's colon, multi-line ``data`` joined with ``\n``, ``event`` and ``id``
fields, unknown fields ignored, and an event without ``data`` not dispatched.
A trailing event with no blank line after it is discarded at the end of the
stream, as the standard says: the caller's protocol terminator (``[DONE]``,
``message_stop``) decides whether the stream was complete.

Why our own: the maintained parsers are bound to one HTTP client's response type
(``httpx-sse``) or decode text line by line; this one works on the bytes
aiohttp hands over and keeps ``data`` as bytes for the JSON decoder, which is
what keeps a 20-event stream near the cost of reading it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent"]


class ServerSentEvent(NamedTuple):
    r"""One dispatched event.

    Attributes:
        data: The ``data`` lines joined with ``\n`` (bytes, ready for a JSON decoder).
        event: The ``event`` field, ``""`` when the event had none.
        id: The last ``id`` field seen in the stream so far (``""`` when none).
    """

    data: bytes
    event: str = ""
    id: str = ""


class SSEDecoder:
    """Turns byte chunks into :class:`ServerSentEvent` values (one decoder per stream)."""

    __slots__ = ("_data", "_event", "_last_id", "_pending", "_split_crlf")

    def __init__(self) -> None:
        self._pending = b""  # an unterminated line carried to the next chunk
        self._split_crlf = False  # the last chunk ended on "\r": a "\n" next is its pair
        self._data: list[bytes] = []
        self._event = ""
        self._last_id = ""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk`` (possibly none)."""
        if self._split_crlf:
            self._split_crlf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if self._pending:
            chunk = self._pending + chunk
            self._pending = b""
        if not chunk:
            return []
        events: list[ServerSentEvent] = []
        lines = chunk.splitlines(keepends=True)
        last = lines[-1]
        if last[-1:] not in (b"\n", b"\r"):
            self._pending = lines.pop()
        elif last.endswith(b"\r"):
            self._split_crlf = True
        for line in lines:
            self._line(line.rstrip(b"\r\n"), events)
        return events

    def _line(self, line: bytes, events: list[ServerSentEvent]) -> None:
        if not line:
            if self._data:
                events.append(ServerSentEvent(b"\n".join(self._data), self._event, self._last_id))
            self._data = []
            self._event = ""
            return
        field, colon, value = line.partition(b":")
        if not field and colon:
            return  # a comment line
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"id" and b"\0" not in value:
            self._last_id = value.decode("utf-8", "replace")
        # "retry" and unknown fields: nothing to do for a client that never reconnects
