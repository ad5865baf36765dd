"""Tool calling on a local GGUF model: a grammar-constrained JSON envelope (no llama_cpp import).

A local model has no tool-calling protocol of its own that every GGUF file
shares, so the adapter gives it one:

* the tools are described in a system message, and the answer is held by a
  grammar (built by llama.cpp from :func:`envelope_schema`) to exactly
  ``{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}`` - each item
  valid against its tool's schema - or, with ``tool_choice="auto"``, to
  ``{"answer": "..."}`` as the other alternative;
* a forced choice leaves only the calls (``required``) or one tool's calls
  (a named tool); ``parallel_tool_calls=False`` allows one call;
* earlier calls and results are shown to the model in the same shape: an
  assistant turn carrying the envelope, then a user turn per result;
* :func:`parse_envelope` turns the answer back into text or tool calls.

Even a tiny base model cannot leave the grammar, so every call it makes is
well-formed and names a real tool; whether its arguments are *sensible* is up
to the model.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from inference_core.domain.chat import ChatRequest
from inference_core.domain.messages import Message, ToolCall
from inference_core.domain.tools import Tool

__all__ = [
    "envelope_schema",
    "envelope_text",
    "parse_envelope",
    "tool_instruction",
    "with_tool_instruction",
]


def _rebased(schema: Any, prefix: str, defs: dict[str, Any]) -> Any:
    """``schema`` with its ``$defs`` moved into ``defs`` under ``prefix`` and refs rewritten.

    A tool's schema becomes a branch of the envelope, so its local
    ``#/$defs/X`` references would point at the envelope's root: they are
    renamed ``#/$defs/<prefix>X`` and the definitions hoisted there.
    """
    if isinstance(schema, list):
        return [_rebased(item, prefix, defs) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$defs", "definitions") and isinstance(value, Mapping):
            for name, definition in value.items():
                defs[f"{prefix}{name}"] = _rebased(definition, prefix, defs)
            continue
        if key == "$ref" and isinstance(value, str):
            for root in ("#/$defs/", "#/definitions/"):
                if value.startswith(root):
                    value = f"#/$defs/{prefix}{value[len(root) :]}"
            out[key] = value
            continue
        out[key] = _rebased(value, prefix, defs)
    return out


def _offered(request: ChatRequest) -> tuple[Tool, ...]:
    choice = request.tool_choice
    if choice is not None and choice.mode == "tool":
        return tuple(t for t in request.tools if t.name == choice.name)
    return request.tools


def envelope_schema(request: ChatRequest) -> dict[str, Any]:
    """The JSON Schema the answer must match when the request offers tools."""
    defs: dict[str, Any] = {}
    alternatives = []
    for position, tool in enumerate(_offered(request)):
        arguments = _rebased(tool.parameters, f"t{position}_", defs)
        alternatives.append(
            {
                "type": "object",
                "properties": {"name": {"const": tool.name}, "arguments": arguments},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    items: dict[str, Any] = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    calls: dict[str, Any] = {"type": "array", "items": items, "minItems": 1}
    if request.parallel_tool_calls is False:
        calls["maxItems"] = 1
    with_calls = {
        "type": "object",
        "properties": {"tool_calls": calls},
        "required": ["tool_calls"],
        "additionalProperties": False,
    }
    choice = request.tool_choice
    root: dict[str, Any]
    if choice is not None and choice.forced:
        root = with_calls
    else:
        answer = {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
            "additionalProperties": False,
        }
        root = {"anyOf": [with_calls, answer]}
    if defs:
        root["$defs"] = defs
    return root


def tool_instruction(request: ChatRequest) -> str:
    """The system text that describes the tools and the answer's shape."""
    lines = ["You can call these tools:"]
    for tool in _offered(request):
        schema = json.dumps(tool.parameters, ensure_ascii=False, separators=(",", ":"))
        about = f": {tool.description}" if tool.description else ""
        lines.append(f"- {tool.name}{about} Arguments (JSON Schema): {schema}")
    choice = request.tool_choice
    one = " one" if request.parallel_tool_calls is False else ""
    lines.append(
        f'To call{one} tool(s), reply with JSON only: {{"tool_calls": [{{"name": "<tool>", '
        '"arguments": {...}}]}'
    )
    if choice is None or not choice.forced:
        lines.append('To reply without a tool, reply with JSON only: {"answer": "<your reply>"}')
    return "\n".join(lines)


def with_tool_instruction(request: ChatRequest) -> tuple[Message, ...]:
    """The request's messages with the tool instruction after the leading system messages."""
    messages = list(request.messages)
    at = 0
    while at < len(messages) and messages[at].role in ("system", "developer"):
        at += 1
    messages.insert(at, Message.system(tool_instruction(request)))
    return tuple(messages)


def envelope_text(calls: Sequence[ToolCall]) -> str:
    """Earlier calls in the envelope's shape (how the model sees its own past calls)."""
    items = []
    for call in calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            arguments = call.arguments
        items.append({"name": call.name, "arguments": arguments})
    return json.dumps({"tool_calls": items}, ensure_ascii=False)


def parse_envelope(text: str) -> tuple[str, tuple[ToolCall, ...]]:
    """``(answer text, tool calls)`` from a grammar-held answer.

    Raises:
        ValueError: The text is not the envelope (cut short, or not held by the grammar).
    """
    data = json.loads(text)
    if isinstance(data, Mapping) and isinstance(data.get("tool_calls"), list):
        calls = []
        for item in data["tool_calls"]:
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise ValueError("a tool call without a name")
            arguments = json.dumps(item.get("arguments", {}), ensure_ascii=False)
            calls.append(
                ToolCall(id=f"call_{uuid.uuid4().hex[:16]}", name=item["name"], arguments=arguments)
            )
        return "", tuple(calls)
    if isinstance(data, Mapping) and isinstance(data.get("answer"), str):
        return str(data["answer"]), ()
    raise ValueError("neither tool_calls nor answer")
