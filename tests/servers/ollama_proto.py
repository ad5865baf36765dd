"""Ollama native wire protocol (``/api/chat``, ``/api/generate``, ``/api/tags``, ...)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.servers.errors import auth_error_body, ollama_error
from tests.servers.plumbing import (
    FaultyStream,
    json_bytes,
    json_response,
    recorded,
    send_json_with_fault,
    state_of,
)
from tests.servers.state import ChatPlan, ServerState
from tests.servers.text import chunk_text, content_text, sample_from_schema

NDJSON = "application/x-ndjson"
VERSION = "0.5.7"

_DONE_REASON = {"stop_sequence": "stop", "content_filter": "stop", "tool_calls": "stop"}


def normalize_model(name: str) -> str:
    """Return the canonical ``name:tag`` form (``:latest`` when untagged).

    Args:
        name: Model name as given by a client.

    Returns:
        The tagged name.
    """
    return name if ":" in name else f"{name}:latest"


def has_model(state: ServerState, name: str) -> bool:
    """Tell whether a model is installed.

    Args:
        state: Server state holding ``ollama_models``.
        name: Model name, tagged or not.

    Returns:
        True when installed.
    """
    return normalize_model(name) in {normalize_model(m) for m in state.ollama_models}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _digest(name: str) -> str:
    return hashlib.sha256(normalize_model(name).encode()).hexdigest()


def _family(name: str) -> str:
    base = name.split(":", 1)[0]
    return "llama" if base.startswith(("llama", "codellama")) else base


def _details(name: str) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": _family(name),
        "families": [_family(name)],
        "parameter_size": "7B",
        "quantization_level": "Q4_0",
    }


def _not_found(name: str) -> web.Response:
    return json_response(ollama_error(f"model '{name}' not found"), 404)


def _unauthorized() -> web.Response:
    return json_response(auth_error_body("ollama"), 401)


def _error_frame(message: str) -> bytes:
    return json_bytes(ollama_error(message)) + b"\n"


def tool_problem(body: dict[str, Any]) -> str | None:
    """What ``/api/chat`` would refuse (or silently misread) about the body's tools.

    ``tool_choice`` does not exist in Ollama's API: the daemon would ignore it,
    so the fake refuses it to catch an adapter that thinks it forces a call.
    Tool-call arguments must be JSON objects, not JSON text.
    """
    if "tool_choice" in body or "parallel_tool_calls" in body:
        return "Ollama has no tool_choice / parallel_tool_calls (the daemon would ignore them)"
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "json: cannot unmarshal tools into Go struct field ChatRequest.tools"
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if (
                not isinstance(tool, dict)
                or tool.get("type") != "function"
                or not isinstance(function, dict)
                or not isinstance(function.get("name"), str)
            ):
                return f"invalid tool definition at tools[{i}]"
            params = function.get("parameters")
            if params is not None and not isinstance(params, dict):
                return f"tools[{i}].function.parameters must be an object"
    for i, message in enumerate(body.get("messages") or []):
        for call in (message.get("tool_calls") or []) if isinstance(message, dict) else []:
            arguments = (
                (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            )
            if not isinstance(arguments, dict):
                return (
                    "json: cannot unmarshal string into Go struct field "
                    f"ToolCallFunction.messages[{i}].tool_calls.function.arguments of type "
                    "api.ToolCallFunctionArguments"
                )
    return None


def _json_default(fmt: Any, last_user: str) -> Any | None:
    if fmt == "json":
        return {"echo": last_user}
    if isinstance(fmt, dict):
        return sample_from_schema(fmt)
    return None


def _stops(options: dict[str, Any]) -> list[str]:
    stop = options.get("stop")
    if isinstance(stop, str):
        return [stop]
    return [str(s) for s in stop or []]


def _final_fields(plan: ChatPlan) -> dict[str, Any]:
    eval_ns = 1_000_000 * max(plan.completion_tokens, 1)
    prompt_ns = 500_000 * plan.prompt_tokens
    load_ns = 1_000_000
    return {
        "done": True,
        "done_reason": _DONE_REASON.get(plan.finish, plan.finish),
        "total_duration": load_ns + prompt_ns + eval_ns,
        "load_duration": load_ns,
        "prompt_eval_count": plan.prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": plan.completion_tokens,
        "eval_duration": eval_ns,
    }


async def _generate_like(request: web.Request, chat: bool) -> web.StreamResponse:
    state = state_of(request)
    rec = recorded(request)
    if not state._key_ok("ollama", rec.headers):
        return _unauthorized()
    body = rec.body
    if not isinstance(body, dict):
        return json_response(ollama_error("invalid request body"), 400)
    model = body.get("model")
    if not model:
        return json_response(ollama_error("model is required"), 400)
    model = str(model)
    if not has_model(state, model):
        return _not_found(model)
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    assert isinstance(options, dict)
    problem = tool_problem(body) if chat else None
    if problem is not None:
        return json_response(ollama_error(problem), 400)
    if chat:
        msgs = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        texts = [content_text(m.get("content")) for m in msgs]
        users = [content_text(m.get("content")) for m in msgs if m.get("role") == "user"]
        last_user = users[-1] if users else ""
    else:
        last_user = str(body.get("prompt") or "")
        texts = [str(body.get("system") or ""), last_user]
    num_predict = options.get("num_predict")
    limit = int(num_predict) if isinstance(num_predict, int) and num_predict >= 0 else None
    plan = state.plan_chat(
        texts,
        last_user,
        max_tokens=limit,
        stop=_stops(options),
        json_reply=_json_default(body.get("format"), last_user),
    )
    head: dict[str, Any] = {"model": model, "created_at": _now()}

    def piece_obj(text: str) -> dict[str, Any]:
        if chat:
            return {**head, "message": {"role": "assistant", "content": text}}
        return {**head, "response": text}

    calls = [{"function": {"name": c.name, "arguments": c.input}} for c in plan.tool_calls]

    if body.get("stream", True) is False:
        data = {**piece_obj(plan.text), **_final_fields(plan)}
        if calls:
            data["message"]["tool_calls"] = calls
        faulted = await send_json_with_fault(request, "ollama", data)
        if faulted is not None:
            return faulted
        state._mark_served("ollama", model, plan, streamed=False)
        return json_response(data)
    stream = FaultyStream(request, NDJSON, _error_frame)
    await stream.start()
    for piece in chunk_text(plan.text, state.chunk_words) if plan.text else []:
        if not await stream.send(json_bytes({**piece_obj(piece), "done": False}) + b"\n"):
            return stream.result()
    if calls:
        # Ollama sends the calls whole, in one line of their own.
        line = piece_obj("")
        line["message"]["tool_calls"] = calls
        if not await stream.send(json_bytes({**line, "done": False}) + b"\n"):
            return stream.result()
    final = {**piece_obj(""), **_final_fields(plan)}
    if not await stream.send(json_bytes(final) + b"\n", "post"):
        return stream.result()
    if await stream.finish():
        state._mark_served("ollama", model, plan, streamed=True)
    return stream.result()


async def chat(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /api/chat`` (NDJSON stream unless ``stream: false``).

    Args:
        request: Current request.

    Returns:
        The response.
    """
    return await _generate_like(request, chat=True)


