"""Local fake LLM provider servers speaking the real wire protocols.

One aiohttp app serves OpenAI (``/v1/chat/completions``), Anthropic
(``/v1/messages``) and Ollama (``/api/...``). Start it in a thread with
:class:`FakeServer` or in another process with
``python -m tests.servers --protocol all --port 0`` (prints ``READY <port>``).
"""

from tests.servers.errors import (
    anthropic_error,
    auth_error_body,
    content_filter_body,
    context_length_body,
    error_body,
    ollama_error,
    openai_error,
    quota_exhausted_body,
    stream_error_payload,
)
from tests.servers.server import (
    AnthropicServer,
    FakeServer,
    OllamaServer,
    OpenAIServer,
    build_app,
)
from tests.servers.state import (
    RANDOM_FAULT_KINDS,
    ChatPlan,
    Fault,
    RecordedRequest,
    Reply,
    ServedReply,
    ServerState,
)

__all__ = [
    "RANDOM_FAULT_KINDS",
    "AnthropicServer",
    "ChatPlan",
    "FakeServer",
    "Fault",
    "OllamaServer",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "ServedReply",
    "ServerState",
    "anthropic_error",
    "auth_error_body",
    "build_app",
    "content_filter_body",
    "context_length_body",
    "error_body",
    "ollama_error",
    "openai_error",
    "quota_exhausted_body",
    "stream_error_payload",
]
