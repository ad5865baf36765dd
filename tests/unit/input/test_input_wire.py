"""Message normalisation: OpenAI, Anthropic and Ollama shapes, loose input, precise errors."""

from __future__ import annotations

import base64
import itertools
import json
import string
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference_core.adapters.anthropic.wire import from_anthropic, to_anthropic
from inference_core.adapters.ollama.wire import to_ollama
from inference_core.domain.errors import InvalidMessageError
from inference_core.domain.messages import AudioPart, ImagePart, Message, TextPart, ToolCall
from inference_core.domain.wire import (
    coerce_messages,
    from_openai,
    to_openai,
)

from ._images import data_url, solid

PROPERTY = settings(max_examples=100, deadline=None)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- strategies ---------------------------------------------------------------------------

texts = st.text(max_size=30)
ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=10)
http_urls = ids.map(lambda s: f"https://img.example/{s}.png")
data_urls = st.builds(
    lambda data, mime: f"data:{mime};base64,{_b64(data)}",
    st.binary(max_size=24),
    st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
)
details = st.sampled_from(["low", "high", "auto"])


@st.composite
def openai_image_parts(draw: st.DrawFn) -> dict[str, Any]:
    image: dict[str, Any] = {"url": draw(st.one_of(http_urls, data_urls))}
    if draw(st.booleans()):
        image["detail"] = draw(details)
    return {"type": "image_url", "image_url": image}


