"""Tool calling, part of THE ChatModel contract: every row sends tools in its protocol's shape.

Cases: a single call, parallel calls, a forced (and a refused) choice, a tool
result round trip, arguments streamed in pieces, and a stream cut inside a
call's arguments (at the adapter and through StreamChat). Wire shapes are
asserted per ``row.tool_wire``; the local servers also refuse what their real
API refuses (an unanswered call, a result for a call never made...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from inference_core.application.calls import ModelCaller
from inference_core.application.chat import ChatText, StreamChat
from inference_core.domain.catalog import ModelCapabilities
from inference_core.domain.chat import ChatChunk, ChatRequest, FinishReason
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    InvalidRequestError,
    InvalidResponse,
    ProviderError,
    StreamInterrupted,
)
from inference_core.domain.messages import Message, ToolCall
from inference_core.domain.routing import Route
from inference_core.domain.tools import Tool, ToolCallAssembler, ToolChoice, ToolLoop
from inference_core.ports.chat import ChatModel
from inference_core.ports.routing import ResolvedModel
from tests.contract.harness import CONTRACT_MODEL, ChatHarness
from tests.servers import Fault

MODEL = CONTRACT_MODEL
MODES = ["complete", "stream"]


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: The city's name.
        unit: Temperature unit.
    """
    return f"18 degrees {unit} in {city}"


class LocalTime(BaseModel):
    """Local time in a time zone."""

    zone: str = Field(description="IANA zone, e.g. Europe/Paris")


WEATHER = Tool.from_function(get_weather)
TIME = Tool.from_model(LocalTime, name="local_time")
TOOLS = (WEATHER, TIME)
PARIS = {"id": "call_paris", "name": "get_weather", "arguments": {"city": "Paris"}}
TOKYO = {"id": "call_tokyo", "name": "local_time", "arguments": {"zone": "Asia/Tokyo"}}
LONG_ARGUMENTS = {"city": "Saint-Remy-de-Provence", "unit": "fahrenheit"}


def chat(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=messages or (Message.user("What is the weather in Paris?"),),
        tools=fields.pop("tools", TOOLS),
        **fields,
    )


async def answer(
    model: ChatModel, request: ChatRequest, mode: str
) -> tuple[str, tuple[ToolCall, ...], FinishReason, list[ChatChunk]]:
    """(text, tool calls, finish reason, chunks) of one call, whole or streamed."""
    if mode == "complete":
        response = await model.complete(request)
        return response.text, response.tool_calls, response.finish_reason, []
    chunks = [chunk async for chunk in model.stream(request)]
    final = chunks[-1]
    assert final.is_final and final.finish_reason is not None
    assert not any(c.tool_calls for c in chunks[:-1]), "complete calls come on the final chunk"
    pieces = ToolCallAssembler()
    for chunk in chunks:
        pieces.extend(chunk.tool_call_deltas)
    assert pieces.complete() == final.tool_calls, "the pieces reassemble into the final calls"
    return "".join(c.text for c in chunks), final.tool_calls, final.finish_reason, chunks


def arguments_of(calls: tuple[ToolCall, ...]) -> list[tuple[str, Any]]:
    return [(c.name, json.loads(c.arguments)) for c in calls]


# --- what went on the wire -------------------------------------------------------------------


def sent_tools(row: ChatHarness, body: Mapping[str, Any]) -> list[str]:
    """Names of the tools the request carried, asserting each protocol's shape on the way."""
    wire = row.tool_wire
    if wire == "openai":
        assert body["tools"] == [t.to_openai() for t in TOOLS]
        return [t["function"]["name"] for t in body["tools"]]
    if wire == "anthropic":
        expected = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in TOOLS
        ]
        # LiteLLM adds "type": "custom" (the API's default tool type, the same tool).
        assert [
            {k: v for k, v in t.items() if (k, v) != ("type", "custom")} for t in body["tools"]
        ] == expected
        return [t["name"] for t in body["tools"]]
    if wire == "ollama":
        expected = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "parameters": t.parameters,
                    "description": t.description,
                },
            }
            for t in TOOLS
        ]
        assert body["tools"] == expected
        return [t["function"]["name"] for t in body["tools"]]
    if wire == "grammar":
        schema = body["response_format"]["schema"]
        assert body["response_format"]["type"] == "json_object"
        instruction = next(m["content"] for m in body["messages"] if "tool_calls" in m["content"])
        names = _grammar_names(schema)
        assert all(name in instruction for name in names)
        return names
    return [t["name"] for t in body["tools"]]


