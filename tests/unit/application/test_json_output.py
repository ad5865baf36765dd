"""Pure JSON-output pieces: parsing with a caret, fences, strict schemas, the schema checker."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from inference_core.application.json_output import (
    OutputSchema,
    ParseFailure,
    parse_json,
    strict_schema,
    strip_fence,
)
from inference_core.application.json_schema import schema_errors


def test_parse_error_names_line_and_column_with_a_caret_under_the_problem() -> None:
    text = '{\n  "title": "Dune",\n  "year": ,\n  "ok": true\n}'

    with pytest.raises(ParseFailure) as caught:
        parse_json(text)

    message = str(caught.value)
    head, line, caret = message.splitlines()
    assert head == "invalid JSON: Expecting value at line 3, column 11"
    assert line == '  "year": ,'
    assert caret == "          ^"
    assert line[caret.index("^")] == ","


def test_extra_text_after_the_object_is_rejected_at_its_position() -> None:
    with pytest.raises(ParseFailure) as caught:
        parse_json('{"a": 1} and more')

    head, line, caret = str(caught.value).splitlines()
    assert head == "extra text after the JSON value at line 1, column 10"
    assert line[caret.index("^") :] == "and more"


def test_a_long_line_is_shown_as_a_window_around_the_error() -> None:
    text = '{"k": "' + "x" * 300 + '" oops}'

    with pytest.raises(ParseFailure) as caught:
        parse_json(text)

    _, line, caret = str(caught.value).splitlines()
    assert len(line) < 100 and line.startswith("...")
    assert line[caret.index("^")] == "o"


@pytest.mark.parametrize("text", ["", "   \n "])
def test_empty_output_is_a_parse_failure(text: str) -> None:
    with pytest.raises(ParseFailure, match="empty output"):
        parse_json(text)


def test_surrounding_whitespace_is_fine() -> None:
    assert parse_json('\n  {"a": [1, 2]}  \n') == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('  ```\n{"a": 1}\n```\n', '{"a": 1}'),
        ('```JSON\r\n{"a": 1}\r\n```', '{"a": 1}'),
        ('{"a": 1}', None),
        ('Here you go:\n```json\n{"a": 1}\n```', None),
        ('```json\n{"a": 1}\n``` and a remark', None),
    ],
)
def test_only_one_fence_around_the_whole_text_is_recognised(text: str, body: str | None) -> None:
    assert strip_fence(text) == body


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Person(BaseModel):
    name: str
    age: int = 0
    address: Address
    tags: list[str] = []


def test_pydantic_schema_is_made_strict_everywhere() -> None:
    strict, reason = strict_schema(Person.model_json_schema())

    assert reason is None and strict is not None
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["name", "age", "address", "tags"]
    address = strict["$defs"]["Address"]
    assert address["additionalProperties"] is False
    assert address["required"] == ["city", "zip_code"]
    assert "default" not in address["properties"]["zip_code"]  # None default dropped


def test_strict_conversion_does_not_touch_the_input() -> None:
    schema = Person.model_json_schema()
    before = repr(schema)
    strict_schema(schema)
    assert repr(schema) == before


class Scores(BaseModel):
    by_name: dict[str, int]


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (Scores.model_json_schema(), "free-form object"),
        ({"type": "array", "items": {"type": "string"}}, "root of a strict schema"),
        (
            {"type": "object", "properties": {"a": {"type": "object", "patternProperties": {}}}},
            "patternProperties",
        ),
    ],
)
def test_schemas_that_cannot_be_closed_fall_back_to_non_strict(
    schema: dict[str, object], reason: str
) -> None:
    strict, why = strict_schema(schema)
    assert strict is None
    assert why is not None and reason in why


def test_ref_with_siblings_is_inlined_for_strict_mode() -> None:
    class Outer(BaseModel):
        home: Address = Address(city="x")

    schema = Outer.model_json_schema()
    schema["properties"]["home"] = {"$ref": "#/$defs/Address", "description": "where"}

    strict, _ = strict_schema(schema)

    assert strict is not None
    home = strict["properties"]["home"]
    assert "$ref" not in home and home["description"] == "where"
    assert home["additionalProperties"] is False


SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 2},
        "year": {"type": "integer", "minimum": 1900},
        "genre": {"enum": ["drama", "comedy"]},
        "cast": {"type": "array", "items": {"$ref": "#/$defs/actor"}, "maxItems": 2},
        "rating": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["title", "year"],
    "additionalProperties": False,
    "$defs": {
        "actor": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        }
    },
}


def test_schema_checker_accepts_a_valid_value() -> None:
    value = {
        "title": "Up",
        "year": 2009,
        "genre": "comedy",
        "cast": [{"name": "Ed"}],
        "rating": None,
    }
    assert schema_errors(value, SCHEMA) == []


def test_schema_checker_reports_every_problem_with_its_path() -> None:
    value = {
        "title": "U",
        "year": True,
        "genre": "horror",
        "cast": [{"name": 3}, {}, {"name": "c"}],
        "rating": "high",
        "extra": 1,
    }

    errors = schema_errors(value, SCHEMA)

    # Every problem, once each (in the schema's keyword order, which is jsonschema's).
    assert sorted(errors) == sorted(
        [
            "$.title: shorter than 2 characters",
            "$.year: expected integer, got boolean",
            '$.genre: "horror" is not one of "drama", "comedy"',
            "$.cast: more than 2 items",
            "$.cast[0].name: expected string, got integer",
            "$.cast[1]: missing required property 'name'",
            "$.rating: matches none of the allowed alternatives (anyOf)",
            "$: unexpected property 'extra'",
        ]
    )


def test_no_schema_means_any_json_object_as_a_dict() -> None:
    output = OutputSchema.of(None)
    assert output.validate({"a": 1}) == ({"a": 1}, [])
    assert output.validate([1])[1] == ["$: expected a JSON object, got list"]


def test_pydantic_errors_are_readable_paths() -> None:
    value, errors = OutputSchema.of(Person).validate({"name": 5, "address": {}})
    assert value is None
    assert errors == [
        "$.name: Input should be a valid string",
        "$.address.city: Field required",
    ]
