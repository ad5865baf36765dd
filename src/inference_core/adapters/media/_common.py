"""Plumbing shared by the HTTP media generators (OpenAI images/speech, OpenRouter images).

Nothing here imports a vendor SDK or an HTTP client at module level: the
generator modules export their ``PLUGIN`` from a cheap import, and the SDKs
load when a generator is built.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, SecretStr, create_model
from pydantic.fields import FieldInfo

from inference_core.adapters.http_errors import redact
from inference_core.domain.errors import (
    ConfigurationError,
    InvalidGeneratorInput,
    InvalidResponse,
    MissingAPIKeyError,
)
from inference_core.domain.generator_input import validate_params
from inference_core.domain.media import (
    EXTENSIONS,
    SNIFF_BYTES,
    Capability,
    GenerationRequest,
    MediaInput,
    MediaKind,
    StoredAsset,
    kind_of_mime,
    sniff_mime,
)
from inference_core.ports.media import AssetStore, ProgressCallback
from inference_core.ports.plugins import GeneratorContext

if TYPE_CHECKING:
    import openai

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "DEFAULT_TIMEOUT_S",
    "InputImage",
    "b64_stream",
    "build_openai_client",
    "discard_all",
    "load_image",
    "option_float",
    "option_int",
    "option_str",
    "output_name",
    "parse_params",
    "report",
    "require_key",
    "resolve_image_capability",
    "with_default_model",
]

#: Size cap of one generated file unless the ``max_output_bytes`` option says otherwise.
DEFAULT_MAX_OUTPUT_BYTES = 50 * 1024 * 1024
#: Seconds one provider call may take (read timeout) unless the ``timeout`` option says otherwise.
DEFAULT_TIMEOUT_S = 120.0
#: Connect timeout cap: a provider that does not accept a connection in 10 s is unavailable.
_CONNECT_TIMEOUT_S = 10.0

# Base64 is decoded in slices of this many characters (a multiple of 4, so every slice
# decodes on its own): ~768 KiB of output per slice instead of one copy of the whole file.
_B64_SLICE = 4 * 256 * 1024

_ModelT = TypeVar("_ModelT", bound=BaseModel)


def parse_params(generator_id: str, model: type[_ModelT], params: Mapping[str, Any]) -> _ModelT:
    """``params`` validated against ``model``.

    Raises:
        InvalidGeneratorInput: Naming every unknown, missing or invalid field.
    """
    instance, _ignored = validate_params(generator_id, model, params)
    return cast("_ModelT", instance)


def with_default_model(base: type[_ModelT], model: str) -> type[_ModelT]:
    """``base`` with another default for its ``model`` field (the configured model).

    The use-case applies defaults before the generator runs, so the configured
    model must be the schema's default, not a fallback applied later.
    """
    field = base.model_fields["model"]
    if field.default == model:
        return base
    annotation: Any = field.annotation
    return create_model(
        base.__name__,
        __base__=base,
        __module__=base.__module__,
        model=(annotation, FieldInfo.merge_field_infos(field, default=model)),
    )


def report(on_progress: ProgressCallback | None, fraction: float | None, text: str) -> None:
    """Call the progress callback when there is one."""
    if on_progress is not None:
        on_progress(fraction, text)


def require_key(ctx: GeneratorContext, provider: str, env_var: str) -> SecretStr:
    """The API key a generator plugin needs.

    Raises:
        MissingAPIKeyError: ``env_var`` holds no key (the message names the variable only).
    """
    key = ctx.secret(env_var)
    if key is None:
        raise MissingAPIKeyError(provider, env_var)
    return key


def _bad_option(generator_id: str, name: str, expected: str, value: Any) -> ConfigurationError:
    return ConfigurationError(
        f"generators.{generator_id}.{name} must be {expected}, not {type(value).__name__}"
    )


def option_str(ctx: GeneratorContext, generator_id: str, name: str, default: str) -> str:
    """A non-empty string option."""
    value = ctx.option(name, default)
    if not isinstance(value, str) or not value.strip():
        raise _bad_option(generator_id, name, "a non-empty string", value)
    return value.strip()


def option_float(ctx: GeneratorContext, generator_id: str, name: str, default: float) -> float:
    """A positive number option (seconds...)."""
    value = ctx.option(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad_option(generator_id, name, "a positive number", value)
    return float(value)


def option_int(ctx: GeneratorContext, generator_id: str, name: str, default: int) -> int:
    """A positive integer option (byte counts...)."""
    value = ctx.option(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad_option(generator_id, name, "a positive integer", value)
    return value


def resolve_image_capability(generator_id: str, request: GenerationRequest) -> Capability:
    """text_to_image or image_to_image, from the request's capability and its inputs.

    Raises:
        InvalidGeneratorInput: Another capability, image_to_image without
            inputs, or text_to_image with inputs.
    """
    capability = request.capability
    if capability is None:
        return Capability.IMAGE_TO_IMAGE if request.inputs else Capability.TEXT_TO_IMAGE
    if capability == Capability.TEXT_TO_IMAGE and request.inputs:
        raise InvalidGeneratorInput(
            generator_id, ["text_to_image takes no input images (ask for image_to_image)"]
        )
    if capability == Capability.IMAGE_TO_IMAGE and not request.inputs:
        raise InvalidGeneratorInput(generator_id, ["image_to_image needs at least one input image"])
    if capability not in (Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE):
        raise InvalidGeneratorInput(
            generator_id,
            [f"capability {capability!r} is not supported (text_to_image, image_to_image)"],
        )
    return Capability(capability)


@dataclass(frozen=True)
class InputImage:
    """An input image's bytes with the mime type sniffed from them and a file name."""

    data: bytes
    mime_type: str
    filename: str


