"""The seed's ``InputUtils`` (alias ``MultimodalUtils``): building and inspecting messages.

A thin facade: message parsing and checks come from :mod:`inference_core.domain`
(:func:`~inference_core.domain.wire.coerce_messages`, image header checks,
token formulas), file and image handling from
the Pillow image helper (loaded only when an image must be read) and exact
token counts, both handed out by :mod:`inference_core.composition.services`.

Messages go in loose (an OpenAI-shaped dict, a :class:`Message`, or any object
with ``role`` and ``content``) and come out as OpenAI-shaped dicts, like the
seed's::

    message = InputUtils.create_multimodal_message("What is this?", image_path="photo.png")
    client.call(messages=[message], model="gpt-4o")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any, cast

from inference_core.domain.errors import InvalidInputError
from inference_core.domain.images import ImageLimits, validate_image_part
from inference_core.domain.messages import ContentPart, ImageDetail, ImagePart, Message, TextPart
from inference_core.domain.tokens import TextTokens, count_message_tokens, count_tokens
from inference_core.domain.wire import coerce_messages, message_to_openai
from inference_core.ports.tokens import TokenCounter

if TYPE_CHECKING:
    from inference_core.composition.services import ImageSource, PillowImaging

__all__ = ["InputUtils", "MultimodalUtils"]

DEFAULT_MODEL = "gpt-4o"


def _imaging(limits: ImageLimits | None) -> PillowImaging:
    from inference_core.composition.services import image_processor

    return image_processor(limits)


@cache
def _default_counter() -> TokenCounter:
    # One per process: the counter remembers loaded tiktoken vocabularies (and failures to load).
    from inference_core.composition.services import exact_token_counter

    return exact_token_counter()


def _one(message: Any) -> Message:
    return coerce_messages([message])[0]


def _text_counter(counter: TokenCounter | None, model: str) -> Callable[[str], TextTokens]:
    return partial((counter or _default_counter()).count_text, model=model)


class InputUtils:
    """Multimodal message helpers with the seed's method names (all static)."""

    @staticmethod
    def prepare_multimodal_content(
        text: str | None = None,
        images: Sequence[ImageSource | ImagePart] | ImageSource | ImagePart | None = None,
        *,
        detail: ImageDetail | None = None,
        max_side: int | None = None,
        limits: ImageLimits | None = None,
    ) -> list[dict[str, Any]]:
        """Build an OpenAI ``content`` list: the text, then one part per image.

        Args:
            text: The text part (left out when empty).
            images: File paths, bytes, ``http(s)://`` URLs (kept as URLs, never
                fetched), ``data:`` URLs, Pillow images or image parts.
            detail: OpenAI's ``detail`` for every image (``low``/``high``/``auto``).
            max_side: Shrink inline images whose longest side exceeds this
                (fewer tiles, lower cost).
            limits: Size and pixel limits for images read.

        Raises:
            InvalidImageError: An image is missing, not an image, truncated or too large.
        """
        parts: list[ContentPart] = []
        if text:
            parts.append(TextPart(text=text))
        many: list[ImageSource | ImagePart]
        if images is None:
            many = []
        elif isinstance(images, list | tuple):
            many = list(images)
        else:  # one image given on its own (a path, bytes, URL...)
            many = [cast("ImageSource | ImagePart", images)]
        if many:
            imaging = _imaging(limits)
            parts.extend(imaging.to_part(i, detail=detail, max_side=max_side) for i in many)
        content = message_to_openai(Message(role="user", content=tuple(parts)))["content"]
        assert isinstance(content, list)
        return content

    @staticmethod
    def create_multimodal_message(
        text: str,
        image_path: str | os.PathLike[str] | None = None,
        image_paths: Sequence[str | os.PathLike[str]] | None = None,
        image_urls: Sequence[str] | None = None,
        role: str = "user",
        detail: ImageDetail | None = None,
        *,
        images: Sequence[ImageSource | ImagePart] | None = None,
        max_side: int | None = None,
        limits: ImageLimits | None = None,
    ) -> dict[str, Any]:
        """Build one OpenAI-shaped message: ``{"role": ..., "content": [text, images...]}``.

        Images come from ``image_path``, ``image_paths``, ``image_urls`` and
        ``images``, in that order (see :meth:`prepare_multimodal_content`).

        Raises:
            InvalidMessageError: ``role`` is not a chat role.
            InvalidImageError: An image cannot be used.
        """
        sources: list[ImageSource | ImagePart] = []
        if image_path is not None:
            sources.append(image_path)
        sources.extend(image_paths or ())
        sources.extend(image_urls or ())
        sources.extend(images or ())
        content = InputUtils.prepare_multimodal_content(
            text, sources, detail=detail, max_side=max_side, limits=limits
        )
        return message_to_openai(_one({"role": role, "content": content}))

    @staticmethod
    def extract_images_from_message(message: Any) -> list[str]:
        """Return the message's images as URLs (``data:`` URLs for inline images), in order."""
        return [image.as_url() for image in _one(message).images]

    @staticmethod
    def extract_text_from_message(message: Any) -> str:
        """Return the message's text; the text parts are joined with newlines."""
        return _one(message).text

    @staticmethod
    def validate_multimodal_message(
        message: Any, *, raise_errors: bool = False, limits: ImageLimits | None = None
    ) -> bool:
        """Check a message's shape and its inline images (base64, format, header, size).

        Returns ``False`` for an invalid message, or raises with the reason when
        ``raise_errors`` is true. Remote image URLs are not fetched.

        Raises:
            InvalidMessageError: With ``raise_errors``: the message is malformed.
            InvalidImageError: With ``raise_errors``: an inline image is unusable.
        """
        try:
            parsed = _one(message)
            for image in parsed.images:
                validate_image_part(image, limits=limits)
        except InvalidInputError:
            if raise_errors:
                raise
            return False
        return True

    @staticmethod
    def count_tokens_multimodal(
        message: Any,
        model: str = DEFAULT_MODEL,
        *,
        counter: TokenCounter | None = None,
    ) -> int:
        """Count the tokens of one message, or of a list of messages sent as a prompt.

        Text is counted with tiktoken when it is installed and knows ``model``'s
        encoding, otherwise estimated (see :mod:`inference_core.domain.tokens`);
        images use OpenAI's tile formula. A list also counts the 3 tokens that
        prime the reply.
        """
        count_text = _text_counter(counter, model)
        if isinstance(message, list | tuple):
            return count_tokens(coerce_messages(message), count_text).total
        return count_message_tokens(_one(message), count_text).total


MultimodalUtils = InputUtils
"""The seed's older name for :class:`InputUtils`."""
