"""Doubles for the application tests: a fake clock, a recording sleeper, a wired Inference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inference_core.adapters.fakes import FAKE_CAPABILITIES, FakeChatModel, ScriptItem
from inference_core.composition import Inference, bootstrap
from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.config import RetryPolicy, RuntimeConfig
from inference_core.domain.routing import ProviderConnection, RoutingTable
from inference_core.domain.usage import UsageEvent
from inference_core.ports.chat import ChatModel

PRICED = "priced-model"  # provider p1, $1 / $2 per million tokens, max output 512
BACKUP = "backup-model"  # provider p2, $10 / $20 per million tokens
UNPRICED = "unpriced-model"  # provider p3, no price known
SECRET_KEY = "sk-test-SECRETVALUE0123456789"


class FakeClock:
    """A monotonic clock that only moves when told to (or when the sleeper sleeps)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class RecordingSleeper:
    """Records every wait and moves the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)


class ListSink:
    """A usage sink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []

    def record(self, event: UsageEvent) -> None:
        self.events.append(event)


def spec(
    model_id: str,
    provider: str,
    *,
    json_output: JSONOutput = JSONOutput.JSON_OBJECT,
    price: tuple[float, float] | None = None,
    max_output: int | None = None,
    **caps: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": model_id,
        "provider": provider,
        "capabilities": {"json_output": json_output.value, **caps},
    }
    if price is not None:
        body["pricing"] = {"input": price[0], "output": price[1]}
    if max_output is not None:
        body["max_output_tokens"] = max_output
    return body


def config(
    *,
    models: Sequence[dict[str, Any]] = (),
    fallbacks: Mapping[str, Sequence[str]] | None = None,
    retry: RetryPolicy | None = None,
    api_keys: Mapping[str, str] | None = None,
    model_configs: Mapping[str, Any] | None = None,
) -> RuntimeConfig:
    all_models = [
        spec(PRICED, "p1", price=(1.0, 2.0), max_output=512),
        spec(BACKUP, "p2", price=(10.0, 20.0)),
        spec(UNPRICED, "p3"),
        *models,
    ]
    return RuntimeConfig.model_validate(
        {
            "default_model": PRICED,
            "models": {m["id"]: {k: v for k, v in m.items() if k != "id"} for m in all_models},
            "fallbacks": dict(fallbacks or {}),
            "retry": (retry or RetryPolicy(initial_delay=0.5, max_delay=8.0)).model_dump(),
            "api_keys": dict(api_keys or {}),
            "model_configs": dict(model_configs or {}),
            "routing": RoutingTable(
                provider_key_env={p: None for p in ("p1", "p2", "p3", "p4")}
            ).model_dump(),
        }
    )


class Wired:
    """A real :func:`bootstrap` whose providers are fakes (one per provider name)."""

    def __init__(
        self,
        *,
        fakes: Mapping[str, ChatModel] | None = None,
        cfg: RuntimeConfig | None = None,
        usage_sink: ListSink | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.clock = FakeClock()
        self.sleeper = RecordingSleeper(self.clock)
        self.sink = usage_sink or ListSink()
        self.fakes: dict[str, ChatModel] = dict(fakes or {})
        self.connections: list[ProviderConnection] = []
        self.inference: Inference = bootstrap(
            config=cfg or config(),
            environ={},
            chat_model_factory=self._factory,
            usage_sink=self.sink,
            clock=self.clock,
            sleeper=self.sleeper,
            retry=retry,
        )

    def _factory(self, connection: ProviderConnection) -> ChatModel:
        self.connections.append(connection)
        return self.fakes.setdefault(connection.provider, FakeChatModel())

    def fake(self, provider: str = "p1") -> FakeChatModel:
        model = self.fakes[provider]
        assert isinstance(model, FakeChatModel)
        return model


def fake(
    *script: ScriptItem, capabilities: AdapterCapabilities = FAKE_CAPABILITIES
) -> FakeChatModel:
    return FakeChatModel(*script, capabilities=capabilities)
