"""Tool calling through the use-cases: support checks, arguments, the tool loop, streams."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from inference_core.adapters.fakes import FAKE_CAPABILITIES, FakeChatModel, tool_call_response
from inference_core.domain.chat import ChatChunk, FinishReason, Usage
from inference_core.domain.errors import (
    FeatureNotSupported,
    InvalidInputError,
    InvalidResponse,
    InvalidSchemaError,
    InvalidToolError,
    StreamInterrupted,
    ToolArgumentsError,
    ToolExecutionError,
    ToolLoopExceeded,
    ToolTimeout,
)
from inference_core.domain.messages import ToolCall
from inference_core.domain.tools import Tool, ToolCallDelta, ToolChoice, ToolLoop
from tests.unit.application.support import PRICED, Wired, config, spec

TOOLED = "tooled"  # provider p1, declares tools, $1 / $2 per million tokens
PLAIN_FORCE = "no-forcing"  # provider p1, tools but no forced choice, no parallel calls


def get_weather(city: str, unit: str = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: The city.
        unit: celsius or fahrenheit.
    """
    return f"18 {unit} in {city}"


async def local_time(zone: str) -> dict[str, str]:
    """Local time in a zone."""
    await asyncio.sleep(0)
    return {"zone": zone, "time": "12:00"}


class Lookup(BaseModel):
    """Look a word up."""

    word: str


def call(name: str, arguments: dict[str, Any] | str, call_id: str = "c1") -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(id=call_id, name=name, arguments=text)


def asks(*calls: ToolCall, tokens: int = 10) -> Any:
    return tool_call_response(*calls, usage=Usage(input_tokens=tokens, output_tokens=tokens))


def wired(*script: Any, model_caps: dict[str, Any] | None = None, **fake: Any) -> Wired:
    models = [
        spec(TOOLED, "p1", tools=True, price=(1.0, 2.0), **(model_caps or {})),
        spec(PLAIN_FORCE, "p1", tools=True, forced_tool_choice=False, parallel_tool_calls=False),
    ]
    return Wired(fakes={"p1": FakeChatModel(*script, **fake)}, cfg=config(models=models))


# --- sending tools, refusing what is not declared --------------------------------------------


async def test_a_tool_call_comes_back_validated_and_typed() -> None:
    w = wired(asks(call("get_weather", {"city": "Paris"})))
    result = await w.inference.chat_text(
        user="Weather in Paris?", model=TOOLED, tools=[get_weather, Lookup]
    )
    assert result.finish_reason is FinishReason.TOOL_CALLS
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    (arguments,) = result.tool_arguments
    assert (arguments.city, arguments.unit) == ("Paris", "celsius")
    assert result.message.tool_calls == result.tool_calls
    assert result.transcript[-1] == result.message
    (request,) = w.fake().calls
    assert [t.name for t in request.tools] == ["get_weather", "Lookup"]
    assert request.tool_choice is None and request.parallel_tool_calls is None


async def test_tool_choice_and_parallel_calls_reach_the_request() -> None:
    w = wired(asks(call("get_weather", {"city": "Paris"})))
    await w.inference.chat_text(
        user="x",
        model=TOOLED,
        tools=[get_weather],
        tool_choice="get_weather",
        parallel_tool_calls=False,
    )
    (request,) = w.fake().calls
    assert request.tool_choice == ToolChoice.tool("get_weather")
    assert request.parallel_tool_calls is False


async def test_a_model_declared_without_tools_is_refused_before_sending() -> None:
    w = wired()
    with pytest.raises(FeatureNotSupported, match="tools: true") as excinfo:
        await w.inference.chat_text(user="x", model=PRICED, tools=[get_weather])
    assert (excinfo.value.feature, excinfo.value.side) == ("tools", "model")
    assert w.fake().calls == []


@pytest.mark.parametrize(
    ("options", "feature"),
    [
        ({"tool_choice": "required"}, "a forced tool_choice (required)"),
        ({"tool_choice": "get_weather"}, "a forced tool_choice (get_weather)"),
        ({"parallel_tool_calls": True}, "parallel_tool_calls=True"),
    ],
)
async def test_what_the_model_does_not_declare_is_refused(
    options: dict[str, Any], feature: str
) -> None:
    w = wired()
    with pytest.raises(FeatureNotSupported) as excinfo:
        await w.inference.chat_text(user="x", model=PLAIN_FORCE, tools=[get_weather], **options)
    assert excinfo.value.feature == feature and excinfo.value.side == "model"
    assert w.fake().calls == []


