"""Text helpers shared by the fake protocols: word counting, splitting, JSON samples."""

from __future__ import annotations

import re
from typing import Any

_PIECE = re.compile(r"\S+\s*")


def count_words(text: str) -> int:
    """Count whitespace separated words.

    Args:
        text: Any text.

    Returns:
        Number of words.
    """
    return len(text.split())


def word_pieces(text: str) -> list[str]:
    """Split text into per-word pieces that concatenate back to ``text``.

    Args:
        text: Any text.

    Returns:
        Pieces; leading whitespace is glued to the first piece. Empty for
        empty or all-whitespace text.
    """
    pieces = _PIECE.findall(text)
    if not pieces:
        return []
    lead = text[: len(text) - len(text.lstrip())]
    pieces[0] = lead + pieces[0]
    return pieces


def truncate_words(text: str, limit: int) -> str:
    """Keep the first ``limit`` words of ``text``.

    Args:
        text: Text to cut.
        limit: Number of words to keep.

    Returns:
        The truncated text, trailing whitespace removed.
    """
    return "".join(word_pieces(text)[: max(limit, 0)]).rstrip()


def chunk_text(text: str, words_per_chunk: int) -> list[str]:
    """Split text into streaming chunks of ``words_per_chunk`` words.

    Args:
        text: Reply text.
        words_per_chunk: Words per chunk (at least 1).

    Returns:
        At least one chunk; the chunks concatenate back to ``text``.
    """
    pieces = word_pieces(text)
    if not pieces:
        return [text]
    size = max(words_per_chunk, 1)
    return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]


def content_text(content: Any) -> str:
    """Extract the plain text of a message ``content`` in any provider's shape.

    Handles strings, lists of ``{"type": "text", "text": ...}`` parts,
    Anthropic ``tool_result`` blocks (nested ``content``) and ``tool_use``
    inputs are ignored. Non-text parts (images) are skipped.

    Args:
        content: The ``content`` value of a message.

    Returns:
        The texts joined with a single space.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return str(content["text"])
        if "content" in content:
            return content_text(content["content"])
        return ""
    if isinstance(content, list):
        parts = [content_text(item) for item in content]
        return " ".join(p for p in parts if p)
    return ""


def sample_from_schema(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """Produce a small instance that validates against a JSON schema.

    Supports ``$ref`` into ``$defs``/``definitions``, ``anyOf``/``oneOf``/
    ``allOf``, ``enum``/``const``, objects (all properties filled), arrays
    (one item, or ``minItems``), strings, numbers, integers, booleans and null.

    Args:
        schema: A JSON schema (dict) or anything else (treated as "any").
        defs: Definitions for ``$ref`` resolution (taken from the root by default).
        depth: Recursion depth guard.

    Returns:
        A JSON-serialisable value.
    """
    if not isinstance(schema, dict) or depth > 12:
        return {}
    if defs is None:
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return sample_from_schema(defs.get(name, {}), defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return sample_from_schema((non_null or options)[0], defs, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict) and "$ref" in part:
                part = defs.get(str(part["$ref"]).rsplit("/", 1)[-1], {})
            if isinstance(part, dict):
                merged.update(part)
        return sample_from_schema(merged, defs, depth + 1)
    type_ = schema.get("type")
    if isinstance(type_, list):
        non_null_types = [t for t in type_ if t != "null"]
        type_ = non_null_types[0] if non_null_types else "null"
    if type_ is None and "properties" in schema:
        type_ = "object"
    if type_ == "object":
        props = schema.get("properties", {})
        return {k: sample_from_schema(v, defs, depth + 1) for k, v in props.items()}
    if type_ == "array":
        n = max(int(schema.get("minItems", 1)), 1)
        return [sample_from_schema(schema.get("items", {}), defs, depth + 1) for _ in range(n)]
    if type_ == "string":
        return "x" * int(schema.get("minLength", 0)) if schema.get("minLength") else "example"
    if type_ == "integer":
        return int(schema.get("minimum", 0))
    if type_ == "number":
        return float(schema.get("minimum", 0.0))
    if type_ == "boolean":
        return True
    if type_ == "null":
        return None
    return {}
