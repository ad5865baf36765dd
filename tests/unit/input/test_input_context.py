"""Context trimming to a token budget, and conversation compression."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference_core.domain.catalog import ModelSpec
from inference_core.domain.context import (
    ImagePolicy,
    compress_messages,
    input_budget,
    trim_messages,
)
from inference_core.domain.errors import ContextWindowExceeded, InvalidInputError
from inference_core.domain.messages import ImagePart, Message, TextPart, ToolCall
from inference_core.domain.tokens import REPLY_PRIMING_TOKENS, count_message_tokens, count_tokens

from ._images import data_url, solid

PROPERTY = settings(max_examples=150, deadline=None)

BIG_PNG = solid((1024, 1024))  # 765 tokens at high detail
SMALL_PNG = solid((100, 100))  # 255 tokens


def big_image(detail: str | None = "high") -> ImagePart:
    return ImagePart(data=BIG_PNG, mime_type="image/png", detail=detail)  # type: ignore[arg-type]


def shrink(part: ImagePart) -> ImagePart:
    """A deterministic stand-in for Pillow's downscale: the big image becomes the small one."""
    if part.is_inline and part.inline()[1] == BIG_PNG:
        return ImagePart(data=SMALL_PNG, mime_type="image/png", detail=part.detail)
    return part


def tokens(messages: Sequence[Message]) -> int:
    return count_tokens(messages).total


# --- strategies ---------------------------------------------------------------------------

words = st.text(alphabet="abc xyzé", max_size=80)


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message.system(draw(words)))
    call_ids = iter(range(1000))
    for _ in range(draw(st.integers(0, 9))):
        kind = draw(st.sampled_from(["user", "image", "assistant", "tools", "system"]))
        if kind == "user":
            messages.append(Message.user(draw(words)))
        elif kind == "image":
            detail = draw(st.sampled_from(["high", "low", None]))
            parts = (TextPart(text=draw(words)), big_image(detail))
            messages.append(Message.user(parts))
        elif kind == "assistant":
            messages.append(Message.assistant(draw(words)))
        elif kind == "system":
            messages.append(Message.system(draw(words)))
        else:
            ids = [f"call{next(call_ids)}" for _ in range(draw(st.integers(1, 2)))]
            calls = tuple(ToolCall(id=i, name="lookup", arguments='{"q": 1}') for i in ids)
            messages.append(Message(role="assistant", content="", tool_calls=calls))
            messages.extend(Message(role="tool", content=draw(words), tool_call_id=i) for i in ids)
    if draw(st.booleans()):
        messages.append(Message.user(draw(words)))
    return messages


def _mandatory(messages: list[Message]) -> list[int]:
    """System messages plus the current turn (from the last user message on)."""
    system = [i for i, m in enumerate(messages) if m.role == "system"]
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if users:
        tail = list(range(users[-1], len(messages)))
    else:  # no user message: the newest unit is the current turn
        rest = [i for i, m in enumerate(messages) if m.role != "system"]
        tail = []
        if rest:
            start = rest[-1]
            while start > 0 and messages[start].role == "tool":
                start -= 1
            tail = [i for i in range(start, len(messages))]
    return sorted(set(system) | {i for i in tail if messages[i].role != "system"})


def _cheapest(message: Message, policy: ImagePolicy) -> Message:
    if isinstance(message.content, str) or policy in ("keep", "drop"):
        return message
    if policy == "low_detail":
        parts = tuple(
            p.model_copy(update={"detail": "low"}) if isinstance(p, ImagePart) else p
            for p in message.content
        )
    else:
        parts = tuple(shrink(p) if isinstance(p, ImagePart) else p for p in message.content)
    return message.model_copy(update={"content": parts})


# --- trimming properties ------------------------------------------------------------------


@PROPERTY
@given(
    conversations(),
    st.one_of(st.integers(0, 110), st.integers(60, 100)),
    st.sampled_from(["keep", "low_detail", "drop", "downscale"]),
)
def test_trimming_fits_keeps_what_matters_and_is_idempotent(
    messages: list[Message], percent: int, policy: ImagePolicy
) -> None:
    budget = tokens(messages) * percent // 100
    mandatory = _mandatory(messages)
    try:
        result = trim_messages(messages, budget, images=policy, downscale=shrink)
    except ContextWindowExceeded:
        cheapest = [_cheapest(messages[i], policy) for i in mandatory]
        assert tokens(cheapest) > budget
        return

    assert result.tokens <= budget
    assert result.tokens == tokens(result.messages)
    assert result.tokens_before == tokens(messages)
    assert result.changed == (result.messages != tuple(messages))

    dropped = {d.index for d in result.dropped if d.kind == "message"}
    kept = [i for i in range(len(messages)) if i not in dropped]
    assert len(kept) == len(result.messages)
    for i, message in zip(kept, result.messages, strict=True):
        assert (message.role, message.text, message.tool_calls) == (
            messages[i].role,
            messages[i].text,
            messages[i].tool_calls,
        )
    assert set(mandatory) <= set(kept)  # system messages and the last user message survive

    # A tool call and its results are kept or dropped together.
    for i, message in enumerate(messages):
        if message.tool_calls:
            results = [
                j
                for j in range(i + 1, len(messages))
                if messages[j].tool_call_id in {c.id for c in message.tool_calls}
            ]
            assert all((j in dropped) == (i in dropped) for j in results)

    # What is kept (system aside) is the newest part of the history, without gaps.
    history = [i for i, m in enumerate(messages) if m.role != "system"]
    kept_history = [i for i in history if i not in dropped]
    assert kept_history == history[len(history) - len(kept_history) :]

    again = trim_messages(result.messages, budget, images=policy, downscale=shrink)
    assert again.messages == result.messages
    assert again.dropped == ()


