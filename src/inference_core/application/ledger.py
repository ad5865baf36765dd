"""A :class:`~inference_core.ports.UsageSink` that keeps running totals of usage and cost."""

from __future__ import annotations

import operator
import threading

from pydantic import BaseModel, ConfigDict, Field

from inference_core.domain.chat import Usage
from inference_core.domain.usage import UsageEvent

__all__ = ["LedgerSnapshot", "LedgerTotals", "UsageLedger"]


class LedgerTotals(BaseModel):
    """Totals over a set of attempts.

    Attributes:
        attempts: Every attempt recorded (successes, errors and cancellations).
        ok: Attempts that returned an answer.
        errors: Attempts that failed.
        cancelled: Attempts cancelled by the caller.
        usage: Summed usage (``Usage.__add__`` rules): ``usage.cost_usd`` is
            ``None`` as soon as one attempt spent tokens at an unknown price,
            never a partial sum passed off as the total.
        unpriced_attempts: Attempts that spent tokens (or made media) whose cost is unknown.
        images: Images generated (media attempts that succeeded).
        media_seconds: Seconds of video or audio generated.
        characters: Characters turned into speech.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    attempts: int = 0
    ok: int = 0
    errors: int = 0
    cancelled: int = 0
    usage: Usage = Usage()
    unpriced_attempts: int = 0
    images: int = 0
    media_seconds: float = 0.0
    characters: int = 0

    @property
    def cost_usd(self) -> float | None:
        """Total cost in US dollars, or ``None`` when any part of it is unknown."""
        return self.usage.cost_usd


class LedgerSnapshot(BaseModel):
    """A consistent copy of a ledger: the run's totals, per model and per provider."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    total: LedgerTotals = LedgerTotals()
    by_model: dict[str, LedgerTotals] = Field(default_factory=dict)
    by_provider: dict[str, LedgerTotals] = Field(default_factory=dict)


_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_token_counts = operator.attrgetter(*_TOKEN_FIELDS)


class _Running:
    """Mutable counters behind one :class:`LedgerTotals`.

    ``record`` runs once per attempt on the hot path, so it adds plain numbers;
    the frozen values are built only when read. The sums follow
    ``Usage.__add__`` exactly (unknown stays ``None``; tokens spent at an
    unknown price make the cost unknown); a property test holds them equal.
    """

    __slots__ = (
        "attempts",
        "cancelled",
        "characters",
        "cost",
        "cost_unknown",
        "errors",
        "estimated",
        "images",
        "media_seconds",
        "ok",
        "tokens",
        "unpriced",
    )

    def __init__(self) -> None:
        self.attempts = self.ok = self.errors = self.cancelled = self.unpriced = 0
        self.tokens: list[int | None] = [None] * len(_TOKEN_FIELDS)
        self.cost: float | None = None
        self.cost_unknown = False
        self.estimated = False
        self.images = self.characters = 0
        self.media_seconds = 0.0

    def add(self, event: UsageEvent, tokens: tuple[int | None, ...], unpriced: bool) -> None:
        """Add ``event``; ``tokens`` are its usage's ``_TOKEN_FIELDS``, ``unpriced`` its flag.

        Both are read from the event once by the ledger, for the three totals it adds to.
        """
        self.attempts += 1
        outcome = event.outcome
        if outcome == "ok":
            self.ok += 1
        elif outcome == "error":
            self.errors += 1
        else:
            self.cancelled += 1
        usage = event.usage
        running = self.tokens
        for index, value in enumerate(tokens):
            if value is not None:
                current = running[index]
                running[index] = value if current is None else current + value
        if usage.cost_usd is not None:
            self.cost = usage.cost_usd if self.cost is None else self.cost + usage.cost_usd
        elif unpriced:
            self.cost_unknown = True
            self.unpriced += 1
        self.estimated = self.estimated or usage.estimated
        media = event.media
        if media is not None and outcome == "ok":
            self.images += media.images
            self.media_seconds += media.seconds
            self.characters += media.characters

    def totals(self) -> LedgerTotals:
        usage = Usage(
            **dict(zip(_TOKEN_FIELDS, self.tokens, strict=True)),
            cost_usd=None if self.cost_unknown else self.cost,
            estimated=self.estimated,
        )
        return LedgerTotals(
            attempts=self.attempts,
            ok=self.ok,
            errors=self.errors,
            cancelled=self.cancelled,
            usage=usage,
            unpriced_attempts=self.unpriced,
            images=self.images,
            media_seconds=self.media_seconds,
            characters=self.characters,
        )


class UsageLedger:
    """Sums every attempt's usage and cost for one run, per model and per provider.

    Safe to share between threads and event loops; ``record`` never raises and
    only updates counters (the totals are built when read).

    Example:
        >>> ledger = UsageLedger()
        >>> ledger.total.attempts
        0
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = _Running()
        self._by_model: dict[str, _Running] = {}
        self._by_provider: dict[str, _Running] = {}

    def record(self, event: UsageEvent) -> None:
        """Add one attempt."""
        tokens: tuple[int | None, ...] = _token_counts(event.usage)
        unpriced = event.unpriced
        with self._lock:
            self._total.add(event, tokens, unpriced)
            model = self._by_model.get(event.model)
            if model is None:
                model = self._by_model[event.model] = _Running()
            model.add(event, tokens, unpriced)
            provider = self._by_provider.get(event.provider)
            if provider is None:
                provider = self._by_provider[event.provider] = _Running()
            provider.add(event, tokens, unpriced)

    def _snapshot(self) -> LedgerSnapshot:
        # Callers hold the lock.
        return LedgerSnapshot(
            total=self._total.totals(),
            by_model={k: v.totals() for k, v in self._by_model.items()},
            by_provider={k: v.totals() for k, v in self._by_provider.items()},
        )

    def snapshot(self) -> LedgerSnapshot:
        """The totals so far (an immutable copy; later records do not change it)."""
        with self._lock:
            return self._snapshot()

    @property
    def total(self) -> LedgerTotals:
        """Totals of the whole run."""
        with self._lock:
            return self._total.totals()

    def by_model(self) -> dict[str, LedgerTotals]:
        """Totals per catalog model id (and per generator id, for media)."""
        return self.snapshot().by_model

    def by_provider(self) -> dict[str, LedgerTotals]:
        """Totals per provider."""
        return self.snapshot().by_provider

    def reset(self) -> LedgerSnapshot:
        """Start a new run; return the totals of the one that ended."""
        with self._lock:
            ended = self._snapshot()
            self._total = _Running()
            self._by_model = {}
            self._by_provider = {}
        return ended
