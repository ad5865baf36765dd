"""Pure conversions between domain messages and provider wire shapes.

* OpenAI chat completions: :func:`to_openai` / :func:`from_openai` (round-trip identity
  for the canonical shapes).
* :func:`image_base64`: an image part as (mime, base64) for protocols that inline images.

Vendor-specific shapes live with their adapters (``adapters/anthropic/wire.py``,
``adapters/ollama/wire.py``); the OpenAI shape stays here because it is also the
library's loose input format (seed-style dicts).
* Loose caller input (seed-style dicts, ``Message`` objects, objects with
  ``role``/``content`` attributes): :func:`coerce_messages`, which names the
  message index and field of anything malformed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from inference_core.domain.errors import InvalidMessageError
from inference_core.domain.messages import (
    AudioPart,
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    split_data_url,
)

__all__ = [
    "check_text",
    "coerce_messages",
    "error_summary",
    "from_openai",
    "image_base64",
    "part_from_openai",
    "to_openai",
]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


# --- OpenAI -----------------------------------------------------------------------------


def _part_to_openai(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"url": part.as_url()}
        if part.detail is not None:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    return {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(part.data).decode("ascii"), "format": part.format},
    }


def message_to_openai(message: Message) -> dict[str, Any]:
    """Convert one message to an OpenAI chat-completions message dict."""
    out: dict[str, Any] = {"role": message.role}
    if isinstance(message.content, str):
        out["content"] = message.content
    else:
        out["content"] = [_part_to_openai(p) for p in message.content]
    if message.name is not None:
        out["name"] = message.name
    if message.tool_calls is not None:
        if out["content"] == "":
            out["content"] = None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def to_openai(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Convert messages to the OpenAI chat-completions ``messages`` list."""
    return [message_to_openai(m) for m in messages]