async def test_what_the_adapter_cannot_send_is_refused() -> None:
    caps = FAKE_CAPABILITIES.model_copy(
        update={"forced_tool_choice": False, "parallel_tool_calls": False}
    )
    w = wired(capabilities=caps)
    for options in ({"tool_choice": "required"}, {"parallel_tool_calls": False}):
        with pytest.raises(FeatureNotSupported) as excinfo:
            await w.inference.chat_text(user="x", model=TOOLED, tools=[get_weather], **options)
        assert excinfo.value.side == "client path"
    no_tools = FAKE_CAPABILITIES.model_copy(update={"tools": False})
    w = wired(capabilities=no_tools)
    with pytest.raises(FeatureNotSupported, match="client path"):
        await w.inference.chat_text(user="x", model=TOOLED, tools=[get_weather])
    # tool_choice="none" wants no call: the tools are simply not sent.
    result = await w.inference.chat_text(
        user="x", model=TOOLED, tools=[get_weather], tool_choice="none"
    )
    assert result.text == "Echo: x"
    assert w.fake().calls[-1].tools == ()
    assert w.fake().calls[-1].tool_choice is None


async def test_malformed_tool_options_are_refused_up_front() -> None:
    w = wired()
    with pytest.raises(InvalidToolError, match="not among the tools"):
        await w.inference.chat_text(user="x", model=TOOLED, tools=[get_weather], tool_choice="f")
    with pytest.raises(InvalidToolError, match="need tools"):
        await w.inference.chat_text(user="x", model=TOOLED, tool_choice="required")
    with pytest.raises(InvalidSchemaError):
        bad = Tool(name="bad", parameters={"type": "object", "properties": {"a": {"type": 5}}})
        await w.inference.chat_text(user="x", model=TOOLED, tools=[bad])
    with pytest.raises(InvalidInputError, match="ChatJSON does not take tools"):
        await w.inference.chat_json(user="x", model=TOOLED, tools=[get_weather])
    with pytest.raises(InvalidInputError, match="StreamChat does not take tool_loop"):
        async for _ in w.inference.stream_chat(
            user="x", model=TOOLED, tools=[get_weather], tool_loop=True
        ):
            pass
    with pytest.raises(InvalidToolError, match="have no function: Lookup"):
        await w.inference.chat_text(user="x", model=TOOLED, tools=[Lookup], tool_loop=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tool'"):
        await w.inference.chat_text(user="x", model=TOOLED, tool=[get_weather])  # type: ignore[call-arg]
    assert w.fake().calls == []


# --- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ('{"city": ', "invalid JSON"),
        ({"city": 5}, "$.city: Input should be a valid string"),
        ({"town": "Paris"}, "$.city: Field required"),
    ],
)
async def test_invalid_arguments_are_a_typed_error_with_the_raw_text(
    arguments: Any, error: str
) -> None:
    bad = call("get_weather", arguments)
    w = wired(asks(bad))
    with pytest.raises(ToolArgumentsError) as excinfo:
        await w.inference.chat_text(user="x", model=TOOLED, tools=[get_weather])
    assert excinfo.value.raw_arguments == bad.arguments
    assert excinfo.value.tool_name == "get_weather"
    assert any(error in e for e in excinfo.value.errors)
    assert excinfo.value.usage is not None and excinfo.value.usage.input_tokens == 10


