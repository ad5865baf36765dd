"""What a new user hits first: caps, typed parameter errors, vision refusal, honest failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from inference_core.adapters.fakes import FakeChatModel
from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import ChatRequest, ChatResponse
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    AllFallbacksFailed,
    DeadlineExceeded,
    InferenceError,
    InvalidMessageError,
    InvalidParameterError,
    ProviderUnavailable,
    QuotaExceededError,
)
from inference_core.domain.messages import ImagePart, Message, TextPart
from tests.unit.application.support import BACKUP, PRICED, Wired, config, spec

PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwAB"
    "BAEAwS2OUAAAAABJRU5ErkJggg=="
)


def _image_message() -> Message:
    return Message(
        role="user",
        content=(TextPart(text="What is this?"), ImagePart(url=PNG_DATA_URL)),
    )


async def test_default_max_tokens_wins_over_max_output_and_the_caller_over_both() -> None:
    cfg = config(models=[{**spec("slow-local", "p4", max_output=8192), "default_max_tokens": 256}])
    wired = Wired(cfg=cfg)
    await wired.inference.chat_text(user="hi", model="slow-local")
    await wired.inference.chat_text(user="hi", model="slow-local", max_tokens=40)
    await wired.inference.chat_text(user="hi", model=PRICED)  # max output 512, no default
    sent = [call.params.max_tokens for fake in wired.fakes.values() for call in fake.calls]  # type: ignore[attr-defined]
    assert sorted(sent) == [40, 256, 512]


@pytest.mark.parametrize(
    ("kwargs", "param", "bound"),
    [
        ({"temperature": 5}, "temperature", "2"),
        ({"temperature": -0.5}, "temperature", "0"),
        ({"max_tokens": -1}, "max_tokens", "0"),
        ({"max_tokens": 0}, "max_tokens", "0"),
    ],
)
async def test_out_of_bound_parameters_are_typed_library_errors(
    kwargs: dict[str, Any], param: str, bound: str
) -> None:
    wired = Wired()
    with pytest.raises(InvalidParameterError) as caught:
        await wired.inference.chat_text(user="hi", **kwargs)
    err = caught.value
    assert isinstance(err, InferenceError) and isinstance(err, ValueError)
    assert err.param == param
    text = str(err)
    assert f"{param}={next(iter(kwargs.values()))!r}" in text
    assert bound in text
    assert wired.fakes == {}  # nothing was sent (no adapter was even built)


async def test_json_use_case_types_parameter_errors_too() -> None:
    wired = Wired()
    with pytest.raises(InvalidParameterError, match="temperature"):
        await wired.inference.chat_json(user="hi", temperature=9)


async def test_an_image_to_a_model_declared_without_vision_is_refused_before_sending() -> None:
    cfg = config(models=[spec("text-only", "p4", vision=False), spec("sees", "p4", vision=True)])
    fake = FakeChatModel(capabilities=AdapterCapabilities(images=True, image_urls=True))
    wired = Wired(cfg=cfg, fakes={"p4": fake})
    with pytest.raises(InvalidMessageError) as caught:
        await wired.inference.chat_text(messages=[_image_message()], model="text-only")
    text = str(caught.value)
    assert "'text-only'" in text and "vision" in text and "messages[0]" in text
    assert fake.calls == []
    # A model declaring vision gets the same message.
    await wired.inference.chat_text(messages=[_image_message()], model="sees")
    assert len(fake.calls) == 1


async def test_the_stream_use_case_refuses_images_for_a_text_only_model() -> None:
    cfg = config(models=[spec("text-only", "p4", vision=False)])
    wired = Wired(cfg=cfg)
    with pytest.raises(InvalidMessageError, match="text-only"):
        async for _ in wired.inference.stream_chat(messages=[_image_message()], model="text-only"):
            pass


async def test_the_final_error_names_the_attempts_and_the_time_spent() -> None:
    wired = Wired(retry=RetryPolicy(max_attempts=3, initial_delay=1.0, max_delay=1.0))
    wired.fakes["p1"] = FakeChatModel(
        ProviderUnavailable("down"), ProviderUnavailable("down"), ProviderUnavailable("down")
    )
    with pytest.raises(ProviderUnavailable) as caught:
        await wired.inference.chat_text(user="hi")
    err = caught.value
    assert err.attempts == 3
    assert err.elapsed_s is not None and err.elapsed_s >= 1.0  # two waits on the fake clock
    assert "(call: 3 attempts, " in str(err) and "s in all)" in str(err)


async def test_a_failed_fallback_chain_gives_each_models_own_message() -> None:
    cfg = config(fallbacks={PRICED: [BACKUP]})
    wired = Wired(
        cfg=cfg,
        retry=RetryPolicy(max_attempts=1),
        fakes={
            "p1": FakeChatModel(QuotaExceededError("credit balance is too low")),
            "p2": FakeChatModel(ProviderUnavailable("upstream connect error")),
        },
    )
    with pytest.raises(AllFallbacksFailed) as caught:
        await wired.inference.chat_text(user="hi")
    text = str(caught.value)
    assert f"{PRICED}: QuotaExceededError: " in text
    assert "credit balance is too low" in text
    assert f"{BACKUP}: ProviderUnavailable: " in text
    assert "upstream connect error" in text


class _Sleepy:
    """An adapter whose answer takes far longer than the call's deadline."""

    capabilities = AdapterCapabilities(json_outputs=(JSONOutput.JSON_OBJECT, JSONOutput.NONE))

    def __init__(self) -> None:
        self.cancelled = False

    async def complete(self, request: ChatRequest) -> ChatResponse:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return ChatResponse(text="too late", model=request.model)

    def stream(self, request: ChatRequest) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


async def test_the_deadline_bounds_an_attempt_that_is_still_running() -> None:
    sleepy = _Sleepy()
    wired = Wired(fakes={"p1": sleepy}, retry=RetryPolicy(max_attempts=3, deadline=0.2))  # type: ignore[dict-item]
    with pytest.raises(DeadlineExceeded) as caught:
        await wired.inference.chat_text(user="hi")
    assert sleepy.cancelled
    assert caught.value.retryable is False
    assert "still running" in str(caught.value)
    assert caught.value.attempts == 1
