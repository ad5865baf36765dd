"""fal.ai's queue protocol over httpx: submit, status (with logs), result, cancel.

Wire facts (https://docs.fal.ai/model-endpoints/queue):

* ``POST {queue}/{model_id}`` with ``Authorization: Key <key>`` submits; the
  answer holds ``request_id`` and usually ``status_url``, ``response_url``
  and ``cancel_url``.
* ``GET .../requests/{id}/status?logs=1`` answers ``IN_QUEUE`` (with
  ``queue_position``), ``IN_PROGRESS`` (with ``logs``) or ``COMPLETED``
  (with ``error`` when the run failed).
* ``GET .../requests/{id}`` is the result; ``PUT .../requests/{id}/cancel``
  answers 202 ``CANCELLATION_REQUESTED`` or 400 ``ALREADY_COMPLETED``.
* Status, result and cancel URLs use the *app* (``owner/name``) without the
  model's sub-path: ``fal-ai/kling-video/v2.6/pro/image-to-video`` is polled
  under ``fal-ai/kling-video/requests/...``. The URLs the submit answered are
  used when they point at the queue's own origin (the key is sent to them);
  otherwise they are built.

Which submit failures may have been accepted: none when the connection was
never made (refused, connect timeout) or the ingress answered 429/503 or
another 4xx; possibly when the answer was another 5xx, a read timeout or a
dropped connection. The key is never part of an error message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from inference_core.adapters.http_errors import connection_failure, error_for_status, redact
from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.adapters.media.queued import (
    CancelOutcome,
    JobStatus,
    SubmitFailed,
    Submitted,
)
from inference_core.domain.errors import (
    InvalidResponse,
    JobFailed,
    MediaTooLarge,
    ProviderError,
    ProviderTimeout,
)
from inference_core.domain.jobs import JobRecord, JobState

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_QUEUE_URL", "FalQueue", "app_id"]

#: fal's queue root.
DEFAULT_QUEUE_URL = "https://queue.fal.run"
_PROVIDER = "fal"
_CONNECT_TIMEOUT_S = 10.0
_MAX_ERROR_TEXT = 500
_NOT_ACCEPTED_STATUSES = frozenset({429, 503})
_STATES = {
    "IN_QUEUE": JobState.QUEUED,
    "IN_PROGRESS": JobState.RUNNING,
    "COMPLETED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "CANCELED": JobState.CANCELLED,
    "CANCELLED": JobState.CANCELLED,
}


def app_id(model: str) -> str:
    """The app of a model id: its first two path segments (``owner/name``)."""
    parts = [part for part in model.strip("/").split("/") if part]
    return "/".join(parts[:2])


class FalQueue:
    """fal's queue wire (a :class:`~inference_core.adapters.media.queued.QueueWire`).

    Args:
        api_key: The fal key (``FAL_API_KEY``).
        base_url: The queue root (default ``https://queue.fal.run``).
        timeout: Read timeout of one HTTP call (a submit, a poll...).
        max_result_bytes: Largest result document read.
        http_client: An ``httpx.AsyncClient`` to use (the caller owns it).
    """

    provider = _PROVIDER

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        base_url: str = DEFAULT_QUEUE_URL,
        timeout: float = 30.0,
        max_result_bytes: int = 64 * 1024 * 1024,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._max_result_bytes = max_result_bytes
        self._http_client = http_client
        self._clients: LoopScoped[Any] = LoopScoped(self._new_client, _aclose)
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)

    def __repr__(self) -> str:
        return f"FalQueue(base_url={self.base_url!r})"

    # -- the wire -------------------------------------------------------------------------

    async def submit(self, model: str, arguments: Mapping[str, Any]) -> Submitted:
        """``POST {queue}/{model}``: one attempt; failures say whether fal may hold the job."""
        import httpx

        url = f"{self.base_url}/{model.strip('/')}"
        try:
            status, raw, headers = await self._send("POST", url, body=arguments)
        except httpx.HTTPError as exc:
            never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            error = self._transport(exc, model)
            error.retryable = never_sent
            raise SubmitFailed(error, maybe_accepted=not never_sent) from exc
        if status >= 400:
            error = self._status_error(status, raw, headers, model)
            accepted = status >= 500 and status not in _NOT_ACCEPTED_STATUSES
            if accepted:
                error.retryable = False
            raise SubmitFailed(error, maybe_accepted=accepted)
        answer = self._json(raw, model)
        request_id = answer.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            # It was accepted (2xx) but we cannot name it: treat as possibly billed.
            raise SubmitFailed(
                self._malformed(model, "the submit answer has no request_id"), maybe_accepted=True
            )
        base = f"{self.base_url}/{app_id(model)}/requests/{request_id}"
        return Submitted(
            request_id=request_id,
            status_url=self._same_origin(answer.get("status_url")) or f"{base}/status",
            result_url=self._same_origin(answer.get("response_url")) or base,
            cancel_url=self._same_origin(answer.get("cancel_url")) or f"{base}/cancel",
        )

    async def status(self, record: JobRecord) -> JobStatus:
        """``GET .../status?logs=1``, mapped to a :class:`JobStatus`."""
        answer = await self._get_json(self._status_url(record), record.model, {"logs": "1"})
        raw_state = str(answer.get("status", ""))
        state = _STATES.get(raw_state)
        if state is None:
            raise self._malformed(record.model, f"unknown job status {raw_state[:40]!r}")
        error = _error_text(answer.get("error"))
        if state is JobState.COMPLETED and error:
            state = JobState.FAILED
        position = answer.get("queue_position")
        logs = answer.get("logs")
        return JobStatus(
            state=state,
            position=position if isinstance(position, int) and position >= 0 else None,
            logs=tuple(
                str(item.get("message", ""))
                for item in (logs if isinstance(logs, list) else [])
                if isinstance(item, dict)
            ),
            error=redact(error, self._secret) if error else None,
        )

    async def result(self, record: JobRecord) -> Any:
        """``GET .../requests/{id}``; a 4xx other than 404/408/429 means the run failed."""
        import httpx

        url = record.result_url or self._built(record, "")
        try:
            status, raw, headers = await self._send("GET", url)
        except httpx.HTTPError as exc:
            raise self._transport(exc, record.model) from exc
        if 400 <= status < 500 and status not in (404, 408, 429):
            message, _ = _error_fields(raw)
            raise JobFailed(
                redact(_short(message) or f"HTTP {status}", self._secret),
                provider=_PROVIDER,
                model=record.model,
                request_id=record.request_id,
                job_id=record.id,
            )
        if status >= 400:
            raise self._status_error(status, raw, headers, record.model)
        return self._json(raw, record.model)

    async def cancel(self, record: JobRecord) -> CancelOutcome:
        """``PUT .../cancel``: cancelled, already done, or not possible."""
        import httpx

        url = record.cancel_url or self._built(record, "/cancel")
        try:
            status, raw, headers = await self._send("PUT", url)
        except httpx.HTTPError as exc:
            raise self._transport(exc, record.model) from exc
        answer_status = ""
        try:
            answer = json.loads(raw)
            if isinstance(answer, dict):
                answer_status = str(answer.get("status", ""))
        except (ValueError, UnicodeDecodeError):
            pass
        if answer_status == "ALREADY_COMPLETED":
            return CancelOutcome.ALREADY_DONE
        if status < 300:
            return CancelOutcome.CANCELLED
        if status in (400, 404, 409):
            return CancelOutcome.NOT_POSSIBLE
        raise self._status_error(status, raw, headers, record.model)

    # -- HTTP -----------------------------------------------------------------------------

    def _new_client(self) -> Any:
        import httpx

        timeout = httpx.Timeout(self._timeout, connect=min(self._timeout, _CONNECT_TIMEOUT_S))
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        client = self._http_client or self._clients.get()
        headers = {"Authorization": f"Key {self._secret}", "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        async with client.stream(
            method, url, content=content, headers=headers, params=params
        ) as response:
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > self._max_result_bytes:
                    raise MediaTooLarge("fal answer", self._max_result_bytes)
            return response.status_code, bytes(data), dict(response.headers)

    async def _get_json(
        self, url: str, model: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        import httpx

        try:
            status, raw, headers = await self._send("GET", url, params=params)
        except httpx.HTTPError as exc:
            raise self._transport(exc, model) from exc
        if status >= 400:
            raise self._status_error(status, raw, headers, model)
        return self._json(raw, model)

    def _status_url(self, record: JobRecord) -> str:
        return record.status_url or self._built(record, "/status")

    def _built(self, record: JobRecord, suffix: str) -> str:
        return f"{self.base_url}/{app_id(record.model)}/requests/{record.request_id}{suffix}"

    def _same_origin(self, url: Any) -> str | None:
        """``url`` when it is on the queue's own origin (the key goes there), else ``None``."""
        if not isinstance(url, str):
            return None
        parts = urlsplit(url)
        return url if (parts.scheme, parts.netloc) == self._origin else None

    # -- errors ---------------------------------------------------------------------------

    def _json(self, raw: bytes, model: str) -> dict[str, Any]:
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._malformed(model, f"body is not valid JSON ({exc})") from exc
        if not isinstance(answer, dict):
            raise self._malformed(model, "body is not a JSON object")
        return answer

    def _status_error(
        self, status: int, raw: bytes, headers: Mapping[str, str], model: str
    ) -> ProviderError:
        message, code = _error_fields(raw)
        return error_for_status(
            status,
            redact(_short(message), self._secret),
            provider=_PROVIDER,
            model=model,
            headers=headers,
            code=code,
        )

    def _transport(self, exc: Exception, model: str) -> ProviderError:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeout("timed out waiting for fal", provider=_PROVIDER, model=model)
        return connection_failure(
            exc, provider=_PROVIDER, model=model, secret=self._secret, in_stream=False
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret), provider=_PROVIDER, model=model
        )


def _error_fields(raw: bytes) -> tuple[str, str | None]:
    """(message, type) of a fal error body: ``{"detail": "..."}`` or a list of problems."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace").strip(), None
    if not isinstance(data, dict):
        return "", None
    detail = data.get("detail", data.get("error", data.get("message", "")))
    code = data.get("error_type") or data.get("type")
    return _error_text(detail), str(code) if code else None


def _error_text(detail: Any) -> str:
    if isinstance(detail, str):
        return detail.strip()
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                text = str(item.get("msg", ""))
                parts.append(f"{where}: {text}" if where else text)
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("msg") or "").strip()
    return ""


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "..."


async def _aclose(client: Any) -> None:
    await client.aclose()
