"""The llama.cpp tool envelope: its schema (refs hoisted), the grammar it compiles to, parsing."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import BaseModel

from inference_core.adapters.llama_cpp.tools import (
    envelope_schema,
    envelope_text,
    parse_envelope,
    tool_instruction,
    with_tool_instruction,
)
from inference_core.domain.chat import ChatRequest
from inference_core.domain.messages import Message, ToolCall
from inference_core.domain.tools import Tool, ToolChoice


class Address(BaseModel):
    street: str
    city: str


class Ship(BaseModel):
    """Ship a parcel."""

    to: Address
    back: Address | None = None


class Item(BaseModel):
    sku: str


class Order(BaseModel):
    """Order items (its own Address-free $defs)."""

    items: list[Item]


def request(**fields: object) -> ChatRequest:
    tools = (Tool.from_model(Ship), Tool.from_model(Order))
    fields.setdefault("messages", (Message.user("go"),))
    return ChatRequest(model="m", tools=tools, **fields)  # type: ignore[arg-type]


def test_nested_definitions_are_hoisted_and_every_ref_resolves() -> None:
    schema = envelope_schema(request())
    assert set(schema["$defs"]) == {"t0_Address", "t1_Item"}
    refs = [part for part in json.dumps(schema).split('"') if part.startswith("#/")]
    assert refs and all(r.removeprefix("#/$defs/") in schema["$defs"] for r in refs)
    valid = {
        "tool_calls": [
            {"name": "Ship", "arguments": {"to": {"street": "1 Main St", "city": "Paris"}}},
            {"name": "Order", "arguments": {"items": [{"sku": "A1"}]}},
        ]
    }
    jsonschema.validate(valid, schema)
    jsonschema.validate({"answer": "no tool needed"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool_calls": [{"name": "Ship", "arguments": {"to": {}}}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool_calls": [{"name": "Nope", "arguments": {}}]}, schema)


def test_forcing_and_parallel_switch_shape_the_envelope() -> None:
    forced = envelope_schema(request(tool_choice=ToolChoice.tool("Order")))
    assert "anyOf" not in forced and "answer" not in json.dumps(forced)
    item = forced["properties"]["tool_calls"]["items"]
    assert item["properties"]["name"] == {"const": "Order"}
    required = envelope_schema(request(tool_choice=ToolChoice(mode="required")))
    assert len(required["properties"]["tool_calls"]["items"]["anyOf"]) == 2
    single = envelope_schema(request(parallel_tool_calls=False))
    assert single["anyOf"][0]["properties"]["tool_calls"]["maxItems"] == 1


def test_the_envelope_compiles_to_a_llama_cpp_grammar() -> None:
    gbnf = pytest.importorskip("llama_cpp.llama_grammar")
    grammar = gbnf.json_schema_to_gbnf(json.dumps(envelope_schema(request())))
    assert "tool-calls" in grammar and "answer" in grammar


def test_the_instruction_names_the_tools_and_sits_after_the_system_prompt() -> None:
    req = request(messages=(Message.system("Be brief."), Message.user("go")))
    text = tool_instruction(req)
    assert "- Ship: Ship a parcel." in text and "- Order:" in text
    assert '{"answer": "<your reply>"}' in text
    messages = with_tool_instruction(req)
    assert [m.role for m in messages] == ["system", "system", "user"]
    assert messages[1].text == text
    assert "answer" not in tool_instruction(request(tool_choice=ToolChoice(mode="required")))


def test_answers_parse_back_into_text_or_calls() -> None:
    text, calls = parse_envelope('{"tool_calls": [{"name": "Order", "arguments": {"items": []}}]}')
    assert text == "" and [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("Order", {"items": []})
    ]
    assert calls[0].id.startswith("call_")
    assert parse_envelope('{"answer": "hi"}') == ("hi", ())
    for broken in ('{"tool_calls": [{"name": "Or', '{"other": 1}', '{"tool_calls": [{}]}'):
        with pytest.raises(ValueError):
            parse_envelope(broken)
    past = ToolCall(id="c", name="Order", arguments='{"items": []}')
    assert json.loads(envelope_text((past,))) == {
        "tool_calls": [{"name": "Order", "arguments": {"items": []}}]
    }
