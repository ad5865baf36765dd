"""JSON output: strategy choice, strict-schema conversion, parsing with a caret, validation.

Strategy, strongest first, chosen from what BOTH the model declares
(``ModelCapabilities.json_output``) and the adapter supports
(:meth:`AdapterCapabilities.best_json_output`):

=========================  =====================================================
strategy                   request
=========================  =====================================================
``json_schema``            native structured output: ``ResponseFormat(json_schema)``
``json_object_with_schema``  JSON mode with the schema in ``response_format``
                           (llama.cpp turns it into a grammar) + schema in prompt
``json_object``            JSON mode + schema in the prompt
``none``                   schema in the prompt only (the one case where one
                           surrounding markdown fence is tolerated)
=========================  =====================================================

The schema also rides in the prompt for the non-native strategies because a
grammar or JSON mode constrains the shape but only the prompt tells the model
what the fields mean. The strategy is fixed before the first attempt and
logged; a failure never silently downgrades it.

Strict mode (native strategy): OpenAI's ``strict: true`` needs every object
closed (``additionalProperties: false``) and every property listed in
``required``. :func:`strict_schema` rewrites pydantic's schema that way
(optional fields become required; ``None`` defaults are dropped; ``$ref``
with siblings is inlined). A schema that cannot be closed without changing its
meaning (a free-form object such as ``dict[str, int]``, ``patternProperties``,
a non-object root) is sent with ``strict: false`` instead, and the reason is
logged: the provider still gets the schema, and our own validation (plus
re-asking) still enforces it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from inference_core.application.json_schema import check_schema, validation_errors
from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import FinishReason, ResponseFormat, schema_name
from inference_core.domain.errors import InvalidSchemaError
from inference_core.domain.messages import Message, TextPart

__all__ = [
    "JSONPlan",
    "OutputSchema",
    "ParseFailure",
    "choose_strategy",
    "feedback_message",
    "model_plan",
    "parse_json",
    "plan_json",
    "strict_schema",
    "strip_fence",
    "with_instruction",
]

#: Model classes (and class, strategy pairs) whose derived schema pieces are kept.
_CACHE_SIZE = 256
_FENCE = re.compile(r"\A```[A-Za-z0-9_+-]*[ \t]*\r?\n(?P<body>.*?)\r?\n?```\Z", re.DOTALL)
_SNIPPET_WIDTH = 80


class ParseFailure(ValueError):
    """Model output that is not exactly one JSON value; ``str()`` shows where, with a caret."""


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """What the caller asked the output to be.

    Attributes:
        model: The pydantic model to validate into, when one was given.
        schema: The JSON Schema (the model's, the caller's dict, or ``None``
            for "any JSON object").
        name: Schema name sent to providers that want one.
    """

    model: type[BaseModel] | None
    schema: dict[str, Any] | None
    name: str
    validator: Any = None  # built once from a JSON Schema dict (see check_schema)

    @classmethod
    def of(cls, spec: type[BaseModel] | Mapping[str, Any] | None) -> OutputSchema:
        """Describe a pydantic model class (once per class), a JSON Schema dict, or ``None``."""
        if spec is None:
            return cls(None, None, "output")
        if isinstance(spec, type) and issubclass(spec, BaseModel):
            return _model_output(spec)
        if isinstance(spec, Mapping):
            schema = dict(spec)
            # An invalid schema is refused here, before anything is paid for.
            validator = check_schema(schema)
            return cls(None, schema, schema_name(str(schema.get("title") or "output")), validator)
        raise InvalidSchemaError(
            "schema must be a pydantic model class or a JSON Schema dict, "
            f"not {type(spec).__name__}"
        )

    def validate(self, value: Any) -> tuple[Any, list[str]]:
        """Return (typed value, errors); errors are empty when ``value`` is valid."""
        if self.model is not None:
            try:
                return self.model.model_validate(value), []
            except ValidationError as exc:
                return None, [_pydantic_error(e) for e in exc.errors(include_url=False)]
        if self.schema is None:
            if isinstance(value, dict):
                return value, []
            return None, [f"$: expected a JSON object, got {type(value).__name__}"]
        errors = validation_errors(self.validator, value)
        return (None, errors) if errors else (value, [])


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _model_output(model: type[BaseModel]) -> OutputSchema:
    # model_json_schema is costly and a class's schema never changes.
    return OutputSchema(model, model.model_json_schema(), schema_name(model.__name__))


def _pydantic_error(error: Any) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.get("loc", ()))
    return f"${loc}: {error.get('msg', 'invalid')}"


def choose_strategy(
    declared: JSONOutput, adapter: AdapterCapabilities, *, has_schema: bool
) -> JSONOutput:
    """The strongest strategy both the model (``declared``) and its adapter support.

    Without a schema the schema-carrying strategies have nothing to carry, so
    the choice is capped at JSON mode.
    """
    if not has_schema and declared.strength > JSONOutput.JSON_OBJECT.strength:
        declared = JSONOutput.JSON_OBJECT
    return adapter.best_json_output(declared)


def strict_schema(schema: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Rewrite ``schema`` for OpenAI-style strict mode.

    Returns:
        (the strict copy, None), or (None, the reason it cannot be made strict).
    """
    if schema.get("type") != "object":
        return None, "the root of a strict schema must be an object"
    root = copy.deepcopy(dict(schema))
    try:
        return _close(root, root), None
    except _NotStrict as exc:
        return None, str(exc)
    except RecursionError:  # a $ref cycle: strict mode would need it inlined forever
        return None, "the schema refers to itself ($ref cycle)"


