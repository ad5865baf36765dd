"""WaveSpeed video generation (text-to-video, image-to-video) as journalled queued jobs.

Wire facts (https://wavespeed.ai/docs):

* ``POST {api}/{provider}/{model}`` with ``Authorization: Bearer <key>``
  submits; the answer is ``{"code": 200, "data": {"id", "status": "created",
  "urls": {"get": ...}}}``.
* ``GET {api}/predictions/{id}/result`` answers ``data.status``
  ``created`` / ``processing`` / ``completed`` / ``failed`` (with
  ``data.error``) and, once completed, ``data.outputs`` - the first one is
  the video.
* WaveSpeed documents no cancel call: a job past its deadline cannot be
  cancelled, so it stays recorded and the next identical call (or
  ``inference-core jobs resume``) collects it instead of paying again.

The same engine as fal runs it (:mod:`~inference_core.adapters.media.queued`):
claimed in the journal, submitted once, recorded before the first poll,
polled with backoff (``poll_interval`` x1.5 up to ``poll_max_interval``),
its output downloaded under the download policy. Input images are sent as
URLs: http(s) as given, files and bytes as ``data:`` URLs. The key is
``WAVESPEED_API_KEY``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr

from inference_core.adapters.http_errors import connection_failure, error_for_status, redact
from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.adapters.media._common import option_str, require_key
from inference_core.adapters.media.queued import (
    CancelOutcome,
    JobSpec,
    JobStatus,
    OutputFile,
    SubmitFailed,
    Submitted,
)
from inference_core.adapters.media.queued_generator import (
    QueuedMediaGenerator,
    QueueOptions,
    input_url,
    queue_options,
)
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidGeneratorInput,
    InvalidResponse,
    MediaTooLarge,
    ProviderError,
    ProviderTimeout,
)
from inference_core.domain.generator_input import GeneratorInput
from inference_core.domain.jobs import JobRecord, JobState
from inference_core.domain.media import (
    Capability,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
)
from inference_core.ports.media import JobJournal
from inference_core.ports.plugins import GeneratorContext, GeneratorPlugin, requires

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_API_URL",
    "GENERATOR_ID",
    "PLUGIN",
    "WaveSpeedQueue",
    "WavespeedVideoGenerator",
    "WavespeedVideoInput",
]

GENERATOR_ID = "wavespeed_video_generator"
#: WaveSpeed's API root.
DEFAULT_API_URL = "https://api.wavespeed.ai/api/v3"
_PROVIDER = "wavespeed"
_DEFAULT_T2V = "seedance-v1-pro-t2v-480p"
_DEFAULT_I2V = "seedance-v1-pro-i2v-480p"
_CONNECT_TIMEOUT_S = 10.0
_MAX_ERROR_TEXT = 500
_NOT_ACCEPTED_STATUSES = frozenset({429, 503})
_STATES = {
    "created": JobState.QUEUED,
    "pending": JobState.QUEUED,
    "processing": JobState.RUNNING,
    "completed": JobState.COMPLETED,
    "succeeded": JobState.COMPLETED,
    "failed": JobState.FAILED,
}

Aspect = Literal["21:9", "16:9", "4:3", "1:1", "3:4", "9:16"]


class WavespeedVideoInput(GeneratorInput):
    """Parameters of ``wavespeed_video_generator`` (Seedance-style arguments)."""

    model: str | None = Field(
        None,
        min_length=1,
        description="WaveSpeed model (without the provider); default: the configured "
        "image-to-video model with input images, else the text-to-video one.",
    )
    duration: Literal[5, 10] = Field(5, description="Clip length in seconds.")
    aspect_ratio: Aspect | None = Field(
        None, description="Frame shape (text-to-video); default: the configured one."
    )
    seed: int | None = Field(None, ge=-1, le=2**31 - 1, description="-1 or omitted: random.")
    camera_fixed: bool | None = Field(None, description="Keep the camera still.")


class WaveSpeedQueue:
    """WaveSpeed's prediction wire (a :class:`~inference_core.adapters.media.queued.QueueWire`).

    Args:
        api_key: The key (``WAVESPEED_API_KEY``).
        base_url: The API root (default ``https://api.wavespeed.ai/api/v3``).
        timeout: Read timeout of one HTTP call.
        http_client: An ``httpx.AsyncClient`` to use (the caller owns it).
    """

    provider = _PROVIDER

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._http_client = http_client
        self._clients: LoopScoped[Any] = LoopScoped(self._new_client, _aclose)
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)

    def __repr__(self) -> str:
        return f"WaveSpeedQueue(base_url={self.base_url!r})"

    async def submit(self, model: str, arguments: Mapping[str, Any]) -> Submitted:
        """``POST {api}/{model}``: one attempt; failures say whether it may have been taken."""
        import httpx

        try:
            status, raw, headers = await self._send(
                "POST", f"{self.base_url}/{model.strip('/')}", arguments
            )
        except httpx.HTTPError as exc:
            never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            error = self._transport(exc, model)
            error.retryable = never_sent
            raise SubmitFailed(error, maybe_accepted=not never_sent) from exc
        try:
            data = self._data(status, raw, headers, model)
        except ProviderError as error:
            code = error.status or 0
            accepted = code >= 500 and code not in _NOT_ACCEPTED_STATUSES
            if accepted:
                error.retryable = False
            raise SubmitFailed(error, maybe_accepted=accepted) from None
        request_id = data.get("id")
        if not isinstance(request_id, str) or not request_id:
            raise SubmitFailed(
                self._malformed(model, "the submit answer has no data.id"), maybe_accepted=True
            )
        urls = data.get("urls")
        given = urls.get("get") if isinstance(urls, dict) else None
        built = f"{self.base_url}/predictions/{request_id}/result"
        result_url = given if isinstance(given, str) and self._same_origin(given) else built
        return Submitted(request_id=request_id, status_url=result_url, result_url=result_url)

    async def status(self, record: JobRecord) -> JobStatus:
        """One poll of ``predictions/{id}/result``."""
        data = await self._get(record)
        raw_state = str(data.get("status", "")).lower()
        state = _STATES.get(raw_state)
        if state is None:
            raise self._malformed(record.model, f"unknown prediction status {raw_state[:40]!r}")
        error = data.get("error")
        return JobStatus(
            state=state,
            error=redact(str(error), self._secret) if state is JobState.FAILED and error else None,
        )

    async def result(self, record: JobRecord) -> Any:
        """The completed prediction (``data`` with its ``outputs``)."""
        return await self._get(record)

    async def cancel(self, record: JobRecord) -> CancelOutcome:
        """WaveSpeed has no cancel call: the job keeps running (and stays recorded)."""
        return CancelOutcome.NOT_POSSIBLE

    # -- HTTP -----------------------------------------------------------------------------

    def _new_client(self) -> Any:
        import httpx

        timeout = httpx.Timeout(self._timeout, connect=min(self._timeout, _CONNECT_TIMEOUT_S))
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def _send(
        self, method: str, url: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        client = self._http_client or self._clients.get()
        headers = {"Authorization": f"Bearer {self._secret}", "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        async with client.stream(method, url, content=content, headers=headers) as response:
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > 16 * 1024 * 1024:
                    raise MediaTooLarge("WaveSpeed answer", 16 * 1024 * 1024)
            return response.status_code, bytes(data), dict(response.headers)

    async def _get(self, record: JobRecord) -> dict[str, Any]:
        import httpx

        url = record.result_url or f"{self.base_url}/predictions/{record.request_id}/result"
        try:
            status, raw, headers = await self._send("GET", url)
        except httpx.HTTPError as exc:
            raise self._transport(exc, record.model) from exc
        return self._data(status, raw, headers, record.model)

    def _data(
        self, status: int, raw: bytes, headers: Mapping[str, str], model: str
    ) -> dict[str, Any]:
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            if status >= 400:
                message = raw.decode("utf-8", "replace")
                raise self._status_error(status, message, headers, model) from None
            raise self._malformed(model, f"body is not valid JSON ({exc})") from exc
        if not isinstance(answer, dict):
            raise self._malformed(model, "body is not a JSON object")
        code = answer.get("code", status)
        code = code if isinstance(code, int) and not isinstance(code, bool) else status
        if status >= 400 or code >= 400:
            message = str(answer.get("message") or answer.get("error") or "")
            raise self._status_error(status if status >= 400 else code, message, headers, model)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise self._malformed(model, "the answer has no data object")
        return data

    def _same_origin(self, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    def _status_error(
        self, status: int, message: str, headers: Mapping[str, str], model: str
    ) -> ProviderError:
        text = message.strip()
        text = text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "..."
        return error_for_status(
            status, redact(text, self._secret), provider=_PROVIDER, model=model, headers=headers
        )

    def _transport(self, exc: Exception, model: str) -> ProviderError:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeout(
                "timed out waiting for WaveSpeed", provider=_PROVIDER, model=model
            )
        return connection_failure(
            exc, provider=_PROVIDER, model=model, secret=self._secret, in_stream=False
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret), provider=_PROVIDER, model=model
        )


class WavespeedVideoGenerator(QueuedMediaGenerator):
    """Text-to-video and image-to-video on WaveSpeed, journalled.

    Args:
        api_key: The WaveSpeed key.
        options: Timing, downloads, journal (:func:`queue_options`).
        provider: The model provider path segment (``bytedance``).
        t2v_model, i2v_model: Models used without and with input images.
        aspect_ratio: Default frame shape of text-to-video.
        base_url: The API root.
        prices_per_second: Declared USD per second by model (unknown: cost ``None``).
        journal: A journal to use instead of ``options.journal_path``.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        options: QueueOptions,
        provider: str = "bytedance",
        t2v_model: str = _DEFAULT_T2V,
        i2v_model: str = _DEFAULT_I2V,
        aspect_ratio: Aspect = "16:9",
        base_url: str = DEFAULT_API_URL,
        prices_per_second: Mapping[str, float] | None = None,
        journal: JobJournal | None = None,
    ) -> None:
        self.provider_path = provider.strip("/")
        self.t2v_model = t2v_model
        self.i2v_model = i2v_model
        self.aspect_ratio = aspect_ratio
        self._prices = dict(prices_per_second or {})
        super().__init__(
            info=GeneratorInfo(
                id=GENERATOR_ID,
                kind=MediaKind.VIDEO,
                name="WaveSpeed video",
                description="Text-to-video and image-to-video on WaveSpeed (Seedance...)",
                provider=_PROVIDER,
                capabilities=(Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO),
                output_mime_types=("video/mp4",),
            ),
            input_model=WavespeedVideoInput,
            wire=WaveSpeedQueue(api_key=api_key, base_url=base_url, timeout=options.http_timeout),
            options=options,
            journal=journal,
        )

    async def _spec(self, request: GenerationRequest, params: WavespeedVideoInput) -> JobSpec:
        capability = request.capability or (
            Capability.IMAGE_TO_VIDEO if request.inputs else Capability.TEXT_TO_VIDEO
        )
        problems = []
        if capability not in (Capability.IMAGE_TO_VIDEO, Capability.TEXT_TO_VIDEO):
            problems.append(f"capability {capability!r} is not supported")
        elif capability == Capability.IMAGE_TO_VIDEO and len(request.inputs) != 1:
            problems.append(f"image_to_video takes one image, not {len(request.inputs)}")
        elif capability == Capability.TEXT_TO_VIDEO and request.inputs:
            problems.append("text_to_video takes no input images (ask for image_to_video)")
        prompt = (request.prompt or "").strip()
        if not prompt:
            problems.append("a prompt is required")
        if problems:
            raise InvalidGeneratorInput(self.info.id, problems)
        arguments: dict[str, Any] = {"prompt": prompt, "duration": params.duration}
        if capability == Capability.IMAGE_TO_VIDEO:
            arguments["image"] = await input_url(self.info.id, 0, request.inputs[0])
            name = params.model or self.i2v_model
        else:
            arguments["aspect_ratio"] = params.aspect_ratio or self.aspect_ratio
            name = params.model or self.t2v_model
        if params.seed is not None:
            arguments["seed"] = params.seed
        if params.camera_fixed is not None:
            arguments["camera_fixed"] = params.camera_fixed
        model = f"{self.provider_path}/{name.strip('/')}"
        rate = self._prices.get(model, self._prices.get(name))
        return JobSpec(
            generator_id=self.info.id,
            kind=MediaKind.VIDEO,
            model=model,
            arguments=arguments,
            name=request.name or self.info.id,
            usage=MediaUsage(
                seconds=float(params.duration),
                cost_usd=None if rate is None else round(rate * params.duration, 6),
            ),
        )

    def _outputs(self, record: JobRecord, result: Any) -> Sequence[OutputFile]:
        outputs = result.get("outputs") if isinstance(result, dict) else None
        if not isinstance(outputs, list) or not outputs or not isinstance(outputs[0], str):
            raise self._no_output(record, "no outputs")
        return [OutputFile(outputs[0], MediaKind.VIDEO)]