async def load_image(generator_id: str, index: int, item: MediaInput) -> InputImage:
    """Read one input image (from disk or memory) and sniff its real mime type.

    A declared ``mime_type`` is not trusted: the bytes decide.

    Raises:
        InvalidGeneratorInput: The file cannot be read, the bytes are not an
            image, or the input is a URL (callers handle URLs themselves).
    """
    if item.url is not None:
        raise InvalidGeneratorInput(
            generator_id, [f"inputs[{index}]: a URL cannot be uploaded; pass a file or bytes"]
        )
    if item.path is not None:
        path = Path(item.path)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InvalidGeneratorInput(
                generator_id, [f"inputs[{index}]: cannot read {path.name!r}: {reason}"]
            ) from None
        stem = path.stem or f"image-{index + 1}"
    else:
        data = item.data or b""
        stem = f"image-{index + 1}"
    mime = sniff_mime(data[:SNIFF_BYTES])
    if mime is None or kind_of_mime(mime) is not MediaKind.IMAGE:
        raise InvalidGeneratorInput(
            generator_id,
            [f"inputs[{index}] is not an image ({mime or 'unrecognised bytes'})"],
        )
    return InputImage(data=data, mime_type=mime, filename=f"{stem}{EXTENSIONS[mime]}")


async def b64_stream(text: str) -> AsyncIterator[bytes]:
    """Decode base64 slice by slice, so the decoded file is never a second whole copy.

    Raises:
        binascii.Error: The text is not valid base64 (callers map it).
    """
    for start in range(0, len(text), _B64_SLICE):
        yield base64.b64decode(text[start : start + _B64_SLICE], validate=True)
        await asyncio.sleep(0)


def malformed_b64(
    exc: binascii.Error, *, provider: str, model: str | None, secret: str | None
) -> InvalidResponse:
    """The error for image data that is not valid base64."""
    return InvalidResponse(
        redact(f"malformed response: image data is not valid base64 ({exc})", secret),
        provider=provider,
        model=model,
    )


def output_name(request: GenerationRequest, generator_id: str, index: int, count: int) -> str:
    """The base name of output ``index`` of ``count`` (the store makes it safe and unique)."""
    base = request.name or generator_id
    return base if count == 1 else f"{base}-{index + 1}"


