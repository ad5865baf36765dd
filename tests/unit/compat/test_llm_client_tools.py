"""The seed's LLMClient with tools: OpenAI-shaped tools in, OpenAI-shaped tool_calls out."""

from __future__ import annotations

import json

import pytest

from inference_core import LLMClient
from inference_core.adapters.fakes import FakeChatModel, tool_call_response
from inference_core.domain.errors import InvalidInputError, ToolArgumentsError
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import ToolChoice
from tests.unit.application.support import Wired, config, spec

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
PARIS = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')


def _client(fake: FakeChatModel) -> LLMClient:
    models = [spec("tooled", "p1", tools=True)]
    wired = Wired(fakes={"p1": fake}, cfg=config(models=models))
    return LLMClient(default_model="tooled", inference=wired.inference)


def test_call_sends_openai_tools_and_returns_openai_tool_calls() -> None:
    fake = FakeChatModel(tool_call_response(PARIS))
    with _client(fake) as client:
        response = client.call(
            [{"role": "user", "content": "Weather in Paris?"}],
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
    choice = response["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    (request,) = fake.calls
    assert request.tools[0].to_openai() == WEATHER_TOOL
    assert request.tool_choice == ToolChoice.tool("get_weather")


def test_the_seed_loop_sends_results_back_as_openai_messages() -> None:
    fake = FakeChatModel(tool_call_response(PARIS), "It is 18 degrees in Paris.")
    with _client(fake) as client:
        messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
        first = client.call(messages, tools=[WEATHER_TOOL])
        said = first["choices"][0]["message"]
        messages.append(said)
        for tool_call in said["tool_calls"]:
            arguments = json.loads(tool_call["function"]["arguments"])
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": tool_call["id"],
                    "content": f"18C in {arguments['city']}",
                }
            )
        second = client.call(messages, tools=[WEATHER_TOOL])
    assert second["choices"][0]["message"] == {
        "role": "assistant",
        "content": "It is 18 degrees in Paris.",
    }
    assert second["choices"][0]["finish_reason"] == "stop"
    sent = fake.calls[1].messages
    assert sent[1].tool_calls == (PARIS,)
    assert (sent[2].role, sent[2].tool_call_id, sent[2].text) == ("tool", "call_1", "18C in Paris")


def test_stream_call_yields_openai_tool_call_deltas() -> None:
    fake = FakeChatModel(tool_call_response(PARIS))
    with _client(fake) as client:
        chunks = list(client.stream_call([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL]))
    pieces = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    assert pieces[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": pieces[0]["function"]["arguments"]},
    }
    assert all(set(p) == {"index", "function"} for p in pieces[1:])
    assert "".join(p["function"]["arguments"] for p in pieces) == PARIS.arguments
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_invalid_arguments_and_json_with_tools_are_refused() -> None:
    bad = ToolCall(id="call_1", name="get_weather", arguments='{"town": "Paris"}')
    with _client(FakeChatModel(tool_call_response(bad))) as client:
        with pytest.raises(ToolArgumentsError, match="city"):
            client.call([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL])
        with pytest.raises(InvalidInputError, match="ChatJSON does not take tools"):
            client.call(
                [{"role": "user", "content": "x"}],
                tools=[WEATHER_TOOL],
                response_format={"type": "json_object"},
            )
        with pytest.raises(InvalidInputError, match="unsupported argument"):
            client.call([{"role": "user", "content": "x"}], functions=[WEATHER_TOOL])
