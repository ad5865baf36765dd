"""Ports: the narrow interfaces the application needs, as ``typing.Protocol``.

Adapters conform structurally (no base class). Each method's docstring states
what every implementation must guarantee; ``tests/contract`` checks it.
"""

from inference_core.ports.chat import ChatModel
from inference_core.ports.media import (
    AssetStore,
    GeneratorListing,
    GeneratorRegistry,
    JobJournal,
    MediaGenerator,
    MediaProbe,
    ProgressCallback,
    QueuedGenerator,
)
from inference_core.ports.routing import ModelRouter, ResolvedModel
from inference_core.ports.runtime import Clock, EventLog, Sleeper, UsageSink
from inference_core.ports.tokens import TokenCounter

__all__ = [
    "AssetStore",
    "ChatModel",
    "Clock",
    "EventLog",
    "GeneratorListing",
    "GeneratorRegistry",
    "JobJournal",
    "MediaGenerator",
    "MediaProbe",
    "ModelRouter",
    "ProgressCallback",
    "QueuedGenerator",
    "ResolvedModel",
    "Sleeper",
    "TokenCounter",
    "UsageSink",
]
