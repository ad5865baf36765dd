"""Observability and time ports, so policies are testable without sleeping."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from inference_core.domain.usage import UsageEvent

__all__ = ["Clock", "EventLog", "LevelAwareEventLog", "Sleeper", "UsageSink"]


@runtime_checkable
class UsageSink(Protocol):
    """Receives one event per model-call attempt (success or failure).

    Implementations must be cheap and must not raise: a failing sink must
    never fail the call it observes.
    """

    def record(self, event: UsageEvent) -> None:
        """Take one attempt's usage event."""
        ...


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds."""

    def now(self) -> float:
        """Seconds on a monotonic clock (only differences are meaningful)."""
        ...


@runtime_checkable
class Sleeper(Protocol):
    """Waits asynchronously; fakes record the delays instead of sleeping."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (cancellable)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """Receives the application's structured events (``inference.call`` and friends).

    Implementations must not raise and must never let a secret through; a
    structlog ``BoundLogger`` satisfies this protocol as is.
    """

    def info(self, event: str, /, **fields: Any) -> None:
        """Emit a routine event."""
        ...

    def warning(self, event: str, /, **fields: Any) -> None:
        """Emit an event about a failure or a degraded choice."""
        ...


class LevelAwareEventLog(EventLog, Protocol):
    """An :class:`EventLog` that can tell when info events would reach nobody.

    The per-attempt ``inference.call`` event is built only when
    :meth:`wants_info` says someone may see it: building its fields on every
    attempt is wasted work when nothing shows info events. The method is
    looked up on the log's class; a log whose class lacks it (a structlog
    ``BoundLogger``) gets every event.
    """

    def wants_info(self) -> bool:
        """False only when an info event emitted now would be dropped unseen."""
        ...
