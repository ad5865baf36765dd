"""The engine the chat use-cases share: routing, parameters, one attempt, retries, fallbacks.

Parameter decisions (and why):

* ``model_configs`` defaults sit under the caller's params
  (:meth:`GenerationParams.merged_over`).
* Parameters the model or its adapter does not accept are dropped, and each
  drop is logged once per model (``inference.param_dropped``): sampling
  parameters when ``capabilities.sampling_params`` is false (GPT-5 reasoning
  models reject them), ``reasoning_effort`` unless both the model and the
  adapter support it, ``seed``/``stop`` when the adapter cannot send them.
* ``max_tokens``: when neither the caller nor ``model_configs`` set one, the
  catalog's ``default_max_tokens`` is sent, else its ``max_output_tokens``.
  One provider-independent rule (capabilities are data, no ``if provider``):
  Anthropic requires a value, and for every other provider it means the answer
  is never cut at a provider default lower than the model's real limit
  (Ollama's ``num_predict`` default, for instance).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, TypeVar

from inference_core.application.observability import (
    AsyncioSleeper,
    AttemptRecorder,
    EventLog,
    NullEventLog,
    SystemClock,
)
from inference_core.application.policy import CallContext, RetryRunner, falls_back
from inference_core.domain.chat import (
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ReasoningEffort,
    ResponseFormat,
    Usage,
)
from inference_core.domain.config import RetryPolicy, TimeoutPolicy
from inference_core.domain.errors import (
    AllFallbacksFailed,
    ConfigurationError,
    InvalidInputError,
    InvalidMessageError,
    InvalidParameterError,
    ProviderError,
    StreamInterrupted,
)
from inference_core.domain.messages import AudioPart, ContentPart, ImagePart, Message
from inference_core.domain.wire import coerce_messages
from inference_core.ports.chat import ChatModel
from inference_core.ports.routing import ModelRouter, ResolvedModel
from inference_core.ports.runtime import Clock, Sleeper, UsageSink

__all__ = [
    "CallOptions",
    "MessagesInput",
    "ModelCaller",
    "OpenedCall",
    "build_messages",
    "call_params",
    "check_call_args",
]

R = TypeVar("R")

#: What the use-cases accept as a conversation: domain messages or seed-style dicts.
MessagesInput = Sequence[Message | Any]


def build_messages(
    messages: MessagesInput | None,
    system: str | None,
    user: str | tuple[ContentPart, ...] | None,
) -> tuple[Message, ...]:
    """The conversation from either ``messages`` or a (``system``, ``user``) pair.

    Raises:
        InvalidInputError: Both forms, or neither, were given.
        InvalidMessageError: A message is malformed (its index is named).
    """
    if messages is not None:
        if system is not None or user is not None:
            raise InvalidInputError("pass either messages or system/user, not both")
        return coerce_messages(messages)
    if user is None:
        raise InvalidInputError("no input: pass messages, or user (and optionally system)")
    if system is not None and not isinstance(system, str):
        raise InvalidInputError(f"system must be a string, got {type(system).__name__}")
    if not isinstance(user, str | tuple | list):
        raise InvalidInputError(
            f"user must be a string or a tuple of content parts, got {type(user).__name__}"
        )
    loose: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    loose.append({"role": "user", "content": user})
    return coerce_messages(loose)  # one place checks text and parts


class CallOptions(TypedDict, total=False):
    """The keywords every chat use-case takes besides the conversation (defined once).

    Attributes:
        model: Model id; ``None`` is the configured default model.
        params: Generation parameters (over the model's ``model_configs`` defaults).
        max_tokens: Shortcut for ``params.max_tokens``.
        temperature: Shortcut for ``params.temperature``.
        reasoning_effort: Shortcut for ``params.reasoning_effort``.
        attempt_timeout: Timeout of each attempt in seconds (default: the
            configured read timeout; shortened when the call's deadline is closer).
        retry: Retry policy for this call instead of the configured one.
        request_id: Correlation id for the events (generated when omitted).
    """

    model: str | None
    params: GenerationParams | None
    max_tokens: int | None
    temperature: float | None
    reasoning_effort: ReasoningEffort | None
    attempt_timeout: float | None
    retry: RetryPolicy | None
    request_id: str | None


_OPTION_NAMES = frozenset(CallOptions.__annotations__)


@dataclass(frozen=True, slots=True)
class OpenedCall:
    """One logical call after its options were checked: its context and merged params."""

    ctx: CallContext
    model: str | None
    params: GenerationParams | None
    attempt_timeout: float | None


def check_call_args(
    *,
    model: Any = None,
    params: Any = None,
    retry: Any = None,
    attempt_timeout: Any = None,
    request_id: Any = None,
    max_repairs: Any = None,
) -> None:
    """Refuse arguments of the wrong type or range up front, naming the argument.

    Raises:
        InvalidInputError: (or :class:`InvalidParameterError`) naming the argument.
    """
    if model is not None and (not isinstance(model, str) or not model.strip()):
        shown = "an empty string" if isinstance(model, str) else type(model).__name__
        raise InvalidInputError(f"model must be a model id (a non-empty string), got {shown}")
    if params is not None and not isinstance(params, GenerationParams):
        raise InvalidParameterError(
            f"params must be GenerationParams, got {type(params).__name__} "
            "(build one with GenerationParams.parse({...}))",
            param="params",
        )
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidInputError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
    if attempt_timeout is not None and (
        isinstance(attempt_timeout, bool)
        or not isinstance(attempt_timeout, int | float)
        or not attempt_timeout > 0
    ):
        raise InvalidParameterError(
            f"attempt_timeout must be a positive number of seconds, got {attempt_timeout!r:.40}",
            param="attempt_timeout",
        )
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInputError(f"request_id must be a string, got {type(request_id).__name__}")
    if max_repairs is not None and (
        isinstance(max_repairs, bool) or not isinstance(max_repairs, int) or max_repairs < 0
    ):
        raise InvalidParameterError(
            f"max_repairs must be a whole number >= 0, got {max_repairs!r:.40}",
            param="max_repairs",
        )


def call_params(
    params: GenerationParams | None,
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    reasoning_effort: ReasoningEffort | None = None,
) -> GenerationParams | None:
    """``params`` with the use-cases' keyword shortcuts applied over it.

    Raises:
        InvalidParameterError: A shortcut is out of bounds (``temperature=5``).
    """
    shortcuts = {
        k: v
        for k, v in (
            ("max_tokens", max_tokens),
            ("temperature", temperature),
            ("reasoning_effort", reasoning_effort),
        )
        if v is not None
    }
    if not shortcuts:
        return params
    base = params or GenerationParams()
    return GenerationParams.parse({**base.model_dump(exclude_defaults=True), **shortcuts})


def _check_media_capabilities(resolved: ResolvedModel, messages: tuple[Message, ...]) -> None:
    # Only a declared model is refused: an id the catalog does not know may well see.
    spec = resolved.spec
    if spec is None:
        return
    caps = resolved.capabilities
    for index, message in enumerate(messages):
        if isinstance(message.content, str):
            continue
        for part in message.content:
            if isinstance(part, ImagePart) and not caps.vision:
                what = "images"
            elif isinstance(part, AudioPart) and not caps.audio_input:
                what = "audio"
            else:
                continue
            raise InvalidMessageError(
                f"model {spec.id!r} does not accept {what}: it is declared without "
                f"{'vision' if what == 'images' else 'audio_input'} (catalog or the config's "
                "models: entry); remove the part or pick a model that declares it",
                index=index,
                field="content",
            )


class ModelCaller:
    """Everything the chat use-cases share, built once and reused by every call.

    Args:
        router: Resolves model ids to adapters and gives fallback chains.
        retry: Default retry policy (``RuntimeConfig.retry``); calls may override it.
        timeouts: Per-attempt timeouts (``RuntimeConfig.timeouts``); the read
            timeout is what an attempt gets unless the deadline is closer.
        usage_sinks: Receive one :class:`~inference_core.domain.usage.UsageEvent` per attempt.
        log: Receives ``inference.*`` events (bootstrap passes the structlog adapter).
        clock: Time source (tests pass a fake).
        sleeper: Waits between retries (tests pass one that only records).
        rng: Jitter source in [0, 1) (tests pass a constant).
        scrub: Masks every configured secret in a failed attempt's exception
            chain, in place, before it is recorded or raised (an adapter masks
            only its own key; a server may echo another one).
    """

    def __init__(
        self,
        router: ModelRouter,
        *,
        retry: RetryPolicy | None = None,
        timeouts: TimeoutPolicy | None = None,
        usage_sinks: Sequence[UsageSink] = (),
        log: EventLog | None = None,
        clock: Clock | None = None,
        sleeper: Sleeper | None = None,
        rng: Callable[[], float] = random.random,
        scrub: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.router = router
        self._scrub = scrub
        self.retry_policy = retry or RetryPolicy()
        self.read_timeout = timeouts.read if timeouts is not None else None
        self.log: EventLog = log or NullEventLog()
        self.clock: Clock = clock or SystemClock()
        self.retry = RetryRunner(self.clock, sleeper or AsyncioSleeper(), rng=rng)
        self.recorder = AttemptRecorder(usage_sinks, self.log)
        # (model, what) pairs already reported: drops are logged once, not per call.
        self._reported: set[tuple[str, str]] = set()
        self._model_params: dict[str, GenerationParams] = {}

    # --- per call --------------------------------------------------------------------

    def open(
        self, options: CallOptions, *, use_case: str, max_repairs: int | None = None
    ) -> OpenedCall:
        """Open one logical call: check ``options`` and merge the params shortcuts.

        Raises:
            TypeError: An option this use-case does not take (a misspelt keyword).
            InvalidInputError: An option has the wrong type or range.
        """
        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise TypeError(f"{use_case}() got an unexpected keyword argument {unknown[0]!r}")
        model = options.get("model")
        params = options.get("params")
        retry = options.get("retry")
        attempt_timeout = options.get("attempt_timeout")
        request_id = options.get("request_id")
        check_call_args(
            model=model,
            params=params,
            retry=retry,
            attempt_timeout=attempt_timeout,
            request_id=request_id,
            max_repairs=max_repairs,
        )
        wanted = call_params(
            params,
            max_tokens=options.get("max_tokens"),
            temperature=options.get("temperature"),
            reasoning_effort=options.get("reasoning_effort"),
        )
        ctx = CallContext(
            request_id=request_id or uuid.uuid4().hex,
            policy=retry or self.retry_policy,
            clock=self.clock,
            started=self.clock.now(),
        )
        return OpenedCall(ctx, model, wanted, attempt_timeout)

    def report_once(self, model: str, what: str, event: str, **fields: Any) -> None:
        """Emit ``event`` the first time ``what`` happens for ``model``."""
        key = (model, what)
        if key not in self._reported:
            self._reported.add(key)
            self.log.warning(event, **{"gen_ai.request.model": model, **fields})

    def params_for(
        self, resolved: ResolvedModel, params: GenerationParams | None
    ) -> GenerationParams:
        """The caller's params over the model's defaults, minus what the model cannot take."""
        if params is None:
            # Most calls give no params: compute each model's effective defaults once.
            # Keyed by the name asked for: model_configs may be keyed by an alias.
            name = resolved.route.requested
            cached = self._model_params.get(name)
            if cached is None:
                cached = self._model_params[name] = self._effective(resolved, resolved.defaults)
            return cached
        return self._effective(resolved, params.merged_over(resolved.defaults))

    def _effective(self, resolved: ResolvedModel, merged: GenerationParams) -> GenerationParams:
        caps = resolved.capabilities
        adapter = resolved.chat_model.capabilities
        drop: dict[str, Any] = {}
        if not caps.sampling_params:
            drop.update(temperature=None, top_p=None)
        if not (caps.reasoning and adapter.reasoning_effort):
            drop["reasoning_effort"] = None
        if not adapter.seed:
            drop["seed"] = None
        if not adapter.stop:
            drop["stop"] = ()
        update = {k: v for k, v in drop.items() if getattr(merged, k) != v}
        for name in update:
            self.report_once(
                resolved.route.model,
                f"param:{name}",
                "inference.param_dropped",
                param=name,
                reason="not accepted by this model or its client path",
            )
        spec = resolved.spec
        if merged.max_tokens is None and spec is not None:
            cap = spec.default_max_tokens or spec.max_output_tokens
            if cap:
                update["max_tokens"] = cap
        return merged.model_copy(update=update) if update else merged

    def request_for(
        self,
        resolved: ResolvedModel,
        messages: tuple[Message, ...],
        params: GenerationParams | None,
        *,
        response_format: ResponseFormat | None = None,
        attempt_timeout: float | None = None,
    ) -> ChatRequest:
        """The adapter request for ``resolved``.

        Raises:
            InvalidMessageError: A message holds an image or audio part and the
                catalog declares the model without vision or audio input.
        """
        _check_media_capabilities(resolved, messages)
        return ChatRequest(
            model=resolved.route.api_model,
            messages=messages,
            params=self.params_for(resolved, params),
            response_format=response_format,
            timeout=attempt_timeout,
            # Some OpenAI-compatible servers reject stream_options; the model says so.
            stream_usage=resolved.capabilities.stream_usage,
        )

    def timed(
        self, ctx: CallContext, request: ChatRequest, attempt_timeout: float | None
    ) -> ChatRequest:
        """``request`` with the timeout for the next attempt (a copy only when it changes)."""
        bounded = ctx.attempt_timeout(attempt_timeout, self.read_timeout)
        if bounded == request.timeout:
            return request
        return request.model_copy(update={"timeout": bounded})

    def record(
        self,
        ctx: CallContext,
        resolved: ResolvedModel,
        *,
        operation: Literal["chat", "stream"],
        attempt: int,
        started: float,
        usage: Usage | None = None,
        error: BaseException | None = None,
        cancelled: bool = False,
        ttft: float | None = None,
    ) -> Usage:
        """Record one finished attempt (events + the call's running usage); return its usage."""
        if error is not None:
            ctx.last_error = error
            if self._scrub is not None:
                self._scrub(error)
        spent = self.recorder.record(
            request_id=ctx.request_id,
            resolved=resolved,
            operation=operation,
            attempt=attempt,
            latency_s=self.clock.now() - started,
            usage=usage,
            error=error,
            cancelled=cancelled,
            ttft_s=ttft,
        )
        if error is not None:
            # After the event (which carries the provider's own message): the error that
            # ends the call names the call's attempts and time.
            ctx.annotate(error)
        if spent.is_known or spent.cost_usd is not None:
            ctx.usage = ctx.usage + spent
        return spent

    async def complete(
        self,
        ctx: CallContext,
        resolved: ResolvedModel,
        request: ChatRequest,
        *,
        attempt_timeout: float | None = None,
    ) -> ChatResponse:
        """One model call with retries; the response's usage is priced from the catalog."""
        chat_model: ChatModel = resolved.chat_model

        async def attempt(number: int) -> ChatResponse:
            sent = self.timed(ctx, request, attempt_timeout)
            ctx.attempts += 1
            started = self.clock.now()
            try:
                response = await ctx.bounded(chat_model.complete(sent))
            except asyncio.CancelledError:
                self.record(
                    ctx, resolved, operation="chat", attempt=number, started=started, cancelled=True
                )
                raise
            except Exception as exc:
                self.record(
                    ctx, resolved, operation="chat", attempt=number, started=started, error=exc
                )
                raise
            usage = self.record(
                ctx,
                resolved,
                operation="chat",
                attempt=number,
                started=started,
                usage=response.usage,
            )
            if usage is response.usage:
                return response
            return response.model_copy(update={"usage": usage})

        return await self.retry.run(ctx, attempt)

    # --- fallbacks -------------------------------------------------------------------

    def _resolve(self, ctx: CallContext, model: str | None) -> ResolvedModel:
        """Route ``model``; the time spent building its adapter is not the call's.

        The first use of a client path imports its SDK and builds its client
        (a second or two for some SDKs): that is set-up, not waiting on the
        provider, so it is kept out of the deadline rather than spending it
        before the first attempt.
        """
        began = self.clock.now()
        resolved = self.router.resolve(model)
        ctx.exclude(self.clock.now() - began)
        return resolved

    def fallback_chain(self, resolved: ResolvedModel) -> tuple[str, ...]:
        """The configured fallbacks of ``resolved`` (by the name asked for, else its catalog id)."""
        route = resolved.route
        chain = self.router.fallbacks(route.requested) or self.router.fallbacks(route.model)
        return tuple(name for name in chain if name not in (route.requested, route.model))

    async def with_fallbacks(
        self,
        ctx: CallContext,
        model: str | None,
        run: Callable[[ResolvedModel], Awaitable[R]],
    ) -> R:
        """Run ``run`` on ``model``, then on each fallback while failures allow it.

        Without a fallback chain (or when the first failure does not allow
        falling back) the error is raised as is. Once falling back, the call
        ends with a success or :class:`AllFallbacksFailed` holding every error
        in order (a fallback that cannot even be routed counts as one).
        :class:`StreamInterrupted` is always raised as is: text was delivered.

        Raises:
            AllFallbacksFailed: Every model tried failed.
        """
        primary = self._resolve(ctx, model)
        try:
            return await run(primary)
        except ProviderError as exc:
            chain = self.fallback_chain(primary)
            if not chain or not falls_back(exc, ctx.policy):
                raise
            errors: list[Exception] = [exc]
        tried = [primary.route.model]
        for name in chain:
            self.log.warning(
                "inference.fallback",
                request_id=ctx.request_id,
                from_model=tried[-1],
                to_model=name,
                **{"error.type": type(errors[-1]).__name__},
            )
            tried.append(name)
            try:
                return await run(self._resolve(ctx, name))
            except StreamInterrupted:
                raise
            except ConfigurationError as exc:
                errors.append(exc)
            except ProviderError as exc:
                errors.append(exc)
                if not falls_back(exc, ctx.policy):
                    break
        summary = "; ".join(
            f"{name}: {type(err).__name__}: {err}" for name, err in zip(tried, errors, strict=False)
        )
        raise AllFallbacksFailed(
            f"every model tried failed (request {ctx.request_id}): {summary}", errors
        )
