"""Token counting: the estimate, the image tile formula, header sniffing, tiktoken."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from inference_core.adapters.tokens import TiktokenCounter
from inference_core.domain.images import (
    image_part_size,
    sniff_image_mime,
    sniff_image_size,
)
from inference_core.domain.messages import AudioPart, ImagePart, Message, TextPart, ToolCall
from inference_core.domain.tokens import (
    IMAGE_BASE_TOKENS,
    MESSAGE_TOKENS,
    REPLY_PRIMING_TOKENS,
    UNKNOWN_IMAGE_TOKENS,
    HeuristicTokenCounter,
    TextTokens,
    count_message_tokens,
    count_tokens,
    estimate_text,
    estimate_text_tokens,
    image_tokens,
    openai_image_tokens,
)
from inference_core.ports.tokens import TokenCounter

from ._images import data_url, encode, gradient, solid

PROPERTY = settings(max_examples=200, deadline=None)


# --- the text estimate ----------------------------------------------------------------------


@PROPERTY
@given(st.text(), st.text())
def test_estimate_is_monotone_in_text_length(text: str, more: str) -> None:
    assert estimate_text_tokens(text + more) >= estimate_text_tokens(text)
    assert estimate_text_tokens(more + text) >= estimate_text_tokens(text)


@PROPERTY
@given(st.text(), st.text(min_size=1))
def test_message_counts_grow_with_their_text(text: str, more: str) -> None:
    short = count_message_tokens(Message.user(text)).total
    assert count_message_tokens(Message.user(text + more)).total >= short
    parts = (TextPart(text=text), TextPart(text=more))
    assert count_message_tokens(Message.user(parts)).total >= short


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("abcd", 1), ("abcde", 2), ("a" * 400, 100), ("猫が好き", 4), ("héllo", 2)],
)
def test_estimate_is_a_quarter_of_ascii_plus_one_per_other_character(
    text: str, tokens: int
) -> None:
    assert estimate_text_tokens(text) == tokens
    assert estimate_text(text) == TextTokens(tokens, False)
    assert HeuristicTokenCounter().count_text(text, model="gpt-4o") == TextTokens(tokens, False)


def test_heuristic_counter_conforms_to_the_port() -> None:
    assert isinstance(HeuristicTokenCounter(), TokenCounter)
    assert isinstance(TiktokenCounter(), TokenCounter)


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        ((1024, 1024), "high", 765),  # OpenAI's published examples
        ((2048, 4096), "high", 1105),
        ((4096, 8192), "low", 85),
        ((1920, 1080), "high", 1105),  # 1365x768 -> 3x2 tiles
        ((512, 512), "high", 255),
        ((513, 512), "high", 425),
        ((100, 100), None, 255),  # never upscaled
        ((768, 2048), "auto", UNKNOWN_IMAGE_TOKENS),  # the largest possible
    ],
)
def test_openai_tile_formula(size: tuple[int, int], detail: str | None, tokens: int) -> None:
    assert openai_image_tokens(*size, detail=detail) == tokens  # type: ignore[arg-type]


@PROPERTY
@given(st.integers(1, 20_000), st.integers(1, 20_000))
def test_tile_formula_is_bounded(width: int, height: int) -> None:
    tokens = openai_image_tokens(width, height)
    assert IMAGE_BASE_TOKENS + 170 <= tokens <= UNKNOWN_IMAGE_TOKENS
    assert openai_image_tokens(width, height, detail="low") == IMAGE_BASE_TOKENS


def test_tile_formula_rejects_empty_images() -> None:
    with pytest.raises(ValueError, match="positive"):
        openai_image_tokens(0, 10)


def test_image_part_tokens_use_the_header_size_and_detail() -> None:
    png = solid((1024, 1024))
    assert image_tokens(ImagePart(data=png, mime_type="image/png", detail="high")) == (765, True)
    assert image_tokens(ImagePart(url=data_url(png))) == (765, False)  # auto: upper bound
    assert image_tokens(ImagePart(url=data_url(png), detail="low")) == (85, True)
    remote = ImagePart(url="https://img.example/cat.png")
    assert image_tokens(remote) == (UNKNOWN_IMAGE_TOKENS, False)


@pytest.mark.parametrize(
    ("fmt", "mode", "params", "mime"),
    [
        ("PNG", "RGBA", {}, "image/png"),
        ("JPEG", "RGB", {}, "image/jpeg"),
        ("JPEG", "RGB", {"progressive": True}, "image/jpeg"),
        ("GIF", "P", {}, "image/gif"),
        ("WEBP", "RGB", {}, "image/webp"),
        ("WEBP", "RGBA", {"lossless": True}, "image/webp"),
        ("BMP", "RGB", {}, "image/bmp"),
    ],
)
@pytest.mark.parametrize("size", [(1, 1), (333, 77), (77, 1333)])
def test_header_sniffing_agrees_with_pillow(
    fmt: str, mode: str, params: dict[str, object], mime: str, size: tuple[int, int]
) -> None:
    data = encode(Image.new(mode, size), fmt, **params)
    assert sniff_image_mime(data) == mime
    assert sniff_image_size(data) == size


def test_webp_extended_header_is_read() -> None:
    frames = [Image.new("RGBA", (50, 40), (i * 60, 0, 0, 255)) for i in range(3)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    assert data[12:16] == b"VP8X"
    assert sniff_image_size(data) == (50, 40)


def test_jpeg_size_behind_a_large_metadata_block() -> None:
    image = Image.new("RGB", (640, 480))
    data = encode(image, "JPEG", icc_profile=b"\0" * 200_000)  # pushes the frame header back
    assert sniff_image_size(data[:65536]) is None
    assert image_part_size(ImagePart(url=data_url(data, "image/jpeg"))) == (640, 480)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"\x89PNG\r\n\x1a\n\0\0",
        b"GIF89a\x01",
        b"\xff\xd8\xff\xe0\0\x10JFIF",
        b"II*\0",
    ],
)
def test_sniffing_never_raises_on_junk(data: bytes) -> None:
    assert sniff_image_size(data) is None


# --- counting messages ------------------------------------------------------------------------


def test_count_tokens_breaks_down_text_images_audio_and_framing() -> None:
    png = gradient((512, 512))
    messages = [
        Message.system("abcd"),
        Message(
            role="user",
            name="ann",
            content=(
                TextPart(text="abcdefgh"),
                ImagePart(data=png, mime_type="image/png", detail="high"),
                AudioPart(data=b"\0" * 3200, format="wav"),
            ),
        ),
        Message(
            role="assistant",
            content="",
            tool_calls=(ToolCall(id="c", name="abcd", arguments="{}"),),
        ),
        Message(role="tool", content="ok", tool_call_id="c"),
    ]
    count = count_tokens(messages)
    assert count.images == 255
    assert count.audio == 2
    assert count.text == 1 + 2 + (1 + 1) + (1 + 1)
    assert count.overhead == 4 * MESSAGE_TOKENS + 1 + 3 + REPLY_PRIMING_TOKENS
    assert count.total == count.text + count.images + count.audio + count.overhead
    assert count.exact is False  # estimated text and audio
    per_message = sum(count_message_tokens(m).total for m in messages)
    assert count.total == per_message + REPLY_PRIMING_TOKENS
    assert count_tokens(messages, reply_priming=False).total == per_message


# --- tiktoken ---------------------------------------------------------------------------------


def _byte_encoding() -> tiktoken.Encoding:
    """A real (tiny) tiktoken encoding: one token per byte, plus one merge for "ab"."""
    ranks = {bytes([i]): i for i in range(256)}
    ranks[b"ab"] = 256
    return tiktoken.Encoding(
        name="bytes_test", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={}
    )


def test_tiktoken_counter_counts_exactly_with_the_models_encoding() -> None:
    loaded: list[str] = []

    def load(name: str) -> tiktoken.Encoding:
        loaded.append(name)
        return _byte_encoding()

    counter = TiktokenCounter(load_encoding=load)
    assert counter.count_text("abab c", model="gpt-4o") == TextTokens(4, True)
    assert counter.count_text("<|endoftext|>", model="openai/gpt-4o").exact  # treated as text
    assert counter.count_text("xyz", model="gpt-4") == TextTokens(3, True)
    assert loaded == ["o200k_base", "cl100k_base"]  # each loaded once, then remembered
    assert counter.exact_for("gpt-5-mini") and not counter.exact_for("llama3")


def test_tiktoken_counter_estimates_for_unknown_models() -> None:
    counter = TiktokenCounter(load_encoding=lambda name: _byte_encoding())
    assert counter.count_text("abcdefgh", model="claude-3-5-sonnet-20241022") == TextTokens(
        2, False
    )
    assert counter.count_text("abcdefgh") == TextTokens(2, False)  # no model at all


def test_tiktoken_counter_estimates_once_when_the_vocabulary_cannot_load() -> None:
    attempts: list[str] = []

    def offline(name: str) -> tiktoken.Encoding:
        attempts.append(name)
        raise OSError("no network")

    counter = TiktokenCounter(load_encoding=offline, default_model="gpt-4o")
    assert counter.count_text("abcdefgh") == TextTokens(2, False)
    assert counter.count_text("abcd") == TextTokens(1, False)
    assert attempts == ["o200k_base"]


def test_tiktoken_counter_honours_model_overrides() -> None:
    counter = TiktokenCounter(
        load_encoding=lambda name: _byte_encoding(), encodings={"my-gateway-model": "o200k_base"}
    )
    assert counter.count_text("ab", model="my-gateway-model") == TextTokens(1, True)


_BUNDLED = (
    Path(importlib.util.find_spec("litellm").origin).parent  # type: ignore[arg-type, union-attr]
    / "litellm_core_utils"
    / "tokenizers"
    if importlib.util.find_spec("litellm")
    else None
)


@pytest.mark.skipif(
    _BUNDLED is None or not (_BUNDLED / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4").exists(),
    reason="no offline copy of the cl100k_base vocabulary",
)
def test_real_cl100k_vocabulary_counts_known_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    # litellm ships tiktoken's cache files; point tiktoken at them so nothing is downloaded.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(_BUNDLED))
    counter = TiktokenCounter()
    assert counter.count_text("hello world", model="gpt-4") == TextTokens(2, True)
    message = Message.user("hello world")
    count = count_message_tokens(message, lambda t: counter.count_text(t, model="gpt-4"))
    assert (count.total, count.exact) == (2 + MESSAGE_TOKENS, True)