async def test_an_unknown_tool_or_schema_violation_is_fed_back_when_asked() -> None:
    schema_only = Tool(
        name="lookup",
        parameters={
            "type": "object",
            "properties": {"word": {"type": "string", "minLength": 2}},
            "required": ["word"],
        },
    )
    w = wired(
        asks(call("nope", {}), call("lookup", {"word": "x"}, "c2")),
        asks(call("lookup", {"word": "cat"}, "c3")),
    )
    with capture_logs() as logs:
        result = await w.inference.chat_text(
            user="x", model=TOOLED, tools=[schema_only], tool_repairs=1
        )
    assert result.tool_arguments == ({"word": "cat"},)  # schema-only tools give parsed JSON
    assert result.usage.input_tokens == 20, "usage sums both answers"
    first, second = w.fake().calls
    said, *results = second.messages[len(first.messages) :]
    assert said.tool_calls == (call("nope", {}), call("lookup", {"word": "x"}, "c2"))
    assert [m.tool_call_id for m in results] == ["c1", "c2"]
    assert "unknown tool 'nope'" in results[0].text
    assert "shorter than 2 characters" in results[1].text
    rejected = [e for e in logs if e["event"] == "inference.tool_arguments_rejected"]
    assert len(rejected) == 1 and rejected[0]["will_reask"] is True


# --- the tool loop -----------------------------------------------------------------------


async def test_a_two_round_tool_loop_runs_sync_and_async_tools_and_sums_usage() -> None:
    w = wired(
        asks(call("get_weather", {"city": "Paris"})),
        asks(call("local_time", {"zone": "Europe/Paris"}, "c2"), tokens=20),
        "It is noon and 18 degrees in Paris.",
    )
    result = await w.inference.chat_text(
        user="Weather and time in Paris?",
        model=TOOLED,
        tools=[get_weather, local_time],
        tool_loop=ToolLoop(max_rounds=2),
    )
    assert result.text == "It is noon and 18 degrees in Paris."
    assert result.tool_rounds == 2 and result.tool_calls == ()
    assert result.finish_reason is FinishReason.STOP
    assert result.attempts == 3
    third = w.fake().calls[-1]
    assert result.usage.input_tokens == 30 + max(
        sum(len(m.text.split()) for m in third.messages), 1
    )
    assert result.usage.cost_usd is not None
    roles = [(m.role, m.tool_call_id) for m in result.transcript]
    assert roles == [
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),
        ("assistant", None),
        ("tool", "c2"),
        ("assistant", None),
    ]
    assert result.transcript[2].text == "18 celsius in Paris"
    assert json.loads(result.transcript[4].text) == {"zone": "Europe/Paris", "time": "12:00"}
    assert result.transcript[2].name == "get_weather"


async def test_parallel_calls_of_one_answer_run_concurrently() -> None:
    started: list[str] = []
    both = asyncio.Event()

    async def slow(tag: str) -> str:
        """Wait until both calls have started."""
        started.append(tag)
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 2)
        return tag

    w = wired(asks(call("slow", {"tag": "a"}), call("slow", {"tag": "b"}, "c2")), "done")
    result = await w.inference.chat_text(user="x", model=TOOLED, tools=[slow], tool_loop=True)
    assert result.text == "done" and sorted(started) == ["a", "b"]
    assert [m.text for m in result.transcript if m.role == "tool"] == ["a", "b"]


async def test_a_tool_that_raises_ends_the_call_or_is_fed_back() -> None:
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError(f"no luck with {x}")

    w = wired(asks(call("broken", {"x": 1})))
    with pytest.raises(ToolExecutionError, match="raised RuntimeError: no luck with 1") as excinfo:
        await w.inference.chat_text(user="x", model=TOOLED, tools=[broken], tool_loop=True)
    assert isinstance(excinfo.value.__cause__, RuntimeError)
    assert excinfo.value.call.id == "c1"

    w = wired(asks(call("broken", {"x": 2})), "sorry")
    result = await w.inference.chat_text(
        user="x", model=TOOLED, tools=[broken], tool_loop=ToolLoop(on_error="feed_back")
    )
    assert result.text == "sorry"
    (fed,) = [m for m in result.transcript if m.role == "tool"]
    assert fed.text == "Error: RuntimeError: no luck with 2"


