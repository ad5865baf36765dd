"""OpenRouter image generation through chat completions (``POST {base}/chat/completions``).

OpenRouter serves image models (Gemini image, FLUX, GPT image...) on its chat
endpoint: the request names ``modalities: ["image", "text"]`` and may carry an
``image_config`` (``aspect_ratio``, ``image_size``); reference images travel as
``image_url`` content parts - data URLs whose mime type is sniffed from the
bytes (a declared type is not trusted), or http(s) URLs passed through as they
are. The answer's ``choices[0].message.images[]`` hold data URLs, decoded slice
by slice into the asset store.

Failures: HTTP errors map through :func:`inference_core.adapters.http_errors.error_for_status`
(429 + ``Retry-After`` -> retryable rate limit, 5xx -> retryable, 401 ->
authentication...), except OpenRouter's moderation refusal (403 whose body
says the input was flagged), which is :class:`ContentFiltered`. A 200 whose
finish reason says content filter, or whose message is a refusal, with no
image, is :class:`ContentFiltered` too; a 200 with no image otherwise is
:class:`InvalidResponse` with ``retryable=False``: the model chose to answer
in text, and the same paid request would most likely do the same again.

``httpx`` is imported when a generator is built, not when this module loads.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr

from inference_core.adapters.http_errors import error_for_status, redact
from inference_core.adapters.loop_scoped import LoopScoped
from inference_core.adapters.media._common import (
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_TIMEOUT_S,
    load_image,
    option_float,
    option_int,
    option_str,
    parse_params,
    report,
    require_key,
    resolve_image_capability,
    store_b64_images,
    with_default_model,
)
from inference_core.adapters.media.published import Published
from inference_core.domain.errors import (
    ConfigurationError,
    ContentFiltered,
    InvalidGeneratorInput,
    InvalidResponse,
    MediaTooLarge,
    ProviderError,
    ProviderTimeout,
)
from inference_core.domain.generator_input import GeneratorInput, input_schema
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
    StoredAsset,
)
from inference_core.ports.media import AssetStore, ProgressCallback
from inference_core.ports.plugins import GeneratorContext, GeneratorPlugin, requires

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "GENERATOR_ID",
    "PLUGIN",
    "OpenRouterImageGenerator",
    "OpenRouterImageInput",
]

#: The seed's id for this generator.
GENERATOR_ID = "openrouter_image_generator"
_PROVIDER = "openrouter"
_DEFAULT_MODEL = "google/gemini-2.5-flash-image"
#: OpenRouter's API root.
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
_CONNECT_TIMEOUT_S = 10.0
_MAX_ERROR_TEXT = 500
# The answer is one JSON document holding base64 images: refuse to buffer more than
# this many times the per-image cap (base64 is 4/3 of the bytes; several images fit).
_BODY_FACTOR = 4
_MIN_BODY_CAP = 1 << 20

# Finish reasons (OpenRouter's normalised one, or the provider's native one) that mean
# the output was blocked: Gemini's SAFETY / IMAGE_SAFETY / PROHIBITED_CONTENT...
_FILTER_REASONS = ("content_filter", "safety", "prohibited", "blocklist", "spii")

AspectRatio = Literal[
    "auto",
    "1:1",
    "1:2",
    "1:4",
    "1:8",
    "2:1",
    "2:3",
    "3:2",
    "3:4",
    "4:1",
    "4:3",
    "4:5",
    "5:4",
    "8:1",
    "9:16",
    "16:9",
    "9:21",
    "21:9",
]


class OpenRouterImageInput(GeneratorInput):
    """Parameters of :class:`OpenRouterImageGenerator` (``request.params``)."""

    model: str = Field(_DEFAULT_MODEL, min_length=1, description="OpenRouter model id.")
    aspect_ratio: AspectRatio | None = Field(
        None, description="Output aspect ratio (models clamp to what they support)."
    )
    image_size: Literal["1K", "2K", "4K"] | None = Field(
        None, description="Output resolution class (longest edge ~1024/2048/4096 px)."
    )


class OpenRouterImageGenerator(Published[OpenRouterImageInput]):
    """Image models on OpenRouter behind the ``MediaGenerator`` port.

    Args:
        api_key: The OpenRouter key.
        model: The default ``model`` parameter (the published schema's default).
        base_url: The API root (default ``https://openrouter.ai/api/v1``).
        timeout: Seconds one call may wait for the answer.
        max_output_bytes: Size cap of each stored image.
        headers: Extra request headers (OpenRouter's ``HTTP-Referer``, ``X-Title``).
        http_client: An ``httpx.AsyncClient`` to send with (the caller owns and
            closes it); by default each ``generate`` builds and closes its own.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        model: str = _DEFAULT_MODEL,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._secret = secret
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._base_url = base_url
        self._timeout = timeout
        self._max_bytes = max_output_bytes
        self._headers = dict(headers or {})
        self._http_client = http_client
        self._clients: LoopScoped[Any] = LoopScoped(self._new_client, _aclose)
        self._input_model = with_default_model(OpenRouterImageInput, model)
        self._info = GeneratorInfo(
            id=GENERATOR_ID,
            kind=MediaKind.IMAGE,
            name="OpenRouter image models",
            description="Image generation and editing with OpenRouter's image models",
            provider=_PROVIDER,
            capabilities=(Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE),
            input_schema=input_schema(self._input_model),
        )

    def __repr__(self) -> str:
        return f"OpenRouterImageGenerator(base_url={self._base_url!r})"

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """One chat-completions call; store every image the answer carries."""
        params = parse_params(GENERATOR_ID, self._input_model, request.params)
        capability = resolve_image_capability(GENERATOR_ID, request)
        prompt = (request.prompt or "").strip()
        if not prompt:
            raise InvalidGeneratorInput(GENERATOR_ID, ["a prompt is required"])
        body = await self._body(request, params, prompt)
        report(on_progress, 0.0, f"requesting an image from {params.model}")
        answer = await self._post(body, params.model)
        images = self._images(answer, params.model)
        assets = await self._store(images, request, params.model, store, on_progress)
        raw_usage = answer.get("usage")
        usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
        request_id = answer.get("id")
        return GenerationOutput(
            assets=tuple(assets),
            usage=MediaUsage(
                images=len(assets),
                input_tokens=_count(usage.get("prompt_tokens")),
                output_tokens=_count(usage.get("completion_tokens")),
                cost_usd=_cost(usage.get("cost")),
            ),
            provider_request_id=request_id if isinstance(request_id, str) else None,
            metadata={"model": params.model, "capability": capability.value},
        )

    # -- request --------------------------------------------------------------------------

    async def _body(
        self, request: GenerationRequest, params: OpenRouterImageInput, prompt: str
    ) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
        for index, item in enumerate(request.inputs):
            if item.url is not None:
                url = item.url  # an http(s) URL: OpenRouter fetches it
            else:
                image = await load_image(GENERATOR_ID, index, item)
                encoded = base64.b64encode(image.data).decode("ascii")
                url = f"data:{image.mime_type};base64,{encoded}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        body: dict[str, Any] = {
            "model": params.model,
            "messages": [{"role": "user", "content": content}],
            "modalities": ["image", "text"],
            "stream": False,
        }
        image_config = {
            name: value
            for name, value in (
                ("aspect_ratio", params.aspect_ratio),
                ("image_size", params.image_size),
            )
            if value is not None
        }
        if image_config:
            body["image_config"] = image_config
        return body

    def _new_client(self) -> Any:
        # One pooled client per event loop (see LoopScoped), not one per call.
        import httpx

        timeout = httpx.Timeout(self._timeout, connect=min(self._timeout, _CONNECT_TIMEOUT_S))
        return httpx.AsyncClient(timeout=timeout)

    async def _post(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        import httpx

        client = self._http_client or self._clients.get()
        headers = {
            **self._headers,
            "Authorization": f"Bearer {self._secret}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        cap = max(self._max_bytes * _BODY_FACTOR, _MIN_BODY_CAP)
        received = False
        try:
            async with client.stream(
                "POST", self._url, content=json.dumps(body).encode(), headers=headers
            ) as response:
                received = True
                raw = await _read_capped(response, cap, model)
                status = response.status_code
                response_headers = dict(response.headers)
        except httpx.HTTPError as exc:
            raise self._transport(exc, model, in_body=received) from exc
        if status >= 400:
            raise self._status_error(status, raw, response_headers, model)
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._malformed(model, f"body is not valid JSON ({exc})") from exc
        if not isinstance(answer, dict):
            raise self._malformed(model, "body is not a JSON object")
        error = answer.get("error")
        if error is not None:
            # An error reported inside a 200 (the upstream provider failed).
            code = error.get("code") if isinstance(error, dict) else None
            status = code if isinstance(code, int) and 400 <= code <= 599 else 502
            raise self._status_error(status, raw, {}, model)
        return answer

    # -- answer ---------------------------------------------------------------------------

    def _images(self, answer: dict[str, Any], model: str) -> list[str]:
        """The base64 payloads of the answer's images (raises when there are none)."""
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._malformed(model, "no choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise self._malformed(model, "choices[0] has no message")
        images = message.get("images") or []
        if not isinstance(images, list):
            raise self._malformed(model, "message.images is not a list")
        payloads = [self._payload(image, model) for image in images]
        if payloads:
            return payloads
        reasons = " ".join(
            str(choice.get(key) or "") for key in ("finish_reason", "native_finish_reason")
        ).lower()
        refusal = message.get("refusal")
        if refusal or any(marker in reasons for marker in _FILTER_REASONS):
            detail = refusal if isinstance(refusal, str) and refusal else reasons.strip()
            raise ContentFiltered(
                redact(f"the image was refused ({_short(detail)})", self._secret),
                provider=_PROVIDER,
                model=model,
            )
        text = message.get("content")
        said = f": {_short(text)!r}" if isinstance(text, str) and text.strip() else ""
        # Not worth a paid retry: a model that answered in text will most likely do so again.
        raise InvalidResponse(
            redact(f"the answer holds no image (the model answered in text{said})", self._secret),
            provider=_PROVIDER,
            model=model,
            retryable=False,
        )

    def _payload(self, image: Any, model: str) -> str:
        url = image.get("image_url", {}).get("url") if isinstance(image, dict) else None
        if not isinstance(url, str):
            raise self._malformed(model, "an image has no image_url.url")
        header, comma, data = url.partition(",")
        if not (url.startswith("data:") and comma and header.endswith(";base64")):
            raise self._malformed(model, "an image is not a base64 data URL")
        return data

    async def _store(
        self,
        payloads: list[str],
        request: GenerationRequest,
        model: str,
        store: AssetStore,
        on_progress: ProgressCallback | None,
    ) -> list[StoredAsset]:
        return await store_b64_images(
            payloads,
            request=request,
            generator_id=GENERATOR_ID,
            store=store,
            max_bytes=self._max_bytes,
            provider=_PROVIDER,
            model=model,
            secret=self._secret,
            on_progress=on_progress,
        )

    # -- errors ---------------------------------------------------------------------------

    def _status_error(
        self, status: int, raw: bytes, headers: Mapping[str, str], model: str
    ) -> ProviderError:
        message, evidence, flagged = _error_fields(raw)
        message = redact(_short(message), self._secret)
        if flagged:
            # OpenRouter's moderation: "<model> requires moderation... your input was flagged".
            return ContentFiltered(
                message or "the input was flagged by moderation",
                provider=_PROVIDER,
                model=model,
                status=status,
            )
        return error_for_status(
            status, message, provider=_PROVIDER, model=model, headers=headers, code=evidence
        )

    def _transport(self, exc: Exception, model: str, *, in_body: bool) -> ProviderError:
        import httpx

        from inference_core.adapters.http_errors import connection_failure

        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeout(
                "timed out waiting for OpenRouter", provider=_PROVIDER, model=model
            )
        return connection_failure(
            exc, provider=_PROVIDER, model=model, secret=self._secret, in_stream=in_body
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret), provider=_PROVIDER, model=model
        )


async def _read_capped(response: httpx.Response, cap: int, model: str) -> bytes:
    """The whole body, refusing to buffer more than ``cap`` bytes."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > cap:
            raise MediaTooLarge(f"{model} answer", cap)
    return bytes(data)


def _error_fields(raw: bytes) -> tuple[str, str | None, bool]:
    """(message, type/code evidence, flagged by moderation) of an OpenRouter error body."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace").strip(), None, False
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        return error, None, False
    if not isinstance(error, dict):
        return "", None, False
    message = str(error.get("message") or "")
    raw_metadata = error.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    flagged = "flagged_input" in metadata or "reasons" in metadata
    words = [str(error[k]) for k in ("type", "code") if error.get(k) is not None]
    raw_detail = metadata.get("raw")
    if isinstance(raw_detail, str):
        words.append(raw_detail[:_MAX_ERROR_TEXT])
    return message, " ".join(words) or None, flagged


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "..."


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _create(ctx: GeneratorContext) -> OpenRouterImageGenerator:
    key = require_key(ctx, _PROVIDER, "OPENROUTER_API_KEY")
    headers = ctx.option("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigurationError(f"generators.{GENERATOR_ID}.headers must map names to strings")
    return OpenRouterImageGenerator(
        api_key=key,
        model=option_str(ctx, GENERATOR_ID, "model", _DEFAULT_MODEL),
        base_url=option_str(ctx, GENERATOR_ID, "base_url", DEFAULT_BASE_URL),
        timeout=option_float(ctx, GENERATOR_ID, "timeout", DEFAULT_TIMEOUT_S),
        max_output_bytes=option_int(
            ctx, GENERATOR_ID, "max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES
        ),
        headers=headers,
    )


#: The entry point ``inference_core.media_generators: openrouter_image_generator``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.IMAGE,
    create=_create,
    missing=requires("httpx"),
    description="Image models on OpenRouter (Gemini image...); needs OPENROUTER_API_KEY",
)


async def _aclose(client: Any) -> None:
    await client.aclose()
