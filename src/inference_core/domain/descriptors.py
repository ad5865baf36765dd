"""Descriptor sub-agents: a prompt, a model, an output schema, quality gates and media.

A descriptor is data: what to ask, what shape the answer must have, how it is
judged, and which parts of the answer become media files (through
``GenerateMedia``). ``ExecuteDescriptor`` runs one and returns a
:class:`DescriptorResult`; ``DescriptorResult.to_legacy_dict`` gives the
original host's shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inference_core.domain.chat import GenerationParams, Usage
from inference_core.domain.errors import TemplateError
from inference_core.domain.media import GenerationRequest, MediaKind

__all__ = [
    "AgentDescriptor",
    "DescriptorExample",
    "DescriptorResult",
    "DimensionScore",
    "Evaluation",
    "EvaluatorSpec",
    "MaterialItem",
    "MaterializationRule",
    "MediaFile",
    "PipelineConfig",
    "StageTiming",
    "render_template",
    "select",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def render_template(template: str, variables: Mapping[str, Any], *, where: str) -> str:
    """``$name`` / ``${name}`` substitution where every variable must be given.

    Raises:
        TemplateError: Naming the missing variables (and ``where`` the template is).
    """
    compiled = Template(template)
    wanted = {
        match.group("named") or match.group("braced")
        for match in compiled.pattern.finditer(template)
        if match.group("named") or match.group("braced")
    }
    missing = sorted(name for name in wanted if name not in variables)
    if missing:
        raise TemplateError(f"{where}: missing template variable(s) {', '.join(missing)}")
    return compiled.substitute({k: _text(v) for k, v in variables.items()})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


_PATH_PART = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P<all>\[\*\])?$")


def select(document: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects a path names in a JSON document, with their concrete location.

    ``scenes[*]`` yields every object of the ``scenes`` array, ``hero`` the
    object under ``hero``, ``acts[*].shots[*]`` every shot of every act; ``$``
    the document itself. Locations look like ``scenes[2]``.

    Raises:
        ValueError: The path is malformed.
    """
    if path in ("", "$"):
        if isinstance(document, dict):
            yield "$", document
        return
    nodes: list[tuple[str, Any]] = [("", document)]
    for part in path.split("."):
        match = _PATH_PART.match(part)
        if match is None:
            raise ValueError(f"bad path {path!r}: {part!r} is not 'name' or 'name[*]'")
        key, every = match.group("key"), match.group("all")
        following: list[tuple[str, Any]] = []
        for where, node in nodes:
            if not isinstance(node, dict) or key not in node:
                continue
            child = node[key]
            here = f"{where}.{key}" if where else key
            if every:
                if isinstance(child, list):
                    following.extend((f"{here}[{i}]", item) for i, item in enumerate(child))
            else:
                following.append((here, child))
        nodes = following
    for where, node in nodes:
        if isinstance(node, dict):
            yield where, node


class MaterializationRule(BaseModel):
    """Which parts of the output become media, made by which generator, and where the URI goes.

    Attributes:
        path: The objects to materialise (``scenes[*]``, ``hero``...; see :func:`select`).
        generator_id: The generator to use.
        kind: The media kind it makes.
        prompt: Template of the prompt, over the object's fields (``$setting: $action``).
        text: Template of the text to speak (speech generators).
        inputs: Fields of the object holding input media (paths or URIs written by
            an earlier rule, e.g. a keyframe for a clip).
        params: Generator parameters (validated against its schema).
        uri_field: Field of the object the stored file's URI is written to.
        description: Template of the file's description (``_media_files``).
    """

    model_config = _FROZEN
    path: str
    generator_id: str
    kind: MediaKind
    prompt: str | None = None
    text: str | None = None
    inputs: tuple[str, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)
    uri_field: str = "uri"
    description: str | None = None


class MaterialItem(BaseModel):
    """One file to make for a descriptor's output, and where its URI goes.

    Attributes:
        id: The file's id in the run (``sys_id`` of the host), unique per run.
        location: The object of the output it belongs to (``scenes[1]``).
        uri_field: The field of that object the stored file's path is written to.
        request: What to generate.
        description: What the file is (for ``_media_files``).
    """

    model_config = _FROZEN
    id: str
    location: str
    uri_field: str = "uri"
    request: GenerationRequest
    description: str = ""


class EvaluatorSpec(BaseModel):
    """How a descriptor's output is judged by a model (the creative stage).

    Attributes:
        dimensions: Named criteria, each with what it means.
        threshold: Minimum score (0-10) every dimension needs to pass.
        model: Judge model (default: the descriptor's model).
        instructions: Extra instructions for the judge.
    """

    model_config = _FROZEN
    dimensions: dict[str, str] = Field(min_length=1)
    threshold: float = Field(default=6.0, ge=0, le=10)
    model: str | None = None
    instructions: str = ""


class DescriptorExample(BaseModel):
    """A worked example shown to the model before the real request (few-shot)."""

    model_config = _FROZEN
    user: str
    output: Any