async def generate(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /api/generate`` (prompt in, ``response`` pieces out).

    Args:
        request: Current request.

    Returns:
        The response.
    """
    return await _generate_like(request, chat=False)


async def tags(request: web.Request) -> web.StreamResponse:
    """Handle ``GET /api/tags``.

    Args:
        request: Current request.

    Returns:
        Installed models.
    """
    state = state_of(request)
    if not state._key_ok("ollama", recorded(request).headers):
        return _unauthorized()
    models = [
        {
            "name": normalize_model(m),
            "model": normalize_model(m),
            "modified_at": "2024-06-01T12:00:00Z",
            "size": 4_109_865_159,
            "digest": _digest(m),
            "details": _details(m),
        }
        for m in sorted(state.ollama_models)
    ]
    return json_response({"models": models})


async def show(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /api/show``.

    Args:
        request: Current request.

    Returns:
        Model metadata, or 404 for an unknown model.
    """
    state = state_of(request)
    rec = recorded(request)
    if not state._key_ok("ollama", rec.headers):
        return _unauthorized()
    body = rec.body if isinstance(rec.body, dict) else {}
    name = str(body.get("model") or body.get("name") or "")
    if not has_model(state, name):
        return _not_found(name)
    family = _family(name)
    return json_response(
        {
            "modelfile": f"FROM {normalize_model(name)}\n",
            "parameters": 'stop "<|eot_id|>"',
            "template": "{{ .Prompt }}",
            "details": _details(name),
            "model_info": {
                "general.architecture": family,
                "general.parameter_count": 7_000_000_000,
                f"{family}.context_length": 8192,
            },
            "capabilities": ["completion"],
            "modified_at": "2024-06-01T12:00:00Z",
        }
    )


async def pull(request: web.Request) -> web.StreamResponse:
    """Handle ``POST /api/pull`` (NDJSON progress unless ``stream: false``).

    Names outside ``state.ollama_registry`` (when set) fail with an error line.

    Args:
        request: Current request.

    Returns:
        The response.
    """
    state = state_of(request)
    rec = recorded(request)
    if not state._key_ok("ollama", rec.headers):
        return _unauthorized()
    body = rec.body if isinstance(rec.body, dict) else {}
    name = str(body.get("model") or body.get("name") or "")
    registry = state.ollama_registry
    known = bool(name) and (
        registry is None or normalize_model(name) in {normalize_model(m) for m in registry}
    )
    if body.get("stream", True) is False:
        if not known:
            return json_response(ollama_error("pull model manifest: file does not exist"), 500)
        with state._lock:
            state.ollama_models.add(name)
        return json_response({"status": "success"})
    stream = FaultyStream(request, NDJSON, _error_frame)
    await stream.start()
    if not await stream.send(json_bytes({"status": "pulling manifest"}) + b"\n", "pre"):
        return stream.result()
    if not known:
        await stream.send(
            json_bytes(ollama_error("pull model manifest: file does not exist")) + b"\n", "post"
        )
        await stream.finish()
        return stream.result()
    digest = "sha256:" + _digest(name)
    total = 4096
    for completed in (0, total // 2, total):
        line = {
            "status": f"pulling {digest[7:19]}",
            "digest": digest,
            "total": total,
            "completed": completed,
        }
        if not await stream.send(json_bytes(line) + b"\n"):
            return stream.result()
        await asyncio.sleep(0)
    for status in ("verifying sha256 digest", "writing manifest", "success"):
        if not await stream.send(json_bytes({"status": status}) + b"\n", "post"):
            return stream.result()
    with state._lock:
        state.ollama_models.add(name)
    await stream.finish()
    return stream.result()


async def version(request: web.Request) -> web.StreamResponse:
    """Handle ``GET /api/version``.

    Args:
        request: Current request.

    Returns:
        The version object.
    """
    del request
    return json_response({"version": VERSION})


async def root(request: web.Request) -> web.StreamResponse:
    """Handle ``GET /`` like the real daemon.

    Args:
        request: Current request.

    Returns:
        Plain text banner.
    """
    del request
    return web.Response(text="Ollama is running")


def add_routes(app: web.Application) -> None:
    """Register the Ollama routes.

    Args:
        app: The aiohttp application.
    """
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/generate", generate)
    app.router.add_get("/api/tags", tags)
    app.router.add_post("/api/show", show)
    app.router.add_post("/api/pull", pull)
    app.router.add_get("/api/version", version)
    app.router.add_get("/", root)
