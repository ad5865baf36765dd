"""The call's deadline bounds whole attempts over real SDKs: slow bodies, slow streams, cold starts.

The local protocol server drips a complete, valid body over 3 s, or paces a
stream at 0.3 s per event; a 1 s deadline must end the call with
``DeadlineExceeded`` (or ``StreamInterrupted`` caused by it, once text was
delivered), never with the late answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inference_core import bootstrap
from inference_core.composition import Inference, default_chat_model_factory
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import DeadlineExceeded, StreamInterrupted
from inference_core.domain.routing import ProviderConnection
from inference_core.ports.chat import ChatModel
from tests.servers.server import FakeServer
from tests.servers.state import Fault

pytest.importorskip("openai", reason="needs the 'openai' extra")
pytest.importorskip("anthropic", reason="needs the 'anthropic' extra")

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
LONG = " ".join(f"word{i}" for i in range(40))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def inference(server: FakeServer, tmp_path: Path) -> Iterator[Inference]:
    server.reset()
    config = tmp_path / "inference_runtime.yaml"
    config.write_text(
        f"""
routing:
  provider_base_url:
    openai: "{server.base_url}/v1"
    anthropic: "{server.base_url}"
""",
        encoding="utf-8",
    )
    built = bootstrap(
        config_path=config,
        environ={"OPENAI_API_KEY": "sk-test-deadline-1", "ANTHROPIC_API_KEY": "sk-test-deadline-2"},
        retry=RetryPolicy(max_attempts=3, initial_delay=0.05, deadline=1.0),
    )
    yield built


@pytest.mark.parametrize("provider", list(MODELS))
async def test_a_slow_body_cannot_outlive_the_deadline(
    provider: str, inference: Inference, server: FakeServer
) -> None:
    server.fault(Fault(drip_seconds=3.0, path=PATHS[provider]))
    with pytest.raises(DeadlineExceeded) as caught:
        await inference.chat_text(user="hi", model=MODELS[provider], max_tokens=5)
    assert caught.value.attempts == 1
    assert len(server.requests_for(PATHS[provider])) == 1  # not retried past the deadline
    await inference.aclose()


@pytest.mark.parametrize("provider", list(MODELS))
async def test_a_slow_stream_cannot_outlive_the_deadline(
    provider: str, inference: Inference, server: FakeServer
) -> None:
    server.chunk_delay = 0.3
    server.reply(LONG)
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        async for chunk in inference.stream_chat(user="hi", model=MODELS[provider]):
            received.append(chunk.text)
    assert isinstance(caught.value.__cause__, DeadlineExceeded)
    assert caught.value.partial_text == "".join(received)
    assert 0 < len(received) < 40  # cut by the deadline, text kept
    await inference.aclose()


async def test_a_cold_adapter_does_not_spend_the_deadline_on_set_up(
    server: FakeServer, tmp_path: Path
) -> None:
    # Building an adapter (importing its SDK, making its client) took 1.5 s here, more
    # than the whole 1 s deadline: it is set-up, kept out of the deadline, so the
    # attempt still runs instead of failing after 0 attempts.
    def slow_factory(connection: ProviderConnection) -> ChatModel:
        time.sleep(1.5)
        return default_chat_model_factory(connection)

    server.reset()
    config = tmp_path / "inference_runtime.yaml"
    config.write_text(
        f'routing:\n  provider_base_url:\n    anthropic: "{server.base_url}"\n', encoding="utf-8"
    )
    inference = bootstrap(
        config_path=config,
        environ={"ANTHROPIC_API_KEY": "sk-test-deadline-2"},
        chat_model_factory=slow_factory,
        retry=RetryPolicy(max_attempts=3, initial_delay=0.05, deadline=1.0),
    )
    result = await inference.chat_text(user="hi", model=MODELS["anthropic"], max_tokens=5)
    assert result.text.startswith("Echo: hi")
    assert result.attempts == 1
    await inference.aclose()
