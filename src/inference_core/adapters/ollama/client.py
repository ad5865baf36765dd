"""Ollama model management: list installed models, show one, pull one with progress.

Results are small frozen models; unknown fields Ollama may add are ignored so a
newer daemon does not break older code. Failures are domain errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from inference_core.adapters.ollama._http import (
    bearer_token,
    build_timeout,
    iter_ndjson,
    parse_json_body,
    raise_for_status,
    transport_error,
)
from inference_core.domain.errors import InvalidResponse, ModelNotFoundError, ProviderError

__all__ = [
    "OllamaClient",
    "OllamaModel",
    "OllamaModelDetails",
    "OllamaModelInfo",
    "PullCallback",
    "PullProgress",
]

_VENDOR = ConfigDict(frozen=True, extra="ignore")


class OllamaModelDetails(BaseModel):
    """Format, family, size and quantisation of a model, as Ollama reports them."""

    model_config = _VENDOR
    format: str | None = None
    family: str | None = None
    families: tuple[str, ...] | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    parent_model: str | None = None


class OllamaModel(BaseModel):
    """One installed model, from ``GET /api/tags``.

    Attributes:
        name: Tagged name, e.g. ``llama3:latest``.
        size: Size on disk in bytes.
        modified_at: ISO 8601 time of the last change.
    """

    model_config = _VENDOR
    name: str
    model: str | None = None
    modified_at: str | None = None
    size: int | None = None
    digest: str | None = None
    details: OllamaModelDetails | None = None


class OllamaModelInfo(BaseModel):
    """What ``POST /api/show`` says about one model."""

    model_config = _VENDOR
    name: str
    modelfile: str | None = None
    parameters: str | None = None
    template: str | None = None
    details: OllamaModelDetails | None = None
    model_info: dict[str, Any] | None = None
    capabilities: tuple[str, ...] | None = None
    modified_at: str | None = None

    @property
    def context_length(self) -> int | None:
        """The model's trained context length (``<arch>.context_length``), when reported."""
        for key, value in (self.model_info or {}).items():
            if key.endswith(".context_length") and isinstance(value, int):
                return value
        return None


class PullProgress(BaseModel):
    """One progress line of ``POST /api/pull`` (``status: success`` ends a pull)."""

    model_config = _VENDOR
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None

    @property
    def fraction(self) -> float | None:
        """Completed share of the current layer in [0, 1], when sizes are known."""
        if not self.total or self.completed is None:
            return None
        return min(max(self.completed / self.total, 0.0), 1.0)


#: Receives every pull progress line, in order.
PullCallback = Callable[[PullProgress], object]

# Pull failures for names the registry does not have come as 500s or error lines.
_MISSING_WORDS = ("does not exist", "not found", "file does not exist")


def _pull_error(error: ProviderError, model: str) -> ProviderError:
    if isinstance(error, ModelNotFoundError):
        return error
    if any(word in error.message.lower() for word in _MISSING_WORDS):
        return ModelNotFoundError(
            error.message, provider=error.provider, model=model, status=error.status
        )
    return error


