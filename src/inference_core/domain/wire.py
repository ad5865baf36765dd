"""Pure conversions between domain messages and provider wire shapes.

* OpenAI chat completions: :func:`to_openai` / :func:`from_openai` (round-trip identity
  for the canonical shapes).
* Anthropic Messages: :func:`to_anthropic` (system split out, image blocks, tool
  blocks, consecutive same-role messages merged as the API requires).
* Ollama ``/api/chat``: :func:`to_ollama` (text plus a base64 ``images`` list).
* Loose caller input (seed-style dicts, ``Message`` objects, objects with
  ``role``/``content`` attributes): :func:`coerce_messages`, which names the
  message index and field of anything malformed.
"""

from __future__ import annotations

import base64
import json
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
)

__all__ = [
    "coerce_messages",
    "from_openai",
    "part_from_openai",
    "to_anthropic",
    "to_ollama",
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


def part_from_openai(raw: Mapping[str, Any], *, index: int | None = None) -> ContentPart:
    """Parse one OpenAI content part (``text``, ``image_url`` or ``input_audio``).

    Raises:
        InvalidMessageError: Unknown part type or missing fields.
    """
    kind = raw.get("type")
    try:
        if kind == "text":
            return TextPart(text=raw["text"])
        if kind == "image_url":
            image = raw["image_url"]
            if isinstance(image, str):
                return ImagePart(url=image)
            return ImagePart(url=image["url"], detail=image.get("detail"))
        if kind == "input_audio":
            audio = raw["input_audio"]
            return AudioPart(data=base64.b64decode(audio["data"]), format=audio["format"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidMessageError(
            f"malformed {kind!r} part: {_short(exc)}", index=index, field="content"
        ) from exc
    raise InvalidMessageError(
        f"unknown content part type {kind!r} (expected text, image_url or input_audio)",
        index=index,
        field="content",
    )


def _message_from_mapping(raw: Mapping[str, Any], index: int) -> Message:
    role = raw.get("role")
    if role not in _ROLES:
        raise InvalidMessageError(
            f"role must be one of {sorted(_ROLES)}, got {role!r}", index=index, field="role"
        )
    content = raw.get("content")
    parsed: str | tuple[ContentPart, ...]
    if content is None:
        parsed = ""
    elif isinstance(content, str):
        parsed = content
    elif isinstance(content, list | tuple):
        parts = []
        for part in content:
            if isinstance(part, TextPart | ImagePart | AudioPart):
                parts.append(part)
            elif isinstance(part, Mapping):
                parts.append(part_from_openai(part, index=index))
            else:
                raise InvalidMessageError(
                    f"content parts must be dicts, got {type(part).__name__}",
                    index=index,
                    field="content",
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
        try:
            tool_calls = tuple(
                ToolCall(
                    id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"]
                )
                for c in raw["tool_calls"]
            )
        except (KeyError, TypeError) as exc:
            raise InvalidMessageError(
                f"malformed tool call: {_short(exc)}", index=index, field="tool_calls"
            ) from exc
    try:
        return Message(
            role=role,
            content=parsed,
            name=raw.get("name"),
            tool_calls=tool_calls,
            tool_call_id=raw.get("tool_call_id"),
        )
    except ValidationError as exc:
        raise InvalidMessageError(_short(exc), index=index) from exc


def from_openai(messages: Iterable[Mapping[str, Any]]) -> tuple[Message, ...]:
    """Parse an OpenAI chat-completions ``messages`` list into domain messages."""
    return tuple(_message_from_mapping(m, i) for i, m in enumerate(messages))


def coerce_messages(messages: Sequence[Any]) -> tuple[Message, ...]:
    """Accept seed-style loose input and return domain messages.

    Accepted per item: a :class:`Message`, an OpenAI-shaped mapping, or any
    object with ``role`` and ``content`` attributes (the seed's dataclass).

    Raises:
        InvalidMessageError: An item is malformed; the error names its index and field.
    """
    if isinstance(messages, str | bytes | Mapping):
        raise InvalidMessageError("messages must be a list of messages, not a single value")
    if not messages:
        raise InvalidMessageError("messages must not be empty")
    out: list[Message] = []
    for index, item in enumerate(messages):
        if isinstance(item, Message):
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


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- Anthropic --------------------------------------------------------------------------


def _part_to_anthropic(part: ContentPart, index: int) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        if part.is_inline:
            mime, data = part.inline()
            source = {
                "type": "base64",
                "media_type": mime,
                "data": base64.b64encode(data).decode("ascii"),
            }
            return {"type": "image", "source": source}
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    raise InvalidMessageError(
        "Anthropic Messages do not accept audio input", index=index, field="content"
    )


def _anthropic_blocks(message: Message, index: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.role == "tool":
        blocks.append(
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.text,
            }
        )
        return blocks
    if isinstance(message.content, str):
        if message.content:
            blocks.append({"type": "text", "text": message.content})
    else:
        blocks.extend(
            _part_to_anthropic(p, index)
            for p in message.content
            if not (isinstance(p, TextPart) and not p.text)  # the API rejects empty text blocks
        )
    for call in message.tool_calls or ():
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidMessageError(
                f"tool call {call.id!r} arguments are not JSON: {exc}",
                index=index,
                field="tool_calls",
            ) from exc
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def to_anthropic(messages: Iterable[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """Convert messages to Anthropic's ``(system, messages)`` pair.

    System and developer messages become the top-level ``system`` text (joined
    by blank lines). Tool results travel as ``user`` messages. Consecutive
    messages with the same role are merged into one message whose content is
    the concatenation of their blocks; a lone plain-text message stays a string.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role in ("system", "developer"):
            if message.images:
                raise InvalidMessageError(
                    "Anthropic system prompts cannot contain images", index=index, field="content"
                )
            system.append(message.text)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _anthropic_blocks(message, index)
        if out and out[-1]["role"] == role:
            previous = out[-1]
            if isinstance(previous["content"], str):
                previous["content"] = [{"type": "text", "text": previous["content"]}]
            previous["content"].extend(blocks)
            continue
        simple = (
            isinstance(message.content, str) and not message.tool_calls and message.role != "tool"
        )
        out.append({"role": role, "content": message.content if simple else blocks})
    return ("\n\n".join(system) if system else None), out


# --- Ollama -----------------------------------------------------------------------------


def to_ollama(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Convert messages to Ollama ``/api/chat`` messages (images as a base64 list).

    Raises:
        InvalidMessageError: An image is a remote URL (Ollama only takes inline
            images) or a part is audio.
    """
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        item: dict[str, Any] = {"role": message.role, "content": message.text}
        images = []
        for image in message.images:
            if not image.is_inline:
                raise InvalidMessageError(
                    "Ollama needs inline images (bytes or a data URL), not a remote URL",
                    index=index,
                    field="content",
                )
            images.append(base64.b64encode(image.inline()[1]).decode("ascii"))
        if images:
            item["images"] = images
        if not isinstance(message.content, str) and any(
            isinstance(p, AudioPart) for p in message.content
        ):
            raise InvalidMessageError(
                "Ollama chat does not accept audio input", index=index, field="content"
            )
        if message.tool_calls:
            item["tool_calls"] = [
                {"function": {"name": c.name, "arguments": json.loads(c.arguments or "{}")}}
                for c in message.tool_calls
            ]
        out.append(item)
    return out
