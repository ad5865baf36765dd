"""Tool definitions, tool_choice, streamed call pieces: the pure domain side of tool calling."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from inference_core.domain.chat import ChatRequest
from inference_core.domain.errors import InvalidToolError
from inference_core.domain.messages import Message, ToolCall
from inference_core.domain.tools import (
    FunctionArguments,
    Tool,
    ToolCallAssembler,
    ToolCallDelta,
    ToolChoice,
    ToolLoop,
    coerce_tools,
    split_arguments,
    tool_result_text,
)


def search(query: str, limit: int = 5, *, exact: bool = False) -> list[str]:
    """Search the archive.

    Longer prose about the search.

    Args:
        query: What to look for,
            in plain words.
        limit: How many hits at most.
        exact: Match the words exactly.

    Returns:
        The hits.
    """
    return [query] * limit


class Forecast(BaseModel):
    """Weather forecast for a city."""

    city: str
    days: Annotated[int, Field(ge=1, le=7)] = 3
    title: str = "a property that is named title"


def test_a_function_becomes_a_tool_with_its_docstring_and_typed_parameters() -> None:
    tool = Tool.from_function(search)
    assert tool.name == "search"
    assert tool.description == "Search the archive.\n\nLonger prose about the search."
    props = tool.parameters["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for, in plain words."}
    assert props["limit"] == {
        "type": "integer",
        "default": 5,
        "description": "How many hits at most.",
    }
    assert props["exact"]["type"] == "boolean"
    assert tool.parameters["required"] == ["query"]
    assert tool.parameters["additionalProperties"] is False
    assert "title" not in json.dumps(tool.parameters)  # pydantic's titles are dropped
    assert tool.function is search and tool.arguments_model is not None
    value = tool.arguments_model.model_validate({"query": "cats"})
    assert isinstance(value, FunctionArguments)
    assert tool.call_arguments(value) == ((), {"query": "cats", "limit": 5, "exact": False})


def test_a_pydantic_model_becomes_a_tool_and_its_title_property_survives() -> None:
    tool = Tool.from_model(Forecast)
    assert (tool.name, tool.description) == ("Forecast", "Weather forecast for a city.")
    assert set(tool.parameters["properties"]) == {"city", "days", "title"}
    assert tool.parameters["properties"]["days"]["maximum"] == 7
    assert "description" not in tool.parameters  # it is the tool's description
    instance = Forecast(city="Paris")
    assert tool.call_arguments(instance) == ((instance,), {})
    assert Tool.from_model(Forecast, name="forecast", description="x").name == "forecast"


def test_an_openai_tool_dict_round_trips() -> None:
    raw = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look it up.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    tool = Tool.from_openai(raw)
    assert tool.to_openai() == raw
    assert tool.call_arguments({"q": "x"}) == ((), {"q": "x"})
    assert Tool.from_openai(raw["function"]) == tool  # the bare inner object too


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Tool(name="has space"), "must match"),
        (lambda: Tool(name="x" * 65), "must match"),
        (lambda: Tool(name="ok", parameters={"type": "array"}), "type 'object'"),
    ],
)
def test_malformed_tools_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()  # type: ignore[operator]


def test_functions_that_cannot_be_called_by_name_are_refused() -> None:
    def varargs(*items: str) -> None: ...

    with pytest.raises(InvalidToolError, match="passable by name"):
        Tool.from_function(varargs)
    with pytest.raises(InvalidToolError, match="must match"):
        Tool.from_function(lambda x: x)  # "<lambda>" is no tool name
    assert Tool.from_function(lambda x: x, name="identity").parameters["required"] == ["x"]


def test_coerce_tools_takes_every_form_and_refuses_duplicates() -> None:
    tools = coerce_tools([search, Forecast, Tool(name="plain"), {"name": "raw"}])
    assert [t.name for t in tools] == ["search", "Forecast", "plain", "raw"]
    with pytest.raises(InvalidToolError, match="repeated: search"):
        coerce_tools([search, search])
    with pytest.raises(InvalidToolError, match=r"tools\[0\]"):
        coerce_tools([42])  # type: ignore[list-item]
    with pytest.raises(InvalidToolError, match="a list of tools"):
        coerce_tools(search)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "mode", "name"),
    [
        ("auto", "auto", None),
        ("none", "none", None),
        ("required", "required", None),
        ("search", "tool", "search"),
        ({"type": "function", "function": {"name": "search"}}, "tool", "search"),
        (ToolChoice.tool("search"), "tool", "search"),
    ],
)
def test_tool_choice_parses_every_spelling(given: object, mode: str, name: str | None) -> None:
    choice = ToolChoice.parse(given)  # type: ignore[arg-type]
    assert (choice.mode, choice.name) == (mode, name)
    assert choice.forced is (mode in ("required", "tool"))


def test_a_bad_tool_choice_is_refused() -> None:
    with pytest.raises(InvalidToolError, match="tool_choice must be"):
        ToolChoice.parse("not a name!")
    with pytest.raises(ValidationError):
        ToolChoice(mode="tool")


def test_a_request_checks_its_tool_choice_against_its_tools() -> None:
    tools = (Tool.from_function(search),)
    ChatRequest(model="m", messages=(Message.user("x"),), tools=tools, tool_choice=ToolChoice())
    with pytest.raises(ValidationError, match="not among the tools"):
        ChatRequest(
            model="m",
            messages=(Message.user("x"),),
            tools=tools,
            tool_choice=ToolChoice.tool("nope"),
        )
    with pytest.raises(ValidationError, match="needs tools"):
        ChatRequest(
            model="m", messages=(Message.user("x"),), tool_choice=ToolChoice(mode="required")
        )
    none = ChatRequest(
        model="m", messages=(Message.user("x"),), tools=tools, tool_choice=ToolChoice(mode="none")
    )
    assert not none.offers_tools


def test_the_assembler_rebuilds_interleaved_calls_and_reports_partial_ones() -> None:
    calls = ToolCallAssembler()
    calls.extend(
        [
            ToolCallDelta(index=1, id="b", name="g", arguments='{"y"'),
            ToolCallDelta(index=0, id="a", name="f"),
            ToolCallDelta(index=0, arguments='{"x": 1}'),
            ToolCallDelta(index=1, arguments=": 2"),
        ]
    )
    assert calls.partial() == (
        ToolCall(id="a", name="f", arguments='{"x": 1}'),
        ToolCall(id="b", name="g", arguments='{"y": 2'),
    )
    calls.add(ToolCallDelta(index=1, arguments="}"))
    assert [c.arguments for c in calls.complete()] == ['{"x": 1}', '{"y": 2}']
    nameless = ToolCallAssembler()
    nameless.add(ToolCallDelta(index=0, id="c"))
    with pytest.raises(ValueError, match="never got its name"):
        nameless.complete()
    empty = ToolCallAssembler()
    empty.add(ToolCallDelta(index=0, id="e", name="f"))
    assert empty.complete()[0].arguments == "{}"


@given(st.text(max_size=200), st.integers(min_value=1, max_value=9))
def test_split_arguments_reassembles_to_the_call(arguments: str, pieces: int) -> None:
    call = ToolCall(id="c", name="f", arguments=arguments)
    calls = ToolCallAssembler()
    calls.extend(split_arguments(call, 0, pieces))
    assert calls.partial() == (call,)


def test_tool_loop_bounds_and_result_text() -> None:
    assert ToolLoop().max_rounds == 4 and ToolLoop().on_error == "raise"
    with pytest.raises(ValidationError):
        ToolLoop(max_rounds=0)
    assert tool_result_text("plain") == "plain"
    assert tool_result_text({"a": [1, "é"]}) == '{"a": [1, "é"]}'
    assert tool_result_text(Forecast(city="Paris")) == Forecast(city="Paris").model_dump_json()


def test_tool_result_messages_link_by_id() -> None:
    message = Message.tool_result("call_1", "done", name="search")
    assert (message.role, message.tool_call_id, message.name) == ("tool", "call_1", "search")
    call = ToolCall(id="call_1", name="search", arguments="{}")
    assert Message.assistant("", tool_calls=(call,)).tool_calls == (call,)
    assert Message.assistant("hi").tool_calls is None


def test_literal_parameters_become_enums() -> None:
    def pick(colour: Literal["red", "blue"]) -> str:
        """Pick a colour."""
        return colour

    assert Tool.from_function(pick).parameters["properties"]["colour"]["enum"] == ["red", "blue"]
