"""The in-process llama.cpp chat model: whole answers, streams, grammar-enforced JSON and tools.

Tool calls are grammar-constrained: see :mod:`inference_core.adapters.llama_cpp.tools`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from inference_core.adapters.llama_cpp.pool import (
    BUNDLED_MODEL_NAME,
    GenerationMonitor,
    LlamaLoadSpec,
    LlamaModelPool,
    LoadedModel,
    default_model_pool,
)
from inference_core.adapters.llama_cpp.tools import (
    envelope_schema,
    envelope_text,
    parse_envelope,
    with_tool_instruction,
)
from inference_core.domain.catalog import AdapterCapabilities, JSONOutput
from inference_core.domain.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    ResponseFormat,
    Usage,
)
from inference_core.domain.errors import (
    ConfigurationError,
    ContextWindowExceeded,
    InferenceError,
    InvalidMessageError,
    InvalidRequestError,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from inference_core.domain.messages import Message, TextPart, ToolCall
from inference_core.domain.tools import ToolCallDelta

__all__ = [
    "CAPABILITIES",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_N_CTX",
    "SECONDS_PER_TOKEN",
    "LlamaCppChatModel",
    "completion_options",
    "llama_messages",
]

#: What the llama.cpp adapter can send and report.
CAPABILITIES = AdapterCapabilities(
    streaming=True,
    # The schema becomes a GBNF grammar: decoding cannot leave it, even on a tiny base model.
    json_outputs=(JSONOutput.JSON_OBJECT_WITH_SCHEMA, JSONOutput.JSON_OBJECT, JSONOutput.NONE),
    images=False,
    image_urls=False,
    audio_input=False,
    reasoning_effort=False,
    seed=True,
    stop=True,
    usage_fields=("input_tokens", "output_tokens"),
    # Tool calls are held by a grammar (adapters/llama_cpp/tools.py); the JSON envelope is
    # parsed once it is complete, so each call arrives whole at the end of a stream.
    tools=True,
    parallel_tool_calls=True,
    forced_tool_choice=True,
    tool_call_streaming=False,
)

#: Context window allocated per loaded model (the KV cache grows with it; about 0.5 GB
#: resident for the bundled model at this size).
DEFAULT_N_CTX = 8192
#: Output cap when a request sets none: llama.cpp would otherwise run to the context end,
#: and a CPU generates tens of tokens per second, so a forgotten cap costs minutes.
DEFAULT_MAX_TOKENS = 256
#: Seconds a whole answer may take per output token asked for, on top of the base timeout
#: (loading and prompt evaluation): a floor of 4 tokens/s, far below what a CPU gives
#: the small models this adapter is for, so only a stuck generation reaches it.
SECONDS_PER_TOKEN = 0.25

_GEMMA = "gemma"
#: Prompt format for the bundled Gemma 3 270M. It is a BASE model: wrapped in Gemma's
#: own turn markers it mostly echoes the prompt or drifts into other languages, while
#: the plain "### Instruction / ### Response" layout gets on-topic answers (measured on
#: the bundled Q4_K_M file, temperature 0 and 0.7). llama-cpp-python's own "alpaca"
#: format ends the prompt after the instruction, so the model first writes the
#: "### Response:" header itself (and it leaked into answers); ours ends with that
#: header, and earlier turns make few-shot examples. Registered by ``_engine``.
BUNDLED_CHAT_FORMAT = "inference-core-instruct"
#: The instruct layout has no end-of-turn token the base model learned: stop where it
#: starts a new section or emits image placeholders instead of running on.
BUNDLED_STOP = ("\n###", "<start_of_image>")
_END = object()  # worker -> event loop: the generation is over


def _plain_text(message: Message, index: int) -> str:
    if isinstance(message.content, str):
        return message.content
    for part in message.content:
        if not isinstance(part, TextPart):
            raise InvalidMessageError(
                f"the local llama.cpp model takes text only, not {part.type} parts",
                index=index,
                field="content",
            )
    return message.text


def llama_messages(messages: Iterable[Message], *, fold_system: bool) -> list[dict[str, Any]]:
    """Convert messages to llama-cpp-python chat messages (plain text content).

    Args:
        messages: The conversation.
        fold_system: Prepend system/developer text to the first user turn instead of
            sending a system message. Gemma has no system role and llama-cpp-python's
            ``gemma`` format drops system messages; Gemma's own template folds them
            like this.

    Raises:
        InvalidMessageError: A message holds an image or audio part.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        text = _plain_text(message, index)
        role = message.role
        if role in ("system", "developer"):
            if fold_system:
                system.append(text)
                continue
            role = "system"  # chat templates know "system", rarely "developer"
        elif role == "tool":
            # Chat templates disagree on a tool role (the instruct layout has none): the
            # result is shown to the model as input, naming the call it answers.
            role = "user"
            tool = f" {message.name}" if message.name else ""
            text = f"Result of tool{tool} (call {message.tool_call_id}):\n{text}"
        elif message.tool_calls:
            # Past calls in the shape the grammar holds new ones to.
            calls = envelope_text(message.tool_calls)
            text = f"{text}\n{calls}" if text else calls
        out.append({"role": role, "content": text})
    if system:
        preamble = "\n\n".join(system)
        first_user = next((m for m in out if m["role"] == "user"), None)
        if first_user is None:
            out.insert(0, {"role": "user", "content": preamble})
        else:
            first_user["content"] = f"{preamble}\n\n{first_user['content']}"
    return out


