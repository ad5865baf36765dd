"""Explicit fallback chains: order, eligibility, auth errors, the exception group."""

from __future__ import annotations

import pytest

from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    AllFallbacksFailed,
    AuthenticationError,
    ContextWindowExceeded,
    DeadlineExceeded,
    ModelNotFoundError,
    ProviderUnavailable,
    RateLimitError,
)
from tests.unit.application.support import BACKUP, PRICED, UNPRICED, Wired, config, fake

CHAIN = {PRICED: [BACKUP, UNPRICED]}
TWO_ATTEMPTS = RetryPolicy(max_attempts=2, initial_delay=0.1)


def _wired(*, p1: list[object], p2: list[object], p3: list[object], **cfg: object) -> Wired:
    return Wired(
        fakes={"p1": fake(*p1), "p2": fake(*p2), "p3": fake(*p3)},  # type: ignore[arg-type]
        cfg=config(fallbacks=CHAIN, retry=TWO_ATTEMPTS, **cfg),  # type: ignore[arg-type]
    )


async def test_fallbacks_are_tried_in_order_after_retries_are_exhausted() -> None:
    wired = _wired(
        p1=[ProviderUnavailable("down"), ProviderUnavailable("still down")],
        p2=[RateLimitError("busy"), RateLimitError("busy")],
        p3=["served by the third"],
    )

    result = await wired.inference.chat_text(user="hi")

    assert result.text == "served by the third"
    assert result.model == UNPRICED
    assert result.provider == "p3"
    assert result.attempts == 5
    assert [len(wired.fake(p).calls) for p in ("p1", "p2", "p3")] == [2, 2, 1]
    assert [e.model for e in wired.sink.events] == [PRICED] * 2 + [BACKUP] * 2 + [UNPRICED]
    assert len({e.request_id for e in wired.sink.events}) == 1


async def test_when_every_model_fails_the_group_holds_each_error_in_order() -> None:
    first, second = ProviderUnavailable("down"), ProviderUnavailable("down again")
    busy = RateLimitError("busy", retry_after=0.0)
    missing = ModelNotFoundError("no such model", status=404)
    wired = _wired(p1=[first, second], p2=[RateLimitError("busy"), busy], p3=[missing])

    with pytest.raises(AllFallbacksFailed) as caught:
        await wired.inference.chat_text(user="hi")

    assert list(caught.value.exceptions) == [second, busy, missing]
    assert PRICED in str(caught.value) and UNPRICED in str(caught.value)


async def test_a_final_error_on_the_primary_is_raised_without_fallback() -> None:
    wired = _wired(p1=[ContextWindowExceeded("too long", status=400)], p2=["x"], p3=["y"])

    with pytest.raises(ContextWindowExceeded):
        await wired.inference.chat_text(user="hi")

    assert len(wired.fake("p1").calls) == 1
    assert wired.fake("p2").calls == []


async def test_a_final_error_on_a_fallback_ends_the_chain_with_the_group() -> None:
    wired = _wired(
        p1=[ModelNotFoundError("gone")],
        p2=[ContextWindowExceeded("too long for this one")],
        p3=["never asked"],
    )

    with pytest.raises(AllFallbacksFailed) as caught:
        await wired.inference.chat_text(user="hi")

    assert [type(e) for e in caught.value.exceptions] == [ModelNotFoundError, ContextWindowExceeded]
    assert wired.fake("p3").calls == []


async def test_auth_errors_do_not_fall_back_by_default() -> None:
    wired = _wired(p1=[AuthenticationError("bad key", status=401)], p2=["x"], p3=["y"])

    with pytest.raises(AuthenticationError):
        await wired.inference.chat_text(user="hi")

    assert wired.fake("p2").calls == []


async def test_auth_errors_fall_back_when_configured() -> None:
    policy = TWO_ATTEMPTS.model_copy(update={"fallback_on_auth_error": True})
    wired = Wired(
        fakes={"p1": fake(AuthenticationError("bad key", status=401)), "p2": fake("backup")},
        cfg=config(fallbacks=CHAIN, retry=policy),
    )

    result = await wired.inference.chat_text(user="hi")

    assert (result.text, result.model, result.attempts) == ("backup", BACKUP, 2)


async def test_no_chain_means_the_error_itself_not_a_group() -> None:
    wired = Wired(fakes={"p1": fake(ModelNotFoundError("gone"))}, cfg=config(retry=TWO_ATTEMPTS))

    with pytest.raises(ModelNotFoundError):
        await wired.inference.chat_text(user="hi")


async def test_a_passed_deadline_stops_the_chain() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay=10.0, deadline=3.0)
    wired = Wired(
        fakes={"p1": fake(ProviderUnavailable("down")), "p2": fake("never")},
        cfg=config(fallbacks=CHAIN, retry=policy),
    )

    with pytest.raises(DeadlineExceeded):
        await wired.inference.chat_text(user="hi")

    assert wired.fake("p2").calls == []


async def test_an_unroutable_fallback_counts_as_a_failure_and_the_chain_goes_on() -> None:
    wired = Wired(
        fakes={"p1": fake(ModelNotFoundError("gone")), "p2": fake("backup answer")},
        cfg=config(fallbacks={PRICED: ["no-such-model-anywhere", BACKUP]}, retry=TWO_ATTEMPTS),
    )

    result = await wired.inference.chat_text(user="hi")

    assert result.model == BACKUP
