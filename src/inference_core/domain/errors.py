"""The one error tree of inference-core.

Every error the library raises on purpose derives from :class:`InferenceError`.
Adapters translate vendor exceptions into the most specific class below at
their edge (``raise ... from exc``); retry and fallback policies look only at
these types and at :attr:`ProviderError.retryable`.

::

    InferenceError
    ├── ConfigurationError                 bad/missing config, unknown model route
    │   └── MissingAPIKeyError             provider used with no key configured
    ├── InvalidInputError (ValueError)     caller passed something malformed
    │   ├── InvalidParameterError          a call parameter out of bounds (temperature=5)
    │   ├── InvalidSchemaError             an output JSON Schema is itself invalid
    │   ├── InvalidMessageError            a message / content part is malformed
    │   ├── InvalidImageError              not an image, truncated, too large...
    │   ├── TemplateError                  prompt template missing a variable
    │   ├── InvalidToolError               a tool definition or tool_choice is malformed
    │   └── FeatureNotSupported            the request needs what the model/client path lacks
    ├── ProviderError                      a provider call failed
    │   ├── AuthenticationError            401/403                     (final)
    │   ├── RateLimitError                 429, slow down              (retryable)
    │   ├── QuotaExceededError             429, quota/billing exhausted (final)
    │   ├── ProviderTimeout                408, connect/read timeout   (retryable)
    │   │   └── DeadlineExceeded           the caller's overall deadline passed (final)
    │   │       └── JobDeadlineExceeded    a queued job's deadline passed (carries its request id)
    │   ├── ProviderUnavailable            409/5xx/529, connection error (retryable)
    │   │   └── ProviderUnreachable        no connection made: nothing was sent (retryable)
    │   ├── InvalidRequestError            400/422                     (final)
    │   │   └── ContextWindowExceeded      prompt + output exceed the window
    │   ├── ModelNotFoundError             404 / unknown model         (final)
    │   ├── ContentFiltered                refused by a content policy (final)
    │   └── InvalidResponse                malformed body, stream cut before its end
    │       └── StreamInterrupted          failed after text was already delivered
    ├── OutputValidationError              model output never became valid JSON/schema
    ├── ToolCallError                      a tool call the model asked for could not be served
    │   ├── ToolArgumentsError             its arguments do not parse or validate (raw text kept)
    │   ├── ToolExecutionError             the caller's tool function raised
    │   └── ToolTimeout                    the caller's tool function ran past its timeout
    ├── ToolLoopExceeded                   the tool loop hit max_rounds (transcript kept)
    ├── GeneratorNotFound (KeyError)       unknown media generator id
    ├── GeneratorUnavailable               a registered generator failed to load/construct
    ├── InvalidGeneratorInput (ValueError) input rejected by a generator's schema
    ├── MediaGenerationError               a media job failed or was cancelled
    │   ├── JobFailed                      the provider reports the queued job failed or lost
    │   └── DownloadRefused                a result URL is not safe to fetch (scheme, address)
    ├── JobJournalError                    the job journal cannot be read or written
    ├── AssetStoreError                    a media file could not be stored safely
    │   ├── MediaTooLarge                  a file grew past its size cap
    │   └── UnexpectedMediaType            the bytes are not the promised kind
    ├── EvaluatorError                     a descriptor's evaluator raised (never a pass)
    └── AllFallbacksFailed (ExceptionGroup) every model in a fallback chain failed

No message or ``repr`` of these errors ever contains an API key: adapters build
messages from status codes and provider error text, never from request headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from inference_core.domain.chat import Usage
    from inference_core.domain.messages import Message, ToolCall

__all__ = [
    "AllFallbacksFailed",
    "AssetStoreError",
    "AuthenticationError",
    "ConfigurationError",
    "ContentFiltered",
    "ContextWindowExceeded",
    "DeadlineExceeded",
    "DownloadRefused",
    "EvaluatorError",
    "FeatureNotSupported",
    "GeneratorNotFound",
    "GeneratorUnavailable",
    "InferenceError",
    "InvalidGeneratorInput",
    "InvalidImageError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidParameterError",
    "InvalidRequestError",
    "InvalidResponse",
    "InvalidSchemaError",
    "InvalidToolError",
    "JobDeadlineExceeded",
    "JobFailed",
    "JobJournalError",
    "MediaGenerationError",
    "MediaTooLarge",
    "MissingAPIKeyError",
    "ModelNotFoundError",
    "OutputValidationError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "ProviderUnreachable",
    "QuotaExceededError",
    "RateLimitError",
    "StreamInterrupted",
    "TemplateError",
    "ToolArgumentsError",
    "ToolCallError",
    "ToolExecutionError",
    "ToolLoopExceeded",
    "ToolTimeout",
    "UnexpectedMediaType",
]


class InferenceError(Exception):
    """Root of every error raised on purpose by inference-core."""


class ConfigurationError(InferenceError):
    """The configuration is invalid, or a model cannot be routed.

    Messages name the file, the key path and the problem where one applies.
    """


class MissingAPIKeyError(ConfigurationError):
    """A provider was used but no API key is configured for it.

    Attributes:
        provider: The provider that needed a key.
        env_var: The environment variable that would have supplied it.
        config_key: The config key that referenced that variable, if any.
    """

    def __init__(self, provider: str, env_var: str | None, config_key: str | None = None) -> None:
        self.provider = provider
        self.env_var = env_var
        self.config_key = config_key
        where = f"set {env_var}" if env_var else "configure an API key"
        if config_key:
            where += f" (referenced by {config_key})"
        super().__init__(f"no API key for provider {provider!r}: {where}")


class InvalidInputError(InferenceError, ValueError):
    """The caller passed a malformed value; the message names what and where."""


class InvalidParameterError(InvalidInputError):
    """A call parameter (``temperature``, ``max_tokens``...) is out of bounds or mistyped.

    Attributes:
        param: The first offending parameter's name.
    """

    def __init__(self, message: str, *, param: str | None = None) -> None:
        self.param = param
        super().__init__(message)

    @classmethod
    def from_validation(cls, error: Any) -> InvalidParameterError:
        """One readable error from a pydantic ``ValidationError`` over call parameters."""
        problems: list[str] = []
        first: str | None = None
        for item in error.errors(include_url=False):
            name = ".".join(str(part) for part in item.get("loc", ())) or "params"
            first = first or name
            shown = repr(item.get("input"))
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            problems.append(f"{name}={shown}: {item.get('msg', 'invalid')}")
        return cls("invalid parameter " + "; ".join(problems), param=first)


class InvalidSchemaError(InvalidInputError):
    """A JSON Schema given for output (or a tool) is not a valid schema; nothing was sent."""


class InvalidMessageError(InvalidInputError):
    """A chat message or content part is malformed.

    Attributes:
        index: Position of the offending message in the list, when known.
        field: The offending field, when known.
    """

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None) -> None:
        self.index = index
        self.field = field
        where = []
        if index is not None:
            where.append(f"messages[{index}]")
        if field:
            where.append(field)
        prefix = ".".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InvalidImageError(InvalidInputError):
    """An image could not be read, decoded or accepted (size, format, truncation)."""


class TemplateError(InvalidInputError):
    """A prompt template could not be rendered (e.g. a variable is missing)."""


class InvalidToolError(InvalidInputError):
    """A tool definition, ``tool_choice`` or tool-loop setting is malformed; nothing was sent."""


class FeatureNotSupported(InvalidInputError):
    """The request needs a feature the model or its client path does not declare; nothing was sent.

    Attributes:
        feature: What was needed (``tools``, ``forced tool_choice``, ...).
        model: The model asked for.
        side: ``model`` (its catalog entry lacks it) or ``client path`` (the adapter does).
    """

    def __init__(self, message: str, *, feature: str, model: str, side: str) -> None:
        self.feature = feature
        self.model = model
        self.side = side
        super().__init__(message)


class ProviderError(InferenceError):
    """A call to a model provider failed.

    Attributes:
        provider: Provider name (``openai``, ``anthropic``...), when known.
        model: Model id that was called, when known.
        status: HTTP status code, when the failure came with one.
        retryable: Whether repeating the same request may succeed. Each subclass
            has a default; a server's ``x-should-retry`` header overrides it.
        retry_after: Seconds the provider asked us to wait, when it said.
        attempts: Attempts the logical call had made when this error ended it
            (set by the use-case; ``None`` for an error raised by an adapter alone).
        elapsed_s: Seconds the logical call had run when this error ended it.
    """

    default_retryable = False
    attempts: int | None = None
    elapsed_s: float | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        origin = "/".join(p for p in (self.provider, self.model) if p)
        status = f"HTTP {self.status}" if self.status is not None else ""
        head = " ".join(p for p in (origin, status) if p)
        text = f"[{head}] {self.message}" if head else self.message
        if self.attempts is not None and self.elapsed_s is not None:
            plural = "" if self.attempts == 1 else "s"
            text += f" (call: {self.attempts} attempt{plural}, {self.elapsed_s:.1f}s in all)"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors need help to survive pickling (multiprocessing).
        return (_rebuild_provider_error, (type(self), self.message, self.__dict__))


def _rebuild_provider_error(
    cls: type[ProviderError], message: str, state: dict[str, Any]
) -> ProviderError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class AuthenticationError(ProviderError):
    """The provider rejected the credentials (HTTP 401/403)."""


class RateLimitError(ProviderError):
    """The provider asked us to slow down (HTTP 429); ``retry_after`` when it said."""

    default_retryable = True


class QuotaExceededError(ProviderError):
    """The account's quota or credit is exhausted (a 429 that waiting will not fix)."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time (connect/read timeout, HTTP 408)."""

    default_retryable = True


