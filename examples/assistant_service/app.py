"""The Assistant host: a small Flask app that runs descriptor sub-agents by request.

Endpoints (the original host's request and answer shapes):

* ``POST /api/assistant/execute`` - ``{"agent_id", "task_id", "execute_fields":
  {"text", "image", "video", "audio"}}``; answers the execution record
  ``{"task_id", "execution_id", "status", "error", "error_reasoning",
  "workspace_id", ...}``. 400 for a malformed body or ``execute_fields``
  (``text`` must be a string), 404 for an unknown agent.
* ``GET /api/assistant/sub-agents`` - the agents the executor knows.
* ``GET /api/assistant/executions/task/<task_id>`` - every execution of a task.
* ``GET /api/assistant/executions/<execution_id>`` - one execution.
* ``GET /api/assistant/executions/<execution_id>/files/<file_id>`` - a produced file.

An execution goes PENDING -> IN_PROGRESS -> COMPLETED or FAILED. A quality
gate that never passed is FAILED with the evaluation's summary as
``error_reasoning`` (the original reported it as COMPLETED). The run happens
inside the request, through the injected executor (which uses the library's
one long-lived loop); the answer is the finished record.

The workspace: ``<workspace>/executions/<execution_id>/`` holds the files the
run produced (written through the library's ``AssetStore``: atomic, type
sniffed, safe names) and ``execution.json``, the record. Records hold file
paths, never file bytes; in JSON answers every binary value is
``{"_type": "binary", "size_bytes": N}``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, Response, abort, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from inference_core.domain.descriptors import DescriptorResult

__all__ = ["ExecutionStatus", "Executor", "binary_safe", "create_app"]

log = logging.getLogger(__name__)

_MEDIA_FIELDS = ("image", "video", "audio")


class Executor(Protocol):
    """What the host needs from the executor it is given (``DescriptorExecutor`` fits)."""

    def __contains__(self, agent_id: object) -> bool:
        """Whether ``agent_id`` is an agent it can run."""
        ...

    def asset_key(self, agent_id: str) -> str:
        """Where the agent's output is kept for later agents of the task."""
        ...

    def catalog(self) -> list[dict[str, Any]]:
        """The agents, for ``GET /api/assistant/sub-agents``."""
        ...

    def __call__(
        self,
        agent_id: str,
        *,
        task_id: str,
        input_bundle: Mapping[str, Any],
        output_dir: Path,
    ) -> DescriptorResult:
        """Run one agent; its files go to ``output_dir``."""
        ...


