"""fal.ai queue generators: images (nano-banana), video (Kling i2v/t2v), speech (MiniMax).

Each generator validates ``request.params`` with its family's strict input
model (:mod:`~inference_core.adapters.media.fal_models`), builds the model's
real arguments, and runs the job through the journalled queue engine
(:mod:`~inference_core.adapters.media.queued`) on fal's queue wire
(:mod:`~inference_core.adapters.media.fal_queue`): submitted once, recorded
before waiting, polled with logs, cancelled at its deadline, its outputs
downloaded under the download policy. No ``fal-client``, no subprocess, no
environment mutation: the key (``FAL_API_KEY``) travels in the
``Authorization: Key`` header of queue calls only, never to file hosts.

Input images are sent as URLs: http(s) URLs as given, files and bytes as
``data:`` URLs (fal accepts data URIs wherever it takes an image URL).

Models come from the generator's ``model`` option, else ``FAL_IMAGE_MODEL``,
``FAL_VIDEO_MODEL`` (image-to-video), ``FAL_T2V_MODEL`` (text-to-video) or
``FAL_TTS_MODEL``, else the defaults below. ``httpx`` loads when a generator
is built.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from inference_core.adapters.media._common import (
    option_str,
    require_key,
    resolve_image_capability,
    with_default_model,
)
from inference_core.adapters.media.fal_models import (
    DEFAULT_I2V_MODEL,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_T2V_MODEL,
    DEFAULT_TTS_MODEL,
    FalImageInput,
    FalPrice,
    FalSpeechInput,
    FalVideoInput,
    prices_from_option,
)
from inference_core.adapters.media.fal_queue import DEFAULT_QUEUE_URL, FalQueue
from inference_core.adapters.media.queued import JobSpec, OutputFile
from inference_core.adapters.media.queued_generator import (
    QueuedMediaGenerator,
    QueueOptions,
    env_value,
    input_url,
    queue_options,
)
from inference_core.domain.errors import InvalidGeneratorInput
from inference_core.domain.jobs import JobRecord
from inference_core.domain.media import (
    Capability,
    GenerationRequest,
    GeneratorInfo,
    MediaKind,
    MediaUsage,
)
from inference_core.ports.media import JobJournal
from inference_core.ports.plugins import GeneratorContext, GeneratorPlugin, requires

__all__ = [
    "IMAGE_GENERATOR_ID",
    "IMAGE_PLUGIN",
    "MAX_SPEECH_CHARS",
    "TTS_GENERATOR_ID",
    "TTS_PLUGIN",
    "VIDEO_GENERATOR_ID",
    "VIDEO_PLUGIN",
    "FalImageGenerator",
    "FalSpeechGenerator",
    "FalVideoGenerator",
]

IMAGE_GENERATOR_ID = "fal_image_generator"
VIDEO_GENERATOR_ID = "fal_video_generator"
TTS_GENERATOR_ID = "fal_tts_generator"
_PROVIDER = "fal"
#: MiniMax takes at most this many characters of text per job.
MAX_SPEECH_CHARS = 5000


class _FalGenerator(QueuedMediaGenerator):
    """fal plumbing shared by the three generators: the wire and the price table."""

    def __init__(
        self,
        *,
        info: GeneratorInfo,
        input_model: type[Any],
        api_key: SecretStr | str,
        base_url: str,
        options: QueueOptions,
        prices: Mapping[str, FalPrice] | None,
        journal: JobJournal | None,
    ) -> None:
        wire = FalQueue(
            api_key=api_key,
            base_url=base_url,
            timeout=options.http_timeout,
            max_result_bytes=max(options.download.max_bytes * 3, 1 << 20),
        )
        self._prices = dict(prices) if prices is not None else prices_from_option(info.id, None)
        super().__init__(
            info=info, input_model=input_model, wire=wire, options=options, journal=journal
        )

    def _price(self, model: str) -> FalPrice:
        return self._prices.get(model, FalPrice())

    def _prompt(self, request: GenerationRequest) -> str:
        prompt = (request.prompt or "").strip()
        if not prompt:
            raise InvalidGeneratorInput(self.info.id, ["a prompt is required"])
        return prompt

    def _url_of(self, record: JobRecord, value: Any, what: str) -> str:
        url = value.get("url") if isinstance(value, dict) else None
        if not isinstance(url, str) or not url:
            raise self._no_output(record, f"{what} has no url")
        return url


class FalImageGenerator(_FalGenerator):
    """Image generation and editing on fal's queue (nano-banana family).

    Args:
        api_key: The fal key.
        model: The default ``model`` parameter.
        edit_model: Where image-to-image goes (default: ``<model>/edit`` for
            nano-banana, else ``model``).
        base_url: fal's queue root.
        options: Timing, downloads, journal (:func:`queue_options`).
        prices: Declared prices (default: :data:`FAL_PRICES`).
        journal: A journal to use instead of ``options.journal_path``.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        options: QueueOptions,
        model: str = DEFAULT_IMAGE_MODEL,
        edit_model: str | None = None,
        base_url: str = DEFAULT_QUEUE_URL,
        prices: Mapping[str, FalPrice] | None = None,
        journal: JobJournal | None = None,
    ) -> None:
        self._default_model = model
        self._edit_model = edit_model
        super().__init__(
            info=GeneratorInfo(
                id=IMAGE_GENERATOR_ID,
                kind=MediaKind.IMAGE,
                name="fal images",
                description="Image generation and editing on fal's queue (nano-banana...)",
                provider=_PROVIDER,
                capabilities=(Capability.TEXT_TO_IMAGE, Capability.IMAGE_TO_IMAGE),
            ),
            input_model=with_default_model(FalImageInput, model),
            api_key=api_key,
            base_url=base_url,
            options=options,
            prices=prices,
            journal=journal,
        )

    def edit_model_for(self, model: str) -> str:
        """The endpoint image-to-image requests for ``model`` go to."""
        if model == self._default_model and self._edit_model:
            return self._edit_model
        if "nano-banana" in model and not model.rstrip("/").endswith("/edit"):
            return model.rstrip("/") + "/edit"
        return model

    async def _spec(self, request: GenerationRequest, params: FalImageInput) -> JobSpec:
        capability = resolve_image_capability(self.info.id, request)
        arguments: dict[str, Any] = {
            "prompt": self._prompt(request),
            "num_images": params.num_images,
            "output_format": params.output_format,
        }
        if params.aspect_ratio is not None:
            arguments["aspect_ratio"] = params.aspect_ratio
        model = params.model
        if capability == Capability.IMAGE_TO_IMAGE:
            model = self.edit_model_for(model)
            arguments["image_urls"] = [
                await input_url(self.info.id, index, item)
                for index, item in enumerate(request.inputs)
            ]
        price = self._price(model).per_image
        return JobSpec(
            generator_id=self.info.id,
            kind=MediaKind.IMAGE,
            model=model,
            arguments=arguments,
            name=request.name or self.info.id,
            usage=MediaUsage(
                images=params.num_images,
                cost_usd=None if price is None else round(price * params.num_images, 6),
            ),
        )

    def _outputs(self, record: JobRecord, result: Any) -> Sequence[OutputFile]:
        images = result.get("images") if isinstance(result, dict) else None
        if not isinstance(images, list) or not images:
            raise self._no_output(record, "no images")
        return [
            OutputFile(self._url_of(record, image, f"images[{i}]"), MediaKind.IMAGE)
            for i, image in enumerate(images)
        ]


