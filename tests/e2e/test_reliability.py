"""Reliability end to end: the real OpenAI adapter against the local fake server under faults.

1,000 calls at concurrency 50; 30% of first attempts get a 429 (Retry-After
0.01 s), a 503 or a read timeout. The server faults each distinct body at most
once, so with ``max_attempts=4`` every call must succeed, the server must see
exactly one extra request per injected fault (no retry multiplication between
the SDK and our retry owner), and the ledger must count exactly the tokens
the server served.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from inference_core.composition import bootstrap
from inference_core.domain.config import RetryPolicy, RuntimeConfig, TimeoutPolicy
from tests.servers import FakeServer

pytestmark = pytest.mark.slow

CALLS = 1000
CONCURRENCY = 50
MODEL = "gpt-4o-mini"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(protocols=("openai",)) as running:
        yield running


async def test_every_call_survives_thirty_percent_faulty_first_attempts(server: FakeServer) -> None:
    server.random_faults(
        rate=0.3, kinds=("429", "503", "timeout"), seed=11, retry_after=0.01, timeout_delay=4.0
    )
    config = RuntimeConfig(
        default_model=MODEL,
        # "timeout" faults stall 4 s: a 2 s read timeout turns them into client timeouts
        # while leaving a healthy answer on a loaded machine (p99 ~1 s here) a wide margin.
        timeouts=TimeoutPolicy(connect=5.0, read=2.0),
        retry=RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=0.05, deadline=120.0),
    )
    inference = bootstrap(
        config=config,
        environ={"OPENAI_API_KEY": "sk-reliability-test-key-0000"},
        base_url=server.openai_base_url,
    )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int) -> str:
        async with gate:
            result = await inference.chat_text(user=f"call number {index}")
            return result.text

    with capture_logs() as logs:
        try:
            texts = await asyncio.gather(*(one(i) for i in range(CALLS)))
        finally:
            await inference.aclose()

    assert texts == [f"Echo: call number {i}" for i in range(CALLS)]
    faults = server.injected_faults
    assert {kind for _, kind in server.fault_log} == {"429", "503", "timeout"}
    assert 0.2 * CALLS < faults < 0.4 * CALLS
    assert server.request_count == CALLS + faults
    assert server.served == CALLS

    total = inference.ledger.total
    assert (total.attempts, total.ok, total.errors) == (CALLS + faults, CALLS, faults)
    assert total.usage.input_tokens == server.served_prompt_tokens
    assert total.usage.output_tokens == server.served_completion_tokens
    assert total.cost_usd is not None and total.cost_usd > 0  # gpt-4o-mini is priced
    calls = [e for e in logs if e["event"] == "inference.call"]
    assert len(calls) == CALLS + faults
    errors = {e["error.type"] for e in calls if e["inference.outcome"] == "error"}
    assert errors == {"RateLimitError", "ProviderUnavailable", "ProviderTimeout"}
