"""The only module that imports llama-cpp-python; loaded when a model is first needed."""

from __future__ import annotations

import json
from typing import Any

from llama_cpp import Llama
from llama_cpp.llama import StoppingCriteriaList
from llama_cpp.llama_chat_format import ChatFormatterResponse, register_chat_format
from llama_cpp.llama_grammar import json_schema_to_gbnf

from inference_core.adapters.llama_cpp.chat import BUNDLED_CHAT_FORMAT, BUNDLED_STOP
from inference_core.adapters.llama_cpp.pool import GenerationMonitor, LlamaLoadSpec
from inference_core.domain.errors import ConfigurationError, InvalidRequestError

__all__ = ["LlamaEngine"]


def _format_instruct(messages: list[dict[str, Any]], **_: Any) -> ChatFormatterResponse:
    """System text, then ``### Instruction:`` / ``### Response:`` turns, ending on a header.

    Earlier user/assistant turns read as worked examples, which is how a base
    model is best told what to write (few-shot).
    """
    parts: list[str] = []
    for message in messages:
        content = message.get("content") or ""
        if message["role"] == "user":
            parts.append(f"### Instruction:\n{content}\n\n### Response:\n")
        else:  # system text heads the prompt; an assistant turn answers the one before
            parts.append(f"{content}\n\n")
    if not messages or messages[-1]["role"] != "user":
        parts.append("### Response:\n")
    return ChatFormatterResponse(prompt="".join(parts), stop=list(BUNDLED_STOP))


register_chat_format(BUNDLED_CHAT_FORMAT)(_format_instruct)


class _MonitoredLlama(Llama):
    """A ``Llama`` whose completions also consult the current call's monitor.

    ``create_chat_completion`` accepts no stopping criteria, but every chat
    handler ends in ``create_completion``, which does: adding the monitor there
    gives cancellation and token counts whatever the chat format.
    """

    monitor: GenerationMonitor | None = None

    def create_completion(self, *args: Any, **kwargs: Any) -> Any:
        monitor = self.monitor
        if monitor is not None:
            criteria = StoppingCriteriaList(kwargs.get("stopping_criteria") or [])
            criteria.append(monitor)
            kwargs["stopping_criteria"] = criteria
        return super().create_completion(*args, **kwargs)


class LlamaEngine:
    """One GGUF model loaded by llama-cpp-python (see :class:`~.pool.Engine`)."""

    def __init__(self, spec: LlamaLoadSpec) -> None:
        self.spec = spec
        try:
            self._llama = _MonitoredLlama(
                model_path=str(spec.path),
                n_ctx=spec.n_ctx,
                n_threads=spec.n_threads,
                n_batch=min(spec.n_batch, spec.n_ctx),
                chat_format=spec.chat_format,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(f"cannot load GGUF model {spec.path}: {exc}") from exc

    def chat(
        self,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        *,
        stream: bool,
        monitor: GenerationMonitor,
    ) -> Any:
        """Run one chat completion with ``monitor`` attached (caller holds the model lock)."""
        response_format = options.get("response_format") or {}
        if "schema" in response_format:
            _check_schema(response_format["schema"])
        self._llama.monitor = monitor
        try:
            # With stream=True the handler returns a generator that already holds the
            # monitor, so detaching it from the model right away is safe.
            return self._llama.create_chat_completion(messages=messages, stream=stream, **options)  # type: ignore[arg-type]
        finally:
            self._llama.monitor = None

    def close(self) -> None:
        """Free the model."""
        self._llama.close()


def _check_schema(schema: Any) -> None:
    # llama-cpp-python turns the schema into a grammar but silently falls back to
    # unconstrained JSON when it cannot; converting it first makes that failure loud.
    try:
        json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:  # the converter raises AssertionError, KeyError, ValueError...
        raise InvalidRequestError(
            f"this JSON Schema cannot be enforced by llama.cpp's grammar: {exc}"
        ) from exc