async def discard_all(store: AssetStore, assets: Sequence[StoredAsset]) -> None:
    """Delete what a failed generation already stored (best effort: the first error wins)."""
    for asset in assets:
        try:
            await store.discard(asset)
        except Exception:  # noqa: S112 - keep the original failure, remove what we can
            continue


async def store_b64_images(
    payloads: Sequence[str],
    *,
    request: GenerationRequest,
    generator_id: str,
    store: AssetStore,
    max_bytes: int,
    provider: str,
    model: str,
    secret: str | None,
    on_progress: ProgressCallback | None,
) -> list[StoredAsset]:
    """Decode and stream each base64 image into ``store``; all or nothing.

    Raises:
        InvalidResponse: A payload is not valid base64 (what was stored is deleted).
    """
    assets: list[StoredAsset] = []
    try:
        for index, data in enumerate(payloads):
            asset = await store.save(
                b64_stream(data),
                name=output_name(request, generator_id, index, len(payloads)),
                kind=MediaKind.IMAGE,
                max_bytes=max_bytes,
            )
            assets.append(asset)
            report(on_progress, (index + 1) / len(payloads), f"stored image {index + 1}")
    except binascii.Error as exc:
        await discard_all(store, assets)
        raise malformed_b64(exc, provider=provider, model=model, secret=secret) from exc
    except BaseException:
        await discard_all(store, assets)
        raise
    return assets


def build_openai_client(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    http_client: Any | None = None,
) -> tuple[openai.AsyncOpenAI, dict[str, Any] | None]:
    """An ``AsyncOpenAI`` client the way the chat adapter builds one, and its extra headers.

    SDK retries are off (``max_retries=0``: the use-case owns retries). With no
    key, the SDK gets a placeholder and the ``Authorization`` header is
    stripped from every request (keyless local servers), as the chat adapter does.

    Args:
        api_key: The key, or ``None`` for a keyless endpoint.
        base_url: The endpoint (default: OpenAI's).
        timeout: Read timeout of one call in seconds (connect: at most 10 s).
        http_client: An ``httpx2.AsyncClient`` to use (the caller closes it);
            default: the chat adapter's transport choice (aiohttp when installed).

    Returns:
        The client (close it when ``http_client`` was not given) and the
        ``extra_headers`` to pass with every call (``None`` when keyed).
    """
    import openai

    from inference_core.adapters.openai.chat import DEFAULT_BASE_URL
    from inference_core.adapters.sdk_support import sdk_http_client

    client = openai.AsyncOpenAI(
        api_key=api_key or "keyless",
        base_url=base_url or DEFAULT_BASE_URL,
        timeout=openai.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT_S)),
        max_retries=0,
        http_client=http_client or sdk_http_client(openai, "auto", "media"),
    )
    extra_headers: dict[str, Any] | None = None if api_key else {"Authorization": openai.omit}
    return client, extra_headers


class OpenAIClients:
    """The ``AsyncOpenAI`` client of one generator: one per event loop, reused across calls.

    Building a client costs milliseconds (its SSL context alone ~25 ms), far more
    than a call to a local server, so it is built once per loop and closed when
    that loop shuts down (:class:`~inference_core.adapters.loop_scoped.LoopScoped`).
    An injected ``http_client`` is used as is and never closed here.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        http_client: Any | None = None,
    ) -> None:
        from inference_core.adapters.loop_scoped import LoopScoped

        def build() -> tuple[openai.AsyncOpenAI, dict[str, Any] | None]:
            return build_openai_client(
                api_key=api_key, base_url=base_url, timeout=timeout, http_client=http_client
            )

        async def close(built: tuple[openai.AsyncOpenAI, dict[str, Any] | None]) -> None:
            if http_client is None:
                await built[0].close()

        self._clients = LoopScoped(build, close)

    def get(self) -> tuple[openai.AsyncOpenAI, dict[str, Any] | None]:
        """The running loop's client and the ``extra_headers`` to send with each call."""
        return self._clients.get()

    async def aclose(self) -> None:
        """Close the running loop's client now."""
        await self._clients.aclose_current()
