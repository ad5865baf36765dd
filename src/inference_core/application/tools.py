"""Tool calling for the chat use-cases: the call's tools, support checks, arguments, execution.

* :class:`ToolSet` is a call's tools after their options were checked: every
  schema is a valid JSON Schema (checked once, before anything is sent), the
  ``tool_choice`` names one of them, and each call the model makes is parsed
  and validated against its tool (:meth:`ToolSet.check`).
* :func:`check_tool_support` refuses, before sending, a request that needs
  what the model (its catalog entry) or its client path (the adapter's
  :class:`~inference_core.domain.catalog.AdapterCapabilities`) does not declare.
* :func:`run_tool_calls` runs the caller's functions for one answer (sync ones
  in worker threads, async ones on the loop, each under the loop's timeout)
  and returns the tool-result messages, linked to the calls by id.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inference_core.application.json_output import OutputSchema, ParseFailure, parse_json
from inference_core.domain.errors import (
    FeatureNotSupported,
    InvalidToolError,
    ToolExecutionError,
    ToolTimeout,
)
from inference_core.domain.messages import Message, ToolCall
from inference_core.domain.tools import (
    Tool,
    ToolChoice,
    ToolChoiceInput,
    ToolInput,
    ToolLoop,
    coerce_tools,
    tool_result_text,
)
from inference_core.ports.routing import ResolvedModel

__all__ = [
    "CheckedCall",
    "ToolSet",
    "answer_message",
    "check_tool_support",
    "feedback_results",
    "require_functions",
    "run_tool_calls",
]


@dataclass(frozen=True, slots=True)
class CheckedCall:
    """One call of an answer with its validated arguments, or why they were rejected."""

    call: ToolCall
    tool: Tool | None
    value: Any = None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the arguments parsed and validated."""
        return not self.errors


@dataclass(frozen=True, slots=True)
class ToolSet:
    """The tools of one call, with their validators built once.

    Attributes:
        tools: The definitions, in the caller's order.
        choice: The caller's ``tool_choice`` (``None``: the provider's default).
        parallel: The caller's ``parallel_tool_calls`` (``None``: the provider's default).
    """

    tools: tuple[Tool, ...]
    choice: ToolChoice | None = None
    parallel: bool | None = None
    _schemas: dict[str, OutputSchema] = field(default_factory=dict, repr=False)

    @classmethod
    def of(
        cls,
        tools: Iterable[ToolInput] | None,
        tool_choice: ToolChoiceInput | None = None,
        parallel_tool_calls: bool | None = None,
    ) -> ToolSet | None:
        """Check the tool options of a call; ``None`` when it offers no tools at all.

        Raises:
            InvalidToolError: A malformed tool, a ``tool_choice`` naming no given
                tool, a forced choice without tools, or a non-boolean
                ``parallel_tool_calls``.
            InvalidSchemaError: A tool's parameters are not a valid JSON Schema.
        """
        defined = coerce_tools(tools)
        choice = None if tool_choice is None else ToolChoice.parse(tool_choice)
        if parallel_tool_calls is not None and not isinstance(parallel_tool_calls, bool):
            raise InvalidToolError(
                f"parallel_tool_calls must be True or False, got {parallel_tool_calls!r:.40}"
            )
        if not defined:
            if (choice is not None and choice.mode != "none") or parallel_tool_calls is not None:
                raise InvalidToolError("tool_choice and parallel_tool_calls need tools")
            return None
        names = [t.name for t in defined]
        if choice is not None and choice.name is not None and choice.name not in names:
            raise InvalidToolError(
                f"tool_choice names {choice.name!r}, which is not among the tools "
                f"({', '.join(names)})"
            )
        schemas: dict[str, OutputSchema] = {}
        for tool in defined:
            if tool.arguments_model is not None:
                schemas[tool.name] = OutputSchema(tool.arguments_model, tool.parameters, tool.name)
            else:
                schemas[tool.name] = OutputSchema.of(tool.parameters)  # checks the schema
        return cls(defined, choice, parallel_tool_calls, schemas)

    @property
    def offered(self) -> bool:
        """True when the model may call a tool (``tool_choice`` is not ``none``)."""
        return self.choice is None or self.choice.mode != "none"

    def named(self, name: str) -> Tool | None:
        """The tool called ``name``, if the call offers it."""
        return next((t for t in self.tools if t.name == name), None)

    def check(self, call: ToolCall) -> CheckedCall:
        """Parse and validate one call's arguments against its tool."""
        tool = self.named(call.name)
        if tool is None:
            known = ", ".join(t.name for t in self.tools)
            return CheckedCall(call, None, errors=(f"unknown tool {call.name!r} (tools: {known})",))
        try:
            parsed = parse_json(call.arguments)
        except ParseFailure as exc:
            return CheckedCall(call, tool, errors=(str(exc),))
        value, errors = self._schemas[tool.name].validate(parsed)
        return CheckedCall(call, tool, value, tuple(errors))

    def check_all(self, calls: Sequence[ToolCall]) -> list[CheckedCall]:
        """:meth:`check` every call of an answer."""
        return [self.check(call) for call in calls]

    def without_forcing(self) -> ToolSet:
        """These tools with a forced ``tool_choice`` relaxed to ``auto``."""
        if self.choice is None or not self.choice.forced:
            return self
        return ToolSet(self.tools, ToolChoice(), self.parallel, self._schemas)


def _refuse(resolved: ResolvedModel, feature: str, side: str, hint: str) -> FeatureNotSupported:
    route = resolved.route
    where = (
        f"model {route.model!r} is declared without it (catalog, or the config's models: entry)"
        if side == "model"
        else f"its client path {route.client!r} cannot send it"
    )
    return FeatureNotSupported(
        f"this request needs {feature}, but {where}; {hint}",
        feature=feature,
        model=route.model,
        side=side,
    )


