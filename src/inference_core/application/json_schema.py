"""A small JSON Schema checker for model output (no dependency beyond the standard library).

It covers the keywords structured-output schemas use: ``type`` (one or a
list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``prefixItems``, ``minItems``,
``maxItems``, ``uniqueItems``, ``minLength``, ``maxLength``, ``pattern``,
``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``,
``multipleOf``, ``anyOf``, ``oneOf``, ``allOf``, ``not`` and local ``$ref``
(``#/$defs/...``). Other keywords (``format``, ``title``, ``description``,
``default``...) are annotations here and are not checked.

Errors read like ``$.items[2].name: expected string, got integer`` so they can
be fed back to the model as they are.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["schema_errors"]

_MAX_ERRORS = 20

_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _is_type(value: Any, expected: str) -> bool:
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "array":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "null":
        return value is None
    return True  # unknown type names are not ours to reject


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref is supported, got {ref!r}")
    node: Any = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[key]
    if not isinstance(node, Mapping):
        raise ValueError(f"$ref {ref!r} does not point to a schema")
    return node


def schema_errors(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """Check ``instance`` (parsed JSON) against ``schema``; return readable errors, [] if valid.

    At most 20 errors are returned (enough to fix, short enough to re-ask with).
    """
    errors: list[str] = []
    _check(instance, schema, "$", schema, errors)
    return errors[:_MAX_ERRORS]


def _check(
    value: Any, schema: Mapping[str, Any] | bool, path: str, root: Mapping[str, Any], out: list[str]
) -> None:
    if len(out) >= _MAX_ERRORS:
        return
    if schema is True:
        return
    if schema is False:
        out.append(f"{path}: no value is allowed here")
        return
    if "$ref" in schema:
        _check(value, _resolve(root, schema["$ref"]), path, root, out)
        # Siblings of $ref (2019-09+) still apply.
        schema = {k: v for k, v in schema.items() if k != "$ref"}

    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_is_type(value, name) for name in names):
            out.append(f"{path}: expected {' or '.join(names)}, got {_type_name(value)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        out.append(f"{path}: {json.dumps(value)} is not one of {allowed}")
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: must be {json.dumps(schema['const'])}")

    if isinstance(value, dict):
        _check_object(value, schema, path, root, out)
    elif isinstance(value, list):
        _check_array(value, schema, path, root, out)
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{path}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            out.append(f"{path}: does not match pattern {schema['pattern']!r}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, path, out)

    for sub in schema.get("allOf", ()):
        _check(value, sub, path, root, out)
    if "anyOf" in schema and not any(_valid(value, s, root) for s in schema["anyOf"]):
        out.append(f"{path}: matches none of the allowed alternatives (anyOf)")
    if "oneOf" in schema:
        matches = sum(_valid(value, s, root) for s in schema["oneOf"])
        if matches != 1:
            out.append(f"{path}: must match exactly one alternative (oneOf), matched {matches}")
    if "not" in schema and _valid(value, schema["not"], root):
        out.append(f"{path}: must not match the schema under 'not'")


def _valid(value: Any, schema: Mapping[str, Any] | bool, root: Mapping[str, Any]) -> bool:
    probe: list[str] = []
    _check(value, schema, "$", root, probe)
    return not probe


def _check_object(
    value: dict[str, Any],
    schema: Mapping[str, Any],
    path: str,
    root: Mapping[str, Any],
    out: list[str],
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            out.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        where = f"{path}.{name}"
        if name in properties:
            _check(item, properties[name], where, root, out)
        elif extra is False:
            out.append(f"{path}: unexpected property {name!r}")
        elif isinstance(extra, Mapping):
            _check(item, extra, where, root, out)


def _check_array(
    value: list[Any], schema: Mapping[str, Any], path: str, root: Mapping[str, Any], out: list[str]
) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{path}: more than {schema['maxItems']} items")
    if schema.get("uniqueItems"):
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) != len(seen):
            out.append(f"{path}: items must be unique")
    prefix = schema.get("prefixItems", ())
    for index, item in enumerate(value):
        if index < len(prefix):
            _check(item, prefix[index], f"{path}[{index}]", root, out)
        elif "items" in schema:
            _check(item, schema["items"], f"{path}[{index}]", root, out)


def _check_number(value: float, schema: Mapping[str, Any], path: str, out: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        out.append(f"{path}: must be >= {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        out.append(f"{path}: must be <= {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        out.append(f"{path}: must be > {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        out.append(f"{path}: must be < {schema['exclusiveMaximum']}")
    step = schema.get("multipleOf")
    if step and not math.isclose(value / step, round(value / step), abs_tol=1e-9):
        out.append(f"{path}: must be a multiple of {step}")
