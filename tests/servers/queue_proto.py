"""Queued-job wire protocols: fal.ai's queue and WaveSpeed's predictions, plus their files.

Routes (behaviour scripted with :func:`~tests.servers.queue_state.queue_script`):

* fal, under :data:`FAL_PREFIX` (the client's queue root is
  :func:`fal_queue_url`):

  - ``POST /{model_id}`` submits (``Authorization: Key <key>`` when a key is
    required) and answers ``request_id`` + ``status_url`` / ``response_url`` /
    ``cancel_url`` built from the *app* (``owner/name``), as fal does. The
    arguments are checked per family (Kling: ``generate_audio`` present,
    ``duration`` "5"|"10", ``start_image_url`` for image-to-video;
    nano-banana edits: ``image_urls``; MiniMax: ``text``, ``voice_setting``,
    ``audio_setting``): a wrong one is a 422, nothing accepted.
  - ``GET /{app}/requests/{id}/status?logs=1``: ``IN_QUEUE`` (position),
    ``IN_PROGRESS`` (logs), ``COMPLETED`` (``error`` when failed).
  - ``GET /{app}/requests/{id}``: the result (``images`` / ``video`` / ``audio``
    by family, file URLs on this server); 422 with ``detail`` when the job failed.
  - ``PUT /{app}/requests/{id}/cancel``: 202 ``CANCELLATION_REQUESTED`` or 400
    ``ALREADY_COMPLETED``.
  - The sub-path rule: a poll, result or cancel under the model's full path
    (``fal-ai/kling-video/v2.6/pro/image-to-video/requests/...``) is a 405,
    counted in ``subpath_violations``.

* WaveSpeed, under :data:`WAVESPEED_PREFIX` (API root :func:`wavespeed_api_url`):
  ``POST /{provider}/{model}`` (Bearer) and ``GET /predictions/{id}/result``
  (``created`` / ``processing`` / ``completed`` with ``outputs`` / ``failed``).

* ``GET /queue-files/{token}``: the output files, with the download faults
  of the job's plan (too large, wrong type, wrong bytes, redirects).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.servers.plumbing import (
    dropped,
    json_response,
    recorded,
    send_json_with_fault,
    state_of,
)
from tests.servers.queue_state import (
    FILES_PREFIX,
    OpFault,
    QueueJob,
    QueueScript,
    audio_bytes,
    image_bytes,
    queue_script,
    video_bytes,
)

__all__ = [
    "FAL_PREFIX",
    "WAVESPEED_PREFIX",
    "add_routes",
    "fal_queue_url",
    "wavespeed_api_url",
]

#: Where the fal queue routes live.
FAL_PREFIX = "/fal/queue"
#: Where the WaveSpeed API routes live (``/api/...`` is Ollama's).
WAVESPEED_PREFIX = "/wavespeed/api/v3"
_HTML = b"<!DOCTYPE html><html><body><h1>Access denied</h1></body></html>\n"


def fal_queue_url(server: Any) -> str:
    """The fal queue root of a started fake server."""
    return str(server.base_url) + FAL_PREFIX


def wavespeed_api_url(server: Any) -> str:
    """The WaveSpeed API root of a started fake server."""
    return str(server.base_url) + WAVESPEED_PREFIX


def _script(request: web.Request) -> QueueScript:
    return queue_script(state_of(request))


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def _faulted(request: web.Request, fault: OpFault | None) -> web.StreamResponse | None:
    if fault is None:
        return None
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.drop:
        return dropped(request)
    if fault.status is None or fault.accept_first:
        return None
    headers = {}
    if fault.retry_after is not None:
        headers["retry-after"] = f"{fault.retry_after:g}"
    body = json.dumps({"detail": f"injected HTTP {fault.status}"}).encode()
    return web.Response(
        status=fault.status, body=body, content_type="application/json", headers=headers
    )


def _authorised(request: web.Request, scheme: str) -> web.Response | None:
    expected = _script(request).require_key
    if expected is None or request.headers.get("Authorization") == f"{scheme} {expected}":
        return None
    return json_response({"detail": "Invalid API key"}, 401)


# -- outputs -------------------------------------------------------------------------------


def _family(model: str) -> str:
    lowered = model.lower()
    if "speech" in lowered or "tts" in lowered:
        return "audio"
    if "video" in lowered or "seedance" in lowered or "t2v" in lowered or "i2v" in lowered:
        return "video"
    return "image"


def _file_url(
    request: web.Request, script: QueueScript, job: QueueJob, data: bytes, mime: str
) -> str:
    fault = job.plan.download
    if fault == "too_large":
        data = data + b"\0" * job.plan.pad_bytes
    token = script.add_file(job, data, mime)
    if fault == "private":
        return f"http://10.0.0.7/files/{token}.bin"
    if fault == "metadata":
        return "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    return f"{_origin(request)}{FILES_PREFIX}{token}"


def _media(job: QueueJob) -> tuple[bytes, str]:
    family = _family(job.model)
    if family == "video":
        seconds = float(job.arguments.get("duration", 5))
        return video_bytes(seconds), "video/mp4"
    if family == "audio":
        setting = job.arguments.get("audio_setting") or {}
        fmt = setting.get("format", "mp3") if isinstance(setting, dict) else "mp3"
        seconds = max(len(str(job.arguments.get("text", ""))) * 0.01, 0.5)
        return audio_bytes(round(seconds, 2), fmt), f"audio/{'mpeg' if fmt == 'mp3' else fmt}"
    fmt = str(job.arguments.get("output_format", "png"))
    pillow = {"jpeg": "JPEG", "webp": "WEBP"}.get(fmt, "PNG")
    return image_bytes(64, 48, pillow), f"image/{fmt}"


def _fal_result(request: web.Request, script: QueueScript, job: QueueJob) -> dict[str, Any]:
    data, mime = _media(job)
    family = _family(job.model)
    if family == "video":
        url = _file_url(request, script, job, data, mime)
        return {"video": {"url": url, "content_type": mime, "file_size": len(data)}}
    if family == "audio":
        if job.arguments.get("output_format") == "hex":
            return {"audio": data.hex(), "duration_ms": 500}
        url = _file_url(request, script, job, data, mime)
        return {"audio": {"url": url, "content_type": mime}, "duration_ms": 500}
    count = int(job.arguments.get("num_images", 1))
    images = [
        {"url": _file_url(request, script, job, data, mime), "content_type": mime,
         "width": 64, "height": 48}
        for _ in range(count)
    ]  # fmt: skip
    return {"images": images, "description": ""}


# -- fal -------------------------------------------------------------------------------------


def _app(model: str) -> str:
    return "/".join([p for p in model.split("/") if p][:2])


def _fal_problems(model: str, body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "Input should be a JSON object", "type": "dict_type"}]
    problems = []

    def need(name: str, check: Any, msg: str) -> None:
        if not check(body.get(name)):
            problems.append({"loc": ["body", name], "msg": msg, "type": "value_error"})

    if "kling" in model:
        need("prompt", lambda v: isinstance(v, str) and v, "Field required")
        need("duration", lambda v: v in ("5", "10"), "Input should be '5' or '10'")
        need("generate_audio", lambda v: isinstance(v, bool), "generate_audio must be sent")
        if model.endswith("image-to-video"):
            need("start_image_url", lambda v: isinstance(v, str) and v, "Field required")
    elif "minimax" in model:
        need("text", lambda v: isinstance(v, str) and v, "Field required")
        need("voice_setting", lambda v: isinstance(v, dict), "Input should be an object")
        need("audio_setting", lambda v: isinstance(v, dict), "Input should be an object")
    elif "nano-banana" in model:
        need("prompt", lambda v: isinstance(v, str) and v, "Field required")
        if model.endswith("/edit"):
            need("image_urls", lambda v: isinstance(v, list) and v, "Field required")
    return problems


async def fal_queue(request: web.Request) -> web.StreamResponse:
    """Every fal queue route (dispatched on the method and the path)."""
    if (denied := _authorised(request, "Key")) is not None:
        return denied
    tail = request.match_info["tail"].strip("/")
    if request.method == "POST" and "/requests/" not in f"/{tail}/":
        return await _fal_submit(request, tail)
    app_part, sep, rest = tail.partition("/requests/")
    if not sep:
        return json_response({"detail": "Not Found"}, 404)
    request_id, _, action = rest.partition("/")
    script = _script(request)
    job = script.job(request_id)
    if job is None or job.protocol != "fal":
        return json_response({"detail": f"Request {request_id} not found"}, 404)
    if app_part != job.app:
        script.add_violation(request.path)
        return json_response(
            {"detail": f"Method Not Allowed: poll under {job.app}, without the sub-path"}, 405
        )
    if request.method == "GET" and action == "status":
        return await _fal_status(request, script, job)
    if request.method == "GET" and action == "":
        return await _fal_result_route(request, script, job)
    if request.method == "PUT" and action == "cancel":
        return await _fal_cancel(request, script, job)
    return json_response({"detail": "Method Not Allowed"}, 405)


async def _fal_submit(request: web.Request, model: str) -> web.StreamResponse:
    script = _script(request)
    script.count_submit()
    fault = script.take_fault("submit")
    if (faulted := await _faulted(request, fault)) is not None:
        return faulted
    body = recorded(request).body
    problems = _fal_problems(model, body)
    if problems:
        return json_response({"detail": problems}, 422)
    job = script.new_job("fal", model, _app(model), dict(body))
    if fault is not None and fault.accept_first:
        return json_response({"detail": "upstream error after accepting"}, fault.status or 500)
    base = f"{_origin(request)}{FAL_PREFIX}/{job.app}/requests/{job.id}"
    answer: dict[str, Any] = {"request_id": job.id}
    if not job.plan.omit_urls:
        answer.update(status_url=f"{base}/status", response_url=base, cancel_url=f"{base}/cancel")
    # The shared Fault queue's cut / slow-body faults apply to the accepted submit's answer.
    faulted = await send_json_with_fault(request, "openai", answer)
    return faulted if faulted is not None else json_response(answer)


async def _fal_status(
    request: web.Request, script: QueueScript, job: QueueJob
) -> web.StreamResponse:
    if (faulted := await _faulted(request, script.take_fault("status"))) is not None:
        return faulted
    with script.lock():
        phase, value = job.phase()
        if phase in ("done", "failed"):
            job.completed_seen = True
    base = f"{_origin(request)}{FAL_PREFIX}/{job.app}/requests/{job.id}"
    answer: dict[str, Any] = {"response_url": base, "status_url": f"{base}/status"}
    with_logs = request.query.get("logs") == "1"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    if phase == "queue":
        answer.update(status="IN_QUEUE", queue_position=value)
    elif phase == "run":
        answer["status"] = "IN_PROGRESS"
        if with_logs:
            answer["logs"] = [
                {"message": line, "level": "INFO", "timestamp": stamp}
                for line in job.plan.logs[:value]
            ]
    elif phase == "cancelled":
        answer["status"] = "CANCELED"
    else:
        answer["status"] = "COMPLETED"
        answer["logs"] = [{"message": line, "level": "INFO", "timestamp": stamp}
                          for line in job.plan.logs] if with_logs else None  # fmt: skip
        answer["metrics"] = {"inference_time": 1.5}
        if phase == "failed":
            answer.update(error=job.plan.fail, error_type="runner_error")
    return json_response(answer)


async def _fal_result_route(
    request: web.Request, script: QueueScript, job: QueueJob
) -> web.StreamResponse:
    if (faulted := await _faulted(request, script.take_fault("result"))) is not None:
        return faulted
    with script.lock():
        done = job.is_done()
        job.result_fetches += 1
        fetch = job.result_fetches
    if not done:
        return json_response({"detail": "Request is still in progress"}, 400)
    if job.plan.fail:
        return json_response(
            {"detail": [{"loc": ["body"], "msg": job.plan.fail, "type": "runner_error"}]}, 422
        )
    if fetch <= job.plan.result_504:
        return json_response({"detail": "Gateway Timeout"}, 504)
    return json_response(_fal_result(request, script, job))


async def _fal_cancel(
    request: web.Request, script: QueueScript, job: QueueJob
) -> web.StreamResponse:
    if (faulted := await _faulted(request, script.take_fault("cancel"))) is not None:
        return faulted
    script.add_cancel(job.id)
    with script.lock():
        if job.is_done():
            return json_response({"status": "ALREADY_COMPLETED"}, 400)
        job.cancelled = True
    return json_response({"status": "CANCELLATION_REQUESTED"}, 202)


# -- WaveSpeed -------------------------------------------------------------------------------


async def wavespeed_submit(request: web.Request) -> web.StreamResponse:
    """``POST /api/v3/{provider}/{model}``."""
    if (denied := _authorised(request, "Bearer")) is not None:
        return denied
    script = _script(request)
    script.count_submit()
    fault = script.take_fault("submit")
    if (faulted := await _faulted(request, fault)) is not None:
        return faulted
    body = recorded(request).body
    model = f"{request.match_info['provider']}/{request.match_info['model']}"
    if not isinstance(body, dict) or not body.get("prompt"):
        return json_response({"code": 400, "message": "prompt is required", "data": None}, 400)
    if "i2v" in model and not body.get("image"):
        return json_response({"code": 400, "message": "image is required", "data": None}, 400)
    job = script.new_job("wavespeed", model, model, dict(body))
    if fault is not None and fault.accept_first:
        return json_response({"code": 500, "message": "internal error"}, fault.status or 500)
    data: dict[str, Any] = {
        "id": job.id, "model": model, "outputs": [], "status": "created",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    if not job.plan.omit_urls:
        data["urls"] = {"get": f"{_origin(request)}{WAVESPEED_PREFIX}/predictions/{job.id}/result"}
    answer = {"code": 200, "message": "success", "data": data}
    faulted = await send_json_with_fault(request, "openai", answer)
    return faulted if faulted is not None else json_response(answer)


async def wavespeed_result(request: web.Request) -> web.StreamResponse:
    """``GET /api/v3/predictions/{id}/result``."""
    if (denied := _authorised(request, "Bearer")) is not None:
        return denied
    script = _script(request)
    job = script.job(request.match_info["id"])
    if job is None or job.protocol != "wavespeed":
        return json_response({"code": 404, "message": "prediction not found", "data": None}, 404)
    completed_before = job.completed_seen
    operation = "result" if completed_before else "status"
    if (faulted := await _faulted(request, script.take_fault(operation))) is not None:
        return faulted
    with script.lock():
        if completed_before:
            job.result_fetches += 1
            if job.result_fetches <= job.plan.result_504:
                return json_response({"code": 504, "message": "Gateway Timeout"}, 504)
            phase = "failed" if job.plan.fail else "done"
        else:
            phase, _ = job.phase()
            if phase in ("done", "failed"):
                job.completed_seen = True
    data: dict[str, Any] = {"id": job.id, "model": job.model, "outputs": [], "error": ""}
    if phase == "queue":
        data["status"] = "created"
    elif phase == "run":
        data["status"] = "processing"
    elif phase == "failed":
        data.update(status="failed", error=job.plan.fail)
    else:
        video, mime = _media(job)
        data.update(
            status="completed",
            outputs=[_file_url(request, script, job, video, mime)],
            timings={"inference": 1500},
        )
    return json_response({"code": 200, "message": "success", "data": data})


# -- files ------------------------------------------------------------------------------------


async def queue_file(request: web.Request) -> web.StreamResponse:
    """``GET /queue-files/{token}``: an output file, with its plan's download fault."""
    script = _script(request)
    if (faulted := await _faulted(request, script.take_fault("download"))) is not None:
        return faulted
    token = request.match_info["token"]
    item = script.file(token)
    if item is None:
        return web.Response(status=404, text="no such file")
    hop = int(request.query.get("hop", "0"))
    if item.fault == "redirect" and hop == 0:
        raise web.HTTPFound(f"{FILES_PREFIX}{token}?hop=1")
    if item.fault == "redirect_loop":
        raise web.HTTPFound(f"{FILES_PREFIX}{token}?hop={hop + 1}")
    if item.fault == "redirect_private":
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
    if item.fault == "wrong_type":
        return web.Response(body=_HTML, content_type="text/html")
    if item.fault == "wrong_bytes":
        return web.Response(body=_HTML, content_type=item.content_type)
    return web.Response(body=item.data, content_type=item.content_type)


def add_routes(app: web.Application) -> None:
    """Register the fal queue, WaveSpeed and file routes."""
    app.router.add_route("*", FAL_PREFIX + "/{tail:.+}", fal_queue)
    app.router.add_get(WAVESPEED_PREFIX + "/predictions/{id}/result", wavespeed_result)
    app.router.add_post(WAVESPEED_PREFIX + "/{provider}/{model}", wavespeed_submit)
    app.router.add_get(FILES_PREFIX + "{token}", queue_file)
