"""Usage and cost: one event per attempt (sink and log), catalog prices, the ledger, redaction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from inference_core.adapters.telemetry import MASK, SecretRedactor, StructlogEventLog
from inference_core.application import ChatText, ModelCaller, UsageLedger
from inference_core.domain.chat import ChatResponse, FinishReason, Usage
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import AuthenticationError, ProviderUnavailable, RateLimitError
from inference_core.domain.usage import UsageEvent
from tests.unit.application.support import (
    BACKUP,
    PRICED,
    SECRET_KEY,
    UNPRICED,
    Wired,
    config,
    fake,
)


def _answer(inp: int, out: int, cached: int | None = None) -> ChatResponse:
    return ChatResponse(
        text="answer",
        model="wire-id",
        finish_reason=FinishReason.STOP,
        usage=Usage(input_tokens=inp, output_tokens=out, cached_tokens=cached),
    )


async def test_every_attempt_emits_one_usage_event_and_one_log_event() -> None:
    wired = Wired(fakes={"p1": fake(RateLimitError("busy", retry_after=0.5), _answer(1000, 200))})

    with capture_logs() as logs:
        result = await wired.inference.chat_text(user="hi", request_id="req-42")

    failed, ok = wired.sink.events
    assert (failed.attempt, failed.outcome, failed.error_type) == (1, "error", "RateLimitError")
    assert failed.usage == Usage()  # unknown, not zero
    assert (ok.attempt, ok.outcome, ok.error_type) == (2, "ok", None)
    assert ok.usage.cost_usd == pytest.approx((1000 * 1.0 + 200 * 2.0) / 1_000_000)
    assert result.usage == ok.usage and result.request_id == "req-42"

    calls = [e for e in logs if e["event"] == "inference.call"]
    assert [c["log_level"] for c in calls] == ["warning", "info"]
    assert calls[1] | {"event": None, "log_level": None} == {
        **ok.log_fields(),
        "event": None,
        "log_level": None,
    }
    assert calls[0]["error.type"] == "RateLimitError" and "busy" in calls[0]["error.message"]
    assert calls[1]["gen_ai.usage.input_tokens"] == 1000
    assert calls[1]["inference.client"] == "litellm" and calls[1]["request_id"] == "req-42"


async def test_cost_is_none_when_the_price_is_unknown() -> None:
    wired = Wired(fakes={"p3": fake(_answer(50, 5))})

    result = await wired.inference.chat_text(user="hi", model=UNPRICED)

    (event,) = wired.sink.events
    assert event.usage.input_tokens == 50
    assert event.usage.cost_usd is None and result.usage.cost_usd is None


async def test_cached_tokens_are_priced_at_the_input_price_when_no_cache_price() -> None:
    wired = Wired(fakes={"p1": fake(_answer(1000, 0, cached=400))})

    result = await wired.inference.chat_text(user="hi")

    assert result.usage.cost_usd == pytest.approx(1000 * 1.0 / 1_000_000)


async def test_unknown_usage_stays_unknown() -> None:
    response = ChatResponse(text="x", model="m", usage=Usage())
    wired = Wired(fakes={"p1": fake(response)})

    result = await wired.inference.chat_text(user="hi")

    assert result.usage.input_tokens is None and result.usage.cost_usd is None


async def test_the_ledger_sums_per_run_model_and_provider() -> None:
    wired = Wired(
        fakes={
            "p1": fake(ProviderUnavailable("down"), _answer(100, 10), _answer(300, 30)),
            "p2": fake(_answer(1000, 100)),
            "p3": fake(_answer(5, 5)),
        }
    )
    chat = wired.inference.chat_text
    await chat(user="a")
    await chat(user="b")
    await chat(user="c", model=BACKUP)

    ledger = wired.inference.ledger
    total = ledger.total
    assert (total.attempts, total.ok, total.errors) == (4, 3, 1)
    assert (total.usage.input_tokens, total.usage.output_tokens) == (1400, 140)
    priced = (400 * 1.0 + 40 * 2.0 + 1000 * 10.0 + 100 * 20.0) / 1_000_000
    assert total.cost_usd == pytest.approx(priced)
    by_model = ledger.by_model()
    assert by_model[PRICED].attempts == 3 and by_model[PRICED].usage.input_tokens == 400
    assert by_model[BACKUP].cost_usd == pytest.approx(12000 / 1_000_000)
    assert set(ledger.by_provider()) == {"p1", "p2"}

    await chat(user="d", model=UNPRICED)
    assert ledger.total.cost_usd is None  # one unpriced attempt makes the total unknown
    assert ledger.total.unpriced_attempts == 1
    assert ledger.by_model()[PRICED].cost_usd is not None

    ended = ledger.reset()
    assert ended.total.attempts == 5 and ledger.total.attempts == 0


def test_ledger_snapshots_do_not_move() -> None:
    ledger = UsageLedger()
    event = UsageEvent(
        request_id="r",
        model="m",
        provider="p",
        client="c",
        latency_ms=1.0,
        usage=Usage(input_tokens=1),
    )
    ledger.record(event)
    snap = ledger.snapshot()
    ledger.record(event)
    assert snap.total.attempts == 1 and ledger.total.attempts == 2


async def test_a_failing_sink_never_fails_the_call() -> None:
    class Broken:
        def record(self, event: UsageEvent) -> None:
            raise RuntimeError("disk full")

    wired = Wired(fakes={"p1": fake("fine")})
    ledger = UsageLedger()
    caller = ModelCaller(
        wired.inference.router, usage_sinks=[Broken(), ledger], log=StructlogEventLog()
    )

    with capture_logs() as logs:
        result = await ChatText(caller)(user="hi")

    assert result.text == "fine" and ledger.total.ok == 1
    (failure,) = [e for e in logs if e["event"] == "inference.usage_sink_failed"]
    assert failure["sink"] == "Broken"


async def test_a_configured_key_never_reaches_a_log_event() -> None:
    leaky = AuthenticationError(f"invalid key {SECRET_KEY} for this project", status=401)
    wired = Wired(fakes={"p1": fake(leaky)}, cfg=config(api_keys={"p1": SECRET_KEY}))
    assert wired.connections == []  # the key is only used when an adapter is built

    with capture_logs() as logs, pytest.raises(AuthenticationError):
        await wired.inference.chat_text(user="hi")

    assert wired.connections[0].api_key is not None
    (call,) = [e for e in logs if e["event"] == "inference.call"]
    assert SECRET_KEY not in repr(logs)
    assert call["error.message"] == f"[HTTP 401] invalid key {MASK} for this project"
    assert SECRET_KEY not in repr(wired.inference.redactor)


def test_redactor_as_a_structlog_processor_masks_nested_values_and_key_shapes() -> None:
    redactor = SecretRedactor(["short", "my-own-gateway-token-123", None])
    event = {
        "event": "call",
        "headers": {"authorization": "Bearer abcdefghijklmnop"},
        "args": ["x my-own-gateway-token-123 y", ("sk-proj-AAAABBBBCCCCDDDDEEEE",)],
        "error": ValueError("bad my-own-gateway-token-123"),
        "count": 3,
        "note": "short words stay",
    }

    out = redactor(None, "info", event)

    assert out["headers"] == {"authorization": f"Bearer {MASK}"}
    assert out["args"] == [f"x {MASK} y", (MASK,)]
    assert out["error"] == f"ValueError: bad {MASK}"
    assert out["count"] == 3 and out["note"] == "short words stay"
    assert event["args"][0] == "x my-own-gateway-token-123 y"  # input untouched
    assert redactor(None, "info", "rendered my-own-gateway-token-123") == f"rendered {MASK}"


def test_structlog_event_log_redacts_before_structlog_sees_anything() -> None:
    log = StructlogEventLog(SecretRedactor([SECRET_KEY]))

    with capture_logs() as logs:
        log.warning("inference.test", detail=f"key={SECRET_KEY}")

    assert logs == [{"event": "inference.test", "detail": f"key={MASK}", "log_level": "warning"}]


async def test_bootstrap_masks_key_like_environment_variables() -> None:
    from inference_core.composition import bootstrap

    env = {"SOME_SERVICE_API_KEY": "zz-env-secret-value-77", "HOME": "/home/someone"}
    inference = bootstrap(config=config(), environ=env)

    masked = inference.redactor.redact_text("a zz-env-secret-value-77 b /home/someone")
    assert masked == f"a {MASK} b /home/someone"


async def test_retry_events_share_the_request_id_and_count_attempts_per_model() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=0.1)
    wired = Wired(
        fakes={"p1": fake(ProviderUnavailable("x"), ProviderUnavailable("y"), "ok")}, retry=policy
    )

    result = await wired.inference.chat_text(user="hi")

    assert [e.attempt for e in wired.sink.events] == [1, 2, 3]
    assert {e.request_id for e in wired.sink.events} == {result.request_id}
    assert result.attempts == 3 and result.model == PRICED


_counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))
_usages = st.builds(
    Usage,
    input_tokens=_counts,
    output_tokens=_counts,
    cached_tokens=_counts,
    cache_write_tokens=_counts,
    reasoning_tokens=_counts,
    cost_usd=st.one_of(st.none(), st.floats(min_value=0, max_value=10, allow_nan=False)),
    estimated=st.booleans(),
)


@settings(deadline=None, max_examples=60)  # a shared, loaded CI box must not make it flaky
@given(st.lists(st.tuples(_usages, st.sampled_from(["ok", "error", "cancelled"])), max_size=12))
def test_ledger_totals_equal_the_sum_of_usages(entries: list[tuple[Usage, str]]) -> None:
    ledger = UsageLedger()
    expected = Usage()
    for usage, outcome in entries:
        ledger.record(
            UsageEvent(
                request_id="r",
                model="m",
                provider="p",
                client="c",
                outcome=outcome,  # type: ignore[arg-type]
                latency_ms=1.0,
                usage=usage,
            )
        )
        expected = expected + usage

    total = ledger.total
    got = total.usage
    assert got.model_dump(exclude={"cost_usd"}) == expected.model_dump(exclude={"cost_usd"})
    if expected.cost_usd is None:
        assert got.cost_usd is None
    else:
        assert got.cost_usd == pytest.approx(expected.cost_usd)
    assert total.attempts == len(entries)
    assert total.ok + total.errors + total.cancelled == len(entries)