class AgentDescriptor(BaseModel):
    """A declarative sub-agent.

    Attributes:
        id: Stable identifier (``agent_id`` of the host).
        asset_key: Key the host stores the output under.
        catalog_entry: The host's catalog data for this agent (name, description...).
        system_prompt: Instructions for the model (a template too).
        user_template: The user message, ``$name`` substituted from the run's
            variables; a missing variable is an error, never an empty string.
        examples: Worked examples sent as earlier turns (few-shot); each output
            is shown as the JSON the model should answer.
        output_model: A pydantic model the output must validate against.
        output_schema: A JSON Schema instead (``None`` and no model: any JSON object).
        model: Model id (routed like any other); ``None`` uses the default model.
        max_attempts: Runs of the prompt allowed before the gate gives up (reworks
            included); media items get the same number of attempts each.
        evaluator: The creative stage, judged by a model (``None``: none).
        materialize: Media to make from the output.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    id: str = Field(min_length=1)
    asset_key: str | None = None
    catalog_entry: dict[str, Any] = Field(default_factory=dict)
    system_prompt: str = ""
    user_template: str = "$input"
    examples: tuple[DescriptorExample, ...] = ()
    output_model: type[BaseModel] | None = None
    output_schema: dict[str, Any] | None = None
    model: str | None = None
    params: GenerationParams = GenerationParams()
    max_attempts: int = Field(default=2, ge=1, le=10)
    evaluator: EvaluatorSpec | None = None
    materialize: tuple[MaterializationRule, ...] = ()

    @field_validator("output_schema")
    @classmethod
    def _schema_is_object(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type", "object") != "object":
            raise ValueError("output_schema must describe a JSON object")
        return value


class DimensionScore(BaseModel):
    """One judged criterion."""

    model_config = _FROZEN
    score: float = Field(ge=0, le=10)
    notes: str = ""


class Evaluation(BaseModel):
    """What the gates found.

    Attributes:
        structural_errors: Shape problems (schema, required content).
        dimensions: Judged criteria with scores and notes (creative stage).
        asset_errors: Files missing, undecodable or of the wrong kind.
        overall_pass: Every stage passed.
        summary: One paragraph; becomes the rework notes when a stage fails.
    """

    model_config = _FROZEN
    structural_errors: tuple[str, ...] = ()
    dimensions: dict[str, DimensionScore] = Field(default_factory=dict)
    asset_errors: tuple[str, ...] = ()
    overall_pass: bool = True
    summary: str = ""


class MediaFile(BaseModel):
    """A media file a descriptor run produced, on disk."""

    model_config = _FROZEN
    id: str
    path: str
    filename: str
    mime_type: str
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    description: str = ""
    location: str | None = Field(default=None, description="Where in the output its URI is.")


class StageTiming(BaseModel):
    """Wall time of one stage of a run."""

    model_config = _FROZEN
    stage: str
    seconds: float = Field(ge=0)


class DescriptorResult(BaseModel):
    """The outcome of executing one descriptor.

    Attributes:
        output: The validated output, with the files' URIs written in.
        files: Every media file produced (and kept).
        attempts: Prompt runs made (1 when the first answer passed).
        passed: Every gate passed.
        evaluation: The last evaluation.
        usage: Chat usage summed over every attempt and the judge.
        media_cost_usd: Cost of the media generated (``None`` when any price is unknown).
        timings: Wall time per stage.
    """

    model_config = _FROZEN
    descriptor_id: str
    task_id: str = ""
    output: Any = None
    files: tuple[MediaFile, ...] = ()
    attempts: int = Field(default=1, ge=1)
    passed: bool = True
    evaluation: Evaluation = Evaluation()
    usage: Usage = Usage()
    media_cost_usd: float | None = 0.0
    timings: tuple[StageTiming, ...] = ()

    @property
    def cost_usd(self) -> float | None:
        """Chat plus media cost; ``None`` when any part is unpriced."""
        if self.usage.cost_usd is None and self.usage.is_known:
            return None
        if self.media_cost_usd is None:
            return None
        return (self.usage.cost_usd or 0.0) + self.media_cost_usd

    def to_legacy_dict(self, *, read_files: bool = True) -> dict[str, Any]:
        """The original host's result shape.

        The output's keys plus ``_media_files`` (``{id: {"file_content": bytes,
        "filename", "description"}}``; ``read_files=False`` gives the path
        instead of the bytes), ``_naming_specs`` and ``_execution_debug``.
        """
        media = {
            f.id: {
                "file_content": Path(f.path).read_bytes() if read_files else None,
                "path": f.path,
                "filename": f.filename,
                "description": f.description,
            }
            for f in self.files
        }
        base = dict(self.output) if isinstance(self.output, dict) else {"output": self.output}
        return {
            **base,
            "_media_files": media,
            "_naming_specs": [
                {"sys_id": f.id, "filename": f.filename, "location": f.location} for f in self.files
            ],
            "_execution_debug": {
                "attempts": self.attempts,
                "overall_pass": self.passed,
                "eval_summary": self.evaluation.summary,
            },
        }


class PipelineConfig(BaseModel):
    """The host's pipeline configuration, as an explicit schema read by attribute.

    Unknown keys are kept (typed as given) and readable as attributes too, so a
    host's ``config.target_total_duration_sec`` and ``config.style`` both work.
    """

    model_config = ConfigDict(frozen=True, extra="allow")
    target_total_duration_sec: float | None = Field(default=None, gt=0)
    language: str = "en"

    def extras(self) -> dict[str, Any]:
        """The keys beyond the declared ones."""
        return dict(self.model_extra or {})
