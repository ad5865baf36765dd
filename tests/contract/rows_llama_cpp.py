"""The row for the in-process llama.cpp adapter (needs the ``local`` extra).

For this adapter the "wire" is the llama-cpp-python engine: ``create_chat_completion``
keyword arguments go in (an OpenAI-shaped body: messages, max_tokens, stop, seed,
response_format), llama-cpp-python completion dicts or chunk iterators come out,
and the stopping-criteria callback reports each sampled token. The row puts its
script at that boundary, as the HTTP rows put theirs in the local server:

* a call with nothing scripted runs the real bundled Gemma 3 270M (output capped at
  4 tokens by the row so the suite stays fast on CPU);
* ``reply()`` replays the answer in llama-cpp-python's own shapes, calling the
  adapter's monitor once per token exactly as llama.cpp's sampling loop does, so
  usage counting and cancellation run the adapter's real code;
* ``fault()`` becomes the engine's failure twin: a runtime error (llama_decode),
  a malformed completion, a stream that stops without its final chunk; HTTP
  statuses, which no local engine has, become the domain error the HTTP rows map
  them to (like the fake row).

The bundled weights are served under the ``chatml`` template here so system
messages reach the engine as they are (the default ``gemma`` format folds them
into the first user turn; tests/e2e/test_llama_cpp_adapter.py covers that).
"""

from __future__ import annotations

import atexit
import json
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from inference_core.adapters.http_errors import error_for_status
from inference_core.adapters.llama_cpp import (
    CAPABILITIES,
    Engine,
    GenerationMonitor,
    LlamaCppChatModel,
    LlamaLoadSpec,
    LlamaModelPool,
    load_llama_engine,
    runtime_available,
)
from inference_core.domain.catalog import AdapterCapabilities
from inference_core.domain.errors import ProviderError
from inference_core.ports.chat import ChatModel
from tests.contract.harness import (
    CONTRACT_MODEL,
    FEATURES,
    ChatHarness,
    OpenAIView,
    WireView,
)
from tests.servers import FakeServer, Fault
from tests.servers.errors import error_body
from tests.servers.state import ScriptedCall, normalize_usage
from tests.servers.text import word_pieces

SKIP_REASON = "llama-cpp-python is not installed (pip install 'inference-core[local]')"
PROVIDER = "local"
#: Output cap for unscripted calls, which run the real model.
REAL_MAX_TOKENS = 4
#: Context the row's models allocate.
N_CTX = 1024


class _Reply:
    def __init__(self, text: str, usage: Mapping[str, int] | None, finish: str | None) -> None:
        self.text = text
        self.usage = normalize_usage(usage)  # same key check as the server
        self.finish = finish or "stop"


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return 1 + sum(len(str(m.get("content", "")).split()) for m in messages)


class _Replay:
    """Plays one scripted answer the way llama-cpp-python would deliver it."""

    def __init__(
        self,
        row: LlamaCppRow,
        reply: _Reply,
        messages: list[dict[str, Any]],
        monitor: GenerationMonitor,
    ) -> None:
        self.row = row
        self.text = reply.text
        self.finish = reply.finish
        self.pieces = word_pieces(reply.text)
        self.prompt = reply.usage.get("prompt_tokens", _prompt_tokens(messages))
        self.output = reply.usage.get("completion_tokens", len(self.pieces))
        self.monitor = monitor
        self.id = f"chatcmpl-{uuid.uuid4()}"

    def _sample(self, k: int) -> bool:
        """llama.cpp's stopping-criteria call after sampling token ``k`` (1-based)."""
        return self.monitor(range(self.prompt + k - 1), None)

    def completion(self) -> dict[str, Any]:
        for k in range(1, self.output + 2):
            if self._sample(k):
                break
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": CONTRACT_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text},
                    "logprobs": None,
                    "finish_reason": self.finish,
                }
            ],
            "usage": {
                "prompt_tokens": self.prompt,
                "completion_tokens": self.output,
                "total_tokens": self.prompt + self.output,
            },
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": CONTRACT_MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    def stream(
        self, *, stop_after: int | None = None, error: BaseException | None = None
    ) -> Iterator[dict[str, Any]]:
        yield self.chunk({"role": "assistant"})
        pieces = self.pieces if stop_after is None else self.pieces[:stop_after]
        # Token k of the output, spread evenly over the pieces (usage may be scripted).
        per_piece = max(self.output, 1) / max(len(self.pieces), 1)
        for index, piece in enumerate(pieces, start=1):
            if self._sample(max(1, round(index * per_piece))):
                return  # cancelled: llama.cpp stops at the next token
            if self.row.pace > 0:
                time.sleep(self.row.pace)  # keeps a paced answer in flight
            yield self.chunk({"content": piece})
        if error is not None:
            raise error
        if stop_after is not None:
            return  # cut: no final chunk
        sampled = self.output + (1 if self.finish == "stop" else 0)  # end-of-turn token
        for k in range(len(pieces) + 1, sampled + 1):
            if self._sample(k):
                return
        self.monitor(range(self.prompt + max(sampled, 1) - 1), None)  # the loop's last check
        yield self.chunk({}, self.finish)


