"""Chat-completions bodies -> domain objects (the no-SDK adapter's decoding rules)."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.adapters.openai_http.wire import (
    WireShapeError,
    response_from_body,
    stream_deltas,
    usage_from_body,
)
from inference_core.domain.chat import FinishReason, Usage


def body(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "model": "m",
        "choices": [{"message": message, "finish_reason": "stop"}],
    } | extra


def test_a_completion_becomes_a_response_with_every_usage_field() -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 4,
        "prompt_tokens_details": {"cached_tokens": 6, "cache_write_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    answer, refusal = response_from_body(body({"content": "hi"}, usage=usage), "asked")
    assert (answer.text, answer.model, answer.response_id, refusal) == ("hi", "m", "c1", None)
    assert answer.finish_reason is FinishReason.STOP
    assert answer.usage == Usage(
        input_tokens=10, output_tokens=4, cached_tokens=6, cache_write_tokens=2, reasoning_tokens=3
    )


def test_unreported_or_non_integer_counts_are_none_never_zero() -> None:
    assert usage_from_body(None) == Usage()
    assert usage_from_body({"prompt_tokens": True, "completion_tokens": "4"}) == Usage()


def test_the_requested_model_stands_in_when_the_body_names_none() -> None:
    answer, _ = response_from_body({"choices": [{"message": {"content": "x"}}]}, "asked")
    assert answer.model == "asked" and answer.response_id is None
    assert answer.finish_reason is FinishReason.UNKNOWN


def test_tool_calls_are_returned_and_empty_arguments_become_an_empty_object() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": ""}},
    ]
    answer, _ = response_from_body(body({"content": None, "tool_calls": calls}), "m")
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("a", "f", '{"x":1}'),
        ("b", "g", "{}"),
    ]


def test_a_refusal_is_reported_for_the_adapter_to_raise() -> None:
    answer, refusal = response_from_body(body({"content": None, "refusal": "no"}), "m")
    assert refusal == "no" and answer.text == ""


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ([], "the body is list"),
        ({"choices": []}, "no choices"),
        ({"choices": "x"}, "choices is str"),
        ({"choices": [{"message": {}}]}, "no content, tool_calls or refusal"),
        ({"choices": [{"message": {"content": 3}}]}, "content is int"),
        ({"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}, "no function name"),
    ],
)
def test_a_body_of_the_wrong_shape_says_where(raw: object, where: str) -> None:
    with pytest.raises(WireShapeError, match=where):
        response_from_body(raw, "m")


def test_a_streamed_choice_yields_text_tool_pieces_refusal_and_finish() -> None:
    choice = {
        "delta": {
            "content": "he",
            "refusal": "r",
            "tool_calls": [{"index": 1, "id": "c", "function": {"name": "f", "arguments": "{"}}],
        },
        "finish_reason": "length",
    }
    text, pieces, refusal, finish = stream_deltas(choice)
    assert (text, refusal, finish) == ("he", "r", FinishReason.LENGTH)
    assert [(p.index, p.id, p.name, p.arguments) for p in pieces] == [(1, "c", "f", "{")]
    assert stream_deltas({"delta": None}) == ("", (), None, None)
