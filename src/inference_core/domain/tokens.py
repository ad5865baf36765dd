"""Token counts for chat messages: text through a pluggable counter, images by formula.

Text is counted by a :data:`TextCounter`, a function ``str -> TextTokens``. The
pure default, :func:`estimate_text`, is a documented estimate;
:class:`inference_core.adapters.tokens.TiktokenCounter` counts exactly for models
whose tiktoken encoding is known.

The estimate is one token per 4 ASCII characters (OpenAI's rule of thumb for
English) plus one token per non-ASCII character (CJK text runs close to one
token per character; accented Latin text is over-counted, which errs on the
safe side for budgets). It grows monotonically with the text.

Images follow OpenAI's published formula for its tile-based vision models
(GPT-4o, GPT-4 Turbo): ``low`` detail costs a flat 85 tokens; ``high`` detail
scales the image to fit 2048 x 2048, then its shortest side down to 768, and
costs 85 + 170 per 512-pixel tile. ``auto`` (or no detail) is counted as
``high``, the upper bound. An image whose size is unknown (a remote URL is
never fetched) counts as the largest possible high-detail image, 1445 tokens.
Other providers price images differently; for them the figure is an estimate.

Message framing follows OpenAI's chat format: 3 tokens per message, 1 more
when it has a ``name``, and 3 that prime the reply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from inference_core.domain.images import image_part_size
from inference_core.domain.messages import AudioPart, ImageDetail, ImagePart, Message, TextPart

__all__ = [
    "AUDIO_BYTES_PER_TOKEN",
    "IMAGE_BASE_TOKENS",
    "IMAGE_TILE_TOKENS",
    "MESSAGE_TOKENS",
    "NAME_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "TOOL_CALL_TOKENS",
    "UNKNOWN_IMAGE_TOKENS",
    "HeuristicTokenCounter",
    "TextCounter",
    "TextTokens",
    "TokenCount",
    "count_message_tokens",
    "count_tokens",
    "estimate_text",
    "estimate_text_tokens",
    "image_tokens",
    "message_total",
    "openai_image_tokens",
]

MESSAGE_TOKENS = 3
"""Framing tokens every chat message costs."""
NAME_TOKENS = 1
"""Extra framing when a message carries a ``name``."""
REPLY_PRIMING_TOKENS = 3
"""Tokens that open the assistant's reply, counted once per request."""
TOOL_CALL_TOKENS = 3
"""Framing per tool call, on top of its name and arguments (an estimate)."""
IMAGE_BASE_TOKENS = 85
"""Every image costs this much; it is the whole cost at ``low`` detail."""
IMAGE_TILE_TOKENS = 170
"""Cost of each 512 x 512 tile at ``high`` detail."""
AUDIO_BYTES_PER_TOKEN = 1600
"""Rough audio estimate: about 10 tokens per second of 128 kbit/s audio."""

_TILE = 512
_FIT_SIDE = 2048
_SHORT_SIDE = 768
_CHARS_PER_TOKEN = 4

UNKNOWN_IMAGE_TOKENS = IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * 8
"""High-detail cost of an image of unknown size: the maximum, a 768 x 2048 image (2 x 4 tiles)."""


class TextTokens(NamedTuple):
    """A text's token count and whether it came from the model's own tokenizer."""

    tokens: int
    exact: bool


#: Counts the tokens of one text (bind the model first when the counter needs it).
TextCounter = Callable[[str], TextTokens]