async def test_a_tool_that_times_out_ends_the_call_or_is_fed_back() -> None:
    async def hangs() -> str:
        """Never answers."""
        await asyncio.sleep(30)
        return "late"

    def blocks() -> str:
        """A sync tool that blocks its worker thread."""
        time.sleep(0.3)
        return "late"

    loop = ToolLoop(timeout=0.05)
    w = wired(asks(call("hangs", {})))
    with pytest.raises(ToolTimeout, match=r"did not finish within 0\.05s") as excinfo:
        await w.inference.chat_text(user="x", model=TOOLED, tools=[hangs], tool_loop=loop)
    assert excinfo.value.timeout == 0.05

    w = wired(asks(call("blocks", {})), "gave up waiting")
    result = await w.inference.chat_text(
        user="x",
        model=TOOLED,
        tools=[blocks],
        tool_loop=loop.model_copy(update={"on_error": "feed_back"}),
    )
    assert result.text == "gave up waiting"
    assert result.transcript[2].text == "Error: the tool did not finish within 0.05s."


async def test_max_rounds_reached_is_a_typed_error_with_the_transcript() -> None:
    w = wired(
        asks(call("get_weather", {"city": "Paris"})),
        asks(call("get_weather", {"city": "Lyon"}, "c2")),
        asks(call("get_weather", {"city": "Nice"}, "c3")),
    )
    with pytest.raises(ToolLoopExceeded, match="after 2 round") as excinfo:
        await w.inference.chat_text(
            user="x", model=TOOLED, tools=[get_weather], tool_loop=ToolLoop(max_rounds=2)
        )
    error = excinfo.value
    assert error.rounds == 2
    assert error.usage.input_tokens == 30
    assert [m.role for m in error.transcript] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    last = error.transcript[-1].tool_calls
    assert last is not None and json.loads(last[0].arguments) == {"city": "Nice"}
    assert len(w.fake().calls) == 3


async def test_a_forced_choice_applies_to_the_first_round_only() -> None:
    w = wired(asks(call("get_weather", {"city": "Paris"})), "18 degrees")
    await w.inference.chat_text(
        user="x", model=TOOLED, tools=[get_weather], tool_choice="required", tool_loop=True
    )
    first, second = w.fake().calls
    assert first.tool_choice == ToolChoice(mode="required")
    assert second.tool_choice == ToolChoice(mode="auto")


# --- streams -----------------------------------------------------------------------------


async def test_a_stream_forwards_call_pieces_and_ends_with_the_complete_calls() -> None:
    w = wired(asks(call("get_weather", {"city": "Paris"})))
    chunks = [c async for c in w.inference.stream_chat(user="x", model=TOOLED, tools=[get_weather])]
    *pieces, final = chunks
    assert all(c.tool_call_deltas for c in pieces) and len(pieces) == 3
    assert final.finish_reason is FinishReason.TOOL_CALLS
    assert final.tool_calls == (call("get_weather", {"city": "Paris"}),)


async def test_a_stream_cut_inside_arguments_reports_what_was_received() -> None:
    script = [
        ChatChunk(text="Let me check. "),
        ChatChunk(tool_call_deltas=(ToolCallDelta(index=0, id="c1", name="get_weather"),)),
        ChatChunk(tool_call_deltas=(ToolCallDelta(index=0, arguments='{"city": "Pa'),)),
        InvalidResponse("stream ended before its terminator", retryable=True),
    ]
    w = wired(script)
    with pytest.raises(StreamInterrupted, match="1 tool call") as excinfo:
        async for _ in w.inference.stream_chat(user="x", model=TOOLED, tools=[get_weather]):
            pass
    error = excinfo.value
    assert error.partial_text == "Let me check. "
    assert error.partial_tool_calls == (
        ToolCall(id="c1", name="get_weather", arguments='{"city": "Pa'),
    )
    assert len(w.fake().calls) == 1, "a stream that delivered a piece is never retried"


async def test_a_model_that_cannot_stream_replays_its_calls() -> None:
    models = [spec("batch", "p1", tools=True, streaming=False)]
    w = Wired(
        fakes={"p1": FakeChatModel(asks(call("get_weather", {"city": "Paris"})))},
        cfg=config(models=models),
    )
    chunks = [
        c async for c in w.inference.stream_chat(user="x", model="batch", tools=[get_weather])
    ]
    assert [d.arguments for c in chunks for d in c.tool_call_deltas] == ['{"city": "Paris"}']
    assert chunks[-1].tool_calls == (call("get_weather", {"city": "Paris"}),)
