"""The output schema of the 50 KB JSON benchmark (``payloads.JSON_REPLY`` is valid for it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Camera", "Scene", "Storyboard"]

_STRICT = ConfigDict(extra="forbid")


class Camera(BaseModel):
    """How a scene is shot."""

    model_config = _STRICT
    shot: str
    movement: str
    lens_mm: int


class Scene(BaseModel):
    """One storyboard scene."""

    model_config = _STRICT
    index: int
    title: str
    description: str
    camera: Camera
    characters: list[str]
    tags: list[str]
    duration_s: float


class Storyboard(BaseModel):
    """A storyboard: a title, a logline and its scenes."""

    model_config = _STRICT
    title: str
    logline: str
    scenes: list[Scene]
