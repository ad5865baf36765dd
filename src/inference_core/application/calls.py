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

Context window (decided before anything is sent):

* The window is the model's ``context_window``, or the adapter's
  ``max_context_tokens`` when that is smaller (llama.cpp's allocated context).
* With ``fit_context`` the conversation is trimmed into the window minus the
  output tokens the request reserves (or into the caller's budget) by
  :func:`~inference_core.domain.context.fit_messages`, and ONE
  ``inference.context_fitted`` event says what was dropped or shrunk.
* Without it, a prompt whose (estimated) tokens plus the reserved output exceed
  a known window is refused with :class:`ContextWindowExceeded` naming the
  counts, instead of paying for a provider's 400.

Tools (see :mod:`inference_core.application.tools`): checked once per call,
refused before sending when the model or the adapter lacks what they need.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, NamedTuple, TypedDict, TypeVar

from inference_core.application.observability import (
    AsyncioSleeper,
    AttemptRecorder,
    EventLog,
    NullEventLog,
    SystemClock,
)
from inference_core.application.policy import CallContext, RetryRunner, falls_back
from inference_core.application.tools import ToolSet, check_tool_support, require_functions
from inference_core.domain.chat import (
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ReasoningEffort,
    ResponseFormat,
    Usage,
)
from inference_core.domain.config import RetryPolicy, TimeoutPolicy
from inference_core.domain.context import ContextFit, fit_messages, tools_tokens
from inference_core.domain.errors import (
    AllFallbacksFailed,
    ConfigurationError,
    ContextWindowExceeded,
    InvalidInputError,
    InvalidMessageError,
    InvalidParameterError,
    ProviderError,
    StreamInterrupted,
)
from inference_core.domain.messages import AudioPart, ContentPart, ImagePart, Message, TextPart
from inference_core.domain.tokens import (
    MESSAGE_TOKENS,
    NAME_TOKENS,
    REPLY_PRIMING_TOKENS,
    TOOL_CALL_TOKENS,
    UNKNOWN_IMAGE_TOKENS,
    TextCounter,
    TextTokens,
    count_tokens,
    estimate_text,
)
from inference_core.domain.tools import Tool, ToolChoiceInput, ToolInput, ToolLoop
from inference_core.domain.wire import coerce_messages
from inference_core.ports.chat import ChatModel
from inference_core.ports.routing import ModelRouter, ResolvedModel
from inference_core.ports.runtime import Clock, Sleeper, UsageSink
from inference_core.ports.tokens import TokenCounter

__all__ = [
    "CallOptions",
    "MessagesInput",
    "ModelCaller",
    "OpenedCall",
    "build_messages",
    "call_params",
    "check_call_args",
    "new_request_id",
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
        tools: Tools the model may call: :class:`~inference_core.domain.tools.Tool`
            objects, pydantic model classes, typed functions or OpenAI tool dicts
            (ChatText, StreamChat).
        tool_choice: ``auto``, ``none``, ``required`` or a tool's name (with ``tools``).
        parallel_tool_calls: Allow (or forbid) several calls in one answer;
            ``None`` leaves the provider's default (with ``tools``).
        tool_repairs: Re-asks allowed when a call's arguments do not validate
            (the errors are fed back as tool results); 0, the default, raises
            :class:`~inference_core.domain.errors.ToolArgumentsError` (ChatText).
        tool_loop: Run the tools' functions and ask again until the model
            answers without calls, within these bounds (``True``: the default
            :class:`~inference_core.domain.tools.ToolLoop`) (ChatText).
        fit_context: Fit the conversation into the model's window before
            sending: ``True``, a prompt-token budget, or a
            :class:`~inference_core.domain.context.ContextFit`.
    """

    model: str | None
    params: GenerationParams | None
    max_tokens: int | None
    temperature: float | None
    reasoning_effort: ReasoningEffort | None
    attempt_timeout: float | None
    retry: RetryPolicy | None
    request_id: str | None
    tools: Sequence[ToolInput] | None
    tool_choice: ToolChoiceInput | None
    parallel_tool_calls: bool | None
    tool_repairs: int | None
    tool_loop: ToolLoop | bool | None
    fit_context: ContextFit | int | bool | None


_OPTION_NAMES = frozenset(CallOptions.__annotations__)
#: Options only some use-cases take (the others refuse them, naming the one that does).
_OPTION_USERS: dict[str, frozenset[str]] = {
    "tools": frozenset({"ChatText", "StreamChat"}),
    "tool_choice": frozenset({"ChatText", "StreamChat"}),
    "parallel_tool_calls": frozenset({"ChatText", "StreamChat"}),
    "tool_repairs": frozenset({"ChatText"}),
    "tool_loop": frozenset({"ChatText"}),
}


class OpenedCall(NamedTuple):
    """One logical call after its options were checked: its context and merged params.

    Immutable; a named tuple because one is built per call (a frozen dataclass
    costs several times more to build).

    Attributes:
        tools: The call's tools (``None``: it offers none).
        tool_repairs: Re-asks allowed after invalid tool arguments.
        tool_loop: The loop's bounds when the call runs the tools.
        fit: How to fit the conversation into the window (``None``: refuse what
            does not fit).
    """

    ctx: CallContext
    model: str | None
    params: GenerationParams | None
    attempt_timeout: float | None
    tools: ToolSet | None = None
    tool_repairs: int = 0
    tool_loop: ToolLoop | None = None
    fit: ContextFit | None = None


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


def _fit_option(value: Any) -> ContextFit | None:
    if value is None or value is False:
        return None
    if value is True:
        return ContextFit()
    if isinstance(value, ContextFit):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return ContextFit(budget=value)
    raise InvalidParameterError(
        f"fit_context must be True, a positive token budget or a ContextFit, got {value!r:.40}",
        param="fit_context",
    )


def _loop_option(value: Any) -> ToolLoop | None:
    if value is None or value is False:
        return None
    if value is True:
        return ToolLoop()
    if isinstance(value, ToolLoop):
        return value
    raise InvalidParameterError(
        f"tool_loop must be True or a ToolLoop, got {type(value).__name__}", param="tool_loop"
    )


_EXTRA_OPTIONS = frozenset({*_OPTION_USERS, "fit_context"})
_NO_EXTRAS: tuple[ToolSet | None, int, ToolLoop | None, ContextFit | None] = (None, 0, None, None)


def _tool_options(
    options: CallOptions, use_case: str
) -> tuple[ToolSet | None, int, ToolLoop | None, ContextFit | None]:
    """(tools, tool_repairs, tool_loop, fit) of a call that gives any of those options.

    Raises:
        InvalidInputError: An option this use-case does not take, or a malformed one.
    """
    for name, users in _OPTION_USERS.items():
        value: Any = options.get(name)
        given = not (
            value is None or value is False or (isinstance(value, list | tuple) and not value)
        )
        if given and use_case not in users:
            raise InvalidInputError(
                f"{use_case} does not take {name}: it is an option of {' and '.join(sorted(users))}"
            )
    fit = _fit_option(options.get("fit_context"))
    tool_loop = _loop_option(options.get("tool_loop"))
    tool_repairs = _repairs_option(options.get("tool_repairs"))
    tools = ToolSet.of(
        options.get("tools"), options.get("tool_choice"), options.get("parallel_tool_calls")
    )
    if tool_loop is not None:
        if tools is None:
            raise InvalidInputError("tool_loop needs tools to run")
        require_functions(tools)
    return tools, tool_repairs, tool_loop, fit


def _repairs_option(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(
            f"tool_repairs must be a whole number >= 0, got {value!r:.40}", param="tool_repairs"
        )
    return value


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
    if max_tokens is None and temperature is None and reasoning_effort is None:
        return params
    shortcuts = {
        k: v
        for k, v in (
            ("max_tokens", max_tokens),
            ("temperature", temperature),
            ("reasoning_effort", reasoning_effort),
        )
        if v is not None
    }
    base = params or GenerationParams()
    return GenerationParams.parse({**base.model_dump(exclude_defaults=True), **shortcuts})


# The version (4) and variant (RFC 4122) bits of a random UUID.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)
# Ids correlate events, they guard nothing: a private generator (never the caller's seeded
# ``random``) instead of a getrandom() system call per call; reseeded in forked children.
_ids = random.Random()  # noqa: S311 - not a secret (see above)
if hasattr(os, "register_at_fork"):  # no fork on Windows
    os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    """A random request id shaped like ``uuid.uuid4().hex`` (version 4, RFC 4122 variant)."""
    return f"{_ids.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"


def _tool_fields(tools: ToolSet) -> dict[str, Any]:
    """The :class:`ChatRequest` fields of a call that sends ``tools``."""
    return {
        "tools": tools.tools,
        "tool_choice": tools.choice,
        "parallel_tool_calls": tools.parallel if tools.offered else None,
    }


def _window(resolved: ResolvedModel) -> int | None:
    """The context window a request to ``resolved`` must fit (``None``: unknown)."""
    spec = resolved.spec
    declared = spec.context_window if spec is not None else None
    held = resolved.chat_model.capabilities.max_context_tokens
    if held is None or declared is None:
        return declared if held is None else held
    return min(declared, held)


def _upper_bound(messages: tuple[Message, ...]) -> int:
    """Tokens ``messages`` cannot exceed under the estimate (one per character at most).

    Cheap: it lets the window check skip counting when even this bound fits.
    """
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += MESSAGE_TOKENS + NAME_TOKENS + len(message.tool_call_id or "")
        if isinstance(message.content, str):
            total += len(message.content)
        else:
            for part in message.content:
                if isinstance(part, TextPart):
                    total += len(part.text)
                elif isinstance(part, ImagePart):
                    total += UNKNOWN_IMAGE_TOKENS
                else:
                    total += len(part.data) // 1000 + 1
        for call in message.tool_calls or ():
            total += len(call.name) + len(call.arguments) + TOOL_CALL_TOKENS
    return total


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
        token_counter: Counts text for the context-window check and fitting
            (default: the pure estimate of :mod:`inference_core.domain.tokens`).
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
        token_counter: TokenCounter | None = None,
    ) -> None:
        self.router = router
        self.token_counter = token_counter
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
        if not _OPTION_NAMES.issuperset(options):
            unknown = sorted(set(options) - _OPTION_NAMES)
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
        # Most calls use none of the tool and fitting options: their checks run only when given.
        extras = (
            _tool_options(options, use_case)
            if not _EXTRA_OPTIONS.isdisjoint(options)
            else _NO_EXTRAS
        )
        ctx = CallContext(
            request_id=request_id or new_request_id(),
            policy=retry or self.retry_policy,
            clock=self.clock,
            started=self.clock.now(),
        )
        return OpenedCall(ctx, model, wanted, attempt_timeout, *extras)

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
        tools: ToolSet | None = None,
        fit: ContextFit | None = None,
        ctx: CallContext | None = None,
    ) -> ChatRequest:
        """The adapter request for ``resolved``: params, tools, and a conversation that fits.

        Raises:
            InvalidMessageError: A message holds an image or audio part and the
                catalog declares the model without vision or audio input.
            FeatureNotSupported: The tools need what the model or adapter lacks.
            ContextWindowExceeded: The prompt does not fit the model's known
                window (and ``fit`` is not set, or even fitting cannot make it fit).
        """
        _check_media_capabilities(resolved, messages)
        effective = self.params_for(resolved, params)
        sent = tools if tools is not None and check_tool_support(resolved, tools) else None
        sent_tools = sent.tools if sent is not None else ()
        messages = self._fitted(resolved, messages, effective, sent_tools, fit, ctx)
        return ChatRequest(
            model=resolved.route.api_model,
            messages=messages,
            params=effective,
            response_format=response_format,
            timeout=attempt_timeout,
            # Some OpenAI-compatible servers reject stream_options; the model says so.
            stream_usage=resolved.capabilities.stream_usage,
            # Left out unless sent: pydantic fills a default for less than it checks a value.
            **(_tool_fields(sent) if sent is not None else {}),
        )

    def _counter(self, resolved: ResolvedModel) -> TextCounter:
        counter = self.token_counter
        if counter is None:
            return estimate_text
        model = resolved.route.api_model

        def count(text: str) -> TextTokens:
            return counter.count_text(text, model=model)

        return count

    def _fitted(
        self,
        resolved: ResolvedModel,
        messages: tuple[Message, ...],
        params: GenerationParams,
        tools: Sequence[Tool],
        fit: ContextFit | None,
        ctx: CallContext | None,
    ) -> tuple[Message, ...]:
        """``messages`` fitted into the window (with ``fit``), or checked against it."""
        window = _window(resolved)
        if fit is None and window is None:
            return messages
        output = params.max_tokens or 0
        if (
            fit is None
            and not tools
            and window is not None
            and _upper_bound(messages) <= window - output
        ):
            return messages  # even one token per character fits: no need to count
        route = resolved.route
        count_text = self._counter(resolved)
        tool_cost = tools_tokens(tools, count_text) if tools else 0
        if fit is None:
            assert window is not None
            room = window - output
            if _upper_bound(messages) + tool_cost <= room:
                return messages
            prompt = count_tokens(messages, count_text).total + tool_cost
            if prompt > room:
                raise ContextWindowExceeded(
                    f"the prompt needs about {prompt} tokens (estimated) and the answer "
                    f"reserves {output}: {prompt + output} > the context window of {window} of "
                    f"{route.model!r}; nothing was sent. Pass fit_context=True to trim the "
                    "conversation, or lower max_tokens",
                    provider=route.provider,
                    model=route.model,
                    prompt_tokens=prompt,
                    output_tokens=output,
                    context_window=window,
                )
            return messages
        if fit.budget is not None:
            budget = fit.budget - tool_cost
        elif window is None:
            raise InvalidInputError(
                f"fit_context=True needs the model's context window, and {route.model!r} "
                "declares none: pass a token budget (fit_context=N) or declare "
                "context_window in the config's models: entry"
            )
        else:
            budget = window - output - fit.margin - tool_cost
        if budget <= 0:
            raise ContextWindowExceeded(
                f"no room for a prompt in the context window of {route.model!r}: window "
                f"{window}, output {output}, margin {fit.margin}, tool definitions {tool_cost}",
                provider=route.provider,
                model=route.model,
                output_tokens=output,
                context_window=window,
            )
        try:
            result = fit_messages(messages, budget, fit, count_text=count_text)
        except ContextWindowExceeded as exc:
            raise ContextWindowExceeded(
                f"{exc} for {route.model!r} (window {window}, output {output}); nothing was sent",
                provider=route.provider,
                model=route.model,
                output_tokens=output,
                context_window=window,
            ) from None
        dropped = [d for d in result.dropped if d.kind == "message"]
        shrunk = [d for d in result.dropped if d.kind != "message"]
        self.log.info(
            "inference.context_fitted",
            request_id=ctx.request_id if ctx is not None else None,
            **{"gen_ai.request.model": route.model},
            budget=budget,
            context_window=window,
            output_tokens=output,
            tokens_before=result.tokens_before + tool_cost,
            tokens_after=result.tokens + tool_cost,
            changed=result.changed or result.messages != tuple(messages),
            messages_before=len(messages),
            messages_after=len(result.messages),
            dropped_messages=[d.index for d in dropped],
            images=[
                {"message": d.index, "part": d.part, "action": d.kind, "tokens": d.tokens}
                for d in shrunk
            ],
            compressed=fit.compress,
        )
        return result.messages

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
