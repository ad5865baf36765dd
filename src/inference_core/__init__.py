"""inference-core: one typed, observable inference layer for agent pipelines.

Importing this package defines names and nothing else: no environment reads,
no clients, no logging setup, no network. Public names load lazily on first
access (PEP 562), so ``import inference_core`` stays cheap and vendor SDKs load
only when a call first needs them.

Start with :func:`bootstrap` (typed use-cases) or the seed-compatible
:class:`LLMClient`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # composition root
    "bootstrap": "inference_core.composition",
    "Inference": "inference_core.composition",
    # domain values
    "Message": "inference_core.domain.messages",
    "TextPart": "inference_core.domain.messages",
    "ImagePart": "inference_core.domain.messages",
    "AudioPart": "inference_core.domain.messages",
    "ChatRequest": "inference_core.domain.chat",
    "ChatResponse": "inference_core.domain.chat",
    "ChatChunk": "inference_core.domain.chat",
    "GenerationParams": "inference_core.domain.chat",
    "ResponseFormat": "inference_core.domain.chat",
    "FinishReason": "inference_core.domain.chat",
    "Usage": "inference_core.domain.chat",
    "ModelSpec": "inference_core.domain.catalog",
    "ModelCatalog": "inference_core.domain.catalog",
    "ModelCapabilities": "inference_core.domain.catalog",
    "JSONOutput": "inference_core.domain.catalog",
    "GenerationRequest": "inference_core.domain.media",
    "GeneratedMedia": "inference_core.domain.media",
    "GeneratorInfo": "inference_core.domain.media",
    "MediaKind": "inference_core.domain.media",
    "AgentDescriptor": "inference_core.domain.descriptors",
    "DescriptorResult": "inference_core.domain.descriptors",
    "MediaFile": "inference_core.domain.descriptors",
    "RuntimeConfig": "inference_core.domain.config",
    "Route": "inference_core.domain.routing",
    "UsageEvent": "inference_core.domain.usage",
    # errors
    "InferenceError": "inference_core.domain.errors",
    "ConfigurationError": "inference_core.domain.errors",
    "MissingAPIKeyError": "inference_core.domain.errors",
    "InvalidInputError": "inference_core.domain.errors",
    "InvalidMessageError": "inference_core.domain.errors",
    "InvalidParameterError": "inference_core.domain.errors",
    "InvalidSchemaError": "inference_core.domain.errors",
    "InvalidImageError": "inference_core.domain.errors",
    "ProviderError": "inference_core.domain.errors",
    "AuthenticationError": "inference_core.domain.errors",
    "RateLimitError": "inference_core.domain.errors",
    "QuotaExceededError": "inference_core.domain.errors",
    "ProviderTimeout": "inference_core.domain.errors",
    "DeadlineExceeded": "inference_core.domain.errors",
    "ProviderUnavailable": "inference_core.domain.errors",
    "InvalidRequestError": "inference_core.domain.errors",
    "ContextWindowExceeded": "inference_core.domain.errors",
    "ModelNotFoundError": "inference_core.domain.errors",
    "ContentFiltered": "inference_core.domain.errors",
    "InvalidResponse": "inference_core.domain.errors",
    "StreamInterrupted": "inference_core.domain.errors",
    "OutputValidationError": "inference_core.domain.errors",
    "GeneratorNotFound": "inference_core.domain.errors",
    "InvalidGeneratorInput": "inference_core.domain.errors",
    "AllFallbacksFailed": "inference_core.domain.errors",
    # prompt assembly
    "PromptTemplate": "inference_core.domain.prompts",
    "ChatPromptTemplate": "inference_core.domain.prompts",
    "TemplateError": "inference_core.domain.errors",
    # seed-compatible API
    "LLMClient": "inference_core.compat.llm_client",
    "GPT5ChatClient": "inference_core.compat.llm_client",
    "CustomModelClient": "inference_core.compat.custom_model",
    "ModelConfig": "inference_core.compat.registry",
    "ModelRegistry": "inference_core.compat.registry",
    "ModelInfo": "inference_core.compat.registry",
    "get_model_config": "inference_core.compat.registry",
    "ConfigLoader": "inference_core.compat.config_loader",
    "ImageUtils": "inference_core.compat.image_utils",
    "InputUtils": "inference_core.compat.input_utils",
    "MultimodalUtils": "inference_core.compat.input_utils",
    # test doubles shipped for users' tests
    "FakeChatModel": "inference_core.adapters.fakes",
    "FunctionChatModel": "inference_core.adapters.fakes",
    "FakeMediaGenerator": "inference_core.adapters.fakes",
    # media generation
    "Capability": "inference_core.domain.media",
    "MediaInput": "inference_core.domain.media",
    "MediaUsage": "inference_core.domain.media",
    "StoredAsset": "inference_core.domain.media",
    "GeneratorUnavailable": "inference_core.domain.errors",
    "MediaGenerationError": "inference_core.domain.errors",
    "AssetStoreError": "inference_core.domain.errors",
    "MediaTooLarge": "inference_core.domain.errors",
    "UnexpectedMediaType": "inference_core.domain.errors",
    "GenerateMedia": "inference_core.application.media",
    "MediaProgress": "inference_core.application.media",
    "MediaResult": "inference_core.application.results",
    "FilesystemAssetStore": "inference_core.adapters.storage.filesystem",
    "GeneratorMetadata": "inference_core.adapters.media.legacy",
    "BaseImageGenerator": "inference_core.adapters.media.legacy",
    "BaseVideoGenerator": "inference_core.adapters.media.legacy",
    "BaseAudioGenerator": "inference_core.adapters.media.legacy",
    "BaseGeneratorRegistry": "inference_core.compat.generators",
    "ImageGeneratorRegistry": "inference_core.compat.generators",
    "VideoGeneratorRegistry": "inference_core.compat.generators",
    "AudioGeneratorRegistry": "inference_core.compat.generators",
    "get_image_generator_registry": "inference_core.compat.generators",
    "get_video_generator_registry": "inference_core.compat.generators",
    "get_audio_generator_registry": "inference_core.compat.generators",
    "ImageService": "inference_core.compat.media_services",
    "MockImageService": "inference_core.compat.media_services",
    "VideoService": "inference_core.compat.media_services",
    "MockVideoService": "inference_core.compat.media_services",
    "AudioService": "inference_core.compat.media_services",
    "MockAudioService": "inference_core.compat.media_services",
    # descriptor sub-agents
    "ExecuteDescriptor": "inference_core.application.descriptors",
    "DescriptorProgress": "inference_core.application.descriptors",
    "Evaluation": "inference_core.domain.descriptors",
    "EvaluatorSpec": "inference_core.domain.descriptors",
    "MaterializationRule": "inference_core.domain.descriptors",
    "PipelineConfig": "inference_core.domain.descriptors",
    "DescriptorExample": "inference_core.domain.descriptors",
    "EvaluatorError": "inference_core.domain.errors",
    "ProviderUnreachable": "inference_core.domain.errors",
    "SubAgentDescriptor": "inference_core.compat.descriptors",
    "BaseAgent": "inference_core.compat.descriptors",
    "BaseEvaluator": "inference_core.compat.descriptors",
    "BaseMaterializer": "inference_core.compat.descriptors",
    "MediaAsset": "inference_core.compat.descriptors",
    "MaterializeContext": "inference_core.compat.descriptors",
    "ExecutionResult": "inference_core.compat.descriptors",
    "ServiceContext": "inference_core.compat.descriptors",
    "run_legacy_descriptor": "inference_core.compat.descriptors",
    "execute_any": "inference_core.compat.descriptors",
}

__all__ = [
    "AgentDescriptor",
    "AllFallbacksFailed",
    "AssetStoreError",
    "AudioGeneratorRegistry",
    "AudioPart",
    "AudioService",
    "AuthenticationError",
    "BaseAgent",
    "BaseAudioGenerator",
    "BaseEvaluator",
    "BaseGeneratorRegistry",
    "BaseImageGenerator",
    "BaseMaterializer",
    "BaseVideoGenerator",
    "Capability",
    "ChatChunk",
    "ChatPromptTemplate",
    "ChatRequest",
    "ChatResponse",
    "ConfigLoader",
    "ConfigurationError",
    "ContentFiltered",
    "ContextWindowExceeded",
    "CustomModelClient",
    "DeadlineExceeded",
    "DescriptorExample",
    "DescriptorProgress",
    "DescriptorResult",
    "Evaluation",
    "EvaluatorError",
    "EvaluatorSpec",
    "ExecuteDescriptor",
    "ExecutionResult",
    "FakeChatModel",
    "FakeMediaGenerator",
    "FilesystemAssetStore",
    "FinishReason",
    "FunctionChatModel",
    "GPT5ChatClient",
    "GenerateMedia",
    "GeneratedMedia",
    "GenerationParams",
    "GenerationRequest",
    "GeneratorInfo",
    "GeneratorMetadata",
    "GeneratorNotFound",
    "GeneratorUnavailable",
    "ImageGeneratorRegistry",
    "ImagePart",
    "ImageService",
    "ImageUtils",
    "Inference",
    "InferenceError",
    "InputUtils",
    "InvalidGeneratorInput",
    "InvalidImageError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidParameterError",
    "InvalidRequestError",
    "InvalidResponse",
    "InvalidSchemaError",
    "JSONOutput",
    "LLMClient",
    "MaterializationRule",
    "MaterializeContext",
    "MediaAsset",
    "MediaFile",
    "MediaGenerationError",
    "MediaInput",
    "MediaKind",
    "MediaProgress",
    "MediaResult",
    "MediaTooLarge",
    "MediaUsage",
    "Message",
    "MissingAPIKeyError",
    "MockAudioService",
    "MockImageService",
    "MockVideoService",
    "ModelCapabilities",
    "ModelCatalog",
    "ModelConfig",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelSpec",
    "MultimodalUtils",
    "OutputValidationError",
    "PipelineConfig",
    "PromptTemplate",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "ProviderUnreachable",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseFormat",
    "Route",
    "RuntimeConfig",
    "ServiceContext",
    "StoredAsset",
    "StreamInterrupted",
    "SubAgentDescriptor",
    "TemplateError",
    "TextPart",
    "UnexpectedMediaType",
    "Usage",
    "UsageEvent",
    "VideoGeneratorRegistry",
    "VideoService",
    "__version__",
    "bootstrap",
    "execute_any",
    "get_audio_generator_registry",
    "get_image_generator_registry",
    "get_model_config",
    "get_video_generator_registry",
    "run_legacy_descriptor",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inference_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - static view of the lazy names
    from inference_core.adapters.fakes import FakeChatModel, FakeMediaGenerator, FunctionChatModel
    from inference_core.adapters.media.legacy import (
        BaseAudioGenerator,
        BaseImageGenerator,
        BaseVideoGenerator,
        GeneratorMetadata,
    )
    from inference_core.adapters.storage.filesystem import FilesystemAssetStore
    from inference_core.application.descriptors import DescriptorProgress, ExecuteDescriptor
    from inference_core.application.media import GenerateMedia, MediaProgress
    from inference_core.application.results import MediaResult
    from inference_core.compat.config_loader import ConfigLoader
    from inference_core.compat.custom_model import CustomModelClient
    from inference_core.compat.descriptors import (
        BaseAgent,
        BaseEvaluator,
        BaseMaterializer,
        ExecutionResult,
        MaterializeContext,
        MediaAsset,
        ServiceContext,
        SubAgentDescriptor,
        execute_any,
        run_legacy_descriptor,
    )
    from inference_core.compat.generators import (
        AudioGeneratorRegistry,
        BaseGeneratorRegistry,
        ImageGeneratorRegistry,
        VideoGeneratorRegistry,
        get_audio_generator_registry,
        get_image_generator_registry,
        get_video_generator_registry,
    )
    from inference_core.compat.image_utils import ImageUtils
    from inference_core.compat.input_utils import InputUtils, MultimodalUtils
    from inference_core.compat.llm_client import GPT5ChatClient, LLMClient
    from inference_core.compat.media_services import (
        AudioService,
        ImageService,
        MockAudioService,
        MockImageService,
        MockVideoService,
        VideoService,
    )
    from inference_core.compat.registry import (
        ModelConfig,
        ModelInfo,
        ModelRegistry,
        get_model_config,
    )
    from inference_core.composition import Inference, bootstrap
    from inference_core.domain.catalog import JSONOutput, ModelCapabilities, ModelCatalog, ModelSpec
    from inference_core.domain.chat import (
        ChatChunk,
        ChatRequest,
        ChatResponse,
        FinishReason,
        GenerationParams,
        ResponseFormat,
        Usage,
    )
    from inference_core.domain.config import RuntimeConfig
    from inference_core.domain.descriptors import (
        AgentDescriptor,
        DescriptorExample,
        DescriptorResult,
        Evaluation,
        EvaluatorSpec,
        MaterializationRule,
        MediaFile,
        PipelineConfig,
    )
    from inference_core.domain.errors import (
        AllFallbacksFailed,
        AssetStoreError,
        AuthenticationError,
        ConfigurationError,
        ContentFiltered,
        ContextWindowExceeded,
        DeadlineExceeded,
        EvaluatorError,
        GeneratorNotFound,
        GeneratorUnavailable,
        InferenceError,
        InvalidGeneratorInput,
        InvalidImageError,
        InvalidInputError,
        InvalidMessageError,
        InvalidParameterError,
        InvalidRequestError,
        InvalidResponse,
        InvalidSchemaError,
        MediaGenerationError,
        MediaTooLarge,
        MissingAPIKeyError,
        ModelNotFoundError,
        OutputValidationError,
        ProviderError,
        ProviderTimeout,
        ProviderUnavailable,
        ProviderUnreachable,
        QuotaExceededError,
        RateLimitError,
        StreamInterrupted,
        TemplateError,
        UnexpectedMediaType,
    )
    from inference_core.domain.media import (
        Capability,
        GeneratedMedia,
        GenerationRequest,
        GeneratorInfo,
        MediaInput,
        MediaKind,
        MediaUsage,
        StoredAsset,
    )
    from inference_core.domain.messages import AudioPart, ImagePart, Message, TextPart
    from inference_core.domain.prompts import ChatPromptTemplate, PromptTemplate
    from inference_core.domain.routing import Route
    from inference_core.domain.usage import UsageEvent
