"""Context windows in the calls: refused before sending, or fitted with one event (fit_context)."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from inference_core.adapters.fakes import FakeChatModel
from inference_core.adapters.llama_cpp import CAPABILITIES as LLAMA_CAPABILITIES
from inference_core.domain.catalog import builtin_catalog
from inference_core.domain.context import ContextFit
from inference_core.domain.errors import ContextWindowExceeded, InvalidInputError
from inference_core.domain.messages import ImagePart, Message, TextPart, ToolCall
from inference_core.domain.tokens import count_tokens
from inference_core.domain.tools import Tool
from tests.unit.application.support import Wired, config, spec

TINY = "tiny"  # provider p1: a 200-token window, 50 output tokens by default
BUNDLED = "local/gemma-3-270m"
WORDS = "lorem ipsum dolor sit amet " * 8  # 216 characters: 54 estimated tokens


def _tiny(**fake: object) -> Wired:
    model = spec(TINY, "p1", vision=True, tools=True, max_output=50)
    model["context_window"] = 200
    return Wired(fakes={"p1": FakeChatModel(**fake)}, cfg=config(models=[model]))  # type: ignore[arg-type]


def _history(turns: int) -> list[Message]:
    messages = [Message.system("Be brief.")]
    for i in range(turns):
        messages += [
            Message.user(f"question {i} {WORDS}"),
            Message.assistant(f"answer {i} {WORDS}"),
        ]
    return [*messages, Message.user("And the last question?")]


async def test_an_over_long_request_is_refused_before_sending_naming_the_counts() -> None:
    wired = _tiny()
    with pytest.raises(ContextWindowExceeded) as excinfo:
        await wired.inference.chat_text(_history(4), model=TINY)
    error = excinfo.value
    assert (error.context_window, error.output_tokens) == (200, 50)
    assert error.prompt_tokens is not None and error.prompt_tokens > 150
    assert f"about {error.prompt_tokens} tokens" in str(error)
    assert "200" in str(error) and "fit_context" in str(error)
    assert error.retryable is False and error.model == TINY
    assert wired.fake().calls == [], "nothing was sent"
    # A short one goes through unchanged, and without any fitting event.
    with capture_logs() as logs:
        await wired.inference.chat_text(_history(0), model=TINY)
    assert not [e for e in logs if e["event"] == "inference.context_fitted"]


async def test_fit_context_drops_the_oldest_turns_and_says_so_once() -> None:
    wired = _tiny()
    conversation = _history(4)
    with capture_logs() as logs:
        result = await wired.inference.chat_text(conversation, model=TINY, fit_context=True)
    (request,) = wired.fake().calls
    sent = request.messages
    assert sent[0] == conversation[0], "the system message is kept"
    assert sent[-1] == conversation[-1], "the current turn is kept"
    assert sent == (conversation[0], *conversation[-len(sent) + 1 :]), "no gap in the history"
    assert count_tokens(sent).total <= 200 - 50
    (event,) = [e for e in logs if e["event"] == "inference.context_fitted"]
    assert event["budget"] == 150 and event["context_window"] == 200
    assert event["output_tokens"] == 50 and event["changed"] is True
    assert event["messages_before"] == len(conversation)
    assert event["messages_after"] == len(sent)
    assert event["dropped_messages"] == list(range(1, len(conversation) - len(sent) + 1))
    assert event["tokens_after"] <= 150 < event["tokens_before"]
    assert event["request_id"] == result.request_id


async def test_fit_context_takes_a_budget_or_a_policy_and_shrinks_images_first() -> None:
    wired = _tiny()
    old_image = ImagePart(url="https://example.invalid/a.png")
    conversation = [
        Message.user((TextPart(text="look"), old_image)),
        Message.assistant("a cat"),
        Message.user("and now?"),
    ]
    with capture_logs() as logs:
        await wired.inference.chat_text(
            conversation, model=TINY, fit_context=ContextFit(images="low_detail")
        )
    sent = wired.fake().calls[-1].messages
    assert len(sent) == 3, "degrading the image was enough: no message dropped"
    assert sent[0].images[0].detail == "low"
    (event,) = [e for e in logs if e["event"] == "inference.context_fitted"]
    assert event["images"] == [
        {"message": 0, "part": 1, "action": "image_low_detail", "tokens": 1445 - 85}
    ]
    assert event["dropped_messages"] == []

    await wired.inference.chat_text(_history(4), model=TINY, fit_context=60)
    assert count_tokens(wired.fake().calls[-1].messages).total <= 60


async def test_when_even_the_current_turn_cannot_fit_nothing_is_sent() -> None:
    wired = _tiny()
    huge = [Message.system("Be brief."), Message.user(WORDS * 4)]
    with pytest.raises(ContextWindowExceeded, match="current turn need") as excinfo:
        await wired.inference.chat_text(huge, model=TINY, fit_context=True)
    assert excinfo.value.context_window == 200
    assert wired.fake().calls == []


async def test_fit_context_needs_a_known_window_or_a_budget() -> None:
    wired = _tiny()
    with pytest.raises(InvalidInputError, match="declares none"):
        await wired.inference.chat_text(user="x", model="priced-model", fit_context=True)
    await wired.inference.chat_text(_history(4), model="priced-model", fit_context=100)
    assert count_tokens(wired.fake().calls[-1].messages).total <= 100


async def test_a_tool_call_stays_with_its_result_and_tool_definitions_count() -> None:
    wired = _tiny()
    call = ToolCall(id="c1", name="lookup", arguments='{"q": "' + "x" * 200 + '"}')
    conversation = [
        Message.user(f"first {WORDS}"),
        Message.assistant("", tool_calls=(call,)),
        Message.tool_result("c1", WORDS),
        Message.assistant("done"),
        Message.user("next?"),
    ]
    await wired.inference.chat_text(conversation, model=TINY, fit_context=True)
    sent = wired.fake().calls[-1].messages
    kinds = [m.role for m in sent]
    assert ("tool" in kinds) == any(m.tool_calls for m in sent), "never one without the other"

    def lookup(q: str) -> str:
        """Look q up."""
        return q

    # The tools' own definitions count against the window too.
    prompt = [Message.user(WORDS * 2)]  # about 110 tokens: fits 150 alone
    await wired.inference.chat_text(prompt, model=TINY)
    described = Tool.from_function(lookup, description=WORDS)  # about 80 tokens more
    with pytest.raises(ContextWindowExceeded) as excinfo:
        await wired.inference.chat_text(prompt, model=TINY, tools=[described])
    assert excinfo.value.prompt_tokens is not None and excinfo.value.prompt_tokens > 150


async def test_chat_json_and_streams_take_fit_context_too() -> None:
    wired = _tiny(default_text='{"a": 1}')
    result = await wired.inference.chat_json(_history(4), model=TINY, fit_context=True)
    assert result.value == {"a": 1}
    assert count_tokens(wired.fake().calls[-1].messages).total <= 150
    chunks = [
        c async for c in wired.inference.stream_chat(_history(4), model=TINY, fit_context=True)
    ]
    assert chunks[-1].is_final
    with pytest.raises(ContextWindowExceeded):
        async for _ in wired.inference.stream_chat(_history(4), model=TINY):
            pass


# --- the bundled model's real window ----------------------------------------------------------


def _bundled(max_context: int | None) -> Wired:
    caps = LLAMA_CAPABILITIES.model_copy(update={"max_context_tokens": max_context})
    return Wired(fakes={"local": FakeChatModel(capabilities=caps)})


async def test_the_bundled_models_window_is_the_smaller_of_its_own_and_the_engines() -> None:
    spec_ = builtin_catalog()[BUNDLED]
    assert (spec_.context_window, spec_.default_max_tokens) == (32768, 256)
    long_turns = _history(200)  # about 23 000 estimated tokens
    assert 8192 < count_tokens(long_turns).total < 32768 - 256

    # The engine allocates 8192 tokens (llama.cpp's n_ctx): that is the window that counts.
    wired = _bundled(8192)
    with pytest.raises(ContextWindowExceeded) as excinfo:
        await wired.inference.chat_text(long_turns, model=BUNDLED)
    assert (excinfo.value.context_window, excinfo.value.output_tokens) == (8192, 256)
    assert wired.fake("local").calls == []
    with capture_logs() as logs:
        await wired.inference.chat_text(long_turns, model=BUNDLED, fit_context=True)
    sent = wired.fake("local").calls[-1].messages
    assert count_tokens(sent).total <= 8192 - 256
    (event,) = [e for e in logs if e["event"] == "inference.context_fitted"]
    assert event["budget"] == 8192 - 256 and event["context_window"] == 8192

    # An engine holding the model's whole window: the catalog's 32768 applies.
    roomy = _bundled(None)
    await roomy.inference.chat_text(long_turns, model=BUNDLED)
    assert roomy.fake("local").calls[-1].messages == tuple(long_turns)