class FalVideoGenerator(_FalGenerator):
    """Image-to-video and text-to-video on fal's queue (Kling family).

    Args:
        api_key: The fal key.
        i2v_model: The model image-to-video requests use (``FAL_VIDEO_MODEL``).
        t2v_model: The model text-to-video requests use (``FAL_T2V_MODEL``).
        base_url, options, prices, journal: As for :class:`FalImageGenerator`.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        options: QueueOptions,
        i2v_model: str = DEFAULT_I2V_MODEL,
        t2v_model: str = DEFAULT_T2V_MODEL,
        base_url: str = DEFAULT_QUEUE_URL,
        prices: Mapping[str, FalPrice] | None = None,
        journal: JobJournal | None = None,
    ) -> None:
        self.i2v_model = i2v_model
        self.t2v_model = t2v_model
        super().__init__(
            info=GeneratorInfo(
                id=VIDEO_GENERATOR_ID,
                kind=MediaKind.VIDEO,
                name="fal video",
                description="Image-to-video and text-to-video on fal's queue (Kling...)",
                provider=_PROVIDER,
                capabilities=(Capability.IMAGE_TO_VIDEO, Capability.TEXT_TO_VIDEO),
                output_mime_types=("video/mp4",),
            ),
            input_model=FalVideoInput,
            api_key=api_key,
            base_url=base_url,
            options=options,
            prices=prices,
            journal=journal,
        )

    def _capability(self, request: GenerationRequest) -> Capability:
        capability = request.capability
        if capability is None:
            return Capability.IMAGE_TO_VIDEO if request.inputs else Capability.TEXT_TO_VIDEO
        problems = []
        if capability == Capability.IMAGE_TO_VIDEO and not request.inputs:
            problems.append("image_to_video needs a start image (and optionally an end image)")
        elif capability == Capability.TEXT_TO_VIDEO and request.inputs:
            problems.append("text_to_video takes no input images (ask for image_to_video)")
        elif capability not in (Capability.IMAGE_TO_VIDEO, Capability.TEXT_TO_VIDEO):
            problems.append(f"capability {capability!r} is not supported")
        if problems:
            raise InvalidGeneratorInput(self.info.id, problems)
        return Capability(capability)

    async def _spec(self, request: GenerationRequest, params: FalVideoInput) -> JobSpec:
        capability = self._capability(request)
        arguments: dict[str, Any] = {
            "prompt": self._prompt(request),
            "duration": params.duration,
            "generate_audio": params.generate_audio,  # always explicit: Kling's default is on
        }
        if capability == Capability.IMAGE_TO_VIDEO:
            if len(request.inputs) > 2:
                raise InvalidGeneratorInput(
                    self.info.id,
                    [f"image_to_video takes a start and an end image, not {len(request.inputs)}"],
                )
            if params.aspect_ratio is not None:
                raise InvalidGeneratorInput(
                    self.info.id, ["aspect_ratio applies to text_to_video only"]
                )
            arguments["start_image_url"] = await input_url(self.info.id, 0, request.inputs[0])
            if len(request.inputs) == 2:
                arguments["end_image_url"] = await input_url(self.info.id, 1, request.inputs[1])
        elif params.aspect_ratio is not None:
            arguments["aspect_ratio"] = params.aspect_ratio
        for name in ("negative_prompt", "cfg_scale"):
            value = getattr(params, name)
            if value is not None:
                arguments[name] = value
        model = params.model or (
            self.i2v_model if capability == Capability.IMAGE_TO_VIDEO else self.t2v_model
        )
        seconds = int(params.duration)
        price = self._price(model)
        rate = price.per_second_with_audio if params.generate_audio else price.per_second
        return JobSpec(
            generator_id=self.info.id,
            kind=MediaKind.VIDEO,
            model=model,
            arguments=arguments,
            name=request.name or self.info.id,
            usage=MediaUsage(
                seconds=float(seconds), cost_usd=None if rate is None else round(rate * seconds, 6)
            ),
        )

    def _outputs(self, record: JobRecord, result: Any) -> Sequence[OutputFile]:
        video = result.get("video") if isinstance(result, dict) else None
        return [OutputFile(self._url_of(record, video, "video"), MediaKind.VIDEO)]


class FalSpeechGenerator(_FalGenerator):
    """Text-to-speech on fal's queue (MiniMax speech family).

    Args:
        api_key: The fal key.
        model: The default ``model`` parameter (``FAL_TTS_MODEL``).
        base_url, options, prices, journal: As for :class:`FalImageGenerator`.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str,
        options: QueueOptions,
        model: str = DEFAULT_TTS_MODEL,
        base_url: str = DEFAULT_QUEUE_URL,
        prices: Mapping[str, FalPrice] | None = None,
        journal: JobJournal | None = None,
    ) -> None:
        super().__init__(
            info=GeneratorInfo(
                id=TTS_GENERATOR_ID,
                kind=MediaKind.AUDIO,
                name="fal speech",
                description="Text-to-speech on fal's queue (MiniMax speech)",
                provider=_PROVIDER,
                capabilities=(Capability.TEXT_TO_SPEECH,),
                output_mime_types=("audio/mpeg", "audio/flac"),
            ),
            input_model=with_default_model(FalSpeechInput, model),
            api_key=api_key,
            base_url=base_url,
            options=options,
            prices=prices,
            journal=journal,
        )

    async def _spec(self, request: GenerationRequest, params: FalSpeechInput) -> JobSpec:
        if request.capability not in (None, Capability.TEXT_TO_SPEECH):
            raise InvalidGeneratorInput(
                self.info.id, [f"capability {request.capability!r} is not supported"]
            )
        text = (request.text if request.text is not None else request.prompt or "").strip()
        if not text:
            raise InvalidGeneratorInput(self.info.id, ["the text to speak is empty"])
        if len(text) > MAX_SPEECH_CHARS:
            raise InvalidGeneratorInput(
                self.info.id,
                [f"the text has {len(text)} characters; MiniMax takes {MAX_SPEECH_CHARS}"],
            )
        arguments: dict[str, Any] = {
            "text": text,
            "voice_setting": params.voice_setting.model_dump(exclude_none=True),
            "audio_setting": params.audio_setting.model_dump(),
            "output_format": params.output_format,
        }
        if params.language_boost is not None:
            arguments["language_boost"] = params.language_boost
        rate = self._price(params.model).per_1k_characters
        return JobSpec(
            generator_id=self.info.id,
            kind=MediaKind.AUDIO,
            model=params.model,
            arguments=arguments,
            name=request.name or self.info.id,
            usage=MediaUsage(
                characters=len(text),
                cost_usd=None if rate is None else round(rate * len(text) / 1000, 6),
            ),
        )

    def _outputs(self, record: JobRecord, result: Any) -> Sequence[OutputFile]:
        audio = result.get("audio") if isinstance(result, dict) else None
        value = audio.get("url") if isinstance(audio, dict) else audio
        if not isinstance(value, str) or not value:
            raise self._no_output(record, "no audio")
        if value.startswith(("http://", "https://", "data:")):
            return [OutputFile(value, MediaKind.AUDIO)]
        try:  # output_format "hex": the audio's bytes, hex-encoded
            data = bytes.fromhex(value)
        except ValueError:
            raise self._no_output(record, "audio is neither a URL nor hex") from None
        encoded = base64.b64encode(data).decode("ascii")
        return [OutputFile(f"data:application/octet-stream;base64,{encoded}", MediaKind.AUDIO)]


