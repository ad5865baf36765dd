"""The embedded model calls a tool end to end (grammar-held), and fits its real window.

Everything runs through :func:`bootstrap` and the default embedded route
(``local/gemma-3-270m``), on the real llama.cpp engine: no script, no fake.
"""

from __future__ import annotations

import json
from typing import Literal

import pytest
from structlog.testing import capture_logs

pytest.importorskip("llama_cpp", reason="needs the 'local' extra (llama-cpp-python)")

from inference_core.adapters.llama_cpp import DEFAULT_N_CTX
from inference_core.composition import bootstrap
from inference_core.domain.chat import GenerationParams
from inference_core.domain.config import RuntimeConfig
from inference_core.domain.errors import ContextWindowExceeded, ToolLoopExceeded
from inference_core.domain.messages import Message
from inference_core.domain.tokens import count_tokens
from inference_core.domain.tools import ToolLoop

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

MODEL = "local/gemma-3-270m"
asked: list[str] = []


def get_weather(city: Literal["Paris", "Lyon", "Nice"]) -> str:
    """Current weather in a city.

    Args:
        city: The city to look up.
    """
    asked.append(city)
    return f"It is 18 degrees and sunny in {city}."


async def test_the_embedded_model_calls_a_tool_and_answers_from_its_result() -> None:
    inference = bootstrap(config=RuntimeConfig(), environ={})
    messages = [Message.user("What is the weather in Paris? Use the get_weather tool.")]
    try:
        first = await inference.chat_text(
            messages,
            model=MODEL,
            tools=[get_weather],
            tool_choice="get_weather",  # held by the grammar: a call of this tool
            parallel_tool_calls=False,  # and only one (a base model would list calls on)
            params=GenerationParams(temperature=0.0, seed=7, max_tokens=48),
        )
        (call,) = first.tool_calls
        assert call.name == "get_weather" and call.id
        assert first.finish_reason == "tool_calls"
        city = first.tool_arguments[0].city  # validated against the function's signature
        assert city in ("Paris", "Lyon", "Nice")  # the grammar holds it to the enum
        assert json.loads(call.arguments) == {"city": city}

        # Run the tool, hand back its result linked by id, and ask for the answer.
        result = get_weather(city)
        answer = await inference.chat_text(
            [*messages, first.message, Message.tool_result(call.id, result, name=call.name)],
            model=MODEL,
            tools=[get_weather],
            tool_choice="none",
            params=GenerationParams(temperature=0.0, seed=7, max_tokens=24),
        )
        assert answer.text.strip() and answer.tool_calls == ()
        assert answer.finish_reason != "tool_calls"
        sent = answer.transcript[:-1]
        assert sent[-1].tool_call_id == call.id and sent[-1].text == result
    finally:
        await inference.aclose()


async def test_the_tool_loop_runs_the_embedded_models_call() -> None:
    inference = bootstrap(config=RuntimeConfig(), environ={})
    asked.clear()
    try:
        result = await inference.chat_text(
            user="What is the weather in Lyon? Use the get_weather tool.",
            model=MODEL,
            tools=[get_weather],
            tool_choice="required",  # first round only: then the model may answer
            parallel_tool_calls=False,
            tool_loop=ToolLoop(max_rounds=3),
            params=GenerationParams(temperature=0.0, seed=7, max_tokens=48),
        )
    except ToolLoopExceeded as exc:  # a tiny base model may keep calling: the loop is bounded
        assert exc.rounds == 3 and len(asked) == 3
        assert [m.role for m in exc.transcript].count("tool") == 3
        return
    finally:
        await inference.aclose()
    assert asked, "the tool ran"
    assert result.tool_rounds >= 1 and result.attempts == result.tool_rounds + 1
    tool_results = [m for m in result.transcript if m.role == "tool"]
    assert tool_results[0].text.startswith("It is 18 degrees")


async def test_the_bundled_models_real_window_is_fitted_or_refused() -> None:
    inference = bootstrap(config=RuntimeConfig(), environ={})
    filler = "The quick brown fox jumps over the lazy dog. " * 30
    history = []
    for i in range(30):
        history += [Message.user(f"Note {i}: {filler}"), Message.assistant("Noted.")]
    conversation = [*history, Message.user("Say OK.")]
    assert count_tokens(conversation).total > DEFAULT_N_CTX  # past what the engine holds
    try:
        with pytest.raises(ContextWindowExceeded) as excinfo:
            await inference.chat_text(conversation, model=MODEL, max_tokens=8)
        assert excinfo.value.context_window == DEFAULT_N_CTX  # n_ctx, below the 32768 declared
        with capture_logs() as logs:
            result = await inference.chat_text(
                conversation, model=MODEL, max_tokens=8, temperature=0.0, fit_context=True
            )
        (event,) = [e for e in logs if e["event"] == "inference.context_fitted"]
        assert event["context_window"] == DEFAULT_N_CTX and event["dropped_messages"]
        # The engine's own count of the fitted prompt is within its window.
        assert result.usage.input_tokens is not None
        assert result.usage.input_tokens <= DEFAULT_N_CTX - 8
    finally:
        await inference.aclose()