def _grammar_calls(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``tool_calls`` array schema inside the envelope."""
    with_calls = schema["anyOf"][0] if "anyOf" in schema else schema
    return with_calls["properties"]["tool_calls"]


def _grammar_names(schema: Mapping[str, Any]) -> list[str]:
    items = _grammar_calls(schema)["items"]
    alternatives = items.get("anyOf", [items])
    return [a["properties"]["name"]["const"] for a in alternatives]


def sent_choice(row: ChatHarness, body: Mapping[str, Any]) -> Any:
    """The tool_choice as sent (``None`` when the request sent none)."""
    if row.tool_wire == "grammar":
        format_ = body.get("response_format")
        if format_ is None:
            return "none"
        schema = format_["schema"]
        names = _grammar_names(schema)
        if "anyOf" in schema:
            return "auto"
        return names[0] if names != [t.name for t in TOOLS] else "required"
    return body.get("tool_choice")


# --- a single call, parallel calls -----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_single_tool_call(row: ChatHarness, mode: str) -> None:
    model = row.build()
    row.reply_tools([PARIS])
    text, calls, finish, _ = await answer(model, chat(), mode)
    assert arguments_of(calls) == [("get_weather", {"city": "Paris"})]
    assert calls[0].id, "every call has an id to link its result to"
    assert finish is FinishReason.TOOL_CALLS
    assert text == ""
    assert sent_tools(row, row.last_request()) == ["get_weather", "local_time"]
    assert row.request_count() == 1


@pytest.mark.parametrize("mode", MODES)
async def test_parallel_tool_calls_come_back_in_order(row: ChatHarness, mode: str) -> None:
    model = row.build()
    row.reply_tools([PARIS, TOKYO])
    _, calls, finish, _ = await answer(model, chat(parallel_tool_calls=True), mode)
    assert arguments_of(calls) == [
        ("get_weather", {"city": "Paris"}),
        ("local_time", {"zone": "Asia/Tokyo"}),
    ]
    assert len({c.id for c in calls}) == 2
    assert finish is FinishReason.TOOL_CALLS
    body = row.last_request()
    if row.tool_wire == "openai":
        assert body["parallel_tool_calls"] is True
    elif row.tool_wire == "anthropic":
        assert not (body.get("tool_choice") or {}).get("disable_parallel_tool_use")
    elif row.tool_wire == "grammar":
        assert "maxItems" not in _grammar_calls(body["response_format"]["schema"])


async def test_parallel_calls_can_be_switched_off_where_declared(row: ChatHarness) -> None:
    if not row.capabilities().parallel_tool_calls:
        pytest.skip(f"{row.name} declares no parallel_tool_calls switch (refused before sending)")
    model = row.build()
    row.reply_tools([PARIS])
    await model.complete(chat(parallel_tool_calls=False))
    body = row.last_request()
    if row.tool_wire == "openai":
        assert body["parallel_tool_calls"] is False
    elif row.tool_wire == "anthropic":
        assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    elif row.tool_wire == "grammar":
        assert _grammar_calls(body["response_format"]["schema"])["maxItems"] == 1
    else:
        assert body["parallel_tool_calls"] is False


# --- tool_choice ---------------------------------------------------------------------------


_FORCED_WIRE: dict[str, dict[str, Any]] = {
    "openai": {
        "get_weather": {"type": "function", "function": {"name": "get_weather"}},
        "required": "required",
        "none": "none",
        "auto": "auto",
    },
    "anthropic": {
        "get_weather": {"type": "tool", "name": "get_weather"},
        "required": {"type": "any"},
        "none": {"type": "none"},
        "auto": {"type": "auto"},
    },
    "grammar": {
        "get_weather": "get_weather",
        "required": "required",
        "none": "none",
        "auto": "auto",
    },
}


@pytest.mark.parametrize("choice", ["get_weather", "required"])
@pytest.mark.parametrize("mode", MODES)
async def test_a_forced_tool_choice(row: ChatHarness, choice: str, mode: str) -> None:
    if not row.capabilities().forced_tool_choice:
        pytest.skip(f"{row.name} cannot force a tool (a forced request is refused before sending)")
    model = row.build()
    row.reply_tools([PARIS])
    _, calls, _, _ = await answer(model, chat(tool_choice=ToolChoice.parse(choice)), mode)
    assert [c.name for c in calls] == ["get_weather"]
    body = row.last_request()
    if row.tool_wire in _FORCED_WIRE:
        assert sent_choice(row, body) == _FORCED_WIRE[row.tool_wire][choice]
    elif row.tool_wire == "domain":
        assert body["tool_choice"]["mode"] == ("tool" if choice == "get_weather" else choice)


@pytest.mark.parametrize("choice", ["none", "auto"])
async def test_tool_choice_none_and_auto(row: ChatHarness, choice: str) -> None:
    model = row.build()
    if choice == "none":
        row.reply("No tool needed.")  # no tool is offered: a plain answer
    else:
        row.reply_tools([], text="No tool needed.")
    response = await model.complete(chat(tool_choice=ToolChoice.parse(choice)))
    assert response.text == "No tool needed." and response.tool_calls == ()
    assert response.finish_reason is FinishReason.STOP
    body = row.last_request()
    if row.tool_wire == "ollama":
        # Ollama has no tool_choice: "none" sends no tools, "auto" is its only behaviour.
        assert ("tools" in body) is (choice == "auto")
        assert "tool_choice" not in body
    elif row.tool_wire in _FORCED_WIRE:
        assert sent_choice(row, body) == _FORCED_WIRE[row.tool_wire][choice]


# --- results go back, linked by id ---------------------------------------------------------


def _history() -> tuple[Message, ...]:
    call = ToolCall(id="call_paris", name="get_weather", arguments='{"city": "Paris"}')
    return (
        Message.system("Use the tools."),
        Message.user("What is the weather in Paris?"),
        Message.assistant("", tool_calls=(call,)),
        Message.tool_result("call_paris", "18 degrees celsius in Paris", name="get_weather"),
    )


@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_result_round_trip(row: ChatHarness, mode: str) -> None:
    model = row.build()
    row.reply_tools([], text="It is 18 degrees in Paris.")
    text, calls, finish, _ = await answer(model, chat(*_history()), mode)
    assert (text, calls, finish) == ("It is 18 degrees in Paris.", (), FinishReason.STOP)
    body = row.last_request()
    wire = row.tool_wire
    if wire == "openai":
        assistant, result = body["messages"][-2:]
        assert assistant["tool_calls"] == [
            {
                "id": "call_paris",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ]
        assert result == {
            "role": "tool",
            "tool_call_id": "call_paris",
            "content": "18 degrees celsius in Paris",
        }
    elif wire == "anthropic":
        assistant, result = body["messages"][-2:]
        assert assistant["content"] == [
            {
                "type": "tool_use",
                "id": "call_paris",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        ]
        assert result["role"] == "user"
        assert result["content"][0] == {
            "type": "tool_result",
            "tool_use_id": "call_paris",
            "content": "18 degrees celsius in Paris",
        }
    elif wire == "ollama":
        assistant, result = body["messages"][-2:]
        assert assistant["tool_calls"] == [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
        ]
        assert result == {
            "role": "tool",
            "content": "18 degrees celsius in Paris",
            "tool_name": "get_weather",
        }
    elif wire == "grammar":
        assistant, result = body["messages"][-2:]
        assert json.loads(assistant["content"]) == {
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]
        }
        assert result["role"] == "user"
        assert result["content"] == (
            "Result of tool get_weather (call call_paris):\n18 degrees celsius in Paris"
        )
    else:
        assistant, result = body["messages"][-2:]
        assert assistant["tool_calls"][0]["id"] == result["tool_call_id"] == "call_paris"


async def test_a_call_left_unanswered_is_refused_by_the_provider(row: ChatHarness) -> None:
    if row.tool_wire not in ("openai", "anthropic"):
        pytest.skip(f"{row.name}: its API does not link results to calls by id")
    model = row.build()
    # The call's result never came: the API refuses the conversation (the server checks it).
    unanswered = (*_history()[:3], Message.user("and now?"))
    with pytest.raises(InvalidRequestError) as excinfo:
        await model.complete(chat(*unanswered))
    assert excinfo.value.status == 400
    assert "tool" in str(excinfo.value)


# --- streaming ----------------------------------------------------------------------------


async def test_streamed_arguments_arrive_in_pieces_where_declared(row: ChatHarness) -> None:
    model = row.build()
    row.reply_tools([{**PARIS, "arguments": LONG_ARGUMENTS}])
    _, calls, finish, chunks = await answer(model, chat(), "stream")
    assert arguments_of(calls) == [("get_weather", LONG_ARGUMENTS)]
    assert finish is FinishReason.TOOL_CALLS
    pieces = [d for c in chunks for d in c.tool_call_deltas]
    with_arguments = [d for d in pieces if d.arguments]
    if row.capabilities().tool_call_streaming:
        assert len(with_arguments) > 1, "declared: arguments stream in several pieces"
    else:
        assert len(with_arguments) == 1, "undeclared: each call arrives whole"
    assert "".join(d.arguments for d in pieces) == calls[0].arguments


def _cut_after(row: ChatHarness) -> int:
    # Inside the arguments: past the call's first piece where they stream in pieces; right
    # after the whole call where they do not (the cut then falls before the terminator).
    return 3 if row.capabilities().tool_call_streaming else 1


class _OneModel:
    """A router serving every id with the row's adapter (the model declares tools)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def resolve(self, model: str | None) -> ResolvedModel:
        route = Route(
            requested=model or MODEL,
            model=MODEL,
            api_model=MODEL,
            provider="contract",
            client="contract",
            key_env=None,
            base_url_env="CONTRACT_BASE_URL",
            rule="contract row",
        )
        return ResolvedModel(route, self.model, ModelCapabilities(tools=True))

    def fallbacks(self, model: str) -> tuple[str, ...]:
        return ()


async def test_a_stream_cut_inside_the_arguments(row: ChatHarness) -> None:
    model = row.build()
    full = {**PARIS, "arguments": LONG_ARGUMENTS}
    row.reply_tools([full])
    row.fault(Fault(cut_after_chunks=_cut_after(row)))
    received = ToolCallAssembler()
    with pytest.raises(ProviderError) as excinfo:
        async for chunk in model.stream(chat()):
            received.extend(chunk.tool_call_deltas)
    assert isinstance(excinfo.value, InvalidResponse)
    assert excinfo.value.retryable is True, "nothing was lost that a new attempt would repeat"
    whole = json.dumps(LONG_ARGUMENTS)
    partial = received.partial()
    if row.capabilities().tool_call_streaming:
        (cut,) = partial
        assert cut.name == "get_weather" and whole.startswith(cut.arguments)
        assert cut.arguments != whole, "the cut fell inside the arguments"

    # Through the use-case: what was delivered is reported, and never retried.
    row.reply_tools([full])
    row.fault(Fault(cut_after_chunks=_cut_after(row)))
    stream_chat = StreamChat(ModelCaller(_OneModel(model), retry=RetryPolicy(max_attempts=1)))
    delivered = ToolCallAssembler()
    with pytest.raises(InvalidResponse) as through:
        async for chunk in stream_chat(user="Weather in Paris?", tools=TOOLS):
            delivered.extend(chunk.tool_call_deltas)
    error = through.value
    if partial:
        assert isinstance(error, StreamInterrupted)
        assert error.partial_tool_calls == delivered.partial()
        assert [(c.name, c.arguments) for c in error.partial_tool_calls] == [
            (c.name, c.arguments) for c in partial
        ]
        assert error.partial_text == ""
    else:
        # An adapter that holds calls back until they are whole delivered nothing.
        assert not isinstance(error, StreamInterrupted)
        assert error.retryable is True


async def test_a_tool_loop_over_the_wire(row: ChatHarness) -> None:
    # The use-case runs the tool and sends its result back: every protocol's server
    # accepts the second request (results linked to their calls), and usage adds up.
    model = row.build()
    row.reply_tools([PARIS])
    row.reply_tools([], text="It is 18 degrees in Paris.")
    chat_text = ChatText(ModelCaller(_OneModel(model), retry=RetryPolicy(max_attempts=1)))
    runnable_time = Tool.from_model(
        LocalTime, name="local_time", function=lambda args: f"noon in {args.zone}"
    )
    result = await chat_text(
        user="What is the weather in Paris?",
        tools=(WEATHER, runnable_time),
        tool_loop=ToolLoop(max_rounds=2),
    )
    assert result.text == "It is 18 degrees in Paris."
    assert result.tool_rounds == 1 and result.attempts == 2 == row.request_count()
    (tool_result,) = [m for m in result.transcript if m.role == "tool"]
    assert tool_result.text == "18 degrees celsius in Paris"
    assert result.usage.output_tokens is not None and result.usage.output_tokens >= 2
