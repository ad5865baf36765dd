"""The executor the host receives: runs a descriptor by agent id on one ``Inference``.

The host knows nothing of models, prompts or media: it hands an agent id, a
task id, the request's input bundle and a directory to this callable and gets
a :class:`~inference_core.domain.descriptors.DescriptorResult` back. Either
kind of descriptor works: an ``AgentDescriptor`` runs through the library's
``ExecuteDescriptor``, an original-style ``SubAgentDescriptor`` through
``run_legacy_descriptor`` (see ``inference_core.compat.descriptors``).

Runs go through ``inference.run_sync``: each request thread runs its call itself,
on a long-lived loop that an ended thread hands to the next one, so loops (and SDK
clients) are created per concurrent request, not per request; models are shared.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inference_core.compat.descriptors import execute_any, is_legacy_descriptor
from inference_core.composition import Inference
from inference_core.composition.services import media_store
from inference_core.domain.descriptors import AgentDescriptor, DescriptorResult

__all__ = ["DescriptorExecutor"]


class DescriptorExecutor:
    """Runs the descriptors it was given, by agent id.

    Args:
        inference: The wired library (model routing, generators, usage ledger).
        descriptors: ``AgentDescriptor``s and original-style descriptors by agent id.
    """

    def __init__(self, inference: Inference, descriptors: Mapping[str, Any]) -> None:
        for agent_id, descriptor in descriptors.items():
            if not isinstance(descriptor, AgentDescriptor) and not is_legacy_descriptor(descriptor):
                raise TypeError(f"{agent_id!r}: {type(descriptor).__name__} is not a descriptor")
        self.inference = inference
        self._descriptors = dict(descriptors)
        self._closing = threading.Lock()

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._descriptors

    def asset_key(self, agent_id: str) -> str:
        """The key the host stores ``agent_id``'s output under."""
        descriptor = self._descriptors[agent_id]
        key = getattr(descriptor, "asset_key", None)
        return str(key or agent_id)

    def catalog(self) -> list[dict[str, Any]]:
        """One entry per agent: id, asset key, protocol and its catalog data."""
        entries = []
        for agent_id, descriptor in sorted(self._descriptors.items()):
            entries.append(
                {
                    "agent_id": agent_id,
                    "asset_key": self.asset_key(agent_id),
                    "protocol": (
                        "agent_descriptor"
                        if isinstance(descriptor, AgentDescriptor)
                        else "sub_agent_descriptor"
                    ),
                    "catalog_entry": dict(getattr(descriptor, "catalog_entry", {}) or {}),
                }
            )
        return entries

    def __call__(
        self,
        agent_id: str,
        *,
        task_id: str,
        input_bundle: Mapping[str, Any],
        output_dir: Path,
    ) -> DescriptorResult:
        """Run ``agent_id`` on ``input_bundle``; its files go to ``output_dir``.

        Raises:
            KeyError: ``agent_id`` is not one of the descriptors.
            InferenceError: The run failed (its files are deleted).
        """
        descriptor = self._descriptors[agent_id]
        store = media_store(self.inference, output_dir)
        return self.inference.run_sync(
            execute_any(
                descriptor,
                task_id=task_id,
                input_bundle=input_bundle,
                inference=self.inference,
                store=store,
            )
        )

    def close(self) -> None:
        """Close the adapters and stop the library's loop (idempotent)."""
        with self._closing:
            self.inference.close()
