"""Anthropic Messages wire protocol (``/v1/messages``, ``/v1/models``)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from tests.servers.errors import anthropic_error, auth_error_body
from tests.servers.plumbing import (
    FaultyStream,
    json_bytes,
    json_response,
    recorded,
    send_json_with_fault,
    state_of,
)
from tests.servers.state import ChatPlan, argument_pieces
from tests.servers.text import chunk_text, content_text, count_words

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOOL_KEYS = {"name", "description", "input_schema", "cache_control", "type"}
_CHOICES = {"auto", "any", "tool", "none"}


def tool_problem(body: dict[str, Any]) -> str | None:
    """What the Messages API would refuse about the body's tools, or ``None``.

    Checks ``tools`` and ``tool_choice``, and that every ``tool_use`` block of
    an assistant turn is answered by a ``tool_result`` block (first in the next
    user turn), and that no ``tool_result`` answers a ``tool_use`` that was not made.
    """
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                return f"tools.{i}: Input should be an object"
            extra = set(tool) - _TOOL_KEYS
            if extra:
                return f"tools.{i}: Extra inputs are not permitted: {sorted(extra)}"
            name = tool.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                return f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{i}.input_schema: Input should be a JSON Schema of type object"
            names.append(name)
    choice = body.get("tool_choice")
    if choice is not None:
        if not names:
            return "tool_choice may only be specified while providing tools"
        if not isinstance(choice, dict) or choice.get("type") not in _CHOICES:
            return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
        if choice["type"] == "tool" and choice.get("name") not in names:
            return f"tool_choice.name: no tool named {choice.get('name')!r}"
        if choice["type"] != "tool" and "name" in choice:
            return "tool_choice.name: Extra inputs are not permitted"
        if "disable_parallel_tool_use" in choice and (
            choice["type"] == "none" or not isinstance(choice["disable_parallel_tool_use"], bool)
        ):
            return "tool_choice.disable_parallel_tool_use: not allowed here"
    return _tool_turns_problem(body.get("messages") or [])


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _tool_turns_problem(messages: list[Any]) -> str | None:
    pending: set[str] = set()
    for i, message in enumerate(messages):
        blocks = _blocks(message)
        role = message.get("role") if isinstance(message, dict) else None
        results = [b for b in blocks if b.get("type") == "tool_result"]
        if role == "user":
            answered = {b.get("tool_use_id") for b in results}
            unexpected = answered - pending
            if unexpected:
                return (
                    f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {sorted(map(str, unexpected))}. Each `tool_result` block must have "
                    "a corresponding `tool_use` block in the previous message."
                )
            if pending - answered:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {sorted(pending - answered)}"
                )
            kinds = [b.get("type") for b in blocks]
            if results and kinds[: len(results)] != ["tool_result"] * len(results):
                return f"messages.{i}.content: `tool_result` blocks must come first"
            pending = set()
        elif role == "assistant":
            if pending:
                return f"messages.{i}: `tool_use` ids without `tool_result`: {sorted(pending)}"
            for j, block in enumerate(blocks):
                if block.get("type") != "tool_use":
                    continue
                if not isinstance(block.get("id"), str) or not isinstance(block.get("input"), dict):
                    return f"messages.{i}.content.{j}: tool_use needs an id and an input object"
                pending.add(block["id"])
    return None


_STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}


def _invalid(message: str) -> web.Response:
    return json_response(anthropic_error("invalid_request_error", message), 400)


def _system_text(system: Any) -> str:
    return content_text(system) if system is not None else ""


def _validate(body: Any, strict: bool) -> str | None:
    """Return an error message when the body breaks the API's rules.

    ``strict`` (the default of ``ServerState.anthropic_strict``) also enforces
    the classic rules: first message from the user, roles strictly alternating,
    no ``system`` role inside ``messages``. The live API now merges consecutive
    turns instead, but strictness lets adapter tests prove they merge roles.
    """
    if not isinstance(body, dict):
        return "messages: body must be a JSON object"
    if not body.get("model"):
        return "model: Field required"
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 0:
        return "max_tokens: Input should be a valid integer greater than or equal to 0"
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or list of text blocks"
    if isinstance(system, list) and any(
        not isinstance(b, dict) or b.get("type") != "text" for b in system
    ):
        return "system: blocks must be of type text"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    prev: str | None = None
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if not strict:
            if role not in ("user", "assistant", "system"):
                return f'messages.{i}.role: Input should be "user" or "assistant"'
            continue
        if role not in ("user", "assistant"):
            return (
                f'messages.{i}.role: Input should be "user" or "assistant"'
                if role != "system"
                else f'messages.{i}: Unexpected role "system". The Messages API accepts a '
                'top-level `system` parameter, not "system" as an input message role.'
            )
        if i == 0 and role != "user":
            return 'messages: first message must use the "user" role'
        if role == prev:
            return (
                'messages: roles must alternate between "user" and "assistant", '
                'but found multiple "' + str(role) + '" roles in a row'
            )
        prev = role
    return None


def _content(plan: ChatPlan) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if plan.text or not plan.tool_calls:
        blocks.append({"type": "text", "text": plan.text})
    blocks.extend(
        {"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in plan.tool_calls
    )
    return blocks


def _usage(plan: ChatPlan, output_tokens: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": plan.prompt_tokens,
        "output_tokens": plan.completion_tokens if output_tokens is None else output_tokens,
        "cache_creation_input_tokens": plan.cache_creation_tokens,
        "cache_read_input_tokens": plan.cached_tokens,
    }


def _event(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + json_bytes(data) + b"\n\n"


def _error_frame(message: str) -> bytes:
    return _event("error", anthropic_error("overloaded_error", message))


def _prompt(body: dict[str, Any]) -> tuple[list[str], str]:
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    texts = [_system_text(body.get("system"))] + [content_text(m.get("content")) for m in messages]
    users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    return texts, (users[-1] if users else "")


async def messages(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /v1/messages`` (streaming and not).

    Args:
        request: Current request.

    Returns:
        The response.
    """
    state = state_of(request)
    rec = recorded(request)
    if not state._key_ok("anthropic", rec.headers):
        return json_response(auth_error_body("anthropic"), 401)
    problem = _validate(rec.body, state.anthropic_strict)
    if problem is not None:
        return _invalid(problem)
    body: dict[str, Any] = rec.body
    problem = tool_problem(body)
    if problem is not None:
        return _invalid(problem)
    model = str(body["model"])
    texts, last_user = _prompt(body)
    stops = [str(s) for s in body.get("stop_sequences") or []]
    plan = state.plan_chat(texts, last_user, max_tokens=int(body["max_tokens"]), stop=stops)
    stop_reason = _STOP_REASON.get(plan.finish, plan.finish)
    mid = "msg_" + uuid.uuid4().hex[:24]
    message: dict[str, Any] = {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(plan),
        "stop_reason": stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": _usage(plan),
    }
    if body.get("stream"):
        return await _stream(request, message, plan, model)
    faulted = await send_json_with_fault(request, "anthropic", message)
    if faulted is not None:
        return faulted
    state._mark_served("anthropic", model, plan, streamed=False)
    return json_response(message)


