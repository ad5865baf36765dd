"""Descriptor ports: how an output is judged and how it becomes media."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from inference_core.domain.descriptors import AgentDescriptor, Evaluation, MaterialItem, MediaFile

__all__ = ["Evaluator", "Materializer"]


@runtime_checkable
class Evaluator(Protocol):
    """The quality gates of a descriptor run.

    Every implementation guarantees: each stage returns its findings (an
    empty list or a passing :class:`Evaluation` means "passed") and raises
    only when it could not evaluate at all - the run then fails with that
    error; an evaluator that raises never counts as a pass.
    """

    async def structure(self, descriptor: AgentDescriptor, output: Any) -> Sequence[str]:
        """Shape problems beyond the schema (which the output already satisfies)."""
        ...

    async def creative(self, descriptor: AgentDescriptor, output: Any) -> Evaluation:
        """Judged quality: scored dimensions, an overall pass and a summary."""
        ...

    async def assets(
        self, descriptor: AgentDescriptor, files: Sequence[MediaFile]
    ) -> Sequence[str]:
        """Problems with the produced files, found by opening them (exists, decodes, kind)."""
        ...


@runtime_checkable
class Materializer(Protocol):
    """Turns a descriptor's output into generation requests, stage by stage.

    Stages run in order; a later stage may read the URIs an earlier one wrote
    into the output (a clip made from the keyframe of the same scene).
    """

    def plan(
        self, descriptor: AgentDescriptor, output: Any, stage: int, *, task_id: str
    ) -> Sequence[MaterialItem] | None:
        """The items of stage ``stage`` (0-based), or ``None`` when there are no more stages.

        Raises:
            InvalidGeneratorInput: The output cannot be turned into requests
                (a missing field, a template variable the object lacks).
        """
        ...
