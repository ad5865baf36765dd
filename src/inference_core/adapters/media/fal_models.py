"""fal model families: their input models (the published schemas) and declared prices.

Each family's arguments are the model's real ones:

* **nano-banana** (images): ``prompt``, ``num_images``, ``output_format``,
  ``aspect_ratio``; edits go to ``<model>/edit`` with ``image_urls``.
* **Kling** (video): ``prompt``, ``start_image_url`` / ``end_image_url``
  (image-to-video), ``duration`` ``"5"`` or ``"10"``, ``negative_prompt``,
  ``cfg_scale``, ``aspect_ratio`` (text-to-video) and ``generate_audio`` -
  always sent, false unless asked for: Kling's own default is true, which
  doubles the price of clips whose sound is thrown away.
* **MiniMax speech**: ``text``, nested ``voice_setting`` and
  ``audio_setting``, ``language_boost``, ``output_format`` (``url`` or ``hex``).

Prices are fal's published list prices (USD) when this was written; a
model missing here has an unknown cost (``None``, never 0). The ``prices``
option of a generator adds or replaces entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inference_core.domain.errors import ConfigurationError
from inference_core.domain.generator_input import GeneratorInput

__all__ = [
    "DEFAULT_I2V_MODEL",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_T2V_MODEL",
    "DEFAULT_TTS_MODEL",
    "FAL_PRICES",
    "AudioSetting",
    "FalImageInput",
    "FalPrice",
    "FalSpeechInput",
    "FalVideoInput",
    "VoiceSetting",
    "prices_from_option",
]

DEFAULT_IMAGE_MODEL = "fal-ai/nano-banana"
DEFAULT_I2V_MODEL = "fal-ai/kling-video/v2.6/pro/image-to-video"
DEFAULT_T2V_MODEL = "fal-ai/kling-video/v2.6/pro/text-to-video"
DEFAULT_TTS_MODEL = "fal-ai/minimax/speech-02-hd"


class FalPrice(BaseModel):
    """A model's declared price (USD); the unit that applies to its family is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    per_image: float | None = Field(None, ge=0)
    per_second: float | None = Field(None, ge=0)
    per_second_with_audio: float | None = Field(None, ge=0)
    per_1k_characters: float | None = Field(None, ge=0)


_KLING_26 = FalPrice(per_second=0.07, per_second_with_audio=0.14)

#: Declared prices by model endpoint.
FAL_PRICES: Mapping[str, FalPrice] = {
    "fal-ai/nano-banana": FalPrice(per_image=0.039),
    "fal-ai/nano-banana/edit": FalPrice(per_image=0.039),
    "fal-ai/kling-video/v2.6/pro/image-to-video": _KLING_26,
    "fal-ai/kling-video/v2.6/pro/text-to-video": _KLING_26,
    "fal-ai/minimax/speech-02-hd": FalPrice(per_1k_characters=0.1),
    "fal-ai/minimax/speech-02-turbo": FalPrice(per_1k_characters=0.06),
}


def prices_from_option(generator_id: str, value: Any) -> dict[str, FalPrice]:
    """The declared prices with a generator's ``prices`` option merged over them.

    Raises:
        ConfigurationError: The option is not ``{model: {per_image|per_second|...: USD}}``.
    """
    prices = dict(FAL_PRICES)
    if value is None:
        return prices
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"generators.{generator_id}.prices must map models to prices")
    for model, price in value.items():
        try:
            prices[str(model)] = FalPrice.model_validate(price)
        except ValidationError as exc:
            raise ConfigurationError(
                f"generators.{generator_id}.prices.{model}: {exc.errors()[0]['msg']}"
            ) from None
    return prices


ImageAspect = Literal["21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"]


class FalImageInput(GeneratorInput):
    """Parameters of ``fal_image_generator`` (nano-banana arguments)."""

    model: str = Field(DEFAULT_IMAGE_MODEL, min_length=1, description="fal model endpoint.")
    num_images: int = Field(1, ge=1, le=4, description="How many images the job makes.")
    output_format: Literal["jpeg", "png", "webp"] = Field(
        "png", description="Encoding of the returned images."
    )
    aspect_ratio: ImageAspect | None = Field(
        None, description="Output aspect ratio; the model's default when omitted."
    )


class FalVideoInput(GeneratorInput):
    """Parameters of ``fal_video_generator`` (Kling arguments)."""

    model: str | None = Field(
        None,
        min_length=1,
        description=(
            "fal model endpoint; default: the configured image-to-video model when input "
            "images are given, else the text-to-video model."
        ),
    )
    duration: Literal["5", "10"] = Field("5", description="Clip length in seconds.")
    generate_audio: bool = Field(
        False,
        description="Generate native audio (sent explicitly: Kling's own default, on, "
        "doubles the price).",
    )
    negative_prompt: str | None = Field(None, min_length=1, max_length=2500)
    cfg_scale: float | None = Field(
        None, ge=0, le=1, description="How closely to follow the prompt."
    )
    aspect_ratio: Literal["16:9", "9:16", "1:1"] | None = Field(
        None, description="Frame shape (text-to-video only; image-to-video follows the image)."
    )


class VoiceSetting(GeneratorInput):
    """MiniMax ``voice_setting``."""

    voice_id: str = Field("Wise_Woman", min_length=1, description="A MiniMax voice id.")
    speed: float = Field(1.0, ge=0.5, le=2.0)
    vol: float = Field(1.0, gt=0, le=10.0)
    pitch: int = Field(0, ge=-12, le=12)
    emotion: (
        Literal["happy", "sad", "angry", "fearful", "disgusted", "surprised", "neutral"] | None
    ) = None


class AudioSetting(GeneratorInput):
    """MiniMax ``audio_setting`` (pcm is not offered: headerless samples are not a file)."""

    sample_rate: Literal[8000, 16000, 22050, 24000, 32000, 44100] = 32000
    bitrate: Literal[32000, 64000, 128000, 256000] = 128000
    format: Literal["mp3", "flac"] = "mp3"
    channel: Literal[1, 2] = 1


class FalSpeechInput(GeneratorInput):
    """Parameters of ``fal_tts_generator`` (MiniMax speech arguments)."""

    model: str = Field(DEFAULT_TTS_MODEL, min_length=1, description="fal model endpoint.")
    voice_setting: VoiceSetting = VoiceSetting()
    audio_setting: AudioSetting = AudioSetting()
    language_boost: str | None = Field(
        None, min_length=1, description="A language to favour ('English', 'Chinese'...)."
    )
    output_format: Literal["url", "hex"] = Field(
        "url", description="How fal returns the audio: a file URL or hex-encoded bytes."
    )
