"""Every fault of the matrix, on every HTTP protocol, through the one retry owner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fault_matrix import CASES, REPLY, Case, run_case
from tests.servers import FakeServer

pytest.importorskip("openai", reason="needs the 'openai' extra")
pytest.importorskip("anthropic", reason="needs the 'anthropic' extra")

PAIRS = [
    pytest.param(protocol, case, id=f"{protocol}-{case.name}")
    for case in CASES
    for protocol in case.protocols
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.mark.parametrize(("protocol", "case"), PAIRS)
async def test_fault(server: FakeServer, tmp_path: Path, protocol: str, case: Case) -> None:
    outcome = await run_case(server, tmp_path, protocol, case)
    assert (outcome.seen, outcome.requests) == (case.expected, case.requests), outcome.detail
    if outcome.seen == "ok":
        assert outcome.detail == REPLY
    if outcome.seen == "StreamInterrupted":
        assert outcome.partial and REPLY.startswith(outcome.partial.strip())