@PROPERTY
@given(conversations())
def test_a_conversation_that_fits_is_returned_untouched(messages: list[Message]) -> None:
    budget = tokens(messages)
    result = trim_messages(messages, budget, images="drop")
    assert result.messages == tuple(messages)
    assert not result.changed


# --- trimming examples ----------------------------------------------------------------------


def _turns(n: int) -> list[Message]:
    out = [Message.system("You are terse.")]
    for i in range(n):
        out += [Message.user(f"question {i} " + "x" * 40), Message.assistant(f"answer {i}")]
    return out


def test_oldest_turns_go_first_and_are_reported() -> None:
    messages = [*_turns(4), Message.user("last question")]
    budget = tokens([messages[0], *messages[5:]])
    result = trim_messages(messages, budget)
    assert result.messages == (messages[0], *messages[5:])
    assert [(d.kind, d.index, d.role) for d in result.dropped] == [
        ("message", 1, "user"),
        ("message", 2, "assistant"),
        ("message", 3, "user"),
        ("message", 4, "assistant"),
    ]
    assert sum(d.tokens for d in result.dropped) == result.tokens_before - result.tokens


def test_no_gap_is_left_even_if_an_older_turn_would_fit() -> None:
    messages = [
        Message.user("tiny"),
        Message.assistant("y" * 400),  # does not fit
        Message.user("now?"),
    ]
    budget = tokens([messages[0], messages[2]])
    result = trim_messages(messages, budget)
    assert result.messages == (messages[2],)


def test_a_tool_call_is_never_separated_from_its_result() -> None:
    call = Message(
        role="assistant", content="", tool_calls=(ToolCall(id="c1", name="f", arguments="{}"),)
    )
    result_msg = Message(role="tool", content="r" * 400, tool_call_id="c1")
    messages = [
        Message.user("go"),
        call,
        result_msg,
        Message.assistant("done"),
        Message.user("ok?"),
    ]
    budget = tokens([call, messages[3], messages[4]])  # room for the call but not its result
    result = trim_messages(messages, budget)
    assert result.messages == (messages[3], messages[4])


def test_the_current_agent_turn_is_kept_whole() -> None:
    call = Message(
        role="assistant", content="", tool_calls=(ToolCall(id="c1", name="f", arguments="{}"),)
    )
    messages = [*_turns(3), Message.user("use the tool"), call]
    messages.append(Message(role="tool", content="result", tool_call_id="c1"))
    result = trim_messages(messages, tokens([messages[0], *messages[-3:]]))
    assert result.messages == (messages[0], *messages[-3:])


def test_too_big_a_current_turn_raises_context_window_exceeded() -> None:
    messages = [Message.system("s" * 100), Message.user("u" * 100)]
    with pytest.raises(ContextWindowExceeded, match="budget of 40"):
        trim_messages(messages, 40)


def test_low_detail_degrades_the_oldest_images_before_dropping_text() -> None:
    messages = [
        Message.user((TextPart(text="first"), big_image())),
        Message.assistant("seen"),
        Message.user((TextPart(text="second"), big_image())),
        Message.assistant("seen"),
        Message.user("compare them"),
    ]
    budget = tokens(messages) - 600  # one image at low detail saves 765 - 85 = 680
    result = trim_messages(messages, budget, images="low_detail")
    assert [(d.kind, d.index, d.part, d.tokens) for d in result.dropped] == [
        ("image_low_detail", 0, 1, 680)
    ]
    assert result.messages[0].images[0].detail == "low"
    assert result.messages[2].images[0].detail == "high"
    assert len(result.messages) == len(messages)


def test_drop_removes_old_images_but_never_the_current_turns() -> None:
    messages = [
        Message.user((TextPart(text="old"), big_image())),
        Message.assistant("ok"),
        Message.user((TextPart(text="new"), big_image())),
    ]
    result = trim_messages(messages, tokens(messages) - 700, images="drop")
    assert [(d.kind, d.index) for d in result.dropped] == [("image", 0)]
    assert result.messages[0].content == (TextPart(text="old"),)
    assert result.messages[2] == messages[2]
    with pytest.raises(ContextWindowExceeded):
        trim_messages(messages, count_message_tokens(messages[2]).total, images="drop")