class DeadlineExceeded(ProviderTimeout):
    """The caller's overall deadline passed; nothing more will be attempted."""

    default_retryable = False


class JobDeadlineExceeded(DeadlineExceeded):
    """A queued job was still unfinished when its deadline passed.

    Attributes:
        request_id: The provider's id of the job.
        job_id: The job journal's id of it (``inference-core jobs ...``).
        cancelled: Whether the provider accepted the cancellation; when it did
            not, the job stays recorded and the next identical call collects it.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None,
        job_id: str | None = None,
        cancelled: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.request_id = request_id
        self.job_id = job_id
        self.cancelled = cancelled


class ProviderUnavailable(ProviderError):
    """The provider is down, overloaded or unreachable (5xx, 529, 409, connection error)."""

    default_retryable = True


class ProviderUnreachable(ProviderUnavailable):
    """No connection could be made (refused, DNS, TLS handshake): the request was never sent.

    The one connection failure that proves a paid job did not run, so media
    generation retries it; a connection lost after the request was sent is a
    plain :class:`ProviderUnavailable` (the job may have run).
    """


class InvalidRequestError(ProviderError):
    """The provider rejected the request as malformed (HTTP 400/422)."""


class ContextWindowExceeded(InvalidRequestError):
    """The prompt plus the requested output do not fit the model's context window.

    Attributes:
        prompt_tokens: The prompt's (estimated) tokens, when the library counted them.
        output_tokens: Output tokens the request reserved, when known.
        context_window: The window the request had to fit, when known.
    """

    prompt_tokens: int | None = None
    output_tokens: int | None = None
    context_window: int | None = None

    def __init__(
        self,
        message: str,
        *,
        prompt_tokens: int | None = None,
        output_tokens: int | None = None,
        context_window: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.prompt_tokens = prompt_tokens
        self.output_tokens = output_tokens
        self.context_window = context_window


class ModelNotFoundError(ProviderError):
    """The provider does not know the model (HTTP 404 or equivalent)."""


class ContentFiltered(ProviderError):
    """The provider refused the request or the output under a content policy."""


class InvalidResponse(ProviderError):
    """The provider's answer was malformed or ended before its terminator."""


