"""Events, time and usage recording used by every use-case.

The application never configures logging and never imports a logging library:
it emits named events through an :class:`EventLog` (the structlog adapter in
``inference_core.adapters.telemetry`` is the one bootstrap wires) and usage
records through the :class:`~inference_core.ports.UsageSink` port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, cast

from inference_core.domain.catalog import ModelSpec
from inference_core.domain.chat import Usage
from inference_core.domain.media import MediaUsage
from inference_core.domain.usage import Outcome, UsageEvent
from inference_core.ports.routing import ResolvedModel
from inference_core.ports.runtime import EventLog, LevelAwareEventLog, UsageSink

__all__ = [
    "AsyncioSleeper",
    "AttemptRecorder",
    "EventLog",
    "NullEventLog",
    "SystemClock",
    "priced",
]

#: Longest error text copied into an event (provider messages can be whole HTML pages).
_MAX_ERROR_TEXT = 300


class NullEventLog:
    """An :class:`EventLog` that drops everything (use-cases built without bootstrap)."""

    def info(self, event: str, /, **fields: Any) -> None:
        """Drop the event."""

    def warning(self, event: str, /, **fields: Any) -> None:
        """Drop the event."""

    def wants_info(self) -> bool:
        """Never: nothing is kept."""
        return False


class SystemClock:
    """The :class:`~inference_core.ports.Clock` of the process: ``time.monotonic``."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()


class AsyncioSleeper:
    """The :class:`~inference_core.ports.Sleeper` that really waits (``asyncio.sleep``)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the loop."""
        await asyncio.sleep(seconds)


def _always() -> bool:
    return True


def _info_gate(log: EventLog) -> Callable[[], bool]:
    """``log.wants_info`` when the log's class defines it, else a gate that is always open.

    Looked up on the class: a structlog ``BoundLogger`` answers any attribute
    with a logging method, so asking the instance would log a bogus event.
    """
    if getattr(type(log), "wants_info", None) is None:
        return _always
    return cast(LevelAwareEventLog, log).wants_info


def priced(spec: ModelSpec | None, usage: Usage) -> Usage:
    """``usage`` with its cost from the catalog price.

    The catalog price wins; a cost the adapter reported itself (OpenRouter,
    LiteLLM) is kept only when the catalog cannot price the usage. Unknown
    stays ``None``, never 0.
    """
    if spec is None:
        return usage
    cost = spec.cost(usage)
    if cost is None or cost == usage.cost_usd:
        return usage
    return usage.model_copy(update={"cost_usd": cost})


class AttemptRecorder:
    """Turns one attempt into one :class:`UsageEvent` per sink and one ``inference.call`` event.

    Both are emitted for every attempt, successful or not, so sinks and logs
    count the same things (a :class:`~inference_core.ports.runtime.LevelAwareEventLog`
    that says nobody sees info events is not sent the successful ones). A sink
    that raises is reported and skipped: observing a call must never fail it
    (the port forbids raising; this is the defence when one does anyway).
    """

    def __init__(self, sinks: Sequence[UsageSink], log: EventLog) -> None:
        self._sinks = tuple(sinks)
        self._log = log
        self._wants_info = _info_gate(log)

    def record(
        self,
        *,
        request_id: str,
        resolved: ResolvedModel,
        operation: Literal["chat", "stream", "media"],
        attempt: int,
        latency_s: float,
        usage: Usage | None = None,
        error: BaseException | None = None,
        cancelled: bool = False,
        ttft_s: float | None = None,
    ) -> Usage:
        """Emit the attempt's events and return its usage, priced from the catalog."""
        route = resolved.route
        cost_usage = priced(route.spec, usage) if usage is not None else Usage()
        outcome: Outcome = "cancelled" if cancelled else ("error" if error is not None else "ok")
        event = UsageEvent(
            request_id=request_id,
            model=route.model,
            provider=route.provider,
            client=route.client,
            operation=operation,
            attempt=attempt,
            outcome=outcome,
            error_type=type(error).__name__ if error is not None else None,
            latency_ms=latency_s * 1000.0,
            ttft_ms=None if ttft_s is None else ttft_s * 1000.0,
            usage=cost_usage,
        )
        self._emit(event, error)
        return cost_usage

    def record_media(
        self,
        *,
        request_id: str,
        generator_id: str,
        provider: str,
        attempt: int,
        latency_s: float,
        media: MediaUsage | None = None,
        error: BaseException | None = None,
        cancelled: bool = False,
    ) -> None:
        """Emit one media attempt as a ``UsageEvent`` and an ``inference.media`` log event."""
        outcome: Outcome = "cancelled" if cancelled else ("error" if error is not None else "ok")
        usage = Usage(
            input_tokens=media.input_tokens if media else None,
            output_tokens=media.output_tokens if media else None,
            cost_usd=media.cost_usd if media else None,
        )
        event = UsageEvent(
            request_id=request_id,
            model=generator_id,
            provider=provider,
            client="media",
            operation="media",
            attempt=attempt,
            outcome=outcome,
            error_type=type(error).__name__ if error is not None else None,
            latency_ms=latency_s * 1000.0,
            usage=usage,
            media=media,
        )
        self._emit(event, error)

    def _emit(self, event: UsageEvent, error: BaseException | None) -> None:
        for sink in self._sinks:
            try:
                sink.record(event)
            except Exception as exc:
                self._log.warning(
                    "inference.usage_sink_failed", sink=type(sink).__name__, error=repr(exc)
                )
        if error is None:
            if self._wants_info():
                self._log.info(event.event_name, **event.log_fields())
        else:
            fields = event.log_fields()
            fields["error.message"] = str(error)[:_MAX_ERROR_TEXT]
            self._log.warning(event.event_name, **fields)
