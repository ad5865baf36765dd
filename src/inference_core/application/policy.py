"""The single retry owner: backoff, ``Retry-After``, attempt limit, overall deadline, fallbacks.

Decisions (and why):

* Only :class:`~inference_core.domain.errors.ProviderError` with ``retryable``
  true is retried; adapters make exactly one attempt each, so retries never
  multiply.
* The wait before attempt ``n + 1`` is the server's ``retry_after`` when it sent
  one (capped by ``RetryPolicy.retry_after_cap``), else exponential backoff
  ``min(max_delay, initial_delay * multiplier ** (n - 1))`` with "equal
  jitter" (a random factor in [0.5, 1)): never a burst of synchronised
  retries, never much shorter than the backoff asked for.
* The deadline covers the whole logical call (retries, JSON re-asks and
  fallbacks). When the next wait would end at or after it, we stop and raise
  :class:`~inference_core.domain.errors.DeadlineExceeded` chained from the
  last error: the caller learns that time ran out (not that one more 429
  happened), the last provider error stays in ``__cause__``, and because
  ``DeadlineExceeded`` is final no fallback is tried either. Running out of
  attempts raises the last error itself.
* The success path does not touch tenacity: the first attempt runs directly
  and the tenacity machinery is only imported and built once an attempt has
  failed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from inference_core.domain.chat import Usage
from inference_core.domain.config import RetryPolicy
from inference_core.domain.errors import (
    AuthenticationError,
    ContentFiltered,
    DeadlineExceeded,
    InvalidRequestError,
    ProviderError,
    StreamInterrupted,
)
from inference_core.ports.runtime import Clock, Sleeper

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["CallContext", "DeadlineWatch", "RetryRunner", "falls_back", "is_retryable"]

R = TypeVar("R")

_NO_USAGE = Usage()


def is_retryable(error: BaseException) -> bool:
    """True for provider errors that say repeating the same request may succeed."""
    return isinstance(error, ProviderError) and error.retryable


def falls_back(error: BaseException, policy: RetryPolicy) -> bool:
    """Whether ``error`` (after retries) lets the next model of a fallback chain be tried.

    Yes for errors that say "this model or provider cannot serve now"
    (retryable errors after exhaustion, quota, unknown model, unavailable,
    malformed answers). No for errors another model would repeat or that must
    not be worked around: invalid requests (context window included), content
    policy refusals, a passed deadline, a stream that already delivered text.
    Authentication errors fall back only with ``fallback_on_auth_error``.
    """
    if not isinstance(error, ProviderError):
        return False
    if isinstance(error, AuthenticationError):
        return policy.fallback_on_auth_error
    return not isinstance(
        error, InvalidRequestError | ContentFiltered | DeadlineExceeded | StreamInterrupted
    )


@dataclass(slots=True)
class CallContext:
    """Mutable state of ONE logical call, shared by its attempts, re-asks and fallbacks.

    Attributes:
        request_id: Shared by every event of the call.
        policy: The retry policy in force for this call.
        clock: Where time is read from.
        started: ``clock.now()`` when the call began.
        attempts: Attempts made so far, over every model.
        usage: Usage summed over every attempt so far.
        last_error: The most recent attempt failure, chained into ``DeadlineExceeded``.
    """

    request_id: str
    policy: RetryPolicy
    clock: Clock
    started: float
    attempts: int = 0
    usage: Usage = _NO_USAGE  # frozen: shared, never mutated
    last_error: BaseException | None = None

    @property
    def deadline_at(self) -> float | None:
        """Clock time after which nothing more is attempted."""
        deadline = self.policy.deadline
        return None if deadline is None else self.started + deadline

    def remaining(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline)."""
        deadline_at = self.deadline_at
        return None if deadline_at is None else deadline_at - self.clock.now()

    def exclude(self, seconds: float) -> None:
        """Leave ``seconds`` of set-up (building an adapter) out of the deadline and elapsed."""
        if seconds > 0:
            self.started += seconds

    def elapsed(self) -> float:
        """Seconds since the call began."""
        return self.clock.now() - self.started

    def attempt_timeout(self, timeout: float | None, default: float | None) -> float | None:
        """The timeout for the next attempt.

        ``timeout`` is the caller's (``None``: the adapter's ``default``); it is
        shortened to the time left when the deadline is closer, so an attempt
        cannot run long past the deadline.
        """
        left = self.remaining()
        limit = default if timeout is None else timeout
        if left is not None and (limit is None or left < limit):
            return max(left, 0.001)
        return timeout

    def annotate(self, error: BaseException) -> None:
        """Stamp a provider error with the call's attempts and elapsed time (shown in its text)."""
        if isinstance(error, ProviderError):
            error.attempts = self.attempts
            error.elapsed_s = self.elapsed()

    def deadline_error(self, detail: str) -> DeadlineExceeded:
        """A :class:`DeadlineExceeded` naming the last error's provider and model."""
        last = self.last_error
        provider = last.provider if isinstance(last, ProviderError) else None
        model = last.model if isinstance(last, ProviderError) else None
        error = DeadlineExceeded(
            f"deadline of {self.policy.deadline:g}s for the call: {detail}",
            provider=provider,
            model=model,
        )
        self.annotate(error)
        return error

    def bounded(self, work: Awaitable[R]) -> Awaitable[R]:
        """``work``, bounded by the call's deadline: await the result.

        Adapters' own timeouts bound each read or each token, not an attempt as a
        whole, so the deadline is enforced here (around a whole answer, around
        a media job; a stream's steps share one :meth:`watch`): past it the work
        is cancelled and :class:`DeadlineExceeded` (final) is raised.
        """
        if self.policy.deadline is None:
            return work
        return DeadlineWatch(self).bounded(work, last=True)

    def watch(self) -> DeadlineWatch:
        """A :class:`DeadlineWatch` for a series of awaits (close it when the series ends)."""
        return DeadlineWatch(self)

    def check_deadline(self) -> None:
        """Raise :class:`DeadlineExceeded` if the deadline has already passed.

        Raises:
            DeadlineExceeded: No time is left; chained from the last error, if any.
        """
        left = self.remaining()
        if left is not None and left <= 0:
            raise self.deadline_error("no time left to start an attempt") from self.last_error


