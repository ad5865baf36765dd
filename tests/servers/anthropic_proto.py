"""Anthropic Messages wire protocol (``/v1/messages``, ``/v1/models``)."""

from __future__ import annotations

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
from tests.servers.state import ChatPlan
from tests.servers.text import chunk_text, content_text, count_words

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
        "content": [{"type": "text", "text": plan.text}],
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
