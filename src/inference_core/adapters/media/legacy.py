"""Generators written for the original module, run unchanged behind the MediaGenerator port.

A seed-style generator subclasses :class:`BaseImageGenerator`,
:class:`BaseVideoGenerator` or :class:`BaseAudioGenerator`, takes no
constructor arguments, describes itself with :class:`GeneratorMetadata` (a
flat ``{field: {"type", "required", "default", "description"}}`` input
schema) and implements ``generate(**kwargs) -> dict`` returning data URLs
(``{"images": [...]}``, ``{"video": ...}``, ``{"audio": ...}``).

:class:`LegacyGenerator` adapts one to the port. Differences from the original
are deliberate: the flat schema is converted to a strict model, so unknown
keys, ``True`` for an integer and missing required fields are errors (the
original dropped or accepted them silently); the returned media is decoded and
written to the asset store like every other generator's.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from inference_core.adapters.media.published import Published
from inference_core.domain.errors import InvalidGeneratorInput, MediaGenerationError
from inference_core.domain.generator_input import (
    GeneratorInput,
    flat_schema_model,
    input_schema,
    validate_params,
)
from inference_core.domain.media import (
    Capability,
    GenerationOutput,
    GenerationRequest,
    GeneratorInfo,
    MediaInput,
    MediaKind,
    MediaUsage,
    StoredAsset,
    sniff_mime,
)
from inference_core.domain.messages import parse_data_url
from inference_core.ports.media import AssetStore, ProgressCallback

__all__ = [
    "MEDIA_FIELDS",
    "BaseAudioGenerator",
    "BaseImageGenerator",
    "BaseVideoGenerator",
    "GeneratorMetadata",
    "LegacyGenerator",
    "SeedGenerator",
]

#: Keyword arguments the seed registries fill from the request, not from ``params``.
MEDIA_FIELDS: Mapping[MediaKind, tuple[str, ...]] = {
    MediaKind.IMAGE: ("prompt", "images"),
    MediaKind.VIDEO: ("prompt", "images", "videos"),
    MediaKind.AUDIO: ("text", "prompt", "audio_clips"),
}
_INPUT_FIELD = {
    MediaKind.IMAGE: "images",
    MediaKind.VIDEO: "images",
    MediaKind.AUDIO: "audio_clips",
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class GeneratorMetadata:
    """How a seed-style generator describes itself (the original's field names)."""

    id: str
    name: str
    description: str
    version: str = "1.0.0"
    author: str | None = None
    capabilities: list[str] = field(default_factory=list)
    input_schema: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


class SeedGenerator(ABC):
    """Common base of the seed's generator classes (no constructor arguments)."""

    kind: ClassVar[MediaKind]

    def __init__(self) -> None:
        self.metadata = self.get_metadata()
        self._model: type[GeneratorInput] | None = None

    @abstractmethod
    def get_metadata(self) -> GeneratorMetadata:
        """Describe the generator (id, name, flat input schema...)."""

    @abstractmethod
    def generate(self, **kwargs: Any) -> Any:
        """Produce media; return the seed's dict shape (may be a coroutine)."""

    @property
    def input_model(self) -> type[GeneratorInput]:
        """The strict model built from the flat input schema."""
        if self._model is None:
            self._model = flat_schema_model(self.metadata.id, self.metadata.input_schema)
        return self._model

    def validate_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``inputs`` against the schema; return them with defaults applied.

        Raises:
            InvalidGeneratorInput: (a ``ValueError``) naming every bad, unknown
                or missing field.
        """
        instance, _ = validate_params(self.metadata.id, self.input_model, inputs)
        return instance.model_dump(exclude_none=True)

    def get_input_schema(self) -> dict[str, Any]:
        """The JSON Schema every call is validated against."""
        return input_schema(self.input_model)

    def get_output_schema(self) -> dict[str, Any]:
        """The output schema as declared."""
        return dict(self.metadata.output_schema)

    def get_info(self) -> dict[str, Any]:
        """The metadata as a dict, timestamps in ISO format."""
        info = asdict(self.metadata)
        info["created_at"] = self.metadata.created_at.isoformat()
        info["updated_at"] = self.metadata.updated_at.isoformat()
        return info


class BaseImageGenerator(SeedGenerator):
    """Seed base class of image generators."""

    kind = MediaKind.IMAGE


class BaseVideoGenerator(SeedGenerator):
    """Seed base class of video generators."""

    kind = MediaKind.VIDEO


class BaseAudioGenerator(SeedGenerator):
    """Seed base class of audio generators."""

    kind = MediaKind.AUDIO


class LegacyGenerator(Published[GeneratorInput]):
    """A :class:`SeedGenerator` behind the :class:`~inference_core.ports.MediaGenerator` port.

    ``params`` are validated against the flat schema minus the fields the
    request itself carries (prompt, text, input media), which are passed as
    the seed's keyword arguments.
    """

    def __init__(self, seed: SeedGenerator) -> None:
        self.seed = seed
        meta = seed.metadata
        media_fields = MEDIA_FIELDS[seed.kind]
        flat = {k: v for k, v in meta.input_schema.items() if k not in media_fields}
        self._required = tuple(
            k
            for k, v in meta.input_schema.items()
            if k in media_fields and isinstance(v, Mapping) and v.get("required")
        )
        self._input_model = flat_schema_model(meta.id, flat)
        self._info = GeneratorInfo(
            id=meta.id,
            kind=seed.kind,
            name=meta.name,
            description=meta.description,
            version=meta.version,
            author=meta.author,
            provider="legacy",
            capabilities=tuple(_capability(c) for c in meta.capabilities),
            input_schema=seed.get_input_schema(),
            output_schema=seed.get_output_schema(),
        )

    async def generate(
        self,
        request: GenerationRequest,
        *,
        store: AssetStore,
        on_progress: ProgressCallback | None = None,
    ) -> GenerationOutput:
        """Call the seed generator and store what it returned."""
        kwargs = {**request.params, **self._media_kwargs(request)}
        missing = [name for name in self._required if kwargs.get(name) in (None, [], "")]
        if missing:
            raise InvalidGeneratorInput(
                self._info.id, [f"missing required field {m!r}" for m in missing]
            )
        if on_progress is not None:
            on_progress(0.0, "started")
        if inspect.iscoroutinefunction(self.seed.generate):
            result = await self.seed.generate(**kwargs)
        else:  # a blocking seed generator must not stall the event loop
            result = await asyncio.to_thread(self.seed.generate, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        payloads = _payloads(self._info.id, self.seed.kind, result)
        assets: list[StoredAsset] = []
        try:
            for number, (data, _) in enumerate(payloads):
                name = request.name or f"{self._info.id}-{number}"
                assets.append(await store.save(data, name=name, kind=self.seed.kind))
        except BaseException:
            await asyncio.gather(*(store.discard(a) for a in assets))
            raise
        metadata = result.get("metadata") if isinstance(result, Mapping) else None
        usage = (
            MediaUsage(images=len(assets)) if self.seed.kind is MediaKind.IMAGE else MediaUsage()
        )
        return GenerationOutput(
            assets=tuple(assets),
            usage=usage,
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
        )

    def _media_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        kind = self.seed.kind
        kwargs: dict[str, Any] = {}
        if request.prompt is not None:
            kwargs["prompt"] = request.prompt
        if kind is MediaKind.AUDIO and request.text is not None:
            kwargs["text"] = request.text
        if request.inputs:
            images = [_as_data_url(i) for i in request.inputs if _major(i) == "image"]
            videos = [_as_data_url(i) for i in request.inputs if _major(i) == "video"]
            audio = [_as_data_url(i) for i in request.inputs if _major(i) == "audio"]
            if images:
                kwargs["images"] = images
            if videos and kind is MediaKind.VIDEO:
                kwargs["videos"] = videos
            if audio and kind is MediaKind.AUDIO:
                kwargs["audio_clips"] = audio
        return kwargs


def _capability(name: str) -> Capability | str:
    try:
        return Capability(name)
    except ValueError:
        return name


def _major(item: MediaInput) -> str:
    if item.mime_type:
        return item.mime_type.partition("/")[0]
    data = item.data
    if data is None and item.path is not None:
        with open(item.path, "rb") as source:
            data = source.read(64)
    mime = sniff_mime(data or b"") if data is not None else None
    return (mime or "image/unknown").partition("/")[0]


def _as_data_url(item: MediaInput) -> str:
    """What the seed's generators received for input media: a data URL (or the http URL)."""
    if item.url is not None:
        return item.url
    data = item.data
    if data is None:
        assert item.path is not None  # MediaInput holds exactly one source
        with open(item.path, "rb") as source:
            data = source.read()
    mime = item.mime_type or sniff_mime(data[:64]) or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


_RESULT_KEYS = {MediaKind.IMAGE: "images", MediaKind.VIDEO: "video", MediaKind.AUDIO: "audio"}


def _payloads(generator_id: str, kind: MediaKind, result: Any) -> list[tuple[bytes, str]]:
    """The (bytes, mime) items of a seed result dict."""
    key = _RESULT_KEYS[kind]
    if not isinstance(result, Mapping) or result.get(key) in (None, [], ""):
        raise MediaGenerationError(
            f"generator {generator_id!r} returned no {key!r} (got {type(result).__name__})"
        )
    items = result[key]
    items = items if isinstance(items, list | tuple) else [items]
    payloads = []
    for item in items:
        if isinstance(item, bytes | bytearray):
            payloads.append((bytes(item), "application/octet-stream"))
        elif isinstance(item, str) and item.startswith("data:"):
            try:
                mime, data = parse_data_url(item)
            except ValueError as exc:
                raise MediaGenerationError(
                    f"generator {generator_id!r} returned a malformed data URL: {exc}"
                ) from None
            payloads.append((data, mime))
        else:
            raise MediaGenerationError(
                f"generator {generator_id!r} returned {type(item).__name__} in {key!r}; "
                "expected data URLs or bytes"
            )
    return payloads