class _NotStrict(Exception):
    pass


def _close(node: Any, root: dict[str, Any], path: str = "$") -> Any:
    if not isinstance(node, dict):
        return node
    for key in ("$defs", "definitions"):
        for name, sub in node.get(key, {}).items():
            node[key][name] = _close(sub, root, f"#/{key}/{name}")
    if "$ref" in node and len(node) > 1:
        # Strict mode rejects $ref with sibling keywords: inline the target.
        target = _lookup(root, node.pop("$ref"))
        node = {**copy.deepcopy(target), **node}
    if "patternProperties" in node:
        raise _NotStrict(f"{path} uses patternProperties")
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties", False)
        if extra is not False or "properties" not in node:
            raise _NotStrict(f"{path} is a free-form object (e.g. a dict), it cannot be closed")
        node["additionalProperties"] = False
        node["required"] = list(node["properties"])
        node["properties"] = {
            k: _close(v, root, f"{path}.{k}") for k, v in node["properties"].items()
        }
    if isinstance(node.get("items"), dict):
        node["items"] = _close(node["items"], root, f"{path}[]")
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        if isinstance(node.get(key), list):
            node[key] = [_close(v, root, path) for v in node[key]]
    if "default" in node and node["default"] is None:
        del node["default"]  # nullable already says it; strict mode does not need it
    return node


def _lookup(root: Mapping[str, Any], ref: str) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise _NotStrict(f"$ref {ref!r} does not resolve inside the schema") from None
    if not isinstance(node, dict):
        raise _NotStrict(f"$ref {ref!r} does not point to a schema")
    return node


@dataclass(frozen=True, slots=True)
class JSONPlan:
    """How one model is asked for JSON: the strategy, its response format and prompt."""

    strategy: JSONOutput
    response_format: ResponseFormat | None
    instruction: str | None
    strict: bool | None = None
    strict_reason: str | None = None

    @property
    def allows_fence(self) -> bool:
        """Only prompted output may arrive wrapped in one markdown fence."""
        return self.strategy is JSONOutput.NONE


