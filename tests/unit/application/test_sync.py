"""run_sync: from plain sync code, from inside a running loop, one reused loop, cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from inference_core.application import SyncRunner
from tests.unit.application.support import Wired, fake

_request_tag: contextvars.ContextVar[str] = contextvars.ContextVar("request_tag", default="-")


async def _loop_identity() -> tuple[int, str]:
    await asyncio.sleep(0)
    return id(asyncio.get_running_loop()), threading.current_thread().name


def test_run_sync_from_sync_code_reuses_one_loop() -> None:
    runner = SyncRunner()
    try:
        first = runner.run(_loop_identity())
        second = runner.run(_loop_identity())
        third = runner.run(_loop_identity())
    finally:
        runner.close()
    assert first == second == third
    assert first[1] == "inference-core-loop"
    assert runner.closed


async def test_run_sync_inside_a_running_loop() -> None:
    outer = id(asyncio.get_running_loop())
    runner = SyncRunner()
    try:
        inner, _ = runner.run(_loop_identity())  # blocking call made from async code (Jupyter)
        again, _ = runner.run(_loop_identity())
    finally:
        runner.close()
    assert inner == again != outer


def test_errors_propagate_and_the_loop_survives() -> None:
    async def boom() -> None:
        raise KeyError("nope")

    runner = SyncRunner()
    try:
        with pytest.raises(KeyError):
            runner.run(boom())
        assert runner.run(_loop_identity())[1] == "inference-core-loop"
    finally:
        runner.close()


def test_context_variables_travel_with_the_coroutine() -> None:
    async def read_tag() -> str:
        return _request_tag.get()

    runner = SyncRunner()
    token = _request_tag.set("run-7")
    try:
        assert runner.run(read_tag()) == "run-7"
    finally:
        _request_tag.reset(token)
        runner.close()


def test_a_closed_runner_refuses_work() -> None:
    runner = SyncRunner()
    runner.run(_loop_identity())
    runner.close()
    coro = _loop_identity()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(coro)


def test_calling_run_from_its_own_loop_is_refused_instead_of_deadlocking() -> None:
    runner = SyncRunner()

    async def nested() -> str:
        try:
            runner.run(_loop_identity())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    try:
        assert "own loop" in runner.run(nested())
    finally:
        runner.close()


def test_inference_run_sync_reuses_adapters_and_closes_them() -> None:
    wired = Wired(fakes={"p1": fake("one", "two")})
    inference = wired.inference

    first = inference.run_sync(inference.chat_text(user="a"))
    second = inference.run_sync(inference.chat_text(user="b"))
    inference.close()

    assert (first.text, second.text) == ("one", "two")
    assert len(wired.connections) == 1  # one adapter built: the same loop served both calls
    assert wired.fake("p1").closed
    assert inference.runner.closed