async def _stream(
    request: web.Request, message: dict[str, Any], plan: ChatPlan, model: str
) -> web.StreamResponse:
    state = state_of(request)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(plan, output_tokens=1),
    }
    stream = FaultyStream(request, "text/event-stream", _error_frame)
    await stream.start()
    if plan.tool_calls:
        return await _stream_tools(stream, message, plan, model, start)
    preamble = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _event("ping", {"type": "ping"}),
    ]
    for frame in preamble:
        if not await stream.send(frame, "pre"):
            return stream.result()
    for piece in chunk_text(plan.text, state.chunk_words) if plan.text else []:
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": piece},
        }
        if not await stream.send(_event("content_block_delta", delta)):
            return stream.result()
    closing = [
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": message["stop_reason"],
                    "stop_sequence": plan.stop_sequence,
                },
                "usage": {"output_tokens": plan.completion_tokens},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
    for frame in closing:
        if not await stream.send(frame, "post"):
            return stream.result()
    if await stream.finish():
        state._mark_served("anthropic", model, plan, streamed=True)
    return stream.result()


async def _stream_tools(
    stream: FaultyStream,
    message: dict[str, Any],
    plan: ChatPlan,
    model: str,
    start: dict[str, Any],
) -> web.StreamResponse:
    """A tool-calling answer: optional text block, then a tool_use block per call."""
    state = state_of(stream.request)
    for frame in (
        _event("message_start", {"type": "message_start", "message": start}),
        _event("ping", {"type": "ping"}),
    ):
        if not await stream.send(frame, "pre"):
            return stream.result()
    index = 0
    if plan.text:
        opening = {"type": "text", "text": ""}
        frames = [
            (
                "pre",
                _event(
                    "content_block_start",
                    {"type": "content_block_start", "index": 0, "content_block": opening},
                ),
            )
        ]
        for piece in chunk_text(plan.text, state.chunk_words):
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            }
            frames.append(("content", _event("content_block_delta", delta)))
        frames.append(
            ("post", _event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        )
        for kind, frame in frames:
            if not await stream.send(frame, kind):
                return stream.result()
        index = 1
    for offset, call in enumerate(plan.tool_calls):
        at = index + offset
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        start_block = {"type": "content_block_start", "index": at, "content_block": block}
        if not await stream.send(_event("content_block_start", start_block)):
            return stream.result()
        for piece in argument_pieces(call.arguments):
            delta = {
                "type": "content_block_delta",
                "index": at,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
            if not await stream.send(_event("content_block_delta", delta)):
                return stream.result()
        stop = {"type": "content_block_stop", "index": at}
        if not await stream.send(_event("content_block_stop", stop), "post"):
            return stream.result()
    closing = [
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": plan.completion_tokens},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
    for frame in closing:
        if not await stream.send(frame, "post"):
            return stream.result()
    if await stream.finish():
        state._mark_served("anthropic", model, plan, streamed=True)
    return stream.result()


async def count_tokens(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /v1/messages/count_tokens``.

    Args:
        request: Current request.

    Returns:
        ``{"input_tokens": N}`` (word count, min 1).
    """
    state = state_of(request)
    rec = recorded(request)
    if not state._key_ok("anthropic", rec.headers):
        return json_response(auth_error_body("anthropic"), 401)
    body = rec.body
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _invalid("messages: Field required")
    if state.anthropic_strict:
        problem = _validate({**body, "max_tokens": 1}, strict=True)
        if problem is not None:
            return _invalid(problem)
    texts, _ = _prompt(body)
    return json_response({"input_tokens": max(sum(count_words(t) for t in texts), 1)})


def list_models(request: web.Request) -> web.Response:
    """Build the Anthropic ``GET /v1/models`` answer.

    Args:
        request: Current request.

    Returns:
        The model list.
    """
    state = state_of(request)
    if not state._key_ok("anthropic", recorded(request).headers):
        return json_response(auth_error_body("anthropic"), 401)
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2024-10-22T00:00:00Z"}
        for m in state.anthropic_models
    ]
    return json_response(
        {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    )


def add_routes(app: web.Application) -> None:
    """Register the Anthropic routes.

    Args:
        app: The aiohttp application.
    """
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
