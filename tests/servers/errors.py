"""Provider-shaped error bodies for the fake servers.

Each provider wraps errors differently:

* OpenAI: ``{"error": {"message", "type", "param", "code"}}``
* Anthropic: ``{"type": "error", "error": {"type", "message"}}``
* Ollama: ``{"error": "message"}``
"""

from __future__ import annotations

from typing import Any, Literal

Protocol = Literal["openai", "anthropic", "ollama"]

PROTOCOLS: tuple[Protocol, ...] = ("openai", "anthropic", "ollama")

_OPENAI_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
    504: ("server_error", None),
    529: ("server_error", "overloaded"),
}

_ANTHROPIC_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "api_error",
    529: "overloaded_error",
}

_DEFAULT_MESSAGES: dict[int, str] = {
    400: "Invalid request.",
    401: "Invalid API key.",
    403: "Permission denied.",
    404: "Not found.",
    409: "Conflict.",
    413: "Request too large.",
    422: "Unprocessable request.",
    429: "Rate limit reached. Please try again later.",
    500: "The server had an error while processing your request.",
    502: "Bad gateway.",
    503: "The server is temporarily unavailable.",
    504: "Gateway timeout.",
    529: "Overloaded",
}


def openai_error(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Build an OpenAI error body.

    Args:
        message: Human readable message.
        type_: Error ``type`` field.
        param: Offending parameter, if any.
        code: Machine readable code, e.g. ``insufficient_quota``.

    Returns:
        The JSON body as a dict.
    """
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def anthropic_error(type_: str, message: str) -> dict[str, Any]:
    """Build an Anthropic error body.

    Args:
        type_: Error type, e.g. ``rate_limit_error`` or ``overloaded_error``.
        message: Human readable message.

    Returns:
        The JSON body as a dict.
    """
    return {"type": "error", "error": {"type": type_, "message": message}}


def ollama_error(message: str) -> dict[str, Any]:
    """Build an Ollama error body.

    Args:
        message: Human readable message.

    Returns:
        The JSON body as a dict.
    """
    return {"error": message}


def anthropic_error_type(status: int) -> str:
    """Map an HTTP status to the Anthropic error type name.

    Args:
        status: HTTP status code.

    Returns:
        The Anthropic ``error.type`` used for that status.
    """
    if status in _ANTHROPIC_TYPES:
        return _ANTHROPIC_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


def error_body(protocol: Protocol, status: int, message: str | None = None) -> dict[str, Any]:
    """Build the default error body a provider returns for an HTTP status.

    Args:
        protocol: Which provider's shape to use.
        status: HTTP status code.
        message: Optional message override.

    Returns:
        The JSON body as a dict.
    """
    msg = message or _DEFAULT_MESSAGES.get(status, f"HTTP {status}")
    if protocol == "anthropic":
        return anthropic_error(anthropic_error_type(status), msg)
    if protocol == "ollama":
        return ollama_error(msg)
    default = ("invalid_request_error", None) if status < 500 else ("server_error", None)
    type_, code = _OPENAI_TYPES.get(status, default)
    return openai_error(msg, type_, None, code)


def quota_exhausted_body(protocol: Protocol = "openai") -> dict[str, Any]:
    """Body of a 429 that must NOT be retried (billing quota exhausted).

    Args:
        protocol: Which provider's shape to use.

    Returns:
        The JSON body as a dict.
    """
    if protocol == "anthropic":
        return anthropic_error(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. "
            "Please go to Plans & Billing to upgrade or purchase credits.",
        )
    if protocol == "ollama":
        return ollama_error("quota exceeded")
    return openai_error(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        None,
        "insufficient_quota",
    )


def context_length_body(
    protocol: Protocol = "openai", tokens: int = 9000, limit: int = 8192
) -> dict[str, Any]:
    """Body of a 400 for a prompt longer than the model context window.

    Args:
        protocol: Which provider's shape to use.
        tokens: Prompt size quoted in the message.
        limit: Context window quoted in the message.

    Returns:
        The JSON body as a dict.
    """
    if protocol == "anthropic":
        return anthropic_error(
            "invalid_request_error", f"prompt is too long: {tokens} tokens > {limit} maximum"
        )
    if protocol == "ollama":
        return ollama_error(f"input length ({tokens} tokens) exceeds the context length ({limit})")
    return openai_error(
        f"This model's maximum context length is {limit} tokens. However, your messages "
        f"resulted in {tokens} tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "messages",
        "context_length_exceeded",
    )


def content_filter_body(protocol: Protocol = "openai") -> dict[str, Any]:
    """Body of a 400 for a prompt rejected by the content filter.

    Args:
        protocol: Which provider's shape to use.

    Returns:
        The JSON body as a dict.
    """
    if protocol == "anthropic":
        return anthropic_error(
            "invalid_request_error", "Output blocked by content filtering policy"
        )
    if protocol == "ollama":
        return ollama_error("content blocked by safety filter")
    return openai_error(
        "The response was filtered due to the prompt triggering the content management "
        "policy. Please modify your prompt and retry.",
        "invalid_request_error",
        "prompt",
        "content_filter",
    )


def auth_error_body(protocol: Protocol) -> dict[str, Any]:
    """Body of a 401 for a missing or wrong API key.

    Args:
        protocol: Which provider's shape to use.

    Returns:
        The JSON body as a dict.
    """
    if protocol == "anthropic":
        return anthropic_error("authentication_error", "invalid x-api-key")
    if protocol == "ollama":
        return ollama_error("unauthorized")
    return openai_error(
        "Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"
    )


def stream_error_payload(protocol: Protocol, message: str = "Overloaded") -> dict[str, Any]:
    """Payload of a mid-stream error event/line.

    Args:
        protocol: Which provider's shape to use.
        message: Human readable message.

    Returns:
        The JSON payload as a dict (Anthropic ``error`` event data, OpenAI
        ``data:`` line, Ollama NDJSON line).
    """
    if protocol == "anthropic":
        return anthropic_error("overloaded_error", message)
    if protocol == "ollama":
        return ollama_error(message)
    return openai_error(message, "server_error", None, "overloaded")
