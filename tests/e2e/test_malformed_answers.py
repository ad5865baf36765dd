"""An HTTP 200 that does not match the protocol is InvalidResponse naming the field, never text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_core import bootstrap
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import InvalidResponse
from tests.e2e.fault_matrix import KEYS, MODELS, PATHS, config_file
from tests.servers import FakeServer, Fault

pytest.importorskip("openai", reason="needs the 'openai' extra")

COMPLETION = {"id": "x", "object": "chat.completion", "model": "m"}
CASES = [
    ("openai", {**COMPLETION, "choices": "nope"}, "unexpected completion shape"),
    ("openai", {**COMPLETION, "choices": []}, "no choices"),
    (
        "openai",
        {**COMPLETION, "choices": [{"index": 0, "message": {"role": "assistant"},
                                    "finish_reason": "stop"}]},
        "no content, tool_calls or refusal",
    ),
    ("ollama", {"model": "llama3", "message": "nope", "done": True}, "'message' is a str"),
    ("ollama", {"model": "llama3", "done": True}, "'message' is missing"),
    (
        "ollama",
        {"model": "llama3", "message": {"role": "assistant"}, "done": True},
        "'message.content' is missing",
    ),
    (
        "ollama",
        {"model": "llama3", "message": {"role": "assistant", "content": 5}, "done": True},
        "'message.content' is a int",
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.mark.parametrize(("protocol", "body", "named"), CASES)
async def test_a_body_off_protocol_is_invalid_response(
    server: FakeServer, tmp_path: Path, protocol: str, body: dict[str, Any], named: str
) -> None:
    server.reset()
    server.fault(Fault(raw_body=json.dumps(body).encode(), path=PATHS[protocol]))
    inference = bootstrap(
        config_path=config_file(server, tmp_path),
        environ=dict(KEYS),
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(InvalidResponse) as caught:
        await inference.chat_text(user="hi", model=MODELS[protocol])
    assert named in str(caught.value)
    await inference.aclose()