class _ScriptedEngine:
    """The real engine, with the row's script played at its boundary."""

    def __init__(self, inner: Engine, row: LlamaCppRow) -> None:
        self._inner = inner
        self._row = row

    def chat(
        self,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        *,
        stream: bool,
        monitor: GenerationMonitor,
    ) -> Any:
        row = self._row
        row.calls.append({"messages": messages, **options})
        if row.unreachable:
            raise RuntimeError("llama_decode returned -1 (failed to allocate the KV cache)")
        fault = row.next_fault()
        if fault is not None:
            return row.play_fault(fault, messages, stream=stream, monitor=monitor)
        if row.replies:
            replay = _Replay(row, row.replies.popleft(), messages, monitor)
            return replay.stream() if stream else replay.completion()
        return self._inner.chat(messages, options, stream=stream, monitor=monitor)

    def close(self) -> None:
        self._inner.close()


class LlamaCppRow:
    """LlamaCppChatModel (real engine, scripted at the engine boundary) as a contract row."""

    name = "llama_cpp"
    protocol = "openai"
    #: Tools become the grammar of a JSON envelope (adapters/llama_cpp/tools.py).
    tool_wire = "grammar"
    view: WireView = OpenAIView()
    #: For conftest's pytest.param(..., marks=row.marks).
    marks = (
        pytest.mark.local_model,
        pytest.mark.skipif(not runtime_available(), reason=SKIP_REASON),
    )

    def __init__(self) -> None:
        self.replies: deque[_Reply] = deque()
        self.faults: deque[list[Any]] = deque()  # [fault, remaining uses]
        self.calls: list[dict[str, Any]] = []
        self.pace = 0.0
        self.unreachable = False
        self._pool: LlamaModelPool | None = None
        self._models: list[LlamaCppChatModel] = []

    def __repr__(self) -> str:
        return "<row llama_cpp>"

    def _load(self, spec: LlamaLoadSpec) -> Engine:
        return _ScriptedEngine(load_llama_engine(spec), self)

    def _model_file(self) -> Path:
        if self._pool is None:  # loaded once per session, on first use
            self._pool = LlamaModelPool(self._load)
            atexit.register(self._pool.close)  # before llama.cpp is torn down
        return self._pool.bundled_model_path()

    def attach(self, server: FakeServer) -> None:
        del server  # nothing travels over HTTP
        if not runtime_available():
            pytest.skip(SKIP_REASON)
        self.replies.clear()
        self.faults.clear()
        self.calls.clear()
        self.pace = 0.0
        self.unreachable = False
        self._models = []

    def build(
        self, *, api_key: str | None = None, unreachable: bool = False, **options: Any
    ) -> ChatModel:
        del api_key  # an in-process model has none
        # The local analogue of a dead endpoint: the runtime itself fails.
        self.unreachable = self.unreachable or unreachable
        path = self._model_file()
        model = LlamaCppChatModel(
            pool=self._pool,
            provider=PROVIDER,
            n_ctx=N_CTX,
            chat_format="chatml",
            model_files={CONTRACT_MODEL: path},
            default_max_tokens=REAL_MAX_TOKENS,
            **options,
        )
        self._models.append(model)
        return model

    def capabilities(self) -> AdapterCapabilities:
        # What every model this row builds declares: the package's, holding the row's n_ctx.
        return CAPABILITIES.model_copy(update={"max_context_tokens": N_CTX})

    def reply(
        self,
        text: str,
        *,
        usage: Mapping[str, int] | None = None,
        finish_reason: str | None = None,
    ) -> None:
        self.replies.append(_Reply(text, usage, finish_reason))

    def fault(self, fault: Fault) -> None:
        self.faults.append([fault, max(fault.count, 1)])

    def reply_tools(self, calls: Sequence[Mapping[str, Any]], *, text: str = "") -> None:
        # What the grammar holds the model to: the envelope of calls, or an answer.
        if calls:
            items = [
                {"name": c.name, "arguments": json.loads(c.arguments)}
                for c in (ScriptedCall.of(call, i) for i, call in enumerate(calls))
            ]
            envelope: dict[str, Any] = {"tool_calls": items}
        else:
            envelope = {"answer": text}
        self.replies.append(_Reply(json.dumps(envelope), None, None))

    def pace_stream(self, seconds_per_chunk: float) -> None:
        self.pace = seconds_per_chunk

    # --- the engine side (called from the adapter's worker thread) ------------------------

    def next_fault(self) -> Fault | None:
        if not self.faults:
            return None
        entry = self.faults[0]
        entry[1] -= 1
        if entry[1] <= 0:
            self.faults.popleft()
        fault: Fault = entry[0]
        return fault

    def play_fault(
        self,
        fault: Fault,
        messages: list[dict[str, Any]],
        *,
        stream: bool,
        monitor: GenerationMonitor,
    ) -> Any:
        if fault.delay > 0:
            deadline = time.monotonic() + fault.delay
            while time.monotonic() < deadline and not monitor.is_cancelled():
                time.sleep(0.01)
            if monitor.is_cancelled():
                return iter(()) if stream else {}
        if fault.drop:
            raise RuntimeError("llama_decode returned -1")
        if fault.status is not None:
            raise _status_error(fault.status, fault)
        if fault.raw_body is not None:
            broken = {"id": "broken", "choices": "broken"}
            return iter([broken]) if stream else {"id": "broken", "choices": []}
        if fault.cut_after_chunks is None and fault.error_event_after_chunks is None:
            return iter(()) if stream else {}
        reply = self.replies.popleft() if self.replies else None
        text = reply.text if reply else "Echo: " + str(messages[-1].get("content", ""))
        replay = _Replay(self, _Reply(text, None, None), messages, monitor)
        if not stream:
            if fault.cut_after_chunks is not None:
                raise RuntimeError("llama_decode returned -3 (compute failed)")
            raise _status_error(500, fault)
        if fault.cut_after_chunks is not None:
            return replay.stream(stop_after=fault.cut_after_chunks)
        return replay.stream(
            stop_after=fault.error_event_after_chunks,
            error=RuntimeError(fault.message or "Overloaded"),
        )

    # --- observations -----------------------------------------------------------------------

    def last_request(self) -> dict[str, Any]:
        assert self.calls, "the engine saw no request"
        return self.calls[-1]

    def request_count(self) -> int:
        return len(self.calls)

    def open_connections(self) -> int | None:
        return None

    def supports(self, feature: str) -> bool:
        if feature not in FEATURES:
            raise KeyError(f"unknown feature {feature!r}; known: {sorted(FEATURES)}")
        # No HTTP, no key, and llama.cpp never ends on a content filter; its timeouts are final.
        return feature == "generation_timeout_final"

    async def aclose(self) -> None:
        models, self._models = self._models, []
        for model in models:
            await model.aclose()


def _status_error(status: int, fault: Fault) -> ProviderError:
    body = fault.body if fault.body is not None else error_body("openai", status, fault.message)
    inner = body.get("error", body) if isinstance(body, Mapping) else body
    message = str(inner.get("message") or "") if isinstance(inner, Mapping) else str(inner or "")
    code = (
        " ".join(str(inner[k]) for k in ("type", "code") if inner.get(k)) or None
        if isinstance(inner, Mapping)
        else None
    )
    return error_for_status(
        status, message, provider=PROVIDER, model=None, headers=fault.headers, code=code
    )


ROWS: list[ChatHarness] = [LlamaCppRow()]
