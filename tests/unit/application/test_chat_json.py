"""ChatJSON: strategy per capability, re-asking with feedback, fences, the give-up error."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from inference_core.adapters.fakes import FAKE_CAPABILITIES
from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import ChatResponse, FinishReason, Usage
from inference_core.domain.errors import OutputValidationError
from inference_core.domain.messages import Message
from tests.unit.application.support import PRICED, Wired, config, fake, spec

MODEL = "json-model"


class Movie(BaseModel):
    title: str
    year: int


def _wired(
    declared: JSONOutput, *script: object, adapter: AdapterCapabilities = FAKE_CAPABILITIES
) -> Wired:
    return Wired(
        fakes={"p4": fake(*script, capabilities=adapter)},  # type: ignore[arg-type]
        cfg=config(models=[spec(MODEL, "p4", json_output=declared, price=(1.0, 1.0))]),
    )


def _answer(
    text: str, tokens: tuple[int, int] = (10, 5), finish: FinishReason = FinishReason.STOP
) -> ChatResponse:
    return ChatResponse(
        text=text,
        model="m",
        finish_reason=finish,
        usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1]),
    )


GOOD = '{"title": "Alien", "year": 1979}'
ONLY_JSON_MODE = AdapterCapabilities(json_outputs=(JSONOutput.JSON_OBJECT, JSONOutput.NONE))


@pytest.mark.parametrize(
    ("declared", "adapter", "strategy", "format_type", "format_has_schema", "prompted"),
    [
        (JSONOutput.JSON_SCHEMA, FAKE_CAPABILITIES, "json_schema", "json_schema", True, False),
        (
            JSONOutput.JSON_OBJECT_WITH_SCHEMA,
            FAKE_CAPABILITIES,
            "json_object_with_schema",
            "json_object",
            True,
            True,
        ),
        (JSONOutput.JSON_OBJECT, FAKE_CAPABILITIES, "json_object", "json_object", False, True),
        (JSONOutput.NONE, FAKE_CAPABILITIES, "none", None, False, True),
        # The model could do native output but its adapter only has JSON mode.
        (JSONOutput.JSON_SCHEMA, ONLY_JSON_MODE, "json_object", "json_object", False, True),
    ],
)
async def test_strategy_follows_the_capabilities_of_model_and_adapter_and_is_logged(
    declared: JSONOutput,
    adapter: AdapterCapabilities,
    strategy: str,
    format_type: str | None,
    format_has_schema: bool,
    prompted: bool,
) -> None:
    wired = _wired(declared, GOOD, adapter=adapter)

    with capture_logs() as logs:
        result = await wired.inference.chat_json(
            system="You know films.", user="Best 1979 film?", schema=Movie, model=MODEL
        )

    assert result.value == Movie(title="Alien", year=1979)
    assert result.strategy.value == strategy
    (request,) = wired.fake("p4").calls
    fmt = request.response_format
    assert (fmt.type if fmt else None) == format_type
    assert (fmt is not None and fmt.schema_ is not None) == format_has_schema
    system = request.messages[0]
    assert system.role == "system" and system.text.startswith("You know films.")
    assert ('"title"' in system.text) == prompted  # the schema rides in the prompt
    chosen = [e for e in logs if e["event"] == "inference.json_strategy"]
    assert [e["strategy"] for e in chosen] == [strategy]
    assert chosen[0]["declared"] == declared.value


async def test_native_strategy_sends_a_strict_schema() -> None:
    wired = _wired(JSONOutput.JSON_SCHEMA, GOOD)

    await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL)

    fmt = wired.fake("p4").calls[0].response_format
    assert fmt is not None and fmt.strict and fmt.name == "Movie"
    assert fmt.schema_ is not None and fmt.schema_["additionalProperties"] is False


async def test_a_schema_that_cannot_be_strict_is_sent_non_strict_and_the_reason_logged() -> None:
    class Tally(BaseModel):
        counts: dict[str, int]

    wired = _wired(JSONOutput.JSON_SCHEMA, '{"counts": {"a": 1}}')

    with capture_logs() as logs:
        result = await wired.inference.chat_json(user="count", schema=Tally, model=MODEL)

    assert result.value.counts == {"a": 1}
    fmt = wired.fake("p4").calls[0].response_format
    assert fmt is not None and fmt.type == "json_schema" and fmt.strict is False
    (chosen,) = [e for e in logs if e["event"] == "inference.json_strategy"]
    assert chosen["strict"] is False and "free-form object" in chosen["strict_reason"]


async def test_invalid_answer_is_re_asked_with_the_errors_then_accepted() -> None:
    bad = '{"title": "Alien", "year": "late seventies"}'
    wired = _wired(JSONOutput.JSON_OBJECT, _answer(bad), _answer(GOOD, (30, 6)))

    result = await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL)

    assert result.value.year == 1979
    first, second = wired.fake("p4").calls
    assert second.messages[: len(first.messages)] == first.messages
    assistant, feedback = second.messages[len(first.messages) :]
    assert assistant == Message.assistant(bad)
    assert feedback.role == "user"
    assert "$.year: Input should be a valid integer" in feedback.text
    assert feedback.text.startswith("Your previous answer was rejected:")
    assert second.response_format == first.response_format  # never a silent downgrade
    assert [f.raw_text for f in result.failed_attempts] == [bad]
    assert result.usage.input_tokens == 40 and result.usage.output_tokens == 11
    assert result.attempts == 2


async def test_a_parse_failure_is_fed_back_with_its_caret() -> None:
    wired = _wired(JSONOutput.JSON_OBJECT, '{"title": "Alien", "year": }', GOOD)

    await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL)

    feedback = wired.fake("p4").calls[1].messages[-1].text
    assert "invalid JSON: Expecting value at line 1, column 28" in feedback
    assert '{"title": "Alien", "year": }' in feedback and "^" in feedback


async def test_a_cut_answer_is_re_asked_with_a_hint_about_the_limit() -> None:
    wired = _wired(
        JSONOutput.JSON_OBJECT, _answer('{"title": "Ali', finish=FinishReason.LENGTH), GOOD
    )

    await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL)

    assert "output token limit" in wired.fake("p4").calls[1].messages[-1].text


async def test_giving_up_raises_with_raw_text_every_error_and_total_usage() -> None:
    answers = [_answer('{"title": 1, "year": 2}', (10, 4)) for _ in range(2)]
    answers.append(_answer("not json at all", (12, 3)))
    wired = _wired(JSONOutput.JSON_OBJECT, *answers)

    with pytest.raises(OutputValidationError) as caught:
        await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL, max_repairs=2)

    error = caught.value
    assert error.raw_text == "not json at all"
    assert len(error.errors) == 3
    assert "$.title: Input should be a valid string" in error.errors[0]
    assert error.errors[2].startswith("invalid JSON: Expecting value at line 1, column 1")
    assert (error.usage.input_tokens, error.usage.output_tokens) == (32, 11)
    assert error.usage.cost_usd == pytest.approx(43 / 1_000_000)
    assert len(wired.fake("p4").calls) == 3


async def test_zero_repairs_means_one_answer_only() -> None:
    wired = _wired(JSONOutput.JSON_OBJECT, "nope", GOOD)

    with pytest.raises(OutputValidationError):
        await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL, max_repairs=0)

    assert len(wired.fake("p4").calls) == 1


FENCED = f"```json\n{GOOD}\n```"


async def test_prompted_mode_strips_one_fence_and_logs_it() -> None:
    wired = _wired(JSONOutput.NONE, FENCED)

    with capture_logs() as logs:
        result = await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL)

    assert result.value.title == "Alien" and result.raw_text == FENCED
    assert len(wired.fake("p4").calls) == 1
    assert [e["event"] for e in logs].count("inference.json_fence_stripped") == 1


async def test_json_mode_does_not_strip_fences() -> None:
    wired = _wired(JSONOutput.JSON_OBJECT, FENCED, GOOD)

    with capture_logs() as logs:
        result = await wired.inference.chat_json(user="film?", schema=Movie, model=MODEL)

    assert len(result.failed_attempts) == 1 and result.failed_attempts[0].raw_text == FENCED
    assert "inference.json_fence_stripped" not in [e["event"] for e in logs]


async def test_no_schema_returns_a_dict_in_json_mode() -> None:
    wired = _wired(JSONOutput.JSON_SCHEMA, '{"anything": [1, 2]}')

    result = await wired.inference.chat_json(system="s", user="u", model=MODEL)

    assert result.value == {"anything": [1, 2]}
    assert result.strategy is JSONOutput.JSON_OBJECT  # nothing for native output to carry
    assert wired.fake("p4").calls[0].response_format.type == "json_object"  # type: ignore[union-attr]


async def test_a_json_schema_dict_is_validated_too() -> None:
    schema = {
        "title": "scene list",
        "type": "object",
        "properties": {"scenes": {"type": "array", "items": {"type": "string"}}},
        "required": ["scenes"],
    }
    wired = _wired(JSONOutput.JSON_SCHEMA, '{"scenes": [1]}', '{"scenes": ["opening"]}')

    result = await wired.inference.chat_json(user="u", schema=schema, model=MODEL)

    assert result.value == {"scenes": ["opening"]}
    assert "$.scenes[0]: expected string, got integer" in result.failed_attempts[0].error
    fmt = wired.fake("p4").calls[0].response_format
    assert fmt is not None and fmt.name == "scene_list"


async def test_instruction_is_appended_to_an_existing_system_message_once() -> None:
    wired = _wired(JSONOutput.NONE, "{}")
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Go"}]

    await wired.inference.chat_json(messages, model=MODEL)

    sent = wired.fake("p4").calls[0].messages
    assert [m.role for m in sent] == ["system", "user"]
    assert sent[0].text.startswith("Be terse.\n\nAnswer with exactly one JSON object")


async def test_default_model_is_used_when_none_is_named() -> None:
    wired = Wired(fakes={"p1": fake(json.dumps({"k": "v"}))})

    result = await wired.inference.chat_json(user="u")

    assert result.model == PRICED and result.value == {"k": "v"}
