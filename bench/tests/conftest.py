"""Shared fixtures: the project's loopback-only guard, and the bench server in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.clients import BenchContext
from bench.server import BenchServer
from tests.conftest import _loopback_only  # noqa: F401 - the autouse guard applies here too


@pytest.fixture
async def server() -> AsyncIterator[BenchServer]:
    """The bench server on an ephemeral loopback port, on the test's event loop."""
    srv = BenchServer()
    await srv.start()
    stop = asyncio.Event()
    task = asyncio.create_task(srv.serve_until(stop))
    yield srv
    stop.set()
    await task


@pytest.fixture
def ctx(server: BenchServer) -> BenchContext:
    """A bench context pointing at :func:`server` (no runtime config)."""
    return BenchContext(host=server.host, port=server.port)