def plan_json(strategy: JSONOutput, output: OutputSchema) -> JSONPlan:
    """Build the request pieces for ``strategy``."""
    schema = output.schema
    if strategy is JSONOutput.JSON_SCHEMA and schema is not None:
        strict, reason = strict_schema(schema)
        fmt = ResponseFormat(
            type="json_schema", schema=strict or schema, name=output.name, strict=strict is not None
        )
        return JSONPlan(strategy, fmt, None, strict=strict is not None, strict_reason=reason)
    instruction = _instruction(schema)
    if strategy is JSONOutput.JSON_OBJECT_WITH_SCHEMA and schema is not None:
        fmt = ResponseFormat(type="json_object", schema=schema, name=output.name)
        return JSONPlan(strategy, fmt, instruction)
    if strategy in (JSONOutput.JSON_OBJECT, JSONOutput.JSON_OBJECT_WITH_SCHEMA):
        return JSONPlan(JSONOutput.JSON_OBJECT, ResponseFormat(type="json_object"), instruction)
    return JSONPlan(JSONOutput.NONE, None, instruction)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def model_plan(model: type[BaseModel], strategy: JSONOutput) -> JSONPlan:
    """:func:`plan_json` for ``OutputSchema.of(model)``, built once per class and strategy.

    The strict-schema rewrite, the response format and the prompt text are
    pure functions of the class; the cache is bounded and thread-safe.
    """
    return plan_json(strategy, _model_output(model))


def _instruction(schema: Mapping[str, Any] | None) -> str:
    head = "Answer with exactly one JSON object and nothing else: no prose, no markdown."
    if schema is None:
        return head
    body = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    return f"{head} The object must be valid against this JSON Schema:\n{body}"


def with_instruction(messages: tuple[Message, ...], instruction: str | None) -> tuple[Message, ...]:
    """Add the JSON instruction to the system message (one is created if there is none)."""
    if not instruction:
        return messages
    if messages and messages[0].role == "system":
        first = messages[0]
        if isinstance(first.content, str):
            merged = first.model_copy(update={"content": f"{first.content}\n\n{instruction}"})
        else:
            merged = first.model_copy(
                update={"content": (*first.content, TextPart(text=f"\n\n{instruction}"))}
            )
        return (merged, *messages[1:])
    return (Message.system(instruction), *messages)


def strip_fence(text: str) -> str | None:
    """The body of ONE markdown code fence wrapping the whole text, or ``None`` if there is none."""
    match = _FENCE.match(text.strip())
    return match.group("body") if match else None


def parse_json(text: str) -> Any:
    """Parse exactly one JSON value (surrounding whitespace allowed).

    Raises:
        ParseFailure: Not JSON, or more than one value; the message gives the
            line, the column and the line with a caret under the problem.
    """
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    if start == len(text):
        raise ParseFailure("empty output: expected a JSON object")
    try:
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ParseFailure(_located(text, exc.pos, f"invalid JSON: {exc.msg}")) from exc
    rest = len(text) - len(text[end:].lstrip())
    if rest != len(text):
        raise ParseFailure(_located(text, rest, "extra text after the JSON value"))
    return value


def _located(text: str, pos: int, problem: str) -> str:
    line_no = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : len(text) if line_end == -1 else line_end]
    col = pos - line_start  # 0-based offset inside the line
    # Show a window around the column so long single-line JSON stays readable.
    left = max(0, col - _SNIPPET_WIDTH // 2)
    window = line[left : left + _SNIPPET_WIDTH]
    prefix = "..." if left else ""
    suffix = "..." if left + _SNIPPET_WIDTH < len(line) else ""
    caret = " " * (len(prefix) + col - left) + "^"
    return f"{problem} at line {line_no}, column {col + 1}\n{prefix}{window}{suffix}\n{caret}"


def feedback_message(errors: list[str], finish_reason: FinishReason) -> Message:
    """The user message that re-asks after a rejected answer."""
    listed = "\n".join(f"- {e}" for e in errors)
    cut = (
        "\nYour answer was cut off by the output token limit; answer more briefly."
        if finish_reason is FinishReason.LENGTH
        else ""
    )
    return Message.user(
        "Your previous answer was rejected:\n"
        f"{listed}{cut}\n"
        "Reply again with only the corrected JSON object."
    )