openai_parts = st.one_of(
    texts.map(lambda t: {"type": "text", "text": t}),
    openai_image_parts(),
    st.builds(
        lambda data, fmt: {
            "type": "input_audio",
            "input_audio": {"data": _b64(data), "format": fmt},
        },
        st.binary(max_size=16),
        st.sampled_from(["wav", "mp3"]),
    ),
)
openai_content = st.one_of(texts, st.lists(openai_parts, max_size=4))
openai_tool_calls = st.lists(
    st.builds(
        lambda i, name, args: {
            "id": i,
            "type": "function",
            "function": {"name": name, "arguments": args},
        },
        ids,
        ids,
        st.dictionaries(ids, st.integers(), max_size=2).map(json.dumps),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def openai_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A message in the canonical OpenAI shape (the one ``to_openai`` produces)."""
    kind = draw(st.sampled_from(["system", "developer", "user", "assistant", "tool_call", "tool"]))
    if kind == "tool":
        return {"role": "tool", "content": draw(texts), "tool_call_id": draw(ids)}
    if kind == "tool_call":
        content = draw(st.one_of(st.none(), texts.filter(bool), st.lists(openai_parts, max_size=2)))
        return {"role": "assistant", "content": content, "tool_calls": draw(openai_tool_calls)}
    message: dict[str, Any] = {"role": kind, "content": draw(openai_content)}
    if draw(st.booleans()):
        message["name"] = draw(ids)
    return message


# Domain messages for Anthropic: no audio (the API has none), no images in system prompts.
anthropic_parts = st.one_of(
    texts.map(lambda t: TextPart(text=t)),
    st.builds(lambda u: ImagePart(url=u), http_urls),
    st.builds(lambda d: ImagePart(data=d, mime_type="image/png"), st.binary(max_size=12)),
)


@st.composite
def anthropic_domain_messages(draw: st.DrawFn) -> Message:
    kind = draw(st.sampled_from(["system", "developer", "user", "assistant", "tool_call", "tool"]))
    if kind in ("system", "developer"):
        return Message(role=kind, content=draw(texts))
    if kind == "tool":
        content = draw(st.one_of(texts, st.lists(anthropic_parts, max_size=3).map(tuple)))
        return Message(role="tool", content=content, tool_call_id=draw(ids))
    content = draw(st.one_of(texts, st.lists(anthropic_parts, max_size=3).map(tuple)))
    calls = None
    if kind == "tool_call":
        calls = tuple(
            ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
            for c in draw(openai_tool_calls)
        )
    return Message(
        role="assistant" if kind != "user" else "user", content=content, tool_calls=calls
    )


def _domain_texts(messages: list[Message]) -> list[str]:
    """Non-empty texts of non-system messages, in the order Anthropic must carry them."""
    out: list[str] = []
    for m in messages:
        if m.role in ("system", "developer"):
            continue
        if m.role == "tool" and not m.images:
            out.extend([m.text] if m.text else [])
        elif isinstance(m.content, str):
            out.extend([m.content] if m.content else [])
        else:
            out.extend(p.text for p in m.content if isinstance(p, TextPart) and p.text)
    return out


def _anthropic_texts(out: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for message in out:
        content = message["content"]
        if isinstance(content, str):
            found.append(content)
            continue
        for block in content:
            if block["type"] == "text":
                found.append(block["text"])
            elif block["type"] == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    found.append(inner)
                elif isinstance(inner, list):
                    found.extend(b["text"] for b in inner if b["type"] == "text")
    return found


# --- properties ---------------------------------------------------------------------------


@PROPERTY
@given(st.lists(openai_messages(), max_size=8))
def test_openai_to_domain_to_openai_is_identity(messages: list[dict[str, Any]]) -> None:
    assert to_openai(from_openai(messages)) == messages


@PROPERTY
@given(st.lists(openai_messages(), max_size=8))
def test_domain_messages_survive_an_openai_round_trip(messages: list[dict[str, Any]]) -> None:
    domain = from_openai(messages)
    assert from_openai(to_openai(domain)) == domain


@PROPERTY
@given(st.lists(anthropic_domain_messages(), max_size=12))
def test_anthropic_never_has_adjacent_same_roles_nor_loses_text(messages: list[Message]) -> None:
    system, out = to_anthropic(messages)
    roles = [m["role"] for m in out]
    assert all(a != b for a, b in itertools.pairwise(roles))
    assert set(roles) <= {"user", "assistant"}
    assert all(m["content"] for m in out)  # the API rejects empty content
    system_texts = [m.text for m in messages if m.role in ("system", "developer") and m.text]
    assert system == ("\n\n".join(system_texts) if system_texts else None)
    assert _anthropic_texts(out) == _domain_texts(messages)
    images = sum(len(m.images) for m in messages if m.role not in ("system", "developer"))
    assert json.dumps(out).count('"type": "image"') == images


@PROPERTY
@given(st.lists(anthropic_domain_messages(), max_size=12))
def test_anthropic_round_trip_keeps_text_and_tool_calls(messages: list[Message]) -> None:
    back = from_anthropic(*to_anthropic(messages))
    assert _domain_texts(list(back)) == _domain_texts(messages)
    calls = [c for m in messages for c in m.tool_calls or ()]
    back_calls = [c for m in back for c in m.tool_calls or ()]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in back_calls] == [
        (c.id, c.name, json.loads(c.arguments)) for c in calls
    ]


# --- loose input and errors ---------------------------------------------------------------


@dataclass
class SeedMessage:
    """The seed's dataclass message shape."""

    role: str
    content: Any
    name: str | None = None


def test_coerce_accepts_dicts_messages_and_seed_dataclasses() -> None:
    png = solid((4, 3))
    parsed = coerce_messages(
        [
            {"role": "system", "content": "Be brief."},
            Message.user("hi"),
            SeedMessage(
                "user",
                [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": data_url(png), "detail": "low"}},
                ],
                name="ann",
            ),
            SeedMessage("assistant", None),
        ]
    )
    assert [m.role for m in parsed] == ["system", "user", "user", "assistant"]
    assert parsed[2].name == "ann"
    assert parsed[2].images[0].inline() == ("image/png", png)
    assert parsed[2].images[0].detail == "low"
    assert parsed[3].content == ""


@pytest.mark.parametrize(
    ("messages", "index", "field", "words"),
    [
        ([{"role": "user", "content": "ok"}, {"content": "x"}], 1, "role", "role must be"),
        ([{"role": "wizard", "content": "x"}], 0, "role", "'wizard'"),
        ([{"role": "user", "content": 42}], 0, "content", "string or a list"),
        ([{"role": "user", "content": ["hi"]}], 0, "content[0]", "must be dicts"),
        (
            [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "video"}]}],
            0,
            "content[1]",
            "unknown content part type 'video'",
        ),
        ([{"role": "user", "content": [{"type": "text"}]}], 0, "content[0]", "missing key 'text'"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a.png"}}]}],
            0,
            "content[0]",
            "http://, https:// or data:",
        ),
        (
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "!!"}}]}],
            0,
            "content[0]",
            "malformed 'input_audio' part",
        ),
        (
            [{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}],
            0,
            "tool_calls[0]",
            "missing key 'function'",
        ),
        ([{"role": "user", "content": "x", "name": 7}], 0, "name", "valid string"),
    ],
)
def test_malformed_messages_name_index_and_field(
    messages: list[Any], index: int, field: str, words: str
) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        coerce_messages(messages)
    assert caught.value.index == index
    assert caught.value.field == field
    assert str(caught.value).startswith(f"messages[{index}].{field}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize("bad", [[], "hello", {"role": "user", "content": "x"}, [42]])
def test_coerce_rejects_non_lists_empty_lists_and_foreign_items(bad: Any) -> None:
    with pytest.raises(InvalidMessageError):
        coerce_messages(bad)


# --- Anthropic ------------------------------------------------------------------------------


def test_to_anthropic_splits_system_builds_image_blocks_and_merges_roles() -> None:
    png = solid((2, 2))
    messages = [
        Message.system("Rule one."),
        Message(role="developer", content=""),
        Message.user((TextPart(text="see"), ImagePart(data=png, mime_type="image/png"))),
        Message.user((ImagePart(url="https://img.example/a.png", detail="high"),)),
        Message(
            role="assistant",
            content="",
            tool_calls=(ToolCall(id="t1", name="zoom", arguments='{"x": 1}'),),
        ),
        Message(role="tool", content="zoomed", tool_call_id="t1"),
        Message.system("Rule two."),
        Message.user("and now?"),
        Message.assistant(""),
    ]
    system, out = to_anthropic(messages)
    assert system == "Rule one.\n\nRule two."
    assert out == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": _b64(png)},
                },
                {"type": "image", "source": {"type": "url", "url": "https://img.example/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "zoom", "input": {"x": 1}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "zoomed"},
                {"type": "text", "text": "and now?"},
            ],
        },
    ]


