"""Helpers of the queued-generator tests: fast pacing, a fresh journal, files in a store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_core.adapters.media.download import DownloadPolicy
from inference_core.adapters.media.queued import QueueTiming
from inference_core.adapters.media.queued_generator import QueueOptions
from tests.servers import FakeServer
from tests.servers.fixtures import fake_server, fake_server_session
from tests.servers.queue_state import QueueScript, queue_script

__all__ = [
    "FAL_KEY",
    "LOOPBACK",
    "WAVESPEED_KEY",
    "fake_server",
    "fake_server_session",
    "fast_options",
    "files_in",
    "queue",
    "wait_until",
]

FAL_KEY = "fal-key-test-0123456789abcdef:secretpart"
WAVESPEED_KEY = "ws-key-test-0123456789abcdef"
#: The fake server lives on loopback: the tests allow exactly that network.
LOOPBACK = ("127.0.0.0/8",)


def fast_options(
    tmp_path: Path, *, deadline: float = 10.0, max_bytes: int = 8 * 1024 * 1024, **timing: Any
) -> QueueOptions:
    """Queue options with millisecond polls, a journal in ``tmp_path`` and loopback allowed."""
    return QueueOptions(
        timing=QueueTiming(
            deadline_s=deadline,
            poll_interval=timing.pop("poll_interval", 0.01),
            poll_max_interval=timing.pop("poll_max_interval", 0.03),
            **timing,
        ),
        http_timeout=5.0,
        download=DownloadPolicy(max_bytes=max_bytes, allow_networks=LOOPBACK),
        journal_path=tmp_path / "jobs.sqlite3",
    )


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` every 10 ms until it holds (fails after ``within`` seconds)."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def files_in(root: Path) -> list[Path]:
    """Every file under ``root`` (scratch files included)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def queue(fake_server: FakeServer) -> Iterator[QueueScript]:
    """The server's queued-job script, cleared around the test."""
    script = queue_script(fake_server)
    script.clear()
    yield script
    script.clear()
