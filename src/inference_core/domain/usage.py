"""One record per model-call attempt: what a :class:`~inference_core.ports.UsageSink` receives."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from inference_core.domain.chat import Usage
from inference_core.domain.media import MediaUsage

__all__ = ["Outcome", "UsageEvent"]

Outcome = Literal["ok", "error", "cancelled"]


class UsageEvent(BaseModel):
    """One attempt of one call (successful or not).

    Attributes:
        request_id: Shared by every attempt (and fallback) of one logical call.
        attempt: 1-based attempt number for this model.
        error_type: Domain error class name when ``outcome`` is ``error``.
        ttft_ms: Time to first token, streams only.
        media: What a media attempt produced and cost (``operation == "media"``);
            ``usage.cost_usd`` then carries the same cost, so totals add up.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    request_id: str
    model: str
    provider: str
    client: str
    operation: Literal["chat", "stream", "media"] = "chat"
    attempt: int = 1
    outcome: Outcome = "ok"
    error_type: str | None = None
    latency_ms: float
    ttft_ms: float | None = None
    usage: Usage = Usage()
    media: MediaUsage | None = None

    @property
    def event_name(self) -> str:
        """The log event this attempt is reported as."""
        return "inference.media" if self.operation == "media" else "inference.call"

    @property
    def unpriced(self) -> bool:
        """Something was consumed whose price is unknown (so the run's cost is unknown)."""
        if self.media is not None:
            return self.outcome == "ok" and self.media.cost_usd is None
        return self.usage.cost_usd is None and self.usage.is_known

    def log_fields(self) -> dict[str, Any]:
        """Fields for the ``inference.call`` event; OpenTelemetry GenAI names where one exists."""
        u = self.usage
        return {
            "request_id": self.request_id,
            "gen_ai.operation.name": self.operation,
            "gen_ai.request.model": self.model,
            "gen_ai.provider.name": self.provider,
            "inference.client": self.client,
            "inference.attempt": self.attempt,
            "inference.outcome": self.outcome,
            "error.type": self.error_type,
            "inference.latency_ms": round(self.latency_ms, 3),
            "inference.ttft_ms": None if self.ttft_ms is None else round(self.ttft_ms, 3),
            "gen_ai.usage.input_tokens": u.input_tokens,
            "gen_ai.usage.output_tokens": u.output_tokens,
            "gen_ai.usage.cached_tokens": u.cached_tokens,
            "gen_ai.usage.reasoning_tokens": u.reasoning_tokens,
            "inference.cost_usd": u.cost_usd,
            "inference.usage_estimated": u.estimated,
            **(self.media_fields() if self.media is not None else {}),
        }

    def media_fields(self) -> dict[str, Any]:
        """The media counters of a media attempt, for its log event."""
        m = self.media or MediaUsage()
        return {
            "inference.media.images": m.images,
            "inference.media.seconds": round(m.seconds, 3),
            "inference.media.characters": m.characters,
        }
