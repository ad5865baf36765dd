"""Pure domain: value types, the error tree, routing and wire-shape conversions.

Imports nothing else from inference-core and no vendor SDK, HTTP client, retry
or logging library.
"""

from inference_core.domain.catalog import (
    JSONOutput,
    ModelCapabilities,
    ModelCatalog,
    ModelSpec,
    Pricing,
    builtin_catalog,
)
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    GenerationParams,
    ResponseFormat,
    Usage,
)
from inference_core.domain.config import RetryPolicy, RuntimeConfig, TimeoutPolicy
from inference_core.domain.descriptors import AgentDescriptor, DescriptorResult, MediaFile
from inference_core.domain.media import (
    GeneratedMedia,
    GenerationRequest,
    GeneratorInfo,
    MediaInput,
    MediaKind,
    StoredAsset,
)
from inference_core.domain.messages import AudioPart, ImagePart, Message, TextPart, ToolCall
from inference_core.domain.routing import ClientPath, Route, RoutingTable, resolve
from inference_core.domain.usage import UsageEvent

__all__ = [
    "AgentDescriptor",
    "AudioPart",
    "ChatChunk",
    "ChatRequest",
    "ChatResponse",
    "ClientPath",
    "DescriptorResult",
    "FinishReason",
    "GeneratedMedia",
    "GenerationParams",
    "GenerationRequest",
    "GeneratorInfo",
    "ImagePart",
    "JSONOutput",
    "MediaFile",
    "MediaInput",
    "MediaKind",
    "Message",
    "ModelCapabilities",
    "ModelCatalog",
    "ModelSpec",
    "Pricing",
    "ResponseFormat",
    "RetryPolicy",
    "Route",
    "RoutingTable",
    "RuntimeConfig",
    "StoredAsset",
    "TextPart",
    "TimeoutPolicy",
    "ToolCall",
    "Usage",
    "UsageEvent",
    "builtin_catalog",
    "resolve",
]