def test_to_anthropic_keeps_images_a_tool_returned() -> None:
    png = solid((2, 2))
    message = Message(
        role="tool",
        content=(TextPart(text="chart:"), ImagePart(data=png, mime_type="image/png")),
        tool_call_id="t9",
    )
    _, out = to_anthropic([message])
    result = out[0]["content"][0]
    assert result["tool_use_id"] == "t9"
    assert [b["type"] for b in result["content"]] == ["text", "image"]


@pytest.mark.parametrize(
    ("message", "field", "words"),
    [
        (Message(role="system", content=(ImagePart(url="https://a/b.png"),)), "content", "system"),
        (Message.user((AudioPart(data=b"RIFF", format="wav"),)), "content", "audio"),
        (
            Message(
                role="assistant",
                content="",
                tool_calls=(ToolCall(id="1", name="f", arguments="{"),),
            ),
            "tool_calls",
            "not JSON",
        ),
    ],
)
def test_to_anthropic_rejects_what_the_api_cannot_carry(
    message: Message, field: str, words: str
) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        to_anthropic([Message.user("first"), message])
    assert (caught.value.index, caught.value.field) == (1, field)
    assert words in str(caught.value)


def test_from_anthropic_parses_blocks_tool_use_and_tool_results() -> None:
    png = solid((3, 3))
    messages = from_anthropic(
        [{"type": "text", "text": "sys"}],
        [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "calling"},
                    {"type": "tool_use", "id": "u1", "name": "f", "input": {"q": "é"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "u1", "content": "done"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": _b64(png)},
                    },
                ],
            },
        ],
    )
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "user"]
    assert messages[2].tool_calls == (ToolCall(id="u1", name="f", arguments='{"q": "é"}'),)
    assert messages[3].tool_call_id == "u1" and messages[3].content == "done"
    assert messages[4].images[0].inline() == ("image/png", png)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"role": "system", "content": "x"}, "role"),
        ({"role": "user", "content": 3}, "content"),
        ({"role": "user", "content": [{"type": "thinking", "thinking": "..."}]}, "content[0]"),
        (
            {"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]},
            "content[0]",
        ),
    ],
)
def test_from_anthropic_errors_name_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        from_anthropic(None, [{"role": "user", "content": "ok"}, raw])
    assert (caught.value.index, caught.value.field) == (1, field)


# --- Ollama ---------------------------------------------------------------------------------


def test_to_ollama_sends_text_and_a_base64_image_list() -> None:
    png = solid((2, 2))
    out = to_ollama(
        [
            Message.system("sys"),
            Message.user(
                (
                    TextPart(text="a"),
                    ImagePart(url=data_url(png)),
                    TextPart(text="b"),
                    ImagePart(data=png, mime_type="image/png"),
                )
            ),
        ]
    )
    assert out == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "a\nb", "images": [_b64(png), _b64(png)]},
    ]


def test_to_ollama_rejects_remote_image_urls() -> None:
    with pytest.raises(InvalidMessageError) as caught:
        to_ollama([Message.user((ImagePart(url="https://img.example/x.png"),))])
    assert caught.value.index == 0 and "inline" in str(caught.value)
