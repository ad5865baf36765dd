"""Collect every ``rows_*.py`` row and run the contract cases once per row.

One combined local server (OpenAI, Anthropic and Ollama protocols) runs for
the whole session; it is reset before each test and every model a row built
is closed after it.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.harness import CONTRACT_MODEL, ChatHarness
from tests.servers import FakeServer
from tests.servers.fixtures import fake_server_session

__all__ = ["fake_server_session"]  # re-exported so pytest sees the session fixture


def _discover_rows() -> list[ChatHarness]:
    rows: list[ChatHarness] = []
    for path in sorted(Path(__file__).parent.glob("rows_*.py")):
        module = importlib.import_module(f"tests.contract.{path.stem}")
        module_rows = getattr(module, "ROWS", None)
        if not isinstance(module_rows, list):
            raise TypeError(f"{path.name} must define ROWS: list[ChatHarness]")
        for row in module_rows:
            if not isinstance(row, ChatHarness):
                raise TypeError(f"{path.name}: {row!r} does not implement ChatHarness")
            rows.append(row)
    names = [row.name for row in rows]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate contract row names: {sorted(duplicates)}")
    return rows


ROWS = _discover_rows()


@pytest.fixture(
    params=[pytest.param(r, marks=getattr(r, "marks", ()), id=r.name) for r in ROWS],
)
async def row(
    request: pytest.FixtureRequest, fake_server_session: FakeServer
) -> AsyncIterator[ChatHarness]:
    """One contract row, attached to the freshly reset session server."""
    harness: ChatHarness = request.param
    limitation = getattr(harness, "limitation", None)
    reason = limitation(request.node.name) if limitation is not None else None
    if reason is not None:
        # A documented gap of this row: run it anyway, and notice when it starts passing.
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    fake_server_session.reset()
    fake_server_session.ollama_models.add(CONTRACT_MODEL)  # Ollama answers 404 for unknown ids
    harness.attach(fake_server_session)
    try:
        yield harness
    finally:
        await harness.aclose()
