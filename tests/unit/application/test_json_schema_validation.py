"""Output schemas: invalid or hostile ones are refused before any request; keywords honoured."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.adapters.fakes import FakeChatModel
from inference_core.application.json_schema import check_schema, schema_errors
from inference_core.domain.errors import InvalidSchemaError
from tests.unit.application.support import Wired


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"a": node}}
    return node


HOSTILE: list[Any] = [
    {"type": 5},
    {"type": "object", "properties": []},
    {"pattern": "(unclosed"},
    {"patternProperties": {"[": {}}},
    {"$ref": "#/$defs/missing"},
    {"$ref": "https://example.invalid/schema.json"},
    {"type": "object", "properties": {"a": {"$ref": "#/definitions/nope"}}},
    {"minLength": -1},
    {"required": "name"},
    {"enum": "not-a-list"},
    _deep(200),
    "not a schema",
    ["a", "list"],
    {"const": float("nan")},
    {"$schema": {"not": "a uri"}},
    {"$schema": 5},
]


@pytest.mark.parametrize("schema", HOSTILE, ids=lambda s: repr(s)[:40])
async def test_an_invalid_schema_is_refused_before_any_request(schema: Any) -> None:
    fake = FakeChatModel('{"a": 1}')
    wired = Wired(fakes={"p1": fake})
    with pytest.raises(InvalidSchemaError):
        await wired.inference.chat_json(user="hi", schema=schema)
    assert fake.calls == []


def test_the_error_names_the_schema_path() -> None:
    with pytest.raises(InvalidSchemaError, match=r"at \$\.properties\.a\.type"):
        check_schema({"type": "object", "properties": {"a": {"type": "strin"}}})


def test_a_recursive_schema_is_valid_and_validates() -> None:
    tree = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    }
    check_schema(tree)
    assert schema_errors({"kids": [{"kids": []}]}, tree) == []
    assert schema_errors({"kids": [{"x": 1}]}, tree) == ["$.kids[0]: unexpected property 'x'"]


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"enum": [1]}, True, False),
        ({"enum": [1]}, 1, True),
        ({"type": "array", "uniqueItems": True}, [1, 1.0], False),
        (
            {
                "type": "object",
                "patternProperties": {"^x-": {"type": "string"}},
                "additionalProperties": False,
            },
            {"x-a": "ok"},
            True,
        ),
        (
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "array",
                "items": [{"type": "integer"}, {"type": "string"}],
            },
            [1, "a"],
            True,
        ),
        (
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "array",
                "items": [{"type": "integer"}, {"type": "string"}],
            },
            ["a", 1],
            False,
        ),
        ({"type": "object", "minProperties": 2}, {"a": 1}, False),
        ({"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}, {"A": 1}, False),
        ({"type": "array", "contains": {"type": "string"}}, [1, 2], False),
        ({"if": {"type": "integer"}, "then": {"minimum": 5}}, 3, False),
        ({"type": "object", "dependentRequired": {"a": ["b"]}}, {"a": 1}, False),
    ],
)
def test_json_schema_keywords_are_honoured(schema: Any, value: Any, valid: bool) -> None:
    assert (schema_errors(value, schema) == []) is valid


def test_a_deeply_nested_value_is_an_error_not_a_crash() -> None:
    value: Any = []
    for _ in range(50_000):
        value = [value]
    errors = schema_errors(value, {"type": "array", "items": {"$ref": "#"}})
    assert errors and errors[-1].startswith("$")
