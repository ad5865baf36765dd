"""OpenAI Chat Completions wire protocol (``/v1/chat/completions``, ``/v1/models``)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from aiohttp import web

from tests.servers.errors import auth_error_body, openai_error
from tests.servers.plumbing import (
    FaultyStream,
    error_response,
    json_bytes,
    json_response,
    recorded,
    send_json_with_fault,
    state_of,
)
from tests.servers.state import ChatPlan, argument_pieces
from tests.servers.text import chunk_text, content_text, sample_from_schema

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_FUNCTION_KEYS = {"name", "description", "parameters", "strict"}
_TOOL_MESSAGE_KEYS = {"role", "content", "tool_call_id"}


def tool_problem(body: dict[str, Any]) -> str | None:
    """What the chat-completions API would refuse about the body's tools, or ``None``.

    Checks the ``tools`` list, ``tool_choice`` and ``parallel_tool_calls``
    (both refused without tools), and the tool turns of ``messages``: every
    call of an assistant message answered by the ``tool`` messages right
    after it, and no ``tool`` message answering a call that was not made.
    """
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            return "tools: expected a non-empty array"
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if (
                not isinstance(tool, dict)
                or tool.get("type") != "function"
                or not isinstance(function, dict)
            ):
                return f"tools[{i}]: expected {{'type': 'function', 'function': {{...}}}}"
            extra = set(function) - _FUNCTION_KEYS
            if extra:
                return f"tools[{i}].function: unrecognized keys {sorted(extra)}"
            name = function.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                return f"tools[{i}].function.name: string does not match pattern"
            params = function.get("parameters")
            if params is not None and (
                not isinstance(params, dict) or params.get("type") != "object"
            ):
                return f"tools[{i}].function.parameters: must be a JSON Schema of type object"
            names.append(name)
    choice = body.get("tool_choice")
    if choice is not None:
        if not names:
            return "tool_choice is only allowed when 'tools' are specified"
        if isinstance(choice, dict):
            function = choice.get("function")
            if choice.get("type") != "function" or not isinstance(function, dict):
                return "tool_choice: expected {'type': 'function', 'function': {'name': ...}}"
            if function.get("name") not in names:
                return f"tool_choice: no tool named {function.get('name')!r} in tools"
        elif choice not in ("auto", "none", "required"):
            return f"tool_choice: {choice!r} is not one of 'none', 'auto', 'required'"
    parallel = body.get("parallel_tool_calls")
    if parallel is not None:
        if not names:
            return "parallel_tool_calls is only allowed when 'tools' are specified"
        if not isinstance(parallel, bool):
            return "parallel_tool_calls: expected a boolean"
    return _tool_turns_problem(body.get("messages") or [])


def _tool_turns_problem(messages: list[Any]) -> str | None:
    waiting: set[str] = set()
    answerable: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "tool":
            extra = set(message) - _TOOL_MESSAGE_KEYS
            if extra:
                return f"messages[{i}]: unrecognized keys {sorted(extra)} in a tool message"
            call_id = message.get("tool_call_id")
            if call_id not in answerable:
                return (
                    f"messages[{i}]: messages with role 'tool' must be a response to a preceding "
                    "message with 'tool_calls'"
                )
            waiting.discard(call_id)
            continue
        if waiting:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'. Missing: {sorted(waiting)}"
            )
        answerable = set()
        calls = message.get("tool_calls")
        if role == "assistant" and calls is not None:
            for j, call in enumerate(calls):
                function = call.get("function") if isinstance(call, dict) else None
                if (
                    not isinstance(call, dict)
                    or not isinstance(call.get("id"), str)
                    or call.get("type") != "function"
                    or not isinstance(function, dict)
                    or not isinstance(function.get("name"), str)
                    or not isinstance(function.get("arguments"), str)
                ):
                    return f"messages[{i}].tool_calls[{j}]: malformed tool call"
                answerable.add(call["id"])
            waiting = set(answerable)
    if waiting:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id'. Missing: {sorted(waiting)}"
        )
    return None


def _wire_calls(plan: ChatPlan) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in plan.tool_calls
    ]


_FINISH = {"stop_sequence": "stop"}


def _finish_reason(plan: ChatPlan) -> str:
    return _FINISH.get(plan.finish, plan.finish)


def _usage(plan: ChatPlan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _json_default(body: dict[str, Any], last_user: str) -> Any | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return {"echo": last_user}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        return sample_from_schema(spec.get("schema", {}) if isinstance(spec, dict) else {})
    return None


def _message(plan: ChatPlan) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": plan.text, "refusal": None}
    if plan.tool_calls:
        message["content"] = plan.text or None
        message["tool_calls"] = _wire_calls(plan)
    return message


def _sse(data: Any) -> bytes:
    return b"data: " + json_bytes(data) + b"\n\n"


def _error_frame(message: str) -> bytes:
    return _sse(openai_error(message, "server_error", None, "overloaded"))


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /v1/chat/completions`` (streaming and not).

    Args:
        request: Current request.

    Returns:
        The response.
    """
    state = state_of(request)
    rec = recorded(request)
    if not state._key_ok("openai", rec.headers):
        return json_response(auth_error_body("openai"), 401)
    body = rec.body
    if not isinstance(body, dict):
        return error_response("openai", 400, "We could not parse the JSON body of your request.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return json_response(
            openai_error("[] is too short - 'messages'", "invalid_request_error", "messages"), 400
        )
    if not body.get("model"):
        return json_response(
            openai_error("you must provide a model parameter", "invalid_request_error", "model"),
            400,
        )
    model = str(body["model"])
    problem = tool_problem(body)
    if problem is not None:
        return json_response(openai_error(problem, "invalid_request_error", "messages"), 400)
    texts = [content_text(m.get("content")) for m in messages if isinstance(m, dict)]
    users = [
        content_text(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    ]
    last_user = users[-1] if users else ""
    stop_raw = body.get("stop")
    stops = [stop_raw] if isinstance(stop_raw, str) else list(stop_raw or [])
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    plan = state.plan_chat(
        texts,
        last_user,
        max_tokens=int(max_tokens) if max_tokens is not None else None,
        stop=[str(s) for s in stops],
        json_reply=_json_default(body, last_user),
    )
    cid = "chatcmpl-" + uuid.uuid4().hex[:24]
    created = int(time.time())
    if body.get("stream"):
        return await _stream(request, body, plan, cid, created, model)
    data = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": _message(plan),
                "logprobs": None,
                "finish_reason": _finish_reason(plan),
            }
        ],
        "usage": _usage(plan),
    }
    faulted = await send_json_with_fault(request, "openai", data)
    if faulted is not None:
        return faulted
    state._mark_served("openai", model, plan, streamed=False)
    return json_response(data)