def estimate_text_tokens(text: str) -> int:
    """Estimate the tokens of ``text``: ceil(ASCII chars / 4) + non-ASCII chars.

    Monotone: appending characters never lowers the estimate.
    """
    if text.isascii():
        return -(-len(text) // _CHARS_PER_TOKEN)
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // _CHARS_PER_TOKEN) + (len(text) - ascii_chars)


def estimate_text(text: str) -> TextTokens:
    """The default :data:`TextCounter`: :func:`estimate_text_tokens`, marked inexact."""
    return TextTokens(estimate_text_tokens(text), False)


class HeuristicTokenCounter:
    """A :class:`~inference_core.ports.tokens.TokenCounter` that always estimates.

    Pure and dependency-free; every count is marked inexact.
    """

    def count_text(self, text: str, *, model: str | None = None) -> TextTokens:
        """Estimate ``text``'s tokens (``model`` is ignored)."""
        return TextTokens(estimate_text_tokens(text), False)


def openai_image_tokens(width: int, height: int, detail: ImageDetail | None = "high") -> int:
    """Tokens an OpenAI tile-based vision model charges for a ``width`` x ``height`` image.

    ``low`` is a flat 85; ``high``, ``auto`` and ``None`` use the tile formula.
    Images are only ever scaled down, never up.

    Raises:
        ValueError: A side is not positive.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image sides must be positive, got {width}x{height}")
    if detail == "low":
        return IMAGE_BASE_TOKENS
    w, h = float(width), float(height)
    if max(w, h) > _FIT_SIDE:
        scale = _FIT_SIDE / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > _SHORT_SIDE:
        scale = _SHORT_SIDE / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(round(w, 6) / _TILE) * math.ceil(round(h, 6) / _TILE)
    return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles


def image_tokens(part: ImagePart) -> TextTokens:
    """Tokens for one image part; exact only when its size and an explicit detail are known."""
    if part.detail == "low":
        return TextTokens(IMAGE_BASE_TOKENS, True)
    size = image_part_size(part)
    if size is None:
        return TextTokens(UNKNOWN_IMAGE_TOKENS, False)
    return TextTokens(openai_image_tokens(*size, detail="high"), part.detail == "high")


class TokenCount(BaseModel):
    """A token count split by kind.

    Attributes:
        text: Tokens of text (content, tool-call names and arguments).
        images: Tokens of images, by the tile formula.
        audio: Estimated tokens of audio clips.
        overhead: Message framing and reply priming.
        exact: True when all text was counted with the model's own tokenizer and
            every image's size and detail were known. Framing follows OpenAI's
            chat format either way.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    text: int = 0
    images: int = 0
    audio: int = 0
    overhead: int = 0
    exact: bool = True

    @property
    def total(self) -> int:
        """All tokens."""
        return self.text + self.images + self.audio + self.overhead

    def __add__(self, other: TokenCount) -> TokenCount:
        """Sum two counts; the sum is exact only when both are."""
        return TokenCount(
            text=self.text + other.text,
            images=self.images + other.images,
            audio=self.audio + other.audio,
            overhead=self.overhead + other.overhead,
            exact=self.exact and other.exact,
        )


def _message_parts(message: Message, count_text: TextCounter) -> tuple[int, int, int, int, bool]:
    text = images = audio = 0
    overhead = MESSAGE_TOKENS + (NAME_TOKENS if message.name else 0)
    exact = True
    if isinstance(message.content, str):
        if message.content:
            counted = count_text(message.content)
            text += counted.tokens
            exact = counted.exact
    else:
        for part in message.content:
            if isinstance(part, TextPart):
                counted = count_text(part.text)
                text += counted.tokens
            elif isinstance(part, ImagePart):
                counted = image_tokens(part)
                images += counted.tokens
            elif isinstance(part, AudioPart):
                counted = TextTokens(-(-len(part.data) // AUDIO_BYTES_PER_TOKEN), False)
                audio += counted.tokens
            exact = exact and counted.exact
    for call in message.tool_calls or ():
        for piece in (call.name, call.arguments):
            counted = count_text(piece)
            text += counted.tokens
            exact = exact and counted.exact
        overhead += TOOL_CALL_TOKENS
    if message.tool_call_id:
        counted = count_text(message.tool_call_id)
        text += counted.tokens
        exact = exact and counted.exact
    return text, images, audio, overhead, exact


def count_message_tokens(message: Message, count_text: TextCounter = estimate_text) -> TokenCount:
    """Count one message's tokens, its framing included (the reply priming is not)."""
    text, images, audio, overhead, exact = _message_parts(message, count_text)
    return TokenCount(text=text, images=images, audio=audio, overhead=overhead, exact=exact)


def message_total(message: Message, count_text: TextCounter = estimate_text) -> int:
    """One message's total tokens, framing included (a fast path for trimming)."""
    text, images, audio, overhead, _ = _message_parts(message, count_text)
    return text + images + audio + overhead


def count_tokens(
    messages: Iterable[Message],
    count_text: TextCounter = estimate_text,
    *,
    reply_priming: bool = True,
) -> TokenCount:
    """Count the tokens a list of messages costs as a prompt.

    Args:
        messages: The conversation.
        count_text: Counts text; the default is the documented estimate.
        reply_priming: Add the tokens that open the assistant's reply (once).
    """
    text = images = audio = 0
    overhead = REPLY_PRIMING_TOKENS if reply_priming else 0
    exact = True
    for message in messages:
        t, i, a, o, e = _message_parts(message, count_text)
        text, images, audio, overhead = text + t, images + i, audio + a, overhead + o
        exact = exact and e
    return TokenCount(text=text, images=images, audio=audio, overhead=overhead, exact=exact)