def _format_options(fmt: ResponseFormat | None) -> dict[str, Any]:
    # JSON mode, with the schema when given: llama.cpp turns it into a decoding grammar.
    # "json_schema" (provider-native structured output) is not a strategy this adapter
    # declares, so it sends nothing for it: the caller falls back to prompting.
    if fmt is None or fmt.type != "json_object":
        return {}
    if fmt.schema_ is not None:
        return {"response_format": {"type": "json_object", "schema": fmt.schema_}}
    return {"response_format": {"type": "json_object"}}


def completion_options(
    request: ChatRequest, *, default_max_tokens: int, extra_stop: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Keyword arguments for ``create_chat_completion`` (an OpenAI-shaped request body).

    A request offering tools gets the tool envelope's schema as its grammar
    (it takes the place of any ``response_format``).
    """
    p = request.params
    options: dict[str, Any] = {"max_tokens": p.max_tokens or default_max_tokens}
    if p.temperature is not None:
        options["temperature"] = p.temperature
    if p.top_p is not None:
        options["top_p"] = p.top_p
    if p.seed is not None:
        options["seed"] = p.seed
    stop = [*p.stop, *(s for s in extra_stop if s not in p.stop)]
    if stop:
        options["stop"] = stop
    if request.offers_tools:
        options["response_format"] = {"type": "json_object", "schema": envelope_schema(request)}
    else:
        options.update(_format_options(request.response_format))
    return options


def _is_path(model: str) -> bool:
    return "/" in model or "\\" in model or model.startswith("~") or model.endswith(".gguf")


def _settle(future: asyncio.Future[Any]) -> None:
    """Mark a worker's outcome as seen so an abandoned failure is not reported as unhandled."""

    def _consume(done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()

    if future.done():
        _consume(future)
    else:
        future.add_done_callback(_consume)


class LlamaCppChatModel:
    """A :class:`~inference_core.ports.ChatModel` running GGUF models in this process.

    Model ids (what routing leaves after the ``local/`` prefix):

    * ``gemma-3-270m``: the bundled Gemma 3 270M (Q4_K_M), a small *base* model
      run with the ``gemma`` chat format;
    * a path to a ``.gguf`` file (absolute, ``~/...`` or relative to the working
      directory), e.g. ``local//models/qwen.gguf`` or a ``models:`` entry with
      ``provider: local`` and ``wire_id: /models/qwen.gguf``. Such models use
      ``chat_format`` when given, else the chat template stored in the file.

    Each call runs in a worker thread holding its model's lock (a ``Llama`` is
    not thread-safe); models are loaded once per process by the shared
    :class:`~.pool.LlamaModelPool`. A call that times out, is cancelled, or
    whose stream is closed stops generating at the next token.

    Args:
        pool: Where models are loaded and cached (default: the process-wide pool).
        provider: Provider name reported in errors.
        n_ctx: Context window allocated per model; longer prompts raise
            :class:`~inference_core.domain.errors.ContextWindowExceeded`.
        n_threads: CPU threads per generation (``None``: llama.cpp's choice).
        n_batch: Prompt tokens evaluated per batch.
        chat_format: llama-cpp-python chat format for GGUF files given by path or
            by ``model_files``; ``None`` uses each file's own chat template.
        model_files: Extra model ids mapped to GGUF files (for applications that
            name their local models in code).
        default_max_tokens: Output cap for requests that set no ``max_tokens``.
        timeout: When the request sets no ``timeout``: the seconds a stream may
            wait between two chunks, and the base of a whole answer's limit,
            which adds :data:`SECONDS_PER_TOKEN` per output token asked for.

    A generation that times out is not retried (``retryable=False``): it would
    take as long again. Only a call that timed out before the model started on
    it (loading, or waiting for another call to finish) is retryable.
    """

    def __init__(
        self,
        *,
        pool: LlamaModelPool | None = None,
        provider: str = "local",
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        n_batch: int = 512,
        chat_format: str | None = None,
        model_files: Mapping[str, str | os.PathLike[str]] | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout: float = 120.0,
    ) -> None:
        self._pool = pool if pool is not None else default_model_pool()
        self._provider = provider
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._n_batch = n_batch
        self._chat_format = chat_format
        self._model_files = {name: Path(path) for name, path in (model_files or {}).items()}
        self._default_max_tokens = default_max_tokens
        self._timeout = timeout
        self._capabilities = CAPABILITIES.model_copy(update={"max_context_tokens": n_ctx})

    def __repr__(self) -> str:
        return f"LlamaCppChatModel(provider={self._provider!r}, n_ctx={self._n_ctx})"

    @property
    def capabilities(self) -> AdapterCapabilities:
        """:data:`CAPABILITIES`, holding at most ``n_ctx`` tokens per call."""
        return self._capabilities

    # --- model selection (worker thread) --------------------------------------------------

    def _stop_for(self, model: str) -> tuple[str, ...]:
        bundled = model == BUNDLED_MODEL_NAME and model not in self._model_files
        return BUNDLED_STOP if bundled else ()

    def _folds_system(self, model: str) -> bool:
        if model == BUNDLED_MODEL_NAME and model not in self._model_files:
            return BUNDLED_CHAT_FORMAT == _GEMMA
        return self._chat_format == _GEMMA

    def _spec(self, model: str) -> LlamaLoadSpec:
        chat_format: str | None
        if model in self._model_files:
            path, chat_format = self._model_files[model].expanduser().resolve(), self._chat_format
        elif model == BUNDLED_MODEL_NAME:
            path, chat_format = self._pool.bundled_model_path(), BUNDLED_CHAT_FORMAT
        elif _is_path(model):
            path, chat_format = Path(model).expanduser().resolve(), self._chat_format
        else:
            raise ConfigurationError(
                f"unknown local model {model!r}: use {BUNDLED_MODEL_NAME!r} (bundled) or the "
                "path of a .gguf file, e.g. model 'local//models/my-model.gguf' or a models: "
                "entry with provider: local and wire_id: /models/my-model.gguf"
            )
        return LlamaLoadSpec(
            path=path,
            chat_format=chat_format,
            n_ctx=self._n_ctx,
            n_threads=self._n_threads,
            n_batch=self._n_batch,
        )

    def _acquire(self, model: str) -> LoadedModel:
        return self._pool.get(self._spec(model))

    # --- error mapping ----------------------------------------------------------------------

    def _error(self, exc: Exception, model: str) -> InferenceError:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, ValueError) and "context window" in text:
            return ContextWindowExceeded(text, provider=self._provider, model=model)
        if isinstance(exc, ValueError):
            return InvalidRequestError(text, provider=self._provider, model=model)
        if isinstance(exc, RuntimeError | MemoryError):
            # llama_decode failures (no KV slot, out of memory): the runtime, not the request.
            return ProviderUnavailable(text, provider=self._provider, model=model)
        return InvalidResponse(
            f"llama.cpp failed: {type(exc).__name__}: {text}", provider=self._provider, model=model
        )

    def _guarded(self, model: str, work: Callable[[], Any]) -> Any:
        """Run ``work`` translating llama-cpp-python exceptions into domain errors."""
        try:
            return work()
        except InferenceError as exc:
            if isinstance(exc, ProviderError) and exc.provider is None:
                exc.provider, exc.model = self._provider, exc.model or model
            raise
        except Exception as exc:
            raise self._error(exc, model) from exc

    def _timeout_error(
        self, model: str, limit: float, monitor: GenerationMonitor
    ) -> ProviderTimeout:
        if monitor.started:
            # The same generation would take as long again: not a transient fault.
            return ProviderTimeout(
                f"local generation took longer than {limit:g}s (a smaller max_tokens, or a "
                "larger timeout, fits it)",
                provider=self._provider,
                model=model,
                retryable=False,
            )
        # It never started (loading, or waiting while another call held the model).
        return ProviderTimeout(
            f"the local model did not start this call within {limit:g}s (busy or loading)",
            provider=self._provider,
            model=model,
        )

    def _answer_limit(self, request: ChatRequest, options: Mapping[str, Any]) -> float:
        if request.timeout is not None:
            return request.timeout
        return self._timeout + SECONDS_PER_TOKEN * int(options["max_tokens"])

    # --- complete ---------------------------------------------------------------------------

    def _complete_sync(
        self,
        model: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        monitor: GenerationMonitor,
    ) -> Any:
        def work() -> Any:
            loaded = self._acquire(model)
            with loaded.lock:
                if monitor.is_cancelled():  # the caller gave up while we waited for the lock
                    return None
                monitor.start()
                return loaded.engine.chat(messages, options, stream=False, monitor=monitor)

        return self._guarded(model, work)

    def _response(self, raw: Any, model: str) -> ChatResponse:
        try:
            choice = raw["choices"][0]
            text = choice["message"].get("content") or ""
            usage = raw.get("usage") or {}
            return ChatResponse(
                text=text,
                model=model,
                finish_reason=FinishReason.from_openai(choice.get("finish_reason")),
                usage=Usage(
                    input_tokens=usage.get("prompt_tokens"),
                    output_tokens=usage.get("completion_tokens"),
                ),
                response_id=raw.get("id"),
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidResponse(
                "llama.cpp returned a malformed completion", provider=self._provider, model=model
            ) from exc

    def _messages(self, request: ChatRequest) -> list[dict[str, Any]]:
        conversation = with_tool_instruction(request) if request.offers_tools else request.messages
        return llama_messages(conversation, fold_system=self._folds_system(request.model))

    def _tool_answer(
        self, text: str, finish: FinishReason, request: ChatRequest
    ) -> tuple[str, tuple[ToolCall, ...], FinishReason]:
        """The envelope a tool-offering request was held to, as (text, calls, finish reason)."""
        try:
            answer, calls = parse_envelope(text)
        except ValueError as exc:
            if finish is FinishReason.LENGTH:
                cap = request.params.max_tokens or self._default_max_tokens
                raise InvalidResponse(
                    f"the tool call was cut at max_tokens={cap} before it closed: raise max_tokens",
                    provider=self._provider,
                    model=request.model,
                ) from exc
            raise InvalidResponse(
                f"llama.cpp's tool answer is not the envelope it was held to: {exc}",
                provider=self._provider,
                model=request.model,
            ) from exc
        return answer, calls, (FinishReason.TOOL_CALLS if calls else finish)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Generate the whole answer in a worker thread."""
        model = request.model
        messages = self._messages(request)
        options = completion_options(
            request,
            default_max_tokens=self._default_max_tokens,
            extra_stop=self._stop_for(model),
        )
        monitor = GenerationMonitor()
        limit = self._answer_limit(request, options)
        try:
            async with asyncio.timeout(limit):
                raw = await asyncio.to_thread(
                    self._complete_sync, model, messages, options, monitor
                )
        except TimeoutError as exc:
            raise self._timeout_error(model, limit, monitor) from exc
        finally:
            monitor.cancel()  # stops a generation nobody waits for any more; no-op once done
        response = self._response(raw, model)
        if not request.offers_tools:
            return response
        text, calls, finish = self._tool_answer(response.text, response.finish_reason, request)
        return response.model_copy(
            update={"text": text, "tool_calls": calls, "finish_reason": finish}
        )

    # --- stream -----------------------------------------------------------------------------

    def _stream_sync(
        self,
        model: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        monitor: GenerationMonitor,
        emit: Callable[[Any], None],
    ) -> None:
        def work() -> None:
            loaded = self._acquire(model)
            with loaded.lock:
                if monitor.is_cancelled():
                    return
                monitor.start()
                chunks = loaded.engine.chat(messages, options, stream=True, monitor=monitor)
                try:
                    for chunk in chunks:
                        emit(chunk)
                        if monitor.is_cancelled():
                            break
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()  # ends llama's generator while we still hold the lock

        try:
            self._guarded(model, work)
        finally:
            emit(_END)

    def _delta(self, raw: Any, model: str) -> tuple[str, FinishReason | None]:
        try:
            choice = raw["choices"][0]
            delta = choice.get("delta") or {}
            text = delta.get("content") or ""
            reason = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise InvalidResponse(
                "llama.cpp streamed a malformed chunk", provider=self._provider, model=model
            ) from exc
        return text, (None if reason is None else FinishReason.from_openai(reason))

    @staticmethod
    def _stream_usage(monitor: GenerationMonitor, finish: FinishReason) -> Usage:
        sampled = monitor.sampled_tokens
        if sampled is None:
            return Usage(input_tokens=monitor.prompt_tokens)
        # A natural stop samples one end-of-turn token that llama.cpp does not count as output.
        output = sampled - 1 if finish is FinishReason.STOP else sampled
        return Usage(input_tokens=monitor.prompt_tokens, output_tokens=max(output, 0))

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
        """Stream the answer as llama.cpp produces it; the last chunk carries usage.

        With tools the answer is the grammar's JSON envelope: it is held back
        and, once complete, yields its text or one piece per tool call.
        """
        model = request.model
        messages = self._messages(request)
        held: list[str] | None = [] if request.offers_tools else None
        options = completion_options(
            request,
            default_max_tokens=self._default_max_tokens,
            extra_stop=self._stop_for(model),
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        monitor = GenerationMonitor()

        def emit(item: Any) -> None:  # called from the worker thread
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                monitor.cancel()

        worker = loop.run_in_executor(
            None, self._stream_sync, model, messages, options, monitor, emit
        )
        limit = request.timeout or self._timeout
        finish: FinishReason | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(limit):
                        item = await queue.get()
                except TimeoutError as exc:
                    raise self._timeout_error(model, limit, monitor) from exc
                if item is _END:
                    break
                text, reason = self._delta(item, model)
                finish = reason or finish
                if text and held is not None:
                    held.append(text)
                elif text:
                    yield ChatChunk(text=text)
            await worker  # re-raises the generation's error, if any
            if finish is None:
                raise InvalidResponse(
                    "llama.cpp stream ended without a finish reason",
                    provider=self._provider,
                    model=model,
                    retryable=True,  # a cut stream, as over HTTP: another attempt may finish
                )
            usage = self._stream_usage(monitor, finish)
            calls: tuple[ToolCall, ...] = ()
            if held is not None:
                answer, calls, finish = self._tool_answer("".join(held), finish, request)
                if answer:
                    yield ChatChunk(text=answer)
                if calls:
                    yield ChatChunk(
                        tool_call_deltas=tuple(
                            ToolCallDelta(index=i, id=c.id, name=c.name, arguments=c.arguments)
                            for i, c in enumerate(calls)
                        )
                    )
            yield ChatChunk(finish_reason=finish, usage=usage, tool_calls=calls)
        finally:
            # Runs on completion, error, timeout and aclose()/break alike.
            monitor.cancel()
            _settle(worker)

    async def aclose(self) -> None:
        """Nothing to release: loaded models belong to the pool, shared by other adapters."""