# -- plugins ------------------------------------------------------------------------------


def _model(ctx: GeneratorContext, generator_id: str, option: str, env: str, default: str) -> str:
    return option_str(ctx, generator_id, option, env_value(ctx, env) or default)


def _common(ctx: GeneratorContext, generator_id: str, deadline: float) -> dict[str, Any]:
    return {
        "api_key": require_key(ctx, _PROVIDER, "FAL_API_KEY"),
        "base_url": option_str(ctx, generator_id, "base_url", DEFAULT_QUEUE_URL),
        "options": queue_options(ctx, generator_id, deadline=deadline, poll_interval=1.0),
        "prices": prices_from_option(generator_id, ctx.option("prices")),
    }


def _create_image(ctx: GeneratorContext) -> FalImageGenerator:
    edit_model = ctx.option("edit_model")
    return FalImageGenerator(
        model=_model(ctx, IMAGE_GENERATOR_ID, "model", "FAL_IMAGE_MODEL", DEFAULT_IMAGE_MODEL),
        edit_model=option_str(ctx, IMAGE_GENERATOR_ID, "edit_model", "") if edit_model else None,
        **_common(ctx, IMAGE_GENERATOR_ID, 120.0),
    )


def _create_video(ctx: GeneratorContext) -> FalVideoGenerator:
    return FalVideoGenerator(
        i2v_model=_model(ctx, VIDEO_GENERATOR_ID, "model", "FAL_VIDEO_MODEL", DEFAULT_I2V_MODEL),
        t2v_model=_model(ctx, VIDEO_GENERATOR_ID, "t2v_model", "FAL_T2V_MODEL", DEFAULT_T2V_MODEL),
        **_common(ctx, VIDEO_GENERATOR_ID, 600.0),
    )