def _create(ctx: GeneratorContext) -> WavespeedVideoGenerator:
    prices = ctx.option("prices_per_second") or {}
    if not isinstance(prices, Mapping) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in prices.values()
    ):
        raise ConfigurationError(
            f"generators.{GENERATOR_ID}.prices_per_second must map models to USD per second"
        )
    aspect = option_str(ctx, GENERATOR_ID, "aspect_ratio", "16:9")
    if aspect not in get_args(Aspect):
        raise ConfigurationError(
            f"generators.{GENERATOR_ID}.aspect_ratio must be one of "
            f"{', '.join(get_args(Aspect))}, not {aspect!r}"
        )
    return WavespeedVideoGenerator(
        api_key=require_key(ctx, _PROVIDER, "WAVESPEED_API_KEY"),
        options=queue_options(ctx, GENERATOR_ID, deadline=600.0, poll_interval=2.0),
        provider=option_str(ctx, GENERATOR_ID, "provider", "bytedance"),
        t2v_model=option_str(ctx, GENERATOR_ID, "t2v_model", _DEFAULT_T2V),
        i2v_model=option_str(ctx, GENERATOR_ID, "i2v_model", _DEFAULT_I2V),
        aspect_ratio=cast("Aspect", aspect),
        base_url=option_str(ctx, GENERATOR_ID, "base_url", DEFAULT_API_URL),
        prices_per_second={str(k): float(v) for k, v in prices.items()},
    )


#: Entry point ``inference_core.media_generators: wavespeed_video_generator``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.VIDEO,
    create=_create,
    missing=requires("httpx"),
    description="Video on WaveSpeed (Seedance t2v/i2v); needs WAVESPEED_API_KEY",
)


async def _aclose(client: Any) -> None:
    await client.aclose()
