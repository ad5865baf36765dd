"""The one retry owner: backoff, Retry-After, retryable errors only, attempt limit, deadline."""

from __future__ import annotations

import pytest

from inference_core.adapters.fakes import FunctionChatModel
from inference_core.application import ModelCaller
from inference_core.application.policy import CallContext, RetryRunner
from inference_core.domain.chat import ChatRequest
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    DeadlineExceeded,
    InvalidRequestError,
    ProviderUnavailable,
    RateLimitError,
)
from inference_core.domain.messages import Message
from tests.unit.application.support import PRICED, FakeClock, RecordingSleeper, Wired, fake


def _unavailable() -> ProviderUnavailable:
    return ProviderUnavailable("overloaded", provider="p1", status=503)


async def test_backoff_sequence_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay=0.5, multiplier=2.0, max_delay=1.5)
    wired = Wired(fakes={"p1": fake(*[_unavailable()] * 4, "finally")}, retry=policy)
    # rng 0.5 -> jitter factor 0.75 of the capped exponential base (0.5, 1.0, 2.0->1.5, 4.0->1.5).
    caller = ModelCaller(
        wired.inference.router,
        retry=policy,
        clock=wired.clock,
        sleeper=wired.sleeper,
        rng=lambda: 0.5,
    )
    ctx = caller.open({}, use_case="test").ctx
    resolved = wired.inference.router.resolve(PRICED)
    request = caller.request_for(resolved, (Message.user("hi"),), None)

    response = await caller.complete(ctx, resolved, request)

    assert response.text == "finally"
    assert wired.sleeper.delays == [0.375, 0.75, 1.125, 1.125]
    assert len(wired.fake("p1").calls) == 5
    assert ctx.attempts == 5


@pytest.mark.parametrize(("rng", "factor"), [(0.0, 0.5), (0.999999, 1.0)])
def test_jitter_stays_between_half_and_full_backoff(rng: float, factor: float) -> None:
    clock = FakeClock()
    runner = RetryRunner(clock, RecordingSleeper(clock), rng=lambda: rng)
    policy = RetryPolicy(initial_delay=1.0, multiplier=3.0, max_delay=100.0)
    assert runner.backoff(policy, 3, _unavailable()) == pytest.approx(9.0 * factor, rel=1e-5)


async def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_attempts=4, retry_after_cap=10.0, initial_delay=0.5)
    script = [
        RateLimitError("slow down", retry_after=2.0),
        RateLimitError("slow down a lot", retry_after=120.0),
        RateLimitError("now", retry_after=0.0),
        "ok",
    ]
    wired = Wired(fakes={"p1": fake(*script)}, retry=policy)

    result = await wired.inference.chat_text(user="hi")

    assert result.text == "ok"
    assert wired.sleeper.delays == [2.0, 10.0, 0.0]
    assert result.attempts == 4


async def test_non_retryable_errors_are_not_retried() -> None:
    wired = Wired(fakes={"p1": fake(InvalidRequestError("bad field", status=400), "never")})

    with pytest.raises(InvalidRequestError):
        await wired.inference.chat_text(user="hi")

    assert len(wired.fake("p1").calls) == 1
    assert wired.sleeper.delays == []


async def test_server_saying_do_not_retry_wins_over_the_error_class() -> None:
    # x-should-retry: false arrives as retryable=False on a normally retryable class.
    wired = Wired(fakes={"p1": fake(RateLimitError("no", retryable=False), "never")})

    with pytest.raises(RateLimitError):
        await wired.inference.chat_text(user="hi")

    assert len(wired.fake("p1").calls) == 1


async def test_attempt_limit_raises_the_last_error_itself() -> None:
    errors = [_unavailable() for _ in range(3)]
    wired = Wired(fakes={"p1": fake(*errors, "too late")}, retry=RetryPolicy(max_attempts=3))

    with pytest.raises(ProviderUnavailable) as caught:
        await wired.inference.chat_text(user="hi")

    assert caught.value is errors[-1]
    assert len(wired.fake("p1").calls) == 3
    assert len(wired.sleeper.delays) == 2


async def test_deadline_stops_retries_before_a_wait_that_would_pass_it() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=1.0, multiplier=2.0, deadline=5.0)
    wired = Wired(retry=policy)
    clock = wired.clock

    def slow_failure(request: ChatRequest) -> str:
        clock.advance(0.5)  # each attempt takes half a second
        raise ProviderUnavailable("down", provider="p1", status=503)

    wired.fakes["p1"] = FunctionChatModel(slow_failure)

    with pytest.raises(DeadlineExceeded) as caught:
        await wired.inference.chat_text(user="hi")

    # attempt 0.5s, wait <=1, attempt 0.5s, wait <=2 ... the next wait would end past 5s.
    assert isinstance(caught.value.__cause__, ProviderUnavailable)
    assert not caught.value.retryable
    assert clock.now() - 1000.0 < 5.0
    assert all(d <= 2.0 for d in wired.sleeper.delays)
    calls = wired.fakes["p1"].calls  # type: ignore[attr-defined]
    assert len(calls) == len(wired.sleeper.delays) + 1
    assert "deadline of 5s" in str(caught.value)


async def test_attempt_timeout_is_shortened_to_the_time_left() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=1.0, deadline=4.0)
    wired = Wired(fakes={"p1": fake(_unavailable(), "ok")}, retry=policy)

    await wired.inference.chat_text(user="hi", attempt_timeout=30.0)

    first, second = wired.fake("p1").calls
    assert first.timeout == pytest.approx(4.0)
    assert second.timeout is not None and second.timeout < 4.0
    assert second.timeout == pytest.approx(4.0 - wired.sleeper.delays[0])


async def test_a_call_starting_after_its_deadline_is_refused() -> None:
    clock = FakeClock()
    ctx = CallContext("r1", RetryPolicy(deadline=1.0), clock, started=clock.now())
    clock.advance(1.5)
    runner = RetryRunner(clock, RecordingSleeper(clock))
    attempts: list[int] = []

    async def attempt(n: int) -> str:
        attempts.append(n)
        return "never"

    with pytest.raises(DeadlineExceeded):
        await runner.run(ctx, attempt)
    assert attempts == []