#: How much sooner the call's clock may put the deadline than a watch's armed timer
#: before the timer is re-armed (only a test clock drifts from the loop's clock).
_CLOCK_SLACK = 0.001


class DeadlineWatch:
    """Bounds a series of awaits by the call's deadline with ONE loop timer.

    A stream awaits every chunk under the deadline, and a timer armed and
    cancelled per chunk (``asyncio.timeout``) cost more than the rest of a
    chunk's handling. The timer is armed at the first await and re-armed only
    when the deadline moves (set-up time excluded) or the call's clock puts it
    sooner; it cancels the task only while that task awaits in
    :meth:`bounded`, so a deadline passing between two awaits is caught by the
    next one, on its first suspension (as ``asyncio.timeout(0)`` would).
    """

    __slots__ = ("_armed_for", "_cancelled", "_ctx", "_handle", "_task")

    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None  # the deadline_at the timer was armed for
        self._task: asyncio.Task[Any] | None = None  # the task awaiting in bounded()
        self._cancelled = False  # the timer cancelled that task

    async def bounded(self, work: Awaitable[R], *, last: bool = False) -> R:
        """Await ``work`` but no later than the call's deadline (see :meth:`CallContext.bounded`).

        ``last``: this is the series' last await; the timer is closed after it.

        Raises:
            DeadlineExceeded: The deadline passed while ``work`` ran (``work`` is cancelled).
        """
        ctx = self._ctx
        deadline_at = ctx.deadline_at
        if deadline_at is None:
            return await work
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline can only bound work inside a task")
        when = loop.time() + max(deadline_at - ctx.clock.now(), 0.0)
        handle = self._handle
        if handle is None or self._armed_for != deadline_at or when < handle.when() - _CLOCK_SLACK:
            self._arm(loop, when, deadline_at)
        cancelling = task.cancelling()
        self._task = task
        try:
            result = await work
        except BaseException as exc:
            if self._release(task, cancelling) and isinstance(exc, asyncio.CancelledError):
                # Chained as asyncio.timeout chains it: CancelledError -> TimeoutError.
                timeout = TimeoutError("the call's deadline passed")
                timeout.__cause__ = exc
                detail = "the attempt was still running when it passed"
                raise self._ctx.deadline_error(detail) from timeout
            raise
        finally:
            if last:
                self.close()
        self._release(task, cancelling)
        return result

    def close(self) -> None:
        """Cancel the timer (the series ended)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float, deadline_at: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_at(when, self._fire)
        self._armed_for = deadline_at

    def _fire(self) -> None:
        self._handle = None
        if self._task is not None:
            self._cancelled = True
            self._task.cancel()

    def _release(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """Stop watching ``task``; True when the timer cancelled it and nobody else did."""
        self._task = None
        if not self._cancelled:
            return False
        self._cancelled = False
        return task.uncancel() <= cancelling


def _retry_decision(retry_state: RetryCallState) -> bool:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    return error is not None and is_retryable(error)


class _Wait:
    def __init__(self, runner: RetryRunner, policy: RetryPolicy) -> None:
        self._runner = runner
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return self._runner.backoff(self._policy, retry_state.attempt_number, error)


class _Stop:
    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        self.deadline_hit = False

    def __call__(self, retry_state: RetryCallState) -> bool:
        # tenacity computes the wait before asking whether to stop, so the
        # upcoming sleep is known here.
        if retry_state.attempt_number >= self._ctx.policy.max_attempts:
            return True
        deadline_at = self._ctx.deadline_at
        if deadline_at is not None:
            self.deadline_hit = self._ctx.clock.now() + retry_state.upcoming_sleep >= deadline_at
        return self.deadline_hit


class RetryRunner:
    """Runs one model call with retries, backoff and the call's deadline (the one retry owner).

    Args:
        clock: Time source for the deadline.
        sleeper: Waits between attempts (tests pass one that only records).
        rng: Returns a float in [0, 1) for jitter (tests pass a constant).
    """

    def __init__(
        self, clock: Clock, sleeper: Sleeper, *, rng: Callable[[], float] = random.random
    ) -> None:
        self.clock = clock
        self.sleeper = sleeper
        self._rng = rng

    def backoff(
        self, policy: RetryPolicy, failed_attempt: int, error: BaseException | None
    ) -> float:
        """Seconds to wait after attempt number ``failed_attempt`` failed with ``error``."""
        retry_after = error.retry_after if isinstance(error, ProviderError) else None
        if retry_after is not None:
            return min(max(retry_after, 0.0), policy.retry_after_cap)
        base = policy.initial_delay * policy.multiplier ** (failed_attempt - 1)
        return min(policy.max_delay, base) * (0.5 + 0.5 * self._rng())

    async def run(self, ctx: CallContext, attempt: Callable[[int], Awaitable[R]]) -> R:
        """Call ``attempt(n)`` for n = 1, 2, ... until it succeeds or the policy says stop.

        ``attempt`` makes exactly one model call and records it; it sets
        ``ctx.last_error`` when it fails.

        Raises:
            DeadlineExceeded: The deadline passed or the next wait would end after it.
            ProviderError: The last error, when it is final or attempts ran out.
        """
        ctx.check_deadline()
        try:
            return await attempt(1)
        except ProviderError as exc:
            if not exc.retryable or ctx.policy.max_attempts <= 1:
                raise
            first: ProviderError = exc
        return await self._retry(ctx, attempt, first)

    async def _retry(
        self, ctx: CallContext, attempt: Callable[[int], Awaitable[R]], first: ProviderError
    ) -> R:
        stop = _Stop(ctx)

        def give_up(retry_state: RetryCallState) -> R:
            outcome = retry_state.outcome
            assert outcome is not None  # tenacity only gives up after an outcome
            error = outcome.exception()
            assert error is not None  # only failures are retried
            if stop.deadline_hit:
                detail = (
                    f"the next retry would start after {retry_state.upcoming_sleep:.3g}s "
                    "and end past it"
                )
                raise ctx.deadline_error(detail) from error
            raise error

        number = 0

        async def next_attempt() -> R:
            nonlocal number
            number += 1
            if number == 1:
                # Replay the failure the fast path already saw, so tenacity's
                # attempt numbers match ours and its first decision is a wait.
                raise first
            return await attempt(number)

        from tenacity import AsyncRetrying  # only failing calls pay for it

        retrying = AsyncRetrying(
            sleep=self.sleeper.sleep,
            stop=stop,
            wait=_Wait(self, ctx.policy),
            retry=_retry_decision,
            retry_error_callback=give_up,
        )
        return cast(R, await retrying(next_attempt))
