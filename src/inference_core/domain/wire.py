"""Pure conversions between domain messages and provider wire shapes.

* OpenAI chat completions: :func:`to_openai` / :func:`from_openai` (round-trip identity
  for the canonical shapes).
* Anthropic Messages: :func:`to_anthropic` (system split out, image blocks, tool
  blocks, consecutive same-role messages merged as the API requires) and
  :func:`from_anthropic`.
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
    Role,
    TextPart,
    ToolCall,
)

__all__ = [
    "check_text",
    "coerce_messages",
    "from_anthropic",
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
            f"malformed {kind!r} part: {_short(exc)}", index=index, field=where
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
                f"malformed tool call: {_short(exc)}", index=index, field=f"tool_calls[{position}]"
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


def _short(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"missing key {exc.args[0]!r}"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return str(first["msg"])
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- Anthropic --------------------------------------------------------------------------


def _inline_base64(part: ImagePart, index: int) -> tuple[str, str] | None:
    """(mime, base64 text) of an inline image, or ``None`` for a remote URL.

    A data URL's payload is passed through as it is: decoding and re-encoding
    every image would dominate conversion time. Conversions check shape only;
    payloads are checked by ``validate_image_part`` and the imaging adapter.
    """
    if part.data is not None:
        mime = part.mime_type or "application/octet-stream"
        return mime, base64.b64encode(part.data).decode("ascii")
    url = part.url or ""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise InvalidMessageError(
            "image data URL must be of the form data:<mime>;base64,<payload>",
            index=index,
            field="content",
        )
    return header[5:-7] or "application/octet-stream", payload


def _part_to_anthropic(part: ContentPart, index: int) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        inline = _inline_base64(part, index)
        if inline is not None:
            source = {"type": "base64", "media_type": inline[0], "data": inline[1]}
            return {"type": "image", "source": source}
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    raise InvalidMessageError(
        "Anthropic Messages do not accept audio input", index=index, field="content"
    )


def _anthropic_blocks(message: Message, index: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.role == "tool":
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
        if not isinstance(message.content, str) and message.images:
            # A tool may answer with images: keep them as result blocks.
            result["content"] = [
                _part_to_anthropic(p, index)
                for p in message.content
                if not (isinstance(p, TextPart) and not p.text)
            ]
        elif message.text:
            result["content"] = message.text
        blocks.append(result)
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
    Messages with no content at all (and empty text parts) are left out, as the
    API rejects them.

    Raises:
        InvalidMessageError: An image in a system message, an audio part, or
            tool-call arguments that are not JSON.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role in ("system", "developer"):
            if message.images:
                raise InvalidMessageError(
                    "Anthropic system prompts cannot contain images", index=index, field="content"
                )
            if message.text:
                system.append(message.text)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _anthropic_blocks(message, index)
        if not blocks:
            continue  # the API rejects empty messages; an empty one carries nothing
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


def _part_from_anthropic(block: Mapping[str, Any], index: int, where: str) -> ContentPart:
    kind = block.get("type")
    try:
        if kind == "text":
            return TextPart(text=block["text"])
        if kind == "image":
            source = block["source"]
            if source["type"] == "base64":
                data = base64.b64decode(source["data"], validate=True)
                return ImagePart(data=data, mime_type=source["media_type"])
            if source["type"] == "url":
                return ImagePart(url=source["url"])
            raise ValueError(f"unsupported image source type {source['type']!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidMessageError(
            f"malformed {kind!r} block: {_short(exc)}", index=index, field=where
        ) from exc
    raise InvalidMessageError(
        f"unsupported content block type {kind!r} (expected text, image, tool_use or tool_result)",
        index=index,
        field=where,
    )


def _tool_result_from_anthropic(block: Mapping[str, Any], index: int, where: str) -> Message:
    content = block.get("content")
    parsed: str | tuple[ContentPart, ...]
    if content is None or isinstance(content, str):
        parsed = content or ""
    elif isinstance(content, list):
        parsed = tuple(
            _part_from_anthropic(b, index, f"{where}.content[{j}]") for j, b in enumerate(content)
        )
    else:
        raise InvalidMessageError(
            "tool_result content must be a string or a list of blocks", index=index, field=where
        )
    try:
        return Message(role="tool", content=parsed, tool_call_id=block["tool_use_id"])
    except (KeyError, ValidationError) as exc:
        raise InvalidMessageError(
            f"malformed tool_result block: {_short(exc)}", index=index, field=where
        ) from exc


def _flush(out: list[Message], role: Role, parts: list[ContentPart], calls: list[ToolCall]) -> None:
    if not parts and not calls:
        return
    lone = parts[0] if len(parts) == 1 else None
    body = lone.text if isinstance(lone, TextPart) else tuple(parts) or ""
    out.append(Message(role=role, content=body, tool_calls=tuple(calls) or None))


def from_anthropic(
    system: str | Sequence[Mapping[str, Any]] | None, messages: Iterable[Mapping[str, Any]]
) -> tuple[Message, ...]:
    """Parse an Anthropic ``(system, messages)`` pair into domain messages.

    The system prompt becomes a leading ``system`` message; ``tool_use`` blocks
    become the assistant's tool calls; each ``tool_result`` block becomes a
    ``tool`` message, and the user blocks around it stay in their order.

    Raises:
        InvalidMessageError: A message or block is malformed or of an
            unsupported type; the error names the message index and field.
    """
    out: list[Message] = []
    if isinstance(system, str):
        if system:
            out.append(Message(role="system", content=system))
    elif system is not None:
        texts = [b.get("text", "") for b in system if b.get("type") == "text"]
        if any(texts):
            out.append(Message(role="system", content="\n\n".join(t for t in texts if t)))
    for index, raw in enumerate(messages):
        role = raw.get("role") if isinstance(raw, Mapping) else None
        if role not in ("user", "assistant"):
            raise InvalidMessageError(
                f"role must be 'user' or 'assistant', got {role!r}", index=index, field="role"
            )
        content = raw.get("content")
        if isinstance(content, str):
            out.append(Message(role=role, content=content))
            continue
        if not isinstance(content, list):
            raise InvalidMessageError(
                "content must be a string or a list of blocks", index=index, field="content"
            )
        parts: list[ContentPart] = []
        calls: list[ToolCall] = []
        for position, block in enumerate(content):
            where = f"content[{position}]"
            kind = block.get("type") if isinstance(block, Mapping) else None
            if kind == "tool_use" and role == "assistant":
                try:
                    arguments = json.dumps(block["input"], ensure_ascii=False)
                    calls.append(ToolCall(id=block["id"], name=block["name"], arguments=arguments))
                except (KeyError, TypeError, ValueError) as exc:
                    raise InvalidMessageError(
                        f"malformed tool_use block: {_short(exc)}", index=index, field=where
                    ) from exc
            elif kind == "tool_result" and role == "user":
                _flush(out, role, parts, [])  # keep text that came before the result before it
                parts = []
                out.append(_tool_result_from_anthropic(block, index, where))
            elif isinstance(block, Mapping):
                parts.append(_part_from_anthropic(block, index, where))
            else:
                raise InvalidMessageError("content blocks must be dicts", index=index, field=where)
        _flush(out, role, parts, calls)
    return tuple(out)


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
            inline = _inline_base64(image, index)
            if inline is None:
                raise InvalidMessageError(
                    "Ollama needs inline images (bytes or a data URL), not a remote URL",
                    index=index,
                    field="content",
                )
            images.append(inline[1])
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
