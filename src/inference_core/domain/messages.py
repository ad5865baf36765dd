"""Chat messages and their content parts.

A :class:`Message` holds either a plain string or a tuple of typed parts
(:class:`TextPart`, :class:`ImagePart`, :class:`AudioPart`). Values are frozen;
conversion to and from each provider's wire shape lives in
:mod:`inference_core.domain.wire`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AudioPart",
    "ContentPart",
    "ImageDetail",
    "ImagePart",
    "Message",
    "Role",
    "TextPart",
    "ToolCall",
    "parse_data_url",
    "split_data_url",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
ImageDetail = Literal["auto", "low", "high"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def split_data_url(url: str) -> tuple[str, str] | None:
    """``(mime, base64 text)`` of a ``data:<mime>;base64,<payload>`` URL, without decoding.

    Returns ``None`` when ``url`` is not a data URL (a remote URL). The one parser
    of data URLs: converters pass the payload on as it is, checks decode it.

    Raises:
        ValueError: A data URL that is not base64.
    """
    if not url.startswith("data:"):
        return None
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise ValueError("data URL must be of the form data:<mime>;base64,<payload>")
    return header[5:-7] or "application/octet-stream", payload


def parse_data_url(url: str) -> tuple[str, bytes]:
    """Split a ``data:<mime>;base64,<payload>`` URL into (mime, bytes).

    Raises:
        ValueError: The URL is not a base64 data URL or its payload is not base64.
    """
    split = split_data_url(url)
    if split is None:
        raise ValueError("not a data URL")
    mime, payload = split
    try:
        return mime, base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"data URL payload is not valid base64: {exc}") from exc


class TextPart(BaseModel):
    """A run of text inside a multi-part message."""

    model_config = _FROZEN
    type: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """An image given by URL (``http(s)://`` or ``data:``) or by raw bytes plus mime type.

    Exactly one of ``url`` and ``data`` is set. ``detail`` is OpenAI's vision
    detail hint; other providers ignore it.
    """

    model_config = _FROZEN
    type: Literal["image"] = "image"
    url: str | None = None
    data: bytes | None = None
    mime_type: str | None = None
    detail: ImageDetail | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ImagePart:
        if (self.url is None) == (self.data is None):
            raise ValueError("an image part needs exactly one of 'url' or 'data'")
        if self.data is not None and not self.mime_type:
            raise ValueError("an image given as bytes needs 'mime_type' (e.g. image/png)")
        if self.url is not None and not self.url.startswith(("http://", "https://", "data:")):
            raise ValueError("image url must start with http://, https:// or data:")
        return self

    @property
    def is_inline(self) -> bool:
        """True when the image travels inside the request (bytes or a data URL)."""
        return self.data is not None or (self.url or "").startswith("data:")

    def inline(self) -> tuple[str, bytes]:
        """Return (mime type, bytes) of an inline image.

        Raises:
            ValueError: The image is a remote URL, not inline.
        """
        if self.data is not None:
            return self.mime_type or "application/octet-stream", self.data
        assert self.url is not None
        return parse_data_url(self.url)

    def as_url(self) -> str:
        """Return the image as a URL, building a base64 data URL from bytes when needed."""
        if self.url is not None:
            return self.url
        assert self.data is not None
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


class AudioPart(BaseModel):
    """An audio clip sent to a model (raw bytes in a named container format)."""

    model_config = _FROZEN
    type: Literal["audio"] = "audio"
    data: bytes
    format: str = Field(description="Container format such as 'wav' or 'mp3'.")


ContentPart = Annotated[TextPart | ImagePart | AudioPart, Field(discriminator="type")]


class ToolCall(BaseModel):
    """A function call requested by the assistant; ``arguments`` is the raw JSON text."""

    model_config = _FROZEN
    id: str
    name: str
    arguments: str = "{}"


class Message(BaseModel):
    """One chat message.

    ``content`` is a string for plain text or a tuple of parts for multimodal
    input. Assistant messages may carry ``tool_calls``; ``tool`` messages answer
    one of them through ``tool_call_id``.
    """

    model_config = _FROZEN
    role: Role
    content: str | tuple[ContentPart, ...] = ""
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] | None = None
    tool_call_id: str | None = None

    @classmethod
    def system(cls, text: str) -> Message:
        """Build a system message."""
        return cls(role="system", content=text)

    @classmethod
    def user(cls, content: str | tuple[ContentPart, ...]) -> Message:
        """Build a user message."""
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, text: str, *, tool_calls: tuple[ToolCall, ...] | None = None) -> Message:
        """Build an assistant message (with the tool calls it made, if any)."""
        return cls(role="assistant", content=text, tool_calls=tool_calls or None)

    @classmethod
    def tool_result(
        cls,
        tool_call_id: str,
        content: str | tuple[ContentPart, ...],
        *,
        name: str | None = None,
    ) -> Message:
        """Build the ``tool`` message answering the call ``tool_call_id``.

        ``name`` is the tool's name: providers that link results by name
        (Ollama) need it, the others ignore it.
        """
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)

    @property
    def text(self) -> str:
        """All text of the message; parts are joined with newlines, non-text parts skipped."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        """The image parts of the message, in order."""
        if isinstance(self.content, str):
            return ()
        return tuple(p for p in self.content if isinstance(p, ImagePart))