class StreamInterrupted(InvalidResponse):
    """A stream failed after some text had already been delivered to the caller.

    It is never retried automatically (a retry would duplicate text the caller
    has already consumed). ``partial_text`` holds what was received; the
    underlying failure is chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        partial_text: str,
        partial_tool_calls: Sequence[ToolCall] = (),
        **kwargs: Any,
    ) -> None:
        kwargs["retryable"] = False
        super().__init__(message, **kwargs)
        self.partial_text = partial_text
        #: Tool calls as far as they arrived: a cut one has its arguments truncated.
        self.partial_tool_calls = tuple(partial_tool_calls)


class OutputValidationError(InferenceError):
    """The model's output could not be parsed or validated, even after re-asking.

    Attributes:
        raw_text: The last raw text the model produced.
        errors: One human-readable error per failed attempt, oldest first.
        usage: Usage summed over every attempt (tokens are spent even on failures).
    """

    def __init__(self, message: str, *, raw_text: str, errors: Sequence[str], usage: Usage) -> None:
        self.raw_text = raw_text
        self.errors = tuple(errors)
        self.usage = usage
        super().__init__(message)


class ToolCallError(InferenceError):
    """A tool call the model asked for could not be served.

    Attributes:
        call: The call as the model sent it (``arguments`` is its raw text).
    """

    def __init__(self, message: str, *, call: ToolCall) -> None:
        self.call = call
        super().__init__(message)

    @property
    def tool_name(self) -> str:
        """The name of the tool the model called."""
        return self.call.name

    @property
    def raw_arguments(self) -> str:
        """The arguments exactly as the model wrote them."""
        return self.call.arguments


class ToolArgumentsError(ToolCallError):
    """A tool call's arguments are not JSON, do not fit the tool's schema, or name no tool.

    Attributes:
        errors: What was wrong, one line each (``$.city: expected string, got integer``).
        usage: Usage of the call so far, when a use-case raised it.
    """

    def __init__(
        self,
        message: str,
        *,
        call: ToolCall,
        errors: Sequence[str],
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, call=call)
        self.errors = tuple(errors)
        self.usage = usage


class ToolExecutionError(ToolCallError):
    """The caller's tool function raised; the exception is chained as ``__cause__``."""


