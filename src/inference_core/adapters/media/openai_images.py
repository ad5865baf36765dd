"""OpenAI image generation and editing (``/v1/images/generations``, ``/v1/images/edits``).

Text-to-image sends JSON to ``images.generate``; image-to-image sends a
multipart form to ``images.edit``: every input image as an ``image[]`` part
(with its real, sniffed mime type and a file name), and an optional ``mask``
part (a PNG whose transparent pixels mark what to change). GPT image models
answer ``b64_json``; each image is decoded slice by slice into the asset store.

One call is one HTTP attempt: the SDK client is built with ``max_retries=0``
(the use-case retries). Errors map through the chat adapter's
:func:`~inference_core.adapters.openai.errors.map_openai_error`, i.e. the one
status table of :mod:`inference_core.adapters.http_errors`: a 400 from the
safety system (``moderation_blocked``, ``content_policy_violation``) is
:class:`~inference_core.domain.errors.ContentFiltered`, 429 a retryable
rate limit with its ``Retry-After``, 5xx retryable, a timeout
:class:`~inference_core.domain.errors.ProviderTimeout`.

The SDK is imported when a generator is built, not when this module loads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from inference_core.adapters.http_errors import connection_failure, redact
from inference_core.adapters.media._common import (
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_TIMEOUT_S,
    InputImage,
    OpenAIClients,
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
from inference_core.domain.errors import InvalidGeneratorInput, InvalidResponse
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
    from openai.types import ImagesResponse

__all__ = [
    "GENERATOR_ID",
    "IMAGE_PRICES",
    "PLUGIN",
    "OpenAIImageGenerator",
    "OpenAIImageInput",
    "image_cost",
]

GENERATOR_ID = "openai_images"
_PROVIDER = "openai"
_DEFAULT_MODEL = "gpt-image-1"


class _TokenPrices(BaseModel):
    """USD per million tokens."""

    input_text: float
    input_image: float
    output: float


#: Per-token prices of the GPT image models (USD per 1M tokens); other models: cost unknown.
IMAGE_PRICES: Mapping[str, _TokenPrices] = {
    "gpt-image-1": _TokenPrices(input_text=5.0, input_image=10.0, output=40.0),
}


class OpenAIImageInput(GeneratorInput):
    """Parameters of :class:`OpenAIImageGenerator` (``request.params``)."""

    model: str = Field(_DEFAULT_MODEL, min_length=1, description="OpenAI image model id.")
    size: (
        Literal[
            "auto",
            "1024x1024",
            "1536x1024",
            "1024x1536",
            "256x256",
            "512x512",
            "1792x1024",
            "1024x1792",
        ]
        | None
    ) = Field(None, description="Output size; the model's default when omitted.")
    quality: Literal["auto", "low", "medium", "high", "standard", "hd"] | None = Field(
        None, description="Rendering quality (low/medium/high for GPT image models)."
    )
    background: Literal["auto", "transparent", "opaque"] | None = Field(
        None, description="Background (transparent needs png or webp output)."
    )
    output_format: Literal["png", "jpeg", "webp"] | None = Field(
        None, description="Encoding of the returned images (default png)."
    )
    output_compression: int | None = Field(
        None, ge=0, le=100, description="Compression level in percent (jpeg and webp only)."
    )
    n: int = Field(1, ge=1, le=10, description="How many images to generate.")
    moderation: Literal["auto", "low"] | None = Field(
        None, description="Content moderation strictness (text_to_image only)."
    )
    mask_index: int | None = Field(
        None,
        ge=0,
        description=(
            "image_to_image: index in the request's inputs of the mask, a PNG whose fully "
            "transparent pixels mark the area to edit; every other input is an image to edit."
        ),
    )

    @model_validator(mode="after")
    def _coherent(self) -> OpenAIImageInput:
        if self.output_compression is not None and self.output_format not in ("jpeg", "webp"):
            raise ValueError("output_compression needs output_format 'jpeg' or 'webp'")
        if self.background == "transparent" and self.output_format == "jpeg":
            raise ValueError("background 'transparent' needs output_format 'png' or 'webp'")
        return self


def image_cost(model: str, usage: Any) -> float | None:
    """USD cost of one call from the ``usage`` OpenAI reported, ``None`` when unknown."""
    prices = IMAGE_PRICES.get(model)
    if prices is None or usage is None:
        return None
    input_tokens = getattr(usage, "input_tokens", None)
    output_tokens = getattr(usage, "output_tokens", None)
    if not isinstance(input_tokens, int) or not isinstance(output_tokens, int):
        return None
    details = getattr(usage, "input_tokens_details", None)
    image_tokens = getattr(details, "image_tokens", None)
    text_tokens = getattr(details, "text_tokens", None)
    if not isinstance(image_tokens, int) or not isinstance(text_tokens, int):
        # No breakdown: price every input token as text (the lower bound).
        image_tokens, text_tokens = 0, input_tokens
    cost = (
        text_tokens * prices.input_text
        + image_tokens * prices.input_image
        + output_tokens * prices.output
    ) / 1_000_000
    return round(cost, 6)


class OpenAIImageGenerator(Published[OpenAIImageInput]):
    """OpenAI image models (``gpt-image-1``, DALL-E) behind the ``MediaGenerator`` port.

    Args:
        api_key: The OpenAI key; ``None`` for a keyless OpenAI-compatible server
            (no ``Authorization`` header is sent).
        model: The default ``model`` parameter (the published schema's default).
        base_url: The API root (default ``https://api.openai.com/v1``).
        timeout: Seconds one call may wait for the answer.
        max_output_bytes: Size cap of each stored image.
        http_client: An ``httpx2.AsyncClient`` for the SDK (the caller owns and
            closes it); by default each ``generate`` builds and closes its own
            client, so a generator is safe to use from any event loop.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str | None,
        model: str = _DEFAULT_MODEL,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        http_client: Any | None = None,
    ) -> None:
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._secret = secret or None
        self._base_url = base_url
        self._timeout = timeout
        self._max_bytes = max_output_bytes
        self._clients = OpenAIClients(
            api_key=self._secret, base_url=base_url, timeout=timeout, http_client=http_client
        )
        self._input_model = with_default_model(OpenAIImageInput, model)
        self._info = GeneratorInfo(
            id=GENERATOR_ID,
            kind=MediaKind.IMAGE,
            name="OpenAI Images",
            description="OpenAI image generation and editing (gpt-image-1, DALL-E)",
            provider=_PROVIDER,
            capabilities=(Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE),
            input_schema=input_schema(self._input_model),
            output_mime_types=("image/png", "image/jpeg", "image/webp"),
        )

    def __repr__(self) -> str:
        return f"OpenAIImageGenerator(base_url={self._base_url!r})"

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Generate (or edit) images with one API call and store every image returned."""
        params = parse_params(GENERATOR_ID, self._input_model, request.params)
        capability = resolve_image_capability(GENERATOR_ID, request)
        prompt = (request.prompt or "").strip()
        if not prompt:
            raise InvalidGeneratorInput(GENERATOR_ID, ["a prompt is required"])
        kwargs = self._kwargs(params, prompt)
        if capability == Capability.IMAGE_TO_IMAGE:
            images, mask = await self._inputs(request, params)
            kwargs["image"] = [_file(image) for image in images]
            if mask is not None:
                kwargs["mask"] = _file(mask)
        else:
            if params.mask_index is not None:
                raise InvalidGeneratorInput(GENERATOR_ID, ["mask_index needs input images"])
            if params.moderation is not None:
                kwargs["moderation"] = params.moderation
        report(on_progress, 0.0, f"requesting {params.n} image(s) from {params.model}")
        response, request_id = await self._call(capability, params.model, kwargs)
        assets = await self._store(response, request, params.model, store, on_progress)
        usage = getattr(response, "usage", None)
        return GenerationOutput(
            assets=tuple(assets),
            usage=MediaUsage(
                images=len(assets),
                input_tokens=getattr(usage, "input_tokens", None),
                output_tokens=getattr(usage, "output_tokens", None),
                cost_usd=image_cost(params.model, usage),
            ),
            provider_request_id=request_id,
            metadata={"model": params.model, "capability": capability.value},
        )

    # -- request --------------------------------------------------------------------------

    @staticmethod
    def _kwargs(params: OpenAIImageInput, prompt: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": params.model, "prompt": prompt, "n": params.n}
        for name in ("size", "quality", "background", "output_format", "output_compression"):
            value = getattr(params, name)
            if value is not None:
                kwargs[name] = value
        if params.model.startswith("dall-e"):
            kwargs["response_format"] = "b64_json"  # DALL-E answers URLs unless asked
        return kwargs

    async def _inputs(
        self, request: GenerationRequest, params: OpenAIImageInput
    ) -> tuple[list[InputImage], InputImage | None]:
        if params.moderation is not None:
            raise InvalidGeneratorInput(GENERATOR_ID, ["moderation applies to text_to_image only"])
        mask_index = params.mask_index
        if mask_index is not None and mask_index >= len(request.inputs):
            raise InvalidGeneratorInput(
                GENERATOR_ID,
                [f"mask_index {mask_index} is out of range ({len(request.inputs)} inputs)"],
            )
        images: list[InputImage] = []
        mask: InputImage | None = None
        for index, item in enumerate(request.inputs):
            loaded = await load_image(GENERATOR_ID, index, item)
            if index == mask_index:
                if loaded.mime_type != "image/png":
                    raise InvalidGeneratorInput(
                        GENERATOR_ID, [f"the mask must be a PNG, not {loaded.mime_type}"]
                    )
                mask = loaded
            else:
                images.append(loaded)
        if not images:
            raise InvalidGeneratorInput(
                GENERATOR_ID, ["image_to_image needs an image besides the mask"]
            )
        return images, mask

    async def _call(
        self, capability: Capability, model: str, kwargs: dict[str, Any]
    ) -> tuple[ImagesResponse, str | None]:
        import httpx2
        import openai
        from openai.types import ImagesResponse

        from inference_core.adapters.openai.errors import map_openai_error

        client, extra_headers = self._clients.get()
        if extra_headers is not None:
            kwargs["extra_headers"] = extra_headers
        resource = client.images.with_raw_response
        try:
            if capability == Capability.IMAGE_TO_IMAGE:
                raw = await resource.edit(**kwargs)
            else:
                raw = await resource.generate(**kwargs)
            request_id = raw.request_id
            parsed: object = raw.parse()
        except openai.OpenAIError as exc:
            raise map_openai_error(
                exc, provider=_PROVIDER, model=model, secret=self._secret, in_stream=False
            ) from exc
        except httpx2.HTTPError as exc:  # reading the body after the status line
            raise connection_failure(
                exc, provider=_PROVIDER, model=model, secret=self._secret, in_stream=True
            ) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self._malformed(model, f"body is not valid JSON ({exc})") from exc
        if not isinstance(parsed, ImagesResponse):
            raise self._malformed(model, "body is not an images response")
        return parsed, request_id

    # -- answer ---------------------------------------------------------------------------

    async def _store(
        self,
        response: ImagesResponse,
        request: GenerationRequest,
        model: str,
        store: AssetStore,
        on_progress: ProgressCallback | None,
    ) -> list[StoredAsset]:
        encoded = [item.b64_json for item in response.data or () if item.b64_json]
        if not encoded:
            has_urls = any(item.url for item in response.data or ())
            detail = "images came as URLs, not b64_json" if has_urls else "no images in the answer"
            # Not worth a paid retry: the same request would get the same kind of answer.
            raise InvalidResponse(
                f"malformed response: {detail}", provider=_PROVIDER, model=model, retryable=False
            )
        return await store_b64_images(
            encoded,
            request=request,
            generator_id=GENERATOR_ID,
            store=store,
            max_bytes=self._max_bytes,
            provider=_PROVIDER,
            model=model,
            secret=self._secret,
            on_progress=on_progress,
        )

    def _malformed(self, model: str, detail: str) -> InvalidResponse:
        return InvalidResponse(
            redact(f"malformed response: {detail}", self._secret), provider=_PROVIDER, model=model
        )


def _file(image: InputImage) -> tuple[str, bytes, str]:
    """An SDK file tuple: name, bytes, the real mime type (the SDK would guess from the name)."""
    return (image.filename, image.data, image.mime_type)


def _create(ctx: GeneratorContext) -> OpenAIImageGenerator:
    key = require_key(ctx, _PROVIDER, "OPENAI_API_KEY")
    base_url = ctx.option("base_url")
    return OpenAIImageGenerator(
        api_key=key,
        model=option_str(ctx, GENERATOR_ID, "model", _DEFAULT_MODEL),
        base_url=option_str(ctx, GENERATOR_ID, "base_url", "") if base_url else None,
        timeout=option_float(ctx, GENERATOR_ID, "timeout", DEFAULT_TIMEOUT_S),
        max_output_bytes=option_int(
            ctx, GENERATOR_ID, "max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES
        ),
    )


#: The entry point ``inference_core.media_generators: openai_images``.
PLUGIN = GeneratorPlugin(
    id=GENERATOR_ID,
    kind=MediaKind.IMAGE,
    create=_create,
    missing=requires("openai"),
    description="OpenAI image generation and editing (gpt-image-1); needs OPENAI_API_KEY",
)