def test_downscale_uses_the_given_function() -> None:
    messages = [Message.user((TextPart(text="look"), big_image()))]
    result = trim_messages(messages, tokens(messages) - 500, images="downscale", downscale=shrink)
    assert result.dropped[0].kind == "image_downscaled"
    assert result.dropped[0].tokens == 765 - 255
    assert result.messages[0].images[0].inline()[1] == SMALL_PNG


def test_downscale_without_a_function_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="downscale function"):
        trim_messages([Message.user("x")], 10, images="downscale")


def test_input_budget_from_a_spec_or_numbers() -> None:
    spec = ModelSpec(id="m", provider="p", context_window=128_000, max_output_tokens=16_384)
    assert input_budget(spec) == 128_000 - 16_384
    assert input_budget(spec, 1000, margin=500) == 126_500
    assert input_budget(8192, 4096) == 4096
    with pytest.raises(InvalidInputError, match="declares no context window"):
        input_budget(ModelSpec(id="m", provider="p"))
    with pytest.raises(InvalidInputError, match="no room"):
        input_budget(4096, 4096)


# --- compression ----------------------------------------------------------------------------


def _all_text(messages: Sequence[Message]) -> str:
    return re.sub(r"\s", "", "".join(m.text for m in messages))


def _image_keys(messages: Sequence[Message]) -> list[bytes | str]:
    return [p.inline()[1] if p.is_inline else p.url or "" for m in messages for p in m.images]


blank_or_words = st.one_of(st.sampled_from(["", " ", "\n"]), words)


@st.composite
def noisy_conversations(draw: st.DrawFn) -> list[Message]:
    images = [
        ImagePart(data=SMALL_PNG, mime_type="image/png"),
        ImagePart(url=data_url(SMALL_PNG)),  # the same image as a data URL
        ImagePart(url="https://img.example/a.png"),
        big_image(),
    ]
    parts = st.one_of(blank_or_words.map(lambda t: TextPart(text=t)), st.sampled_from(images))
    out: list[Message] = []
    for _ in range(draw(st.integers(0, 10))):
        role = draw(st.sampled_from(["system", "user", "user", "assistant", "tool_call"]))
        if role == "tool_call":
            call = ToolCall(id="c", name="f", arguments="{}")
            out.append(Message(role="assistant", content="", tool_calls=(call,)))
            out.append(Message(role="tool", content=draw(blank_or_words), tool_call_id="c"))
            continue
        content = draw(st.one_of(blank_or_words, st.lists(parts, max_size=4).map(tuple)))
        out.append(Message(role=role, content=content, name=draw(st.sampled_from([None, "n"]))))
    return out


@PROPERTY
@given(noisy_conversations())
def test_compression_keeps_all_text_and_every_distinct_image_once(messages: list[Message]) -> None:
    compressed = compress_messages(messages)
    assert _all_text(compressed) == _all_text(messages)
    keys = _image_keys(compressed)
    assert len(keys) == len(set(keys))
    assert set(keys) == set(_image_keys(messages))
    assert tokens(compressed) <= tokens(messages)
    assert compress_messages(compressed) == compressed
    for a, b in itertools.pairwise(compressed):
        plain = not (a.tool_calls or b.tool_calls or "tool" in (a.role, b.role))
        assert not (plain and a.role == b.role and a.name == b.name)

    def traffic(ms: Sequence[Message]) -> list[tuple[str, object, object]]:
        return [
            (m.role, m.tool_calls, m.tool_call_id) for m in ms if m.role == "tool" or m.tool_calls
        ]

    assert traffic(compressed) == traffic(messages)  # tool calls and results are never merged away


def test_compression_merges_drops_and_dedupes() -> None:
    image = ImagePart(data=SMALL_PNG, mime_type="image/png")
    messages = [
        Message.system("a"),
        Message.system("b"),
        Message.user((TextPart(text="look"), TextPart(text="  "), image, TextPart(text="x"))),
        Message.user(""),
        Message.user((ImagePart(url=data_url(SMALL_PNG)), TextPart(text="again"))),
        Message.assistant("fine"),
    ]
    assert compress_messages(messages) == (
        Message.system("a\n\nb"),
        Message.user((TextPart(text="look"), image, TextPart(text="x\n\nagain"))),
        Message.assistant("fine"),
    )


def test_compression_leaves_tool_traffic_and_named_speakers_apart() -> None:
    call = Message(
        role="assistant", content="", tool_calls=(ToolCall(id="1", name="f", arguments="{}"),)
    )
    messages = [
        Message(role="user", content="hi", name="ann"),
        Message(role="user", content="hi", name="bob"),
        call,
        Message(role="tool", content="", tool_call_id="1"),
        Message(role="tool", content="", tool_call_id="1"),
        Message.assistant("done"),
    ]
    assert compress_messages(messages) == tuple(messages)


def test_reply_priming_is_counted_once() -> None:
    assert tokens([]) == REPLY_PRIMING_TOKENS