async def _stream(
    request: web.Request,
    body: dict[str, Any],
    plan: ChatPlan,
    cid: str,
    created: int,
    model: str,
) -> web.StreamResponse:
    state = state_of(request)
    opts = body.get("stream_options")
    include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
    base: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse({**base, "choices": [choice]})

    stream = FaultyStream(request, "text/event-stream", _error_frame)
    await stream.start()
    if not await stream.send(
        chunk({"role": "assistant", "content": "", "refusal": None}, None), "pre"
    ):
        return stream.result()
    if plan.tool_calls:
        # Text first (if any), then each call: its id and name, then its arguments in pieces.
        for piece in chunk_text(plan.text, state.chunk_words) if plan.text else []:
            if not await stream.send(chunk({"content": piece}, None)):
                return stream.result()
        for index, call in enumerate(plan.tool_calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if not await stream.send(chunk({"tool_calls": [head]}, None)):
                return stream.result()
            for piece in argument_pieces(call.arguments):
                more = {"index": index, "function": {"arguments": piece}}
                if not await stream.send(chunk({"tool_calls": [more]}, None)):
                    return stream.result()
        if not await stream.send(chunk({}, _finish_reason(plan)), "post"):
            return stream.result()
    pieces = [] if plan.tool_calls else chunk_text(plan.text, state.chunk_words)
    for i, piece in enumerate(pieces):
        finish = _finish_reason(plan) if i == len(pieces) - 1 else None
        if not await stream.send(chunk({"content": piece}, finish)):
            return stream.result()
    if include_usage:
        final = {**base, "choices": [], "usage": _usage(plan)}
        if not await stream.send(_sse(final), "post"):
            return stream.result()
    if not await stream.send(b"data: [DONE]\n\n", "post"):
        return stream.result()
    if await stream.finish():
        state._mark_served("openai", model, plan, streamed=True)
    return stream.result()


async def list_models(request: web.Request) -> web.StreamResponse:
    """Handle ``GET /v1/models``.

    Args:
        request: Current request.

    Returns:
        The model list.
    """
    state = state_of(request)
    if not state._key_ok("openai", recorded(request).headers):
        return json_response(auth_error_body("openai"), 401)
    data = [
        {"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"}
        for m in state.openai_models
    ]
    return json_response({"object": "list", "data": data})


def add_routes(app: web.Application) -> None:
    """Register the OpenAI routes (``/v1/models`` is registered by the app).

    Args:
        app: The aiohttp application.
    """
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/chat/completions", chat_completions)
