"""Anthropic Messages wire shapes: :func:`to_anthropic` and its inverse :func:`from_anthropic`.

``to_anthropic`` splits the system prompt out, builds image and tool blocks and merges
consecutive same-role messages as the API requires; ``from_anthropic`` parses them
back (the round trip is property-tested).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from inference_core.domain.errors import InvalidMessageError
from inference_core.domain.messages import (
    ContentPart,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolCall,
)
from inference_core.domain.wire import error_summary, image_base64

__all__ = ["from_anthropic", "to_anthropic"]


# --------------------------------------------------------------------------


def _part_to_anthropic(part: ContentPart, index: int) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        inline = image_base64(part, index)
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
            f"malformed {kind!r} block: {error_summary(exc)}", index=index, field=where
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
            f"malformed tool_result block: {error_summary(exc)}", index=index, field=where
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
                        f"malformed tool_use block: {error_summary(exc)}", index=index, field=where
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
