"""ChatText and request building: inputs, model defaults, dropped params, max_tokens."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from inference_core.domain.chat import GenerationParams
from inference_core.domain.errors import ConfigurationError, InvalidInputError, InvalidMessageError
from inference_core.domain.messages import ImagePart, Message, TextPart
from tests.unit.application.support import PRICED, Wired, config, fake, spec

REASONER = "reasoner"  # no sampling params, accepts reasoning_effort
PLAIN = "plain"  # no reasoning, no declared max output


def _wired(**cfg: object) -> Wired:
    models = [
        spec(REASONER, "p4", sampling_params=False, reasoning=True, max_output=4096),
        spec(PLAIN, "p4"),
    ]
    return Wired(fakes={"p4": fake(), "p1": fake()}, cfg=config(models=models, **cfg))  # type: ignore[arg-type]


async def test_system_and_user_become_two_messages_and_the_result_describes_the_call() -> None:
    wired = Wired(fakes={"p1": fake("Hello!")})

    result = await wired.inference.chat_text(system="Be kind.", user="Hi")

    (request,) = wired.fake("p1").calls
    assert request.messages == (Message.system("Be kind."), Message.user("Hi"))
    assert request.model == f"p1/{PRICED}"  # the route's api model id
    assert (result.text, result.model, result.provider, result.client) == (
        "Hello!",
        PRICED,
        "p1",
        "litellm",
    )
    assert result.attempts == 1 and result.finish_reason == "stop"
    assert result.latency_ms >= 0.0


async def test_seed_style_dicts_and_multimodal_user_content_are_accepted() -> None:
    cfg = config(models=[spec("sees", "p1", vision=True)])
    wired = Wired(cfg=cfg, fakes={"p1": fake("seen")})
    image = ImagePart(url="https://example.invalid/cat.png")

    await wired.inference.chat_text([{"role": "user", "content": "one"}], model="sees")
    await wired.inference.chat_text(user=(TextPart(text="what is it?"), image), model="sees")

    first, second = wired.fake("p1").calls
    assert first.messages == (Message.user("one"),)
    assert second.messages[0].images == (image,)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"messages": [Message.user("x")], "user": "y"}, {"system": "only a system prompt"}],
)
async def test_ambiguous_or_missing_input_is_rejected(kwargs: dict[str, object]) -> None:
    wired = Wired()
    with pytest.raises(InvalidInputError):
        await wired.inference.chat_text(**kwargs)  # type: ignore[arg-type]


async def test_malformed_messages_name_their_index() -> None:
    wired = Wired()
    with pytest.raises(InvalidMessageError, match=r"messages\[1\]"):
        await wired.inference.chat_text([Message.user("ok"), {"content": "no role"}])


async def test_unroutable_model_is_a_configuration_error() -> None:
    wired = Wired()
    with pytest.raises(ConfigurationError, match="cannot route"):
        await wired.inference.chat_text(user="x", model="nobody-knows-me")


async def test_model_defaults_sit_under_the_callers_params() -> None:
    wired = _wired(model_configs={PLAIN: {"temperature": 0.2, "top_p": 0.9, "max_tokens": 77}})

    await wired.inference.chat_text(user="x", model=PLAIN, temperature=0.7)

    params = wired.fake("p4").calls[0].params
    assert (params.temperature, params.top_p, params.max_tokens) == (0.7, 0.9, 77)


async def test_max_tokens_comes_from_the_catalog_only_when_nobody_set_it() -> None:
    wired = _wired()

    await wired.inference.chat_text(user="x", model=REASONER)
    await wired.inference.chat_text(user="x", model=REASONER, max_tokens=10)
    await wired.inference.chat_text(user="x", model=PLAIN)

    sent = [c.params.max_tokens for c in wired.fake("p4").calls]
    assert sent == [4096, 10, None]  # PLAIN declares no max output: provider default


async def test_params_the_model_cannot_take_are_dropped_and_logged_once() -> None:
    wired = _wired()
    params = GenerationParams(temperature=0.5, top_p=0.5, reasoning_effort="high", seed=3)

    with capture_logs() as logs:
        await wired.inference.chat_text(user="x", model=REASONER, params=params)
        await wired.inference.chat_text(user="x", model=REASONER, params=params)
        await wired.inference.chat_text(user="x", model=PLAIN, params=params)

    to_reasoner, _, to_plain = wired.fake("p4").calls
    assert (to_reasoner.params.temperature, to_reasoner.params.top_p) == (None, None)
    assert to_reasoner.params.reasoning_effort == "high" and to_reasoner.params.seed == 3
    assert to_plain.params.reasoning_effort is None and to_plain.params.temperature == 0.5
    dropped = sorted(
        (e["gen_ai.request.model"], e["param"])
        for e in logs
        if e["event"] == "inference.param_dropped"
    )
    assert dropped == [
        (PLAIN, "reasoning_effort"),
        (REASONER, "temperature"),
        (REASONER, "top_p"),
    ]