class OllamaClient:
    """Async client for Ollama's management endpoints (``/api/tags``, ``show``, ``pull``).

    With ``owns_http`` (as built by :func:`create_client`) :meth:`aclose`
    closes ``http``; otherwise the connection pool belongs to whoever made it
    (e.g. the :class:`OllamaChatModel` whose ``client`` this is).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        provider: str = "ollama",
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        owns_http: bool = False,
    ) -> None:
        self._http = http
        self._provider = provider
        self._connect = connect_timeout
        self._read = read_timeout
        self._owns_http = owns_http
        self._secret = bearer_token(http.headers)

    def __repr__(self) -> str:
        return f"OllamaClient(base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        """Close the connection pool when this client owns it."""
        if self._owns_http:
            await self._http.aclose()

    async def _call(
        self, method: str, path: str, *, model: str | None, json: Any = None
    ) -> dict[str, Any]:
        timeout = build_timeout(None, connect=self._connect, read=self._read)
        request = self._http.build_request(method, path, json=json, timeout=timeout)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error(
                exc, provider=self._provider, model=model, during="request"
            ) from exc
        try:
            raw = await response.aread()
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=self._provider, model=model, during="body") from exc
        finally:
            await response.aclose()
        raise_for_status(response, provider=self._provider, model=model, secret=self._secret)
        return parse_json_body(raw, provider=self._provider, model=model, secret=self._secret)

    async def version(self) -> str:
        """The daemon's version (``GET /api/version``); a cheap liveness check."""
        data = await self._call("GET", "/api/version", model=None)
        return str(data.get("version", ""))

    async def list_models(self) -> tuple[OllamaModel, ...]:
        """Installed models (``GET /api/tags``), in the daemon's order."""
        data = await self._call("GET", "/api/tags", model=None)
        items = data.get("models") or []
        if not isinstance(items, list):
            raise InvalidResponse(
                "/api/tags: 'models' is not a list", provider=self._provider, model=None
            )
        try:
            return tuple(OllamaModel.model_validate(item) for item in items)
        except ValidationError as exc:
            raise InvalidResponse(
                f"/api/tags: malformed model entry: {exc.errors()[0]['msg']}",
                provider=self._provider,
                model=None,
            ) from exc

    async def show(self, model: str) -> OllamaModelInfo:
        """Details of one installed model (``POST /api/show``).

        Raises:
            ModelNotFoundError: The model is not installed.
        """
        data = await self._call("POST", "/api/show", model=model, json={"model": model})
        try:
            return OllamaModelInfo.model_validate({**data, "name": model})
        except ValidationError as exc:
            raise InvalidResponse(
                f"/api/show: malformed answer: {exc.errors()[0]['msg']}",
                provider=self._provider,
                model=model,
            ) from exc

    async def pull(
        self, model: str, progress: PullCallback | None = None, *, insecure: bool = False
    ) -> PullProgress:
        """Download ``model`` into the daemon, reporting each progress line.

        Waiting between progress lines is not bounded (verifying a large model
        takes minutes); cancel the awaiting task to give up.

        Args:
            model: Model name, e.g. ``mistral`` or ``llama3:8b``.
            progress: Called with every progress line, in order.
            insecure: Allow a registry without TLS.

        Returns:
            The final ``success`` line.

        Raises:
            ModelNotFoundError: The registry has no such model.
            InvalidResponse: The stream ended before ``success``.
        """
        provider = self._provider
        body: dict[str, Any] = {"model": model, "stream": True}
        if insecure:
            body["insecure"] = True
        request = self._http.build_request(
            "POST", "/api/pull", json=body, timeout=httpx.Timeout(None, connect=self._connect)
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=provider, model=model, during="request") from exc
        try:
            if response.is_error:
                try:
                    await response.aread()
                except httpx.HTTPError as exc:
                    raise transport_error(
                        exc, provider=provider, model=model, during="body"
                    ) from exc
                raise_for_status(response, provider=provider, model=model, secret=self._secret)
            async for data in iter_ndjson(
                response, provider=provider, model=model, secret=self._secret
            ):
                line = _progress(data, provider=provider, model=model)
                if progress is not None:
                    progress(line)
                if line.status == "success":
                    return line
        except ProviderError as exc:
            mapped = _pull_error(exc, model)
            if mapped is exc:
                raise
            raise mapped from exc
        finally:
            await response.aclose()
        raise InvalidResponse(
            "Ollama pull stream ended before 'success'",
            provider=provider,
            model=model,
            retryable=True,
        )


def _progress(data: dict[str, Any], *, provider: str, model: str) -> PullProgress:
    try:
        return PullProgress.model_validate(data)
    except ValidationError as exc:
        raise InvalidResponse(
            f"/api/pull: malformed progress line: {exc.errors()[0]['msg']}",
            provider=provider,
            model=model,
        ) from exc
