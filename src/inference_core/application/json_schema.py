"""JSON Schema checks for model output, on the ``jsonschema`` library.

* :func:`check_schema` rejects a schema that is not valid under its own
  ``$schema`` (Draft 2020-12 when it names none), including patterns that are
  not regular expressions, before any request is paid for. The error names the
  schema path.
* :func:`schema_errors` validates a parsed value and words each error like
  ``$.items[2].name: expected string, got integer``, short enough to feed back
  to the model as it is. At most 20 errors are returned.

Validators are built once per schema (schemas are hashed by their canonical
JSON) and kept in a bounded, thread-safe cache. ``jsonschema`` is imported on
the first schema checked, not with the package.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from inference_core.domain.errors import InvalidSchemaError

__all__ = ["check_schema", "schema_errors", "validation_errors"]

_MAX_ERRORS = 20
#: Nesting beyond this is refused before jsonschema recurses into it.
MAX_SCHEMA_DEPTH = 64

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


def _path(parts: Iterable[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _depth(node: Any, limit: int) -> int:
    # Iterative: a hostile schema must not exhaust the interpreter's stack here either.
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


_CACHE_SIZE = 256
_validators: dict[str, Any] = {}
_validators_lock = threading.Lock()


def _validator(schema: Mapping[str, Any] | bool) -> Any:
    """The validator for ``schema``, built (and its schema checked) once per distinct schema."""
    key = _canonical(schema)
    cached = _validators.get(key)
    if cached is not None:
        return cached
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    # Built from an unsorted copy: errors then come in the schema's own key order.
    own = json.loads(json.dumps(schema))
    dialect = own.get("$schema") if isinstance(own, dict) else None
    if dialect is not None and not isinstance(dialect, str):  # jsonschema would raise TypeError
        raise InvalidSchemaError(
            f"invalid JSON Schema at $.$schema: must be a URI string, not {type(dialect).__name__}"
        )
    cls = validators.validator_for(own, default=validators.Draft202012Validator)
    try:
        cls.check_schema(own, format_checker=cls.FORMAT_CHECKER)
    except SchemaError as exc:
        where = _path(exc.path)  # where in the schema the problem sits
        raise InvalidSchemaError(f"invalid JSON Schema at {where}: {exc.message}") from None
    _check_refs(own)
    validator = cls(own)
    with _validators_lock:  # two threads evicting at once would pop the same key
        if len(_validators) >= _CACHE_SIZE:
            _validators.pop(next(iter(_validators)))
        _validators[key] = validator
    return validator


def _check_refs(root: Any) -> None:
    """Every ``$ref`` must be a JSON pointer into this schema (nothing is ever fetched)."""
    stack: list[tuple[Any, list[Any]]] = [(root, [])]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((v, [*where, i]) for i, v in enumerate(node))
            continue
        if not isinstance(node, Mapping):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and not _resolves(root, ref):
            raise InvalidSchemaError(
                f"invalid JSON Schema at {_path([*where, '$ref'])}: {ref!r} does not point "
                "into this schema (only local references like '#/$defs/name' are followed)"
            )
        stack.extend((v, [*where, k]) for k, v in node.items() if k not in ("enum", "const"))


def _resolves(root: Any, ref: str) -> bool:
    if not ref.startswith("#"):
        return False
    node = root
    for raw in ref[1:].split("/")[1:] if ref not in ("#", "#/") else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return isinstance(node, Mapping | bool)


def _canonical(schema: Mapping[str, Any] | bool) -> str:
    if not isinstance(schema, Mapping | bool):
        raise InvalidSchemaError(
            f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}"
        )
    if _depth(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
        raise InvalidSchemaError(f"JSON Schema nested deeper than {MAX_SCHEMA_DEPTH} levels")
    try:
        return json.dumps(schema, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidSchemaError(f"JSON Schema is not JSON-serialisable: {exc}") from None


def check_schema(schema: Mapping[str, Any] | bool) -> Any:
    """Return the validator of ``schema``, raising unless it is a valid JSON Schema.

    Hand the result to :func:`validation_errors` to check values without
    canonicalising the schema again.

    Raises:
        InvalidSchemaError: Not JSON, too deep, or invalid under its meta-schema;
            the message names the schema path.
    """
    try:
        return _validator(schema)
    except RecursionError:
        raise InvalidSchemaError("JSON Schema too deeply nested to check") from None


def _message(error: Any) -> str:
    keyword, expected, value = error.validator, error.validator_value, error.instance
    where = _path(error.absolute_path)
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return f"{where}: expected {' or '.join(names)}, got {_type_name(value)}"
    if keyword == "enum":
        allowed = ", ".join(json.dumps(v) for v in expected)
        return f"{where}: {json.dumps(value)} is not one of {allowed}"
    if keyword == "const":
        return f"{where}: must be {json.dumps(expected)}"
    if keyword == "required":
        missing = next((name for name in expected if name not in value), None)
        return f"{where}: missing required property {missing!r}"
    if keyword in ("additionalProperties", "unevaluatedProperties") and expected is False:
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [k for k in value if k not in known and not any(re.search(p, k) for p in patterns)]
        return "; ".join(f"{where}: unexpected property {k!r}" for k in extra) or error.message
    simple = {
        "minLength": "shorter than {} characters",
        "maxLength": "longer than {} characters",
        "pattern": "does not match pattern {!r}",
        "minItems": "fewer than {} items",
        "maxItems": "more than {} items",
        "minProperties": "fewer than {} properties",
        "maxProperties": "more than {} properties",
        "minimum": "must be >= {}",
        "maximum": "must be <= {}",
        "exclusiveMinimum": "must be > {}",
        "exclusiveMaximum": "must be < {}",
        "multipleOf": "must be a multiple of {}",
    }
    if keyword in simple:
        return f"{where}: {simple[keyword].format(expected)}"
    if keyword == "uniqueItems":
        return f"{where}: items must be unique"
    if keyword == "anyOf":
        return f"{where}: matches none of the allowed alternatives (anyOf)"
    if keyword == "oneOf":
        return f"{where}: must match exactly one alternative (oneOf)"
    if keyword == "not":
        return f"{where}: must not match the schema under 'not'"
    if keyword == "false" or error.schema is False:
        return f"{where}: no value is allowed here"
    return f"{where}: {error.message}"


def schema_errors(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """Check ``instance`` (parsed JSON) against ``schema``; return readable errors, [] if valid.

    Raises:
        InvalidSchemaError: ``schema`` itself is invalid (see :func:`check_schema`).
    """
    return validation_errors(_validator(schema), instance)


def validation_errors(validator: Any, instance: Any) -> list[str]:
    """Readable errors of ``instance`` under a validator from :func:`check_schema`."""
    errors: list[str] = []
    try:
        for error in validator.iter_errors(instance):
            errors.append(_message(error))
            if len(errors) >= _MAX_ERRORS:
                break
    except RecursionError:
        errors.append("$: too deeply nested to validate against the schema")
    return errors
