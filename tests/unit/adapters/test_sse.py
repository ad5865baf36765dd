"""The event-stream decoder: the WHATWG rules LLM APIs use, under any split of the bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inference_core.adapters.sse import ServerSentEvent, SSEDecoder


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_data_events_are_dispatched_on_the_blank_line() -> None:
    assert decode(b'data: {"a":1}\n\ndata: [DONE]\n\n') == [
        ServerSentEvent(b'{"a":1}'),
        ServerSentEvent(b"[DONE]"),
    ]


def test_crlf_and_lone_cr_end_lines_too() -> None:
    assert decode(b"data: x\r\n\r\ndata: y\r\rdata: z\n\n") == [
        ServerSentEvent(b"x"),
        ServerSentEvent(b"y"),
        ServerSentEvent(b"z"),
    ]


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    # "\r" ends one chunk and "\n" starts the next: one line end, not a blank line.
    assert decode(b"data: a\r", b"\ndata: b\r\n", b"\r\n") == [ServerSentEvent(b"a\nb")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    assert decode(b": OPENROUTER PROCESSING\n\nretry: 10\nfoo: bar\ndata: x\n\n") == [
        ServerSentEvent(b"x")
    ]


def test_event_and_id_fields_are_kept_and_id_persists() -> None:
    events = decode(b"event: error\nid: 7\ndata: boom\n\ndata: next\n\n")
    assert events == [ServerSentEvent(b"boom", "error", "7"), ServerSentEvent(b"next", "", "7")]


def test_multi_line_data_is_joined_with_newlines_and_one_space_is_stripped() -> None:
    assert decode(b"data:a\ndata:  b\ndata\n\n") == [ServerSentEvent(b"a\n b\n")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\n") == []


def test_an_unterminated_last_event_is_never_dispatched() -> None:
    assert decode(b"data: complete\n\ndata: cut") == [ServerSentEvent(b"complete")]


_STREAM = (
    b": keep-alive\r\n\r\n"
    b'data: {"choices":[{"delta":{"content":"h\xc3\xa9"}}]}\n\n'
    b"event: message\r\nid: 1\r\ndata: one\r\ndata: two\r\n\r\n"
    b"data: [DONE]\r\r"
)


@given(st.lists(st.integers(min_value=0, max_value=len(_STREAM)), max_size=12))
def test_any_split_of_the_bytes_decodes_to_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [_STREAM[a:b] for a, b in zip([0, *points], [*points, len(_STREAM)], strict=True)]
    assert decode(*chunks) == decode(_STREAM)
    assert [e.data for e in decode(_STREAM)] == [
        b'{"choices":[{"delta":{"content":"h\xc3\xa9"}}]}',
        b"one\ntwo",
        b"[DONE]",
    ]