class ToolTimeout(ToolCallError):
    """The caller's tool function did not finish within the tool loop's per-call timeout.

    Attributes:
        timeout: The limit in seconds.
    """

    def __init__(self, message: str, *, call: ToolCall, timeout: float) -> None:
        super().__init__(message, call=call)
        self.timeout = timeout


class ToolLoopExceeded(InferenceError):
    """The tool loop ran ``max_rounds`` rounds and the model still asked for tools.

    Attributes:
        transcript: The whole conversation: input, every tool-calling answer and
            every tool result, and last the answer whose calls were not run.
        rounds: Tool rounds executed.
        usage: Usage summed over every model call of the loop.
    """

    def __init__(
        self, message: str, *, transcript: Sequence[Message], rounds: int, usage: Usage
    ) -> None:
        self.transcript = tuple(transcript)
        self.rounds = rounds
        self.usage = usage
        super().__init__(message)


class GeneratorNotFound(InferenceError, KeyError):
    """No media generator is registered under the requested id."""

    def __init__(self, generator_id: str, available: Sequence[str] = ()) -> None:
        self.generator_id = generator_id
        self.available = tuple(available)
        listing = ", ".join(sorted(self.available)) or "none registered"
        super().__init__(f"unknown generator {generator_id!r} (available: {listing})")

    def __str__(self) -> str:
        # KeyError would wrap the message in quotes.
        return str(self.args[0])


