"""The seed's LLMClient: awaitable chat_text/chat_json, per-call credentials, response_format."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest

from inference_core import LLMClient
from inference_core.adapters.fakes import FakeChatModel
from inference_core.compat.registry import ModelConfig
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import InvalidInputError, ProviderUnavailable
from tests.unit.application.support import Wired


def _client(fake: FakeChatModel, *, retry: RetryPolicy | None = None) -> tuple[LLMClient, Wired]:
    wired = Wired(fakes={"p1": fake}, retry=retry)
    return LLMClient(inference=wired.inference), wired


def test_chat_text_and_chat_json_are_coroutine_functions_with_the_seed_signature() -> None:
    for name in ("chat_text", "chat_json"):
        method = getattr(LLMClient, name)
        assert inspect.iscoroutinefunction(method)
        params = inspect.signature(method).parameters
        assert list(params)[:3] == ["self", "system_prompt", "user_prompt"]
        for keyword in ("model", "max_tokens", "reasoning_effort"):
            assert params[keyword].kind is inspect.Parameter.KEYWORD_ONLY
            assert params[keyword].default is None


async def test_agents_await_chat_json_and_gather_several() -> None:
    fake = FakeChatModel('{"scene": 1}', '{"scene": 2}', '{"scene": 3}', "plain text")
    client, _ = _client(fake)
    results = await asyncio.gather(
        client.chat_json("Return JSON.", "first"),
        client.chat_json("Return JSON.", "second"),
        client.chat_json("Return JSON.", "third"),
        client.chat_text("Be brief.", "fourth"),
    )
    assert sorted(r["scene"] for r in results[:3]) == [1, 2, 3]
    assert results[3] == "plain text"
    assert len(fake.calls) == 4
    client.close()


def test_the_seed_coroutines_run_under_asyncio_run_per_call() -> None:
    fake = FakeChatModel('{"ok": true}', "done")
    client, _ = _client(fake)
    assert asyncio.run(client.chat_json("s", "u")) == {"ok": True}
    assert asyncio.run(client.chat_text("s", "u", max_tokens=5)) == "done"
    assert fake.calls[1].params.max_tokens == 5
    client.close()


def test_sync_forms_keep_the_blocking_behaviour() -> None:
    fake = FakeChatModel('{"n": 7}', "hello")
    client, _ = _client(fake)
    assert client.chat_json_sync("s", "u") == {"n": 7}
    assert client.chat_text_sync("s", "u") == "hello"
    client.close()


def test_per_call_credentials_reuse_the_clients_composition() -> None:
    fake = FakeChatModel(
        ProviderUnavailable("down"), ProviderUnavailable("down"), ProviderUnavailable("down"), "ok"
    )
    client, wired = _client(fake, retry=RetryPolicy(max_attempts=4, initial_delay=0.5))
    per_call = ModelConfig(api_key="sk-per-call-0123456789abcdef", base_url="http://127.0.0.1:9")
    response = client.call([{"role": "user", "content": "hi"}], config=per_call)
    assert response["choices"][0]["message"]["content"] == "ok"
    assert response["attempts"] == 4
    assert len(fake.calls) == 4  # the injected fake served it: nothing reached the network
    assert client.inference.ledger.snapshot().total.attempts == 4  # the client's own ledger
    assert len(wired.sleeper.delays) == 3  # the client's sleeper and retry policy
    derived = client._for(per_call)
    assert derived.runner is client.inference.runner  # one loop, no extra thread
    assert derived.ledger is client.inference.ledger
    assert "sk-per-call-0123456789abcdef" not in repr(derived.redactor)
    assert derived.redactor.redact_text("key sk-per-call-0123456789abcdef") == "key [REDACTED]"
    client.close()


def test_response_format_json_object_returns_the_validated_object_as_content() -> None:
    fake = FakeChatModel('{"title": "Heist"}')
    client, _ = _client(fake)
    response = client.call(
        [{"role": "user", "content": "Outline a film."}], response_format={"type": "json_object"}
    )
    assert json.loads(response["choices"][0]["message"]["content"]) == {"title": "Heist"}
    assert fake.calls[0].response_format is not None
    client.close()


def test_response_format_json_schema_is_enforced() -> None:
    fake = FakeChatModel('{"title": 5}', '{"title": "Heist"}')
    client, _ = _client(fake)
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": ["title"],
        "additionalProperties": False,
    }
    response = client.call(
        [{"role": "user", "content": "Outline a film."}],
        response_format={"type": "json_schema", "json_schema": {"name": "o", "schema": schema}},
    )
    assert json.loads(response["choices"][0]["message"]["content"]) == {"title": "Heist"}
    assert len(fake.calls) == 2  # the invalid first answer was re-asked
    client.close()


@pytest.mark.parametrize(
    "response_format",
    [{"type": "xml"}, {"type": "json_schema"}, "json", {"type": "json_schema", "json_schema": {}}],
)
def test_an_unusable_response_format_is_a_typed_error(response_format: object) -> None:
    fake = FakeChatModel("x")
    client, _ = _client(fake)
    with pytest.raises(InvalidInputError, match="response_format"):
        client.call([{"role": "user", "content": "hi"}], response_format=response_format)
    assert fake.calls == []
    client.close()


def test_streaming_with_a_json_response_format_is_refused_not_ignored() -> None:
    client, _ = _client(FakeChatModel("x"))
    with pytest.raises(InvalidInputError, match="streaming"):
        list(
            client.stream_call(
                [{"role": "user", "content": "hi"}], response_format=dict(type="json_object")
            )
        )
    client.close()
