"""The chat use-cases: :class:`ChatText`, :class:`ChatJSON` and :class:`StreamChat`.

Each takes a :class:`~inference_core.application.calls.ModelCaller` (built once
by bootstrap) and has one public ``__call__``. Every call gets a request id,
retries through the one retry owner, tries the configured fallbacks, and
emits one usage event and one ``inference.call`` event per attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Unpack, overload

from pydantic import BaseModel

from inference_core.application.calls import (
    CallOptions,
    MessagesInput,
    ModelCaller,
    build_messages,
)
from inference_core.application.json_output import (
    JSONPlan,
    OutputSchema,
    ParseFailure,
    choose_strategy,
    feedback_message,
    model_plan,
    parse_json,
    plan_json,
    strip_fence,
    with_instruction,
)
from inference_core.application.policy import CallContext, DeadlineWatch
from inference_core.application.results import ChatResult, FailedAttempt, JSONResult
from inference_core.application.tools import (
    CheckedCall,
    answer_message,
    feedback_results,
    run_tool_calls,
)
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    Usage,
)
from inference_core.domain.errors import (
    InvalidResponse,
    OutputValidationError,
    StreamInterrupted,
    ToolArgumentsError,
    ToolLoopExceeded,
)
from inference_core.domain.messages import ContentPart, Message
from inference_core.domain.tools import ToolCallAssembler, split_arguments
from inference_core.ports.routing import ResolvedModel

__all__ = ["ChatJSON", "ChatText", "StreamChat"]

M = TypeVar("M", bound=BaseModel)

_END = object()


class ChatText:
    """Ask a model for text, optionally offering tools (and running them).

    With ``tools`` the answer may be tool calls instead of (or besides) text:
    their arguments are parsed and validated against each tool's schema, and
    come back in :attr:`ChatResult.tool_calls` / :attr:`ChatResult.tool_arguments`.
    Invalid arguments raise :class:`~inference_core.domain.errors.ToolArgumentsError`
    (with the raw text), or are fed back to the model ``tool_repairs`` times.

    With ``tool_loop`` (a :class:`~inference_core.domain.tools.ToolLoop`, or
    ``True``) ChatText also runs the calls' functions, appends their results
    and asks again until the model answers without calls, at most
    ``max_rounds`` rounds; usage is summed over every model call. The loop is
    an option of ChatText rather than a use-case of its own so that it shares
    every other option (model, fallbacks, retries, ``fit_context``...) and
    returns the same :class:`ChatResult`.

    Example:
        >>> result = await chat_text(system="Be brief.", user="Hi")  # doctest: +SKIP
        >>> result.text, result.usage.cost_usd, result.attempts  # doctest: +SKIP
        >>> weather = await chat_text(  # doctest: +SKIP
        ...     user="Weather in Paris?", tools=[get_weather], tool_loop=ToolLoop(max_rounds=3)
        ... )
    """

    def __init__(self, caller: ModelCaller) -> None:
        self._caller = caller

    async def __call__(
        self,
        messages: MessagesInput | None = None,
        *,
        system: str | None = None,
        user: str | tuple[ContentPart, ...] | None = None,
        **options: Unpack[CallOptions],
    ) -> ChatResult:
        """Send the conversation and return the answer.

        Args:
            messages: The conversation (messages or seed-style dicts); or use ``system``/``user``.
            system: System prompt, with ``user``.
            user: User prompt (text or content parts), instead of ``messages``.
            **options: :class:`~inference_core.application.calls.CallOptions`
                (``model``, ``params``, ``max_tokens``, ``temperature``,
                ``reasoning_effort``, ``attempt_timeout``, ``retry``, ``request_id``,
                ``tools``, ``tool_choice``, ``parallel_tool_calls``, ``tool_repairs``,
                ``tool_loop``, ``fit_context``).

        Raises:
            ProviderError: The call failed (after retries) and no fallback applied.
            AllFallbacksFailed: The model and every fallback failed.
            ConfigurationError: The model cannot be routed or has no key.
            FeatureNotSupported: The tools need what the model or its client lacks.
            ContextWindowExceeded: The prompt does not fit the model's known window.
            ToolArgumentsError: A call's arguments stayed invalid.
            ToolExecutionError: A tool raised (without ``on_error="feed_back"``).
            ToolTimeout: A tool ran past the loop's timeout (idem).
            ToolLoopExceeded: The model still asked for tools after ``max_rounds``.
        """
        caller = self._caller
        call = caller.open(options, use_case="ChatText")
        ctx, wanted, attempt_timeout = call.ctx, call.params, call.attempt_timeout
        conversation = build_messages(messages, system, user)

        async def run(resolved: ResolvedModel) -> ChatResult:
            tools = call.tools
            request = caller.request_for(
                resolved,
                conversation,
                wanted,
                attempt_timeout=attempt_timeout,
                tools=tools,
                fit=call.fit,
                ctx=ctx,
            )
            rounds = repairs = 0
            while True:
                response = await caller.complete(
                    ctx, resolved, request, attempt_timeout=attempt_timeout
                )
                if tools is None or not response.tool_calls:
                    return self._result(ctx, resolved, request, response, (), rounds)
                checked = tools.check_all(response.tool_calls)
                bad = [item for item in checked if not item.ok]
                said = answer_message(response.text, response.tool_calls)
                if bad:
                    self._rejected(ctx, resolved, bad, will_reask=repairs < call.tool_repairs)
                    if repairs >= call.tool_repairs:
                        first = bad[0]
                        raise ToolArgumentsError(
                            f"tool call {first.call.name!r} ({first.call.id}) from "
                            f"{resolved.route.model} has invalid arguments: "
                            + "; ".join(first.errors),
                            call=first.call,
                            errors=[e for item in bad for e in item.errors],
                            usage=ctx.usage,
                        )
                    repairs += 1
                loop = call.tool_loop
                if loop is None:
                    if bad:
                        request = _continued(request, [said, *feedback_results(checked)])
                        continue
                    values = tuple(item.value for item in checked)
                    return self._result(ctx, resolved, request, response, values, rounds)
                if rounds >= loop.max_rounds:
                    asked = ", ".join(c.name for c in response.tool_calls)
                    raise ToolLoopExceeded(
                        f"the model still asked for tools ({asked}) after {rounds} round(s) "
                        f"(tool_loop max_rounds={loop.max_rounds})",
                        transcript=(*request.messages, said),
                        rounds=rounds,
                        usage=ctx.usage,
                    )
                rounds += 1
                results = await run_tool_calls(checked, loop)
                caller.log.info(
                    "inference.tool_round",
                    request_id=ctx.request_id,
                    **{"gen_ai.request.model": resolved.route.model},
                    round=rounds,
                    tools=[item.call.name for item in checked],
                    rejected=len(bad),
                )
                if loop.reset_tool_choice:
                    tools = tools.without_forcing()
                request = _continued(request, [said, *results])
                if tools.choice is not request.tool_choice and request.tools:
                    request = request.model_copy(update={"tool_choice": tools.choice})

        return await caller.with_fallbacks(ctx, call.model, run)

    def _rejected(
        self, ctx: CallContext, resolved: ResolvedModel, bad: list[CheckedCall], *, will_reask: bool
    ) -> None:
        self._caller.log.warning(
            "inference.tool_arguments_rejected",
            request_id=ctx.request_id,
            **{"gen_ai.request.model": resolved.route.model},
            tools=[item.call.name for item in bad],
            errors=[e for item in bad for e in item.errors][:5],
            will_reask=will_reask,
        )

    @staticmethod
    def _result(
        ctx: CallContext,
        resolved: ResolvedModel,
        request: ChatRequest,
        response: ChatResponse,
        values: tuple[Any, ...],
        rounds: int,
    ) -> ChatResult:
        route = resolved.route
        calls = response.tool_calls if values else ()
        return ChatResult(
            text=response.text,
            model=route.model,
            provider=route.provider,
            client=route.client,
            finish_reason=response.finish_reason,
            usage=ctx.usage,
            attempts=ctx.attempts,
            latency_ms=ctx.elapsed() * 1000.0,
            request_id=ctx.request_id,
            response_id=response.response_id,
            tool_calls=calls,
            tool_arguments=values,
            tool_rounds=rounds,
            transcript=(*request.messages, answer_message(response.text, calls)),
        )


def _continued(request: ChatRequest, messages: list[Message]) -> ChatRequest:
    return request.model_copy(update={"messages": (*request.messages, *messages)})


class ChatJSON:
    """Ask a model for JSON, validated against a pydantic model or a JSON Schema.

    The request strategy follows the model's declared JSON capability (see
    :mod:`inference_core.application.json_output`). An answer that does not
    parse or validate is shown back to the model with the errors, at most
    ``max_repairs`` times (counted apart from transport retries).

    Args:
        caller: The shared call engine.
        max_repairs: Default number of re-asks after a rejected answer.
    """

    def __init__(self, caller: ModelCaller, *, max_repairs: int = 2) -> None:
        if max_repairs < 0:
            raise ValueError("max_repairs must be >= 0")
        self._caller = caller
        self.max_repairs = max_repairs

    @overload
    async def __call__(
        self,
        messages: MessagesInput | None = None,
        *,
        schema: type[M],
        system: str | None = None,
        user: str | tuple[ContentPart, ...] | None = None,
        max_repairs: int | None = None,
        **options: Unpack[CallOptions],
    ) -> JSONResult[M]: ...

    @overload
    async def __call__(
        self,
        messages: MessagesInput | None = None,
        *,
        schema: Mapping[str, Any] | None = None,
        system: str | None = None,
        user: str | tuple[ContentPart, ...] | None = None,
        max_repairs: int | None = None,
        **options: Unpack[CallOptions],
    ) -> JSONResult[Any]: ...

    async def __call__(
        self,
        messages: MessagesInput | None = None,
        *,
        schema: type[BaseModel] | Mapping[str, Any] | None = None,
        system: str | None = None,
        user: str | tuple[ContentPart, ...] | None = None,
        max_repairs: int | None = None,
        **options: Unpack[CallOptions],
    ) -> JSONResult[Any]:
        """Send the conversation and return the validated JSON value.

        Args:
            messages: The conversation; or use ``system``/``user``.
            schema: A pydantic model class (``value`` is an instance), a JSON
                Schema dict (``value`` is the parsed JSON), or ``None`` (``value``
                is a ``dict``).
            system: System prompt, with ``user``.
            user: User prompt, instead of ``messages``.
            max_repairs: Re-asks allowed after rejected answers (default: the instance's).
            **options: :class:`~inference_core.application.calls.CallOptions`, as for
                :class:`ChatText`.

        Raises:
            OutputValidationError: Still invalid after ``max_repairs`` re-asks;
                carries the last raw text, every error and the total usage.
            ProviderError: The call failed and no fallback applied.
            AllFallbacksFailed: The model and every fallback failed.
        """
        caller = self._caller
        call = caller.open(options, use_case="ChatJSON", max_repairs=max_repairs)
        ctx, wanted, attempt_timeout = call.ctx, call.params, call.attempt_timeout
        conversation = build_messages(messages, system, user)
        output = OutputSchema.of(schema)
        repairs = self.max_repairs if max_repairs is None else max_repairs
        failed: list[FailedAttempt] = []

        async def run(resolved: ResolvedModel) -> JSONResult[Any]:
            plan = self._plan(ctx, resolved, output)
            request = caller.request_for(
                resolved,
                with_instruction(conversation, plan.instruction),
                wanted,
                response_format=plan.response_format,
                attempt_timeout=attempt_timeout,
                fit=call.fit,
                ctx=ctx,
            )
            for ask in range(repairs + 1):
                response = await caller.complete(
                    ctx, resolved, request, attempt_timeout=attempt_timeout
                )
                value, errors = self._read(ctx, resolved, plan, output, response.text)
                route = resolved.route
                if not errors:
                    return JSONResult(
                        value=value,
                        raw_text=response.text,
                        failed_attempts=tuple(failed),
                        strategy=plan.strategy,
                        model=route.model,
                        provider=route.provider,
                        client=route.client,
                        finish_reason=response.finish_reason,
                        usage=ctx.usage,
                        attempts=ctx.attempts,
                        latency_ms=ctx.elapsed() * 1000.0,
                        request_id=ctx.request_id,
                        response_id=response.response_id,
                    )
                error = "\n".join(errors)
                failed.append(
                    FailedAttempt(
                        raw_text=response.text, error=error, usage=response.usage, model=route.model
                    )
                )
                caller.log.warning(
                    "inference.json_rejected",
                    request_id=ctx.request_id,
                    **{"gen_ai.request.model": route.model},
                    answer=ask + 1,
                    will_reask=ask < repairs,
                    errors=errors[:5],
                )
                if ask < repairs:
                    request = _reask(request, response.text, errors, response.finish_reason)
            raise OutputValidationError(
                f"output still invalid after {repairs + 1} answer(s) from {resolved.route.model}: "
                f"{failed[-1].error}",
                raw_text=failed[-1].raw_text,
                errors=[f.error for f in failed],
                usage=ctx.usage,
            )

        return await caller.with_fallbacks(ctx, call.model, run)

    def _plan(self, ctx: CallContext, resolved: ResolvedModel, output: OutputSchema) -> JSONPlan:
        declared = resolved.capabilities.json_output
        strategy = choose_strategy(
            declared, resolved.chat_model.capabilities, has_schema=output.schema is not None
        )
        if output.model is None:
            plan = plan_json(strategy, output)
        else:
            plan = model_plan(output.model, strategy)
        self._caller.log.info(
            "inference.json_strategy",
            request_id=ctx.request_id,
            **{"gen_ai.request.model": resolved.route.model},
            strategy=plan.strategy.value,
            declared=declared.value,
            strict=plan.strict,
            strict_reason=plan.strict_reason,
        )
        return plan

    def _read(
        self,
        ctx: CallContext,
        resolved: ResolvedModel,
        plan: JSONPlan,
        output: OutputSchema,
        raw: str,
    ) -> tuple[Any, list[str]]:
        text = raw
        if plan.allows_fence:
            body = strip_fence(raw)
            if body is not None:
                self._caller.log.info(
                    "inference.json_fence_stripped",
                    request_id=ctx.request_id,
                    **{"gen_ai.request.model": resolved.route.model},
                )
                text = body
        try:
            parsed = parse_json(text)
        except ParseFailure as exc:
            return None, [str(exc)]
        return output.validate(parsed)


def _reask(request: ChatRequest, raw: str, errors: list[str], finish: FinishReason) -> ChatRequest:
    messages = (*request.messages, Message.assistant(raw), feedback_message(errors, finish))
    return request.model_copy(update={"messages": messages})


@dataclass(slots=True)
class _OpenStream:
    """A stream whose first chunk has arrived (from here on it can no longer be retried).

    ``watch`` keeps bounding the rest of the stream by the deadline; closing the
    delivery closes it.
    """

    resolved: ResolvedModel
    chunks: AsyncIterator[ChatChunk]
    first: ChatChunk
    attempt: int
    started: float
    ttft: float
    recorded: bool
    watch: DeadlineWatch


class StreamChat:
    """Stream a model's answer as :class:`ChatChunk` deltas, then a final chunk.

    A failure before the first chunk is retried (and may fall back) like any
    call. A failure after it raises :class:`StreamInterrupted` carrying the
    text delivered so far: a stream is never restarted behind the caller's
    back, which would duplicate text. Closing the iterator early (``break``
    then ``aclose()``) closes the adapter's stream. Empty non-final chunks are
    not forwarded, so "first chunk" means the first one carrying text or a
    tool-call piece (or the final one). Models or adapters that cannot stream
    are called once and replayed as one text chunk plus the final chunk
    (logged once per model).

    With ``tools``, tool calls arrive as ``tool_call_deltas`` pieces and the
    final chunk carries them complete (``tool_calls``); arguments are not
    validated here (ChatText validates them). A stream cut after a piece
    arrived raises :class:`StreamInterrupted` whose ``partial_tool_calls``
    hold the calls as far as they came (a cut call's arguments truncated).
    """

    def __init__(self, caller: ModelCaller) -> None:
        self._caller = caller

    async def __call__(
        self,
        messages: MessagesInput | None = None,
        *,
        system: str | None = None,
        user: str | tuple[ContentPart, ...] | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncIterator[ChatChunk]:
        """Yield the answer's chunks; the last one has ``finish_reason`` and priced ``usage``.

        Arguments are those of :class:`ChatText`.

        Raises:
            StreamInterrupted: The stream failed after text was delivered.
            ProviderError: It failed before the first chunk, after retries.
            AllFallbacksFailed: The model and every fallback failed before a first chunk.
        """
        caller = self._caller
        call = caller.open(options, use_case="StreamChat")
        ctx, wanted, attempt_timeout = call.ctx, call.params, call.attempt_timeout
        conversation = build_messages(messages, system, user)

        async def run(resolved: ResolvedModel) -> _OpenStream:
            request = caller.request_for(
                resolved,
                conversation,
                wanted,
                attempt_timeout=attempt_timeout,
                tools=call.tools,
                fit=call.fit,
                ctx=ctx,
            )
            if not (resolved.capabilities.streaming and resolved.chat_model.capabilities.streaming):
                return await self._emulated(ctx, resolved, request, attempt_timeout)

            async def attempt(number: int) -> _OpenStream:
                return await self._open(ctx, resolved, request, attempt_timeout, number)

            return await caller.retry.run(ctx, attempt)

        opened = await caller.with_fallbacks(ctx, call.model, run)
        delivery = self._deliver(ctx, opened)
        try:
            async for chunk in delivery:
                yield chunk
        finally:
            # Closing this generator must close the adapter's stream now, not at GC.
            await delivery.aclose()

    async def _open(
        self,
        ctx: CallContext,
        resolved: ResolvedModel,
        request: ChatRequest,
        attempt_timeout: float | None,
        number: int,
    ) -> _OpenStream:
        caller = self._caller
        sent = caller.timed(ctx, request, attempt_timeout)
        ctx.attempts += 1
        started = caller.clock.now()
        chunks: AsyncIterator[ChatChunk] | None = None
        watch = ctx.watch()  # one deadline timer for every chunk of this stream
        try:
            chunks = resolved.chat_model.stream(sent)
            first = await watch.bounded(anext(chunks, _END))
            while isinstance(first, ChatChunk) and first.is_empty:
                first = await watch.bounded(anext(chunks, _END))
            if not isinstance(first, ChatChunk):
                raise InvalidResponse(
                    "stream ended before its first chunk",
                    provider=resolved.route.provider,
                    model=resolved.route.api_model,
                )
        except BaseException as exc:
            watch.close()
            if chunks is not None:
                await _close(chunks)
            cancelled = isinstance(exc, asyncio.CancelledError)
            caller.record(
                ctx,
                resolved,
                operation="stream",
                attempt=number,
                started=started,
                error=None if cancelled else exc,
                cancelled=cancelled,
            )
            raise
        ttft = caller.clock.now() - started
        return _OpenStream(resolved, chunks, first, number, started, ttft, False, watch)

    async def _emulated(
        self,
        ctx: CallContext,
        resolved: ResolvedModel,
        request: ChatRequest,
        attempt_timeout: float | None,
    ) -> _OpenStream:
        self._caller.report_once(
            resolved.route.model,
            "stream",
            "inference.stream_emulated",
            reason="the model or its client path cannot stream; answering in one chunk",
        )
        response = await self._caller.complete(
            ctx, resolved, request, attempt_timeout=attempt_timeout
        )
        final = ChatChunk(
            finish_reason=response.finish_reason,
            usage=response.usage,
            tool_calls=response.tool_calls,
        )
        pieces = [ChatChunk(text=response.text)] if response.text else []
        pieces.extend(
            ChatChunk(tool_call_deltas=split_arguments(c, i, pieces=1))
            for i, c in enumerate(response.tool_calls)
        )

        async def replay() -> AsyncIterator[ChatChunk]:
            for piece in pieces[1:]:
                yield piece
            yield final

        first = pieces[0] if pieces else final
        chunks = replay() if pieces else _empty()
        # complete() already recorded this answer's attempt and usage.
        now = self._caller.clock.now()
        return _OpenStream(resolved, chunks, first, ctx.attempts, now, 0.0, True, ctx.watch())

    async def _deliver(
        self, ctx: CallContext, opened: _OpenStream
    ) -> AsyncGenerator[ChatChunk, None]:
        caller = self._caller
        resolved = opened.resolved
        delivered: list[str] = []
        calls = ToolCallAssembler()
        chunk: object = opened.first
        recorded = opened.recorded

        def record(**outcome: Any) -> Usage:
            return caller.record(
                ctx,
                resolved,
                operation="stream",
                attempt=opened.attempt,
                started=opened.started,
                ttft=opened.ttft,
                **outcome,
            )

        try:
            while True:
                if not isinstance(chunk, ChatChunk):
                    raise InvalidResponse(
                        "stream ended without a final chunk",
                        provider=resolved.route.provider,
                        model=resolved.route.api_model,
                    )
                if chunk.is_final:
                    reported = chunk.usage
                    if (
                        reported is not None
                        and reported.is_known
                        and not reported.estimated
                        and not resolved.capabilities.stream_usage
                    ):
                        # The model declares that its streams carry no usage, so any counts
                        # here were made up client-side (LiteLLM counts tokens itself).
                        reported = reported.model_copy(
                            update={
                                "estimated": True,
                                # An estimate counts text only; a 0 here would claim more.
                                "cached_tokens": None,
                                "cache_write_tokens": None,
                                "reasoning_tokens": None,
                            }
                        )
                        chunk = chunk.model_copy(update={"usage": reported})
                    usage = chunk.usage
                    if not recorded:
                        recorded = True
                        usage = record(usage=chunk.usage)
                    yield (
                        chunk if usage is chunk.usage else chunk.model_copy(update={"usage": usage})
                    )
                    return
                text, deltas = chunk.text, chunk.tool_call_deltas
                if deltas:
                    calls.extend(deltas)
                if text:
                    delivered.append(text)
                if text or deltas:  # not final here: anything else is an empty chunk
                    yield chunk
                # The deadline bounds the whole stream, not only the wait for each event.
                chunk = await opened.watch.bounded(anext(opened.chunks, _END))
        except (GeneratorExit, asyncio.CancelledError):
            if not recorded:
                recorded = True
                record(cancelled=True)
            raise
        except Exception as exc:
            if not recorded:
                recorded = True
                record(error=exc)
            route = resolved.route
            partial = calls.partial()
            got = f" and {len(partial)} tool call(s), the last perhaps cut" if partial else ""
            raise StreamInterrupted(
                f"stream failed after {len(delivered)} chunk(s) of text{got}: {exc}",
                partial_text="".join(delivered),
                partial_tool_calls=partial,
                provider=route.provider,
                model=route.api_model,
            ) from exc
        finally:
            opened.watch.close()
            await _close(opened.chunks)


async def _empty() -> AsyncIterator[ChatChunk]:
    return
    yield  # pragma: no cover - makes this an async generator


async def _close(chunks: AsyncIterator[ChatChunk]) -> None:
    """Close an adapter stream (async generators hold the HTTP response open until closed)."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