class InvalidGeneratorInput(InferenceError, ValueError):
    """A generation request does not satisfy the generator's published input schema."""

    def __init__(self, generator_id: str, problems: Sequence[str]) -> None:
        self.generator_id = generator_id
        self.problems = tuple(problems)
        super().__init__(f"invalid input for generator {generator_id!r}: " + "; ".join(problems))


class GeneratorUnavailable(InferenceError):
    """A registered generator cannot be used: it failed to import or to construct.

    Attributes:
        generator_id: The generator asked for.
        reason: Why it is unusable (an import error, a missing key...), secrets scrubbed.
    """

    def __init__(self, generator_id: str, reason: str) -> None:
        self.generator_id = generator_id
        self.reason = reason
        super().__init__(f"generator {generator_id!r} is unavailable: {reason}")


class MediaGenerationError(InferenceError):
    """A media generation job failed, timed out or was cancelled."""


class JobFailed(MediaGenerationError):
    """The provider reports that a queued job failed, or no longer knows it.

    Never retried automatically: the provider ran (and may have billed) it.

    Attributes:
        provider: The queue's provider.
        model: The model endpoint the job ran on.
        request_id: The provider's id of the job.
        job_id: The job journal's id of it.
        detail: The provider's reason (log-safe).
    """

    def __init__(
        self,
        detail: str,
        *,
        provider: str,
        model: str,
        request_id: str | None,
        job_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.request_id = request_id
        self.job_id = job_id
        self.detail = detail
        super().__init__(f"[{provider}/{model}] job {request_id or '?'} failed: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_plain, (type(self), self.args, self.__dict__))


class DownloadRefused(MediaGenerationError):
    """A result URL was not fetched because it is not safe to (a third party wrote it).

    Attributes:
        host: The URL's host (the rest of the URL may carry a signed token).
        reason: Why: not http(s), a loopback/private/link-local address, too
            many redirects...
    """

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"refusing to download from {host or 'a URL'}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_plain, (type(self), self.args, self.__dict__))


class JobJournalError(InferenceError):
    """The job journal could not be opened, read or written (the message names the file)."""


def _rebuild_plain(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class AssetStoreError(InferenceError):
    """A media file could not be stored (unsafe name, escaping the root, I/O failure)."""


class MediaTooLarge(AssetStoreError):
    """A file grew past the size cap while it was written; nothing was kept.

    Attributes:
        limit_bytes: The cap that was exceeded.
    """

    def __init__(self, name: str, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(f"{name!r} is larger than the {limit_bytes}-byte limit; nothing was kept")


class UnexpectedMediaType(AssetStoreError):
    """A file's bytes are not what was promised (an HTML page instead of a PNG, say).

    Attributes:
        expected: The kind or mime type that was promised.
        found: What the bytes turned out to be (``None`` when unrecognised).
    """

    def __init__(
        self, name: str, expected: str, found: str | None, *, discarded: bool = True
    ) -> None:
        self.expected = expected
        self.found = found
        what = found or "unrecognised bytes"
        tail = "; nothing was kept" if discarded else ""
        super().__init__(f"{name!r} should be {expected} but is {what}{tail}")


class EvaluatorError(InferenceError):
    """An evaluator raised instead of judging: the run fails (it never counts as a pass).

    Attributes:
        agent_id: The descriptor being judged.
        stage: ``structure``, ``creative`` or ``assets``.
    """

    def __init__(self, agent_id: str, stage: str, cause: BaseException) -> None:
        super().__init__(
            f"{agent_id}: the evaluator's {stage} stage raised {type(cause).__name__}: {cause}"
        )
        self.agent_id = agent_id
        self.stage = stage


class AllFallbacksFailed(ExceptionGroup[Exception], InferenceError):
    """Every model in a fallback chain failed; ``exceptions`` holds each failure in order."""

    def __new__(cls, message: str, exceptions: Sequence[Exception]) -> Self:
        """Group ``exceptions`` (one per model tried, in order) under ``message``."""
        return super().__new__(cls, message, exceptions)
