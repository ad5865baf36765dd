"""Ollama ``/api/chat`` wire shape: :func:`to_ollama` (text plus a base64 ``images`` list).

Tool calls travel with their arguments as a JSON object; a tool result names
its tool (``tool_name``) when the message carries the name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from inference_core.domain.errors import InvalidMessageError
from inference_core.domain.messages import (
    AudioPart,
    Message,
    ToolCall,
)
from inference_core.domain.wire import image_base64

__all__ = ["to_ollama"]


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
            inline = image_base64(image, index)
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
            item["tool_calls"] = [_call(c, index) for c in message.tool_calls]
        if message.role == "tool" and message.name:
            item["tool_name"] = message.name  # how Ollama links a result to its call
        out.append(item)
    return out


def _call(call: ToolCall, index: int) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidMessageError(
            f"tool call {call.id!r} arguments are not JSON: {exc}", index=index, field="tool_calls"
        ) from None
    if not isinstance(arguments, dict):
        raise InvalidMessageError(
            f"tool call {call.id!r} arguments must be a JSON object for Ollama",
            index=index,
            field="tool_calls",
        )
    # Ollama takes the arguments as an object, not as JSON text.
    return {"function": {"name": call.name, "arguments": arguments}}