def check_tool_support(resolved: ResolvedModel, tools: ToolSet) -> bool:
    """Refuse what the model or its adapter does not declare; return whether to send the tools.

    Tools with ``tool_choice="none"`` are dropped (False) for an adapter that
    cannot send tools: no call is wanted anyway. The model's side is checked
    only when the catalog knows the model (an unknown id may well call tools).

    Raises:
        FeatureNotSupported: Naming the feature and the side that lacks it.
    """
    adapter = resolved.chat_model.capabilities
    if not tools.offered:
        return adapter.tools
    known = resolved.spec is not None
    model = resolved.capabilities
    if not adapter.tools:
        raise _refuse(resolved, "tools", "client path", "pick a model served by another client")
    if known and not model.tools:
        raise _refuse(resolved, "tools", "model", "pick a model that declares tools: true")
    choice = tools.choice
    if choice is not None and choice.forced:
        wanted = f"a forced tool_choice ({choice.name or choice.mode})"
        if not adapter.forced_tool_choice:
            raise _refuse(resolved, wanted, "client path", "use tool_choice='auto'")
        if known and not model.forced_tool_choice:
            raise _refuse(resolved, wanted, "model", "use tool_choice='auto'")
    if tools.parallel is False and not adapter.parallel_tool_calls:
        raise _refuse(
            resolved,
            "parallel_tool_calls=False",
            "client path",
            "leave parallel_tool_calls unset and handle several calls",
        )
    if tools.parallel is True and known and not model.parallel_tool_calls:
        raise _refuse(
            resolved, "parallel_tool_calls=True", "model", "leave parallel_tool_calls unset"
        )
    return True


def answer_message(text: str, calls: Sequence[ToolCall]) -> Message:
    """The assistant message an answer adds to the conversation."""
    return Message(role="assistant", content=text, tool_calls=tuple(calls) or None)


def feedback_results(checked: Sequence[CheckedCall]) -> list[Message]:
    """Tool results telling the model which calls had invalid arguments (nothing was run)."""
    out = []
    for item in checked:
        if item.ok:
            text = "Not run: another call of this answer had invalid arguments. Call it again."
        else:
            listed = "\n".join(f"- {e}" for e in item.errors)
            text = f"Error: invalid arguments, nothing was run:\n{listed}\nCall the tool again."
        out.append(Message.tool_result(item.call.id, text, name=item.call.name))
    return out


async def _invoke(tool: Tool, value: Any) -> Any:
    function = tool.function
    assert function is not None  # checked when the loop was asked for
    args, kwargs = tool.call_arguments(value)
    if inspect.iscoroutinefunction(function):
        return await function(*args, **kwargs)
    # Sync tools run in a worker thread so a slow one does not stall the event loop; a
    # timeout stops waiting for it (a thread cannot be killed: the function runs on).
    result = await asyncio.to_thread(function, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _run_one(item: CheckedCall, loop: ToolLoop) -> Message:
    call, tool = item.call, item.tool
    assert tool is not None
    if not item.ok:
        listed = "\n".join(f"- {e}" for e in item.errors)
        text = f"Error: invalid arguments, nothing was run:\n{listed}\nCall the tool again."
        return Message.tool_result(call.id, text, name=call.name)
    try:
        async with asyncio.timeout(loop.timeout):
            value = await _invoke(tool, item.value)
    except TimeoutError as exc:
        if loop.on_error == "raise":
            raise ToolTimeout(
                f"tool {call.name!r} (call {call.id}) did not finish within {loop.timeout:g}s",
                call=call,
                timeout=loop.timeout or 0.0,
            ) from exc
        text = f"Error: the tool did not finish within {loop.timeout:g}s."
        return Message.tool_result(call.id, text, name=call.name)
    except Exception as exc:
        if loop.on_error == "raise":
            raise ToolExecutionError(
                f"tool {call.name!r} (call {call.id}) raised {type(exc).__name__}: {exc}",
                call=call,
            ) from exc
        return Message.tool_result(call.id, f"Error: {type(exc).__name__}: {exc}", name=call.name)
    return Message.tool_result(call.id, tool_result_text(value), name=call.name)


async def run_tool_calls(checked: Sequence[CheckedCall], loop: ToolLoop) -> list[Message]:
    """Run one answer's calls and return their results, in the calls' order.

    Calls whose arguments were rejected get an error result instead of running.

    Raises:
        ToolExecutionError: A tool raised (unless ``loop.on_error`` feeds it back).
        ToolTimeout: A tool ran past ``loop.timeout`` (unless fed back).
    """
    if not loop.concurrent or len(checked) < 2:
        return [await _run_one(item, loop) for item in checked]
    tasks = [asyncio.ensure_future(_run_one(item, loop)) for item in checked]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        # A failure (or our own cancellation) stops the calls still running.
        unfinished = [task for task in tasks if not task.done()]
        for task in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.gather(*unfinished, return_exceptions=True)
    for task in tasks:  # the first failing call, in the answer's order, decides
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


def require_functions(tools: ToolSet) -> None:
    """Refuse a tool loop over tools that have no function to run.

    Raises:
        InvalidToolError: Naming the tools without a function.
    """
    missing = [t.name for t in tools.tools if t.function is None]
    if missing:
        raise InvalidToolError(
            "tool_loop runs the tools, but these have no function: "
            f"{', '.join(missing)} (build them with Tool.from_function, or pass function=)"
        )