def part_from_openai(
    raw: Mapping[str, Any], *, index: int | None = None, part_index: int | None = None
) -> ContentPart:
    """Parse one OpenAI content part (``text``, ``image_url`` or ``input_audio``).

    Args:
        raw: The part as a mapping.
        index: Position of the message, named in errors.
        part_index: Position of the part in the message's content, named in errors.

    Raises:
        InvalidMessageError: Unknown part type or missing fields.
    """
    kind = raw.get("type")
    where = "content" if part_index is None else f"content[{part_index}]"
    try:
        if kind == "text":
            check_text(raw["text"], index=index, field=where)
            return TextPart(text=raw["text"])
        if kind == "image_url":
            image = raw["image_url"]
            if isinstance(image, str):
                return ImagePart(url=image)
            return ImagePart(url=image["url"], detail=image.get("detail"))
        if kind == "input_audio":
            audio = raw["input_audio"]
            data = base64.b64decode(audio["data"], validate=True)
            return AudioPart(data=data, format=audio["format"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidMessageError(
            f"malformed {kind!r} part: {error_summary(exc)}", index=index, field=where
        ) from exc
    raise InvalidMessageError(
        f"unknown content part type {kind!r} (expected text, image_url or input_audio)",
        index=index,
        field=where,
    )


def _message_from_mapping(raw: Mapping[str, Any], index: int) -> Message:
    role = raw.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise InvalidMessageError(
            f"role must be one of {sorted(_ROLES)}, got {role!r}", index=index, field="role"
        )
    content = raw.get("content")
    parsed: str | tuple[ContentPart, ...]
    if content is None:
        parsed = ""
    elif isinstance(content, str):
        parsed = content
        check_text(content, index=index, field="content")
    elif isinstance(content, list | tuple):
        parts: list[ContentPart] = []
        for position, part in enumerate(content):
            if isinstance(part, TextPart | ImagePart | AudioPart):
                parts.append(part)
            elif isinstance(part, Mapping):
                parts.append(part_from_openai(part, index=index, part_index=position))
            else:
                raise InvalidMessageError(
                    f"content parts must be dicts, got {type(part).__name__}",
                    index=index,
                    field=f"content[{position}]",
                )
        parsed = tuple(parts)
    else:
        raise InvalidMessageError(
            f"content must be a string or a list of parts, got {type(content).__name__}",
            index=index,
            field="content",
        )
    tool_calls = None
    if raw.get("tool_calls") is not None:
        tool_calls = _tool_calls_from_openai(raw["tool_calls"], index)
    try:
        return Message(
            role=role,  # type: ignore[arg-type]  # checked against _ROLES above
            content=parsed,
            name=raw.get("name"),
            tool_calls=tool_calls,
            tool_call_id=raw.get("tool_call_id"),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise InvalidMessageError(first["msg"], index=index, field=field) from exc


def _tool_calls_from_openai(raw: Any, index: int) -> tuple[ToolCall, ...]:
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        raise InvalidMessageError(
            f"tool_calls must be a list, got {type(raw).__name__}", index=index, field="tool_calls"
        )
    calls: list[ToolCall] = []
    for position, call in enumerate(raw):
        if isinstance(call, ToolCall):
            calls.append(call)
            continue
        try:
            function = call["function"]
            calls.append(
                ToolCall(id=call["id"], name=function["name"], arguments=function["arguments"])
            )
        except (KeyError, TypeError, ValidationError) as exc:
            raise InvalidMessageError(
                f"malformed tool call: {error_summary(exc)}",
                index=index,
                field=f"tool_calls[{position}]",
            ) from exc
    return tuple(calls)


def from_openai(messages: Iterable[Mapping[str, Any]]) -> tuple[Message, ...]:
    """Parse an OpenAI chat-completions ``messages`` list into domain messages."""
    return tuple(_message_from_mapping(m, i) for i, m in enumerate(messages))


def check_text(text: Any, *, index: int | None = None, field: str | None = None) -> None:
    """Refuse text that cannot be sent: not a string, or not encodable as UTF-8.

    A lone surrogate (U+D800 to U+DFFF, e.g. from a badly decoded file) would otherwise
    fail deep inside an SDK while the request is being encoded.

    Raises:
        InvalidMessageError: Naming the message index, field and position.
    """
    if not isinstance(text, str):
        raise InvalidMessageError(
            f"text must be a string, got {type(text).__name__}", index=index, field=field
        )
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidMessageError(
            f"text is not valid Unicode: a lone surrogate at position {exc.start}",
            index=index,
            field=field,
        ) from None


def _check_message_text(message: Message, index: int) -> None:
    if isinstance(message.content, str):
        check_text(message.content, index=index, field="content")
        return
    for position, part in enumerate(message.content):
        if isinstance(part, TextPart):
            check_text(part.text, index=index, field=f"content[{position}]")


def coerce_messages(messages: Sequence[Any]) -> tuple[Message, ...]:
    """Accept seed-style loose input and return domain messages.

    Accepted per item: a :class:`Message`, an OpenAI-shaped mapping, or any
    object with ``role`` and ``content`` attributes (the seed's dataclass).

    Raises:
        InvalidMessageError: An item is malformed; the error names its index and field.
    """
    if isinstance(messages, str | bytes | Mapping):
        raise InvalidMessageError("messages must be a list of messages, not a single value")
    if not isinstance(messages, Iterable):
        raise InvalidMessageError(
            f"messages must be a list of messages, got {type(messages).__name__}"
        )
    messages = list(messages)
    if not messages:
        raise InvalidMessageError("messages must not be empty")
    out: list[Message] = []
    for index, item in enumerate(messages):
        if isinstance(item, Message):
            _check_message_text(item, index)
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(_message_from_mapping(item, index))
        elif hasattr(item, "role") and hasattr(item, "content"):
            loose = {"role": item.role, "content": item.content}
            for attr in ("name", "tool_call_id", "tool_calls"):
                if getattr(item, attr, None) is not None:
                    loose[attr] = getattr(item, attr)
            out.append(_message_from_mapping(loose, index))
        else:
            raise InvalidMessageError(
                f"expected a dict with 'role' and 'content', got {type(item).__name__}",
                index=index,
            )
    return tuple(out)


def error_summary(exc: BaseException) -> str:
    """One short line saying what was wrong (for errors naming a malformed field)."""
    if isinstance(exc, KeyError) and exc.args:
        return f"missing key {exc.args[0]!r}"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return str(first["msg"])
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- Shared by wire converters -----------------------------------------------------


def image_base64(part: ImagePart, index: int) -> tuple[str, str] | None:
    """(mime, base64 text) of an inline image, or ``None`` for a remote URL.

    A data URL's payload is passed through as it is: decoding and re-encoding
    every image would dominate conversion time. Conversions check shape only;
    payloads are checked by ``validate_image_part`` and the imaging adapter.
    """
    if part.data is not None:
        mime = part.mime_type or "application/octet-stream"
        return mime, base64.b64encode(part.data).decode("ascii")
    try:
        return split_data_url(part.url or "")
    except ValueError as exc:
        raise InvalidMessageError(f"image {exc}", index=index, field="content") from None