class ExecutionStatus(StrEnum):
    """States of an execution record."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


def binary_safe(value: Any) -> Any:
    """``value`` with every ``bytes`` replaced by ``{"_type": "binary", "size_bytes": N}``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"_type": "binary", "size_bytes": len(value)}
    if isinstance(value, Mapping):
        return {str(k): binary_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [binary_safe(v) for v in value]
    return value


@dataclass
class Execution:
    """One execution record."""

    execution_id: str
    task_id: str
    agent_id: str
    workspace_id: str
    directory: Path
    status: ExecutionStatus = ExecutionStatus.PENDING
    error: str | None = None
    error_reasoning: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: DescriptorResult | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as the API answers it (no file bytes)."""
        base = "/api/assistant/executions/" + self.execution_id
        answer: dict[str, Any] = {
            "task_id": self.task_id,
            "execution_id": self.execution_id,
            "agent_id": self.agent_id,
            "status": self.status.value,
            "error": self.error,
            "error_reasoning": self.error_reasoning,
            "workspace_id": self.workspace_id,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": None,
            "files": [],
        }
        result = self.result
        if result is None:
            return answer
        legacy = result.to_legacy_dict(read_files=False)
        sizes = {f.id: f.size_bytes for f in result.files}
        for file_id, entry in legacy["_media_files"].items():
            entry["file_content"] = {"_type": "binary", "size_bytes": sizes[file_id]}
            entry["url"] = f"{base}/files/{file_id}"
        answer["results"] = binary_safe(legacy)
        answer["files"] = [
            {
                "id": f.id,
                "filename": f.filename,
                "mime_type": f.mime_type,
                "size_bytes": f.size_bytes,
                "sha256": f.sha256,
                "description": f.description,
                "url": f"{base}/files/{f.id}",
            }
            for f in result.files
        ]
        answer.update(
            attempts=result.attempts,
            passed=result.passed,
            usage=result.usage.model_dump(mode="json"),
            media_cost_usd=result.media_cost_usd,
            timings={t.stage: round(t.seconds, 4) for t in result.timings},
        )
        return answer


class ExecutionBook:
    """Execution records in memory, each also written to its workspace directory."""

    def __init__(self, workspace: Path, workspace_id: str) -> None:
        self.workspace = workspace
        self.workspace_id = workspace_id
        self._lock = threading.Lock()
        self._records: dict[str, Execution] = {}

    def create(self, task_id: str, agent_id: str) -> Execution:
        """A new PENDING record with its own directory."""
        execution_id = uuid.uuid4().hex
        directory = self.workspace / "executions" / execution_id
        directory.mkdir(parents=True, exist_ok=False)
        record = Execution(execution_id, task_id, agent_id, self.workspace_id, directory)
        with self._lock:
            self._records[execution_id] = record
        self.save(record)
        return record

    def get(self, execution_id: str) -> Execution | None:
        """The record with ``execution_id``."""
        with self._lock:
            return self._records.get(execution_id)

    def of_task(self, task_id: str) -> list[Execution]:
        """The task's records, oldest first."""
        with self._lock:
            found = [r for r in self._records.values() if r.task_id == task_id]
        return sorted(found, key=lambda r: r.created_at)

    def save(self, record: Execution) -> None:
        """Write ``execution.json`` atomically (a reader never sees half a record)."""
        text = json.dumps(record.to_json(), ensure_ascii=False, indent=2)
        handle, scratch = tempfile.mkstemp(dir=record.directory, prefix=".execution-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(scratch, record.directory / "execution.json")
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise


def _bad_request(message: str) -> HTTPException:
    response = jsonify({"error": message, "status": 400})
    response.status_code = 400
    return HTTPException(description=message, response=response)


def _input_bundle(body: Mapping[str, Any], task_id: str) -> dict[str, Any]:
    fields = body.get("execute_fields")
    if fields is None:
        fields = {}
    if not isinstance(fields, Mapping):
        raise _bad_request("execute_fields must be an object")
    unknown = sorted(set(fields) - {"text", *_MEDIA_FIELDS})
    if unknown:
        raise _bad_request(f"execute_fields has unknown field(s): {', '.join(unknown)}")
    text = fields.get("text")
    if text is not None and not isinstance(text, str):
        raise _bad_request("execute_fields.text must be a string")
    bundle: dict[str, Any] = {"task_id": task_id}
    if text is not None:
        bundle["text"] = text
    for name in _MEDIA_FIELDS:
        value = fields.get(name)
        if value is None:
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _bad_request(f"execute_fields.{name} must be a string or a list of strings")
        bundle[name] = items
    return bundle


def create_app(
    executor: Executor,
    *,
    workspace: str | Path,
    workspace_id: str | None = None,
) -> Flask:
    """The host application.

    Args:
        executor: Runs an agent by id (injected: the host builds no model or generator).
        workspace: Directory the executions' files and records are written to.
        workspace_id: Reported in every record (default: the directory's name).
    """
    root = Path(workspace).resolve()
    root.mkdir(parents=True, exist_ok=True)
    book = ExecutionBook(root, workspace_id or root.name)
    app = Flask("assistant_service")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["assistant.book"] = book

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if error.response is not None:
            return error.response  # type: ignore[return-value]
        response = jsonify({"error": error.description, "status": error.code})
        response.status_code = error.code or 500
        return response

    @app.get("/api/health")
    def health() -> Response:
        return jsonify({"status": "ok", "workspace_id": book.workspace_id})

    @app.get("/api/assistant/sub-agents")
    def sub_agents() -> Response:
        return jsonify({"sub_agents": executor.catalog()})

    @app.post("/api/assistant/execute")
    def execute() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, Mapping):
            raise _bad_request("the body must be a JSON object")
        agent_id = body.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            raise _bad_request("agent_id must be a non-empty string")
        task_id = body.get("task_id") or uuid.uuid4().hex[:12]
        if not isinstance(task_id, str):
            raise _bad_request("task_id must be a string")
        bundle = _input_bundle(body, task_id)
        if agent_id not in executor:
            abort(404, description=f"unknown agent {agent_id!r}")
        bundle["assets"] = _earlier_outputs(book, executor, task_id)
        record = book.create(task_id, agent_id)
        _run(executor, book, record, bundle)
        return jsonify(record.to_json()), 200

    @app.get("/api/assistant/executions/task/<task_id>")
    def executions_of_task(task_id: str) -> Response:
        records = book.of_task(task_id)
        return jsonify({"task_id": task_id, "executions": [r.to_json() for r in records]})

    @app.get("/api/assistant/executions/<execution_id>")
    def execution(execution_id: str) -> Response:
        record = book.get(execution_id)
        if record is None:
            abort(404, description=f"unknown execution {execution_id!r}")
        return jsonify(record.to_json())

    @app.get("/api/assistant/executions/<execution_id>/files/<file_id>")
    def execution_file(execution_id: str, file_id: str) -> Response:
        record = book.get(execution_id)
        result = record.result if record is not None else None
        file = next((f for f in result.files if f.id == file_id), None) if result else None
        if record is None or file is None:
            abort(404, description=f"no file {file_id!r} in execution {execution_id!r}")
        path = Path(file.path).resolve()
        if not path.is_relative_to(record.directory.resolve()) or not path.is_file():
            abort(404, description=f"file {file_id!r} is no longer in the workspace")
        return send_file(path, mimetype=file.mime_type, download_name=file.filename)

    return app


def _earlier_outputs(book: ExecutionBook, executor: Executor, task_id: str) -> dict[str, Any]:
    """Outputs of the task's completed executions by asset key (later ones win)."""
    outputs: dict[str, Any] = {}
    for record in book.of_task(task_id):
        if record.status is ExecutionStatus.COMPLETED and record.result is not None:
            outputs[executor.asset_key(record.agent_id)] = record.result.output
    return outputs


def _run(
    executor: Executor,
    book: ExecutionBook,
    record: Execution,
    bundle: Mapping[str, Any],
) -> None:
    record.status = ExecutionStatus.IN_PROGRESS
    record.started_at = time.time()
    book.save(record)
    try:
        result = executor(
            record.agent_id,
            task_id=record.task_id,
            input_bundle=bundle,
            output_dir=record.directory,
        )
    except Exception as exc:  # the run failed: the record says why, the host keeps serving
        log.exception("execution %s of %s failed", record.execution_id, record.agent_id)
        record.status = ExecutionStatus.FAILED
        record.error = f"{type(exc).__name__}: {exc}"
        record.error_reasoning = str(exc)
    else:
        record.result = result
        if result.passed:
            record.status = ExecutionStatus.COMPLETED
        else:
            record.status = ExecutionStatus.FAILED
            record.error = "quality gate failed"
            record.error_reasoning = result.evaluation.summary or "the output did not pass"
    record.finished_at = time.time()
    book.save(record)
