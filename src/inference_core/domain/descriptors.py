"""Descriptor sub-agents: a prompt, a model, an output schema, a quality gate and media."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from inference_core.domain.chat import GenerationParams, Usage

__all__ = ["AgentDescriptor", "DescriptorResult", "MediaFile"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AgentDescriptor(BaseModel):
    """A declarative sub-agent.

    Attributes:
        id: Stable identifier used in logs and file names.
        system_prompt: Instructions for the model.
        user_template: ``string.Template`` text rendered with the run's variables.
        model: Model id (routed like any other); ``None`` uses the default model.
        output_schema: JSON Schema the output must satisfy; ``None`` for free text.
        quality_gate: Optional named check (plus its settings) the output must pass.
        max_attempts: How many times the whole descriptor may run before failing.
        media: Media to materialise from the output (generator ids and field mapping).
    """

    model_config = _FROZEN
    id: str
    system_prompt: str = ""
    user_template: str = "$input"
    model: str | None = None
    params: GenerationParams = GenerationParams()
    output_schema: dict[str, Any] | None = None
    quality_gate: dict[str, Any] | None = None
    max_attempts: int = Field(default=1, ge=1, le=10)
    media: tuple[dict[str, Any], ...] = ()


class MediaFile(BaseModel):
    """A media file a descriptor run materialised on disk."""

    model_config = _FROZEN
    path: str
    mime_type: str
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    role: str | None = Field(default=None, description="What the file is for, e.g. 'keyframe'.")


class DescriptorResult(BaseModel):
    """The normalised outcome of executing one descriptor."""

    model_config = _FROZEN
    descriptor_id: str
    output: Any = None
    text: str = ""
    media_files: tuple[MediaFile, ...] = ()
    attempts: int = Field(default=1, ge=1)
    passed: bool = True
    evaluation: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Usage()