def _create_tts(ctx: GeneratorContext) -> FalSpeechGenerator:
    return FalSpeechGenerator(
        model=_model(ctx, TTS_GENERATOR_ID, "model", "FAL_TTS_MODEL", DEFAULT_TTS_MODEL),
        **_common(ctx, TTS_GENERATOR_ID, 120.0),
    )


#: Entry point ``inference_core.media_generators: fal_image_generator``.
IMAGE_PLUGIN = GeneratorPlugin(
    id=IMAGE_GENERATOR_ID,
    kind=MediaKind.IMAGE,
    create=_create_image,
    missing=requires("httpx"),
    description="Images on fal's queue (nano-banana; FAL_IMAGE_MODEL); needs FAL_API_KEY",
)
#: Entry point ``inference_core.media_generators: fal_video_generator``.
VIDEO_PLUGIN = GeneratorPlugin(
    id=VIDEO_GENERATOR_ID,
    kind=MediaKind.VIDEO,
    create=_create_video,
    missing=requires("httpx"),
    description="Video on fal's queue (Kling; FAL_VIDEO_MODEL, FAL_T2V_MODEL); needs FAL_API_KEY",
)
#: Entry point ``inference_core.media_generators: fal_tts_generator``.
TTS_PLUGIN = GeneratorPlugin(
    id=TTS_GENERATOR_ID,
    kind=MediaKind.AUDIO,
    create=_create_tts,
    missing=requires("httpx"),
    description="Speech on fal's queue (MiniMax; FAL_TTS_MODEL); needs FAL_API_KEY",
)
