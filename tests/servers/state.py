"""Shared state of a fake server: recordings, scripted replies, faults, bookkeeping."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tests.servers.errors import Protocol
from tests.servers.text import count_words, truncate_words

DEFAULT_OLLAMA_MODELS: tuple[str, ...] = ("llama3", "mistral", "llama2", "codellama")
DEFAULT_OPENAI_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo")
DEFAULT_ANTHROPIC_MODELS: tuple[str, ...] = (
    "claude-3-5-sonnet-latest",
    "claude-3-5-haiku-latest",
    "claude-3-haiku-20240307",
)

CHAT_PATHS: tuple[str, ...] = (
    "/v1/chat/completions",
    "/chat/completions",
    "/v1/messages",
    "/api/chat",
    "/api/generate",
)

RANDOM_FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "503",
    "529",
    "timeout",
    "cut",
    "error_event",
    "malformed",
)

_USAGE_ALIASES: dict[str, str] = {
    "prompt_tokens": "prompt_tokens",
    "input_tokens": "prompt_tokens",
    "prompt_eval_count": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "output_tokens": "completion_tokens",
    "eval_count": "completion_tokens",
    "cached_tokens": "cached_tokens",
    "cache_read_input_tokens": "cached_tokens",
    "reasoning_tokens": "reasoning_tokens",
    "cache_creation_input_tokens": "cache_creation_tokens",
    "cache_creation_tokens": "cache_creation_tokens",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received by the fake server.

    Attributes:
        method: HTTP method, upper case.
        path: URL path without the query string.
        headers: Request headers with lower-case names.
        body: Parsed JSON body, or ``None`` when empty or not JSON.
        raw: Raw body bytes.
        query: Query string parameters.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """A fault to inject into the next matching request(s).

    Order of effects: sleep ``delay``; then ``drop`` the connection, or answer
    ``status`` (provider-shaped error, or ``body``) / ``raw_body``; otherwise the
    request is served normally, cut or broken after N streamed chunks.

    Attributes:
        status: HTTP error status answered with a provider-shaped error body.
        headers: Extra response headers (``retry-after``, ``x-should-retry``...).
        body: JSON error body overriding the default one for ``status``.
        raw_body: Raw bytes returned as the body (status 200 unless ``status``).
        delay: Seconds to sleep before responding (to trigger read timeouts).
        cut_after_chunks: Stream N content chunks then drop the TCP connection
            without the protocol terminator. For non-streaming requests half of
            the JSON body is sent before the drop.
        error_event_after_chunks: Stream N content chunks then send a
            provider-shaped mid-stream error and end the stream. For
            non-streaming requests an HTTP 500 error is answered instead.
        count: How many matching requests this fault applies to.
        path: Only match requests whose path starts with this prefix.
        drop: After ``delay``, close the connection without any response.
        clean_cut: With ``cut_after_chunks``, end the HTTP body cleanly (final
            zero-size chunk) instead of aborting the TCP connection; the
            protocol terminator is still missing.
        message: Message for the default error body / mid-stream error.
        content_type: Content type sent with ``raw_body`` (default JSON).
        drip_seconds: For non-streaming requests, send the (complete, valid) body
            in ten pieces spread over this many seconds: a slow body that no
            per-read timeout catches.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any | None = None
    raw_body: bytes | None = None
    delay: float = 0.0
    cut_after_chunks: int | None = None
    error_event_after_chunks: int | None = None
    count: int = 1
    path: str | None = None
    drop: bool = False
    clean_cut: bool = False
    message: str | None = None
    content_type: str | None = None
    drip_seconds: float = 0.0

    @property
    def kind(self) -> str:
        """Short description of the fault, used in ``fault_log``."""
        if self.drop:
            return "drop"
        if self.status is not None:
            return str(self.status)
        if self.raw_body is not None:
            return "raw_body"
        if self.cut_after_chunks is not None:
            return "cut"
        if self.error_event_after_chunks is not None:
            return "error_event"
        if self.delay:
            return "delay"
        return "headers"


@dataclass(frozen=True)
class ScriptedCall:
    """A tool call a scripted reply makes.

    Attributes:
        id: The call id the protocol reports (``call_...`` / ``toolu_...``).
        name: The tool's name.
        arguments: The arguments as compact JSON text (each protocol sends them
            its own way: text for OpenAI, an object for Anthropic and Ollama).
    """

    id: str
    name: str
    arguments: str

    @classmethod
    def of(cls, raw: Mapping[str, Any] | ScriptedCall, index: int) -> ScriptedCall:
        """From ``{"name": ..., "arguments": {...} or "json", "id"?: ...}``."""
        if isinstance(raw, ScriptedCall):
            return raw
        arguments = raw.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(str(raw.get("id") or f"call_{index}"), str(raw["name"]), text)

    @property
    def input(self) -> Any:
        """The arguments as a JSON value (Anthropic ``input``, Ollama ``arguments``)."""
        return json.loads(self.arguments)


def argument_pieces(text: str, size: int = 8) -> list[str]:
    """Split arguments text into streamed fragments of ``size`` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass(frozen=True)
class Reply:
    """A scripted assistant reply.

    Attributes:
        text: Assistant text.
        usage: Usage overrides; keys may be OpenAI, Anthropic or Ollama style
            (``prompt_tokens``/``input_tokens``, ``completion_tokens``/
            ``output_tokens``, ``cached_tokens``/``cache_read_input_tokens``,
            ``reasoning_tokens``, ``cache_creation_input_tokens``).
        finish_reason: Override of the finish reason (OpenAI vocabulary:
            ``stop``, ``length``, ``content_filter``, ``tool_calls``), mapped to
            each protocol's vocabulary.
    """

    text: str
    usage: Mapping[str, int] | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()


@dataclass(frozen=True)
class ChatPlan:
    """What a chat request will answer, computed before any byte is sent.

    Attributes:
        text: Final (possibly truncated) reply text.
        finish: ``stop``, ``length``, ``stop_sequence`` or an override.
        stop_sequence: The stop string that cut the reply, if any.
        prompt_tokens: Reported prompt tokens.
        completion_tokens: Reported completion tokens.
        cached_tokens: Reported cached prompt tokens.
        reasoning_tokens: Reported reasoning tokens.
        cache_creation_tokens: Reported cache-creation tokens (Anthropic).
    """

    text: str
    finish: str
    stop_sequence: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0
    tool_calls: tuple[ScriptedCall, ...] = ()


@dataclass(frozen=True)
class ServedReply:
    """Bookkeeping entry for one successfully served chat reply.

    Attributes:
        protocol: Protocol that served it.
        model: Model named in the request.
        text: Reply text.
        prompt_tokens: Reported prompt tokens.
        completion_tokens: Reported completion tokens.
        streamed: Whether it was streamed.
    """

    protocol: Protocol
    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    streamed: bool


@dataclass
class _QueuedFault:
    fault: Fault
    remaining: int


@dataclass
class _RandomFaults:
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    retry_after: float
    timeout_delay: float
    chunks: int


def body_key(raw: bytes, body: Any) -> str:
    """Stable key of a request body (hash of canonical JSON, or of raw bytes).

    Args:
        raw: Raw body.
        body: Parsed JSON body or ``None``.

    Returns:
        A hex digest.
    """
    data = raw if body is None else json.dumps(body, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def is_streaming(path: str, body: Any) -> bool:
    """Tell whether a chat request asks for a streamed answer.

    Args:
        path: Request path (Ollama streams unless ``stream`` is false).
        body: Parsed JSON body.

    Returns:
        True when the answer will be streamed.
    """
    if not isinstance(body, dict):
        return False
    if path.startswith("/api/"):
        return body.get("stream", True) is not False
    return bool(body.get("stream"))


def malformed_fault(path: str, body: Any) -> Fault:
    """A 200 answer with broken JSON in the framing the client expects.

    Non-streaming requests get a truncated JSON document; streaming ones get an
    SSE (or NDJSON for Ollama) frame whose JSON is broken, so SDKs fail to parse
    instead of seeing an empty stream.

    Args:
        path: Request path.
        body: Parsed JSON body.

    Returns:
        The fault.
    """
    if not is_streaming(path, body):
        return Fault(raw_body=b'{"id": "broken", "choices": [')
    if path.startswith("/api/"):
        return Fault(
            raw_body=b'{"model": "broken", "message": {\n', content_type="application/x-ndjson"
        )
    if path.startswith("/v1/messages"):
        frame = b'event: message_start\ndata: {"type": "message_start", "message": {\n\n'
    else:
        frame = b'data: {"id": "broken", "choices": [\n\n'
    return Fault(raw_body=frame, content_type="text/event-stream")


def normalize_usage(usage: Mapping[str, int] | None) -> dict[str, int]:
    """Map provider-specific usage keys onto canonical names.

    Args:
        usage: Usage overrides in any provider's vocabulary.

    Returns:
        Dict with canonical keys (``prompt_tokens``, ``completion_tokens``,
        ``cached_tokens``, ``reasoning_tokens``, ``cache_creation_tokens``).

    Raises:
        KeyError: For an unknown key.
    """
    out: dict[str, int] = {}
    for key, value in (usage or {}).items():
        out[_USAGE_ALIASES[key]] = int(value)
    return out


class ServerState:
    """Recording, scripting and fault-injection state shared by all protocols.

    All public methods are thread-safe: tests call them from their own thread
    while the server handles requests in its background thread.

    Attributes:
        record_requests: Keep every request in ``requests`` (turn off for benchmarks).
        chunk_words: Words per streamed content chunk (default 1 = per word).
        chunk_delay: Seconds to sleep after each streamed content chunk.
        latency: Seconds to sleep before answering each chat request.
        anthropic_strict: Reject non-alternating roles, a first non-user
            message and ``system`` role messages with 400 (the live API merges
            consecutive turns instead).
        ollama_models: Installed Ollama models (``name`` or ``name:tag``).
        ollama_registry: Names ``/api/pull`` can fetch (``None`` = any).
        openai_models: Ids listed by OpenAI ``GET /v1/models``.
        anthropic_models: Ids listed by Anthropic ``GET /v1/models``.
    """

    def __init__(self) -> None:
        """Create empty state with the default configuration."""
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._faults: list[_QueuedFault] = []
        self._random: _RandomFaults | None = None
        self._seen: set[str] = set()
        self._served: list[ServedReply] = []
        self._fault_log: list[tuple[str, str]] = []
        self._request_count = 0
        self._keys: dict[Protocol, str | None] = {}
        self._configure_defaults()

    def _configure_defaults(self) -> None:
        self.record_requests = True
        self.chunk_words = 1
        self.chunk_delay = 0.0
        self.latency = 0.0
        self.anthropic_strict = True
        self.ollama_models: set[str] = set(DEFAULT_OLLAMA_MODELS)
        self.ollama_registry: set[str] | None = None
        self.openai_models: list[str] = list(DEFAULT_OPENAI_MODELS)
        self.anthropic_models: list[str] = list(DEFAULT_ANTHROPIC_MODELS)
        self._keys = {"openai": None, "anthropic": None, "ollama": None}

    def reset(self) -> None:
        """``clear()`` plus restore every configuration attribute and API key."""
        with self._lock:
            self.clear()
            self._configure_defaults()

    # ----------------------------------------------------------------- recording
    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of all recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """Number of requests received (counted even when recording is off)."""
        with self._lock:
            return self._request_count

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Recorded requests whose path starts with ``path``.

        Args:
            path: Path prefix, e.g. ``/v1/messages`` or ``/api/``.

        Returns:
            Matching requests, oldest first.
        """
        with self._lock:
            return [r for r in self._requests if r.path.startswith(path)]

    def clear(self) -> None:
        """Forget recordings, scripted replies, faults, random mode and bookkeeping."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self._faults.clear()
            self._random = None
            self._seen.clear()
            self._served.clear()
            self._fault_log.clear()
            self._request_count = 0

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._request_count += 1
            if self.record_requests:
                self._requests.append(request)

    # ------------------------------------------------------------------- replies
    def reply(
        self,
        text: str,
        usage: Mapping[str, int] | None = None,
        finish_reason: str | None = None,
        tool_calls: Sequence[Mapping[str, Any] | ScriptedCall] = (),
    ) -> None:
        """Queue the assistant text for the next chat request (any protocol).

        Args:
            text: Assistant reply text.
            usage: Usage overrides (see :class:`Reply`).
            finish_reason: Finish reason override (OpenAI vocabulary).
            tool_calls: Tool calls the reply makes, ``{"name", "arguments", "id"?}``
                (the finish reason becomes ``tool_calls`` unless overridden).
        """
        normalize_usage(usage)  # validate keys early
        calls = tuple(ScriptedCall.of(c, i) for i, c in enumerate(tool_calls))
        with self._lock:
            self._replies.append(Reply(text, dict(usage) if usage else None, finish_reason, calls))

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def plan_chat(
        self,
        prompt_texts: Sequence[str],
        last_user_text: str,
        *,
        max_tokens: int | None = None,
        stop: Iterable[str] = (),
        json_reply: Any | None = None,
    ) -> ChatPlan:
        """Decide the reply for a chat request and consume one scripted reply.

        Args:
            prompt_texts: Texts of all prompt messages (system included).
            last_user_text: Text of the last user message (for the echo reply).
            max_tokens: Truncate the reply to this many words.
            stop: Stop strings; the reply is cut at the first one found.
            json_reply: Default JSON value to answer when nothing is scripted.

        Returns:
            The plan.
        """
        scripted = self._next_reply()
        if scripted is not None:
            text = scripted.text
        elif json_reply is not None:
            text = json.dumps(json_reply)
        else:
            text = "Echo: " + last_user_text
        finish = "stop"
        stop_sequence: str | None = None
        hits = [(text.find(s), s) for s in stop if s and s in text]
        if hits:
            pos, stop_sequence = min(hits)
            text = text[:pos]
            finish = "stop_sequence"
        if max_tokens is not None and count_words(text) > max_tokens:
            text = truncate_words(text, max_tokens)
            finish = "length"
            stop_sequence = None
        calls = scripted.tool_calls if scripted is not None else ()
        if calls:
            finish, stop_sequence = "tool_calls", None
        if scripted is not None and scripted.finish_reason is not None:
            finish = scripted.finish_reason
        overrides = normalize_usage(scripted.usage if scripted else None)
        prompt = max(sum(count_words(t) for t in prompt_texts), 1)
        produced = count_words(text) + sum(len(c.arguments.split()) for c in calls)
        return ChatPlan(
            text=text,
            finish=finish,
            stop_sequence=stop_sequence,
            prompt_tokens=overrides.get("prompt_tokens", prompt),
            completion_tokens=overrides.get("completion_tokens", produced),
            cached_tokens=overrides.get("cached_tokens", 0),
            reasoning_tokens=overrides.get("reasoning_tokens", 0),
            cache_creation_tokens=overrides.get("cache_creation_tokens", 0),
            tool_calls=calls,
        )

    def _mark_served(self, protocol: Protocol, model: str, plan: ChatPlan, streamed: bool) -> None:
        with self._lock:
            self._served.append(
                ServedReply(
                    protocol, model, plan.text, plan.prompt_tokens, plan.completion_tokens, streamed
                )
            )

    @property
    def served(self) -> int:
        """Number of chat replies served completely (faulted ones excluded)."""
        with self._lock:
            return len(self._served)

    @property
    def served_log(self) -> list[ServedReply]:
        """Details of every completely served chat reply."""
        with self._lock:
            return list(self._served)

    @property
    def served_prompt_tokens(self) -> int:
        """Sum of prompt tokens reported in served replies."""
        with self._lock:
            return sum(s.prompt_tokens for s in self._served)

    @property
    def served_completion_tokens(self) -> int:
        """Sum of completion tokens reported in served replies."""
        with self._lock:
            return sum(s.completion_tokens for s in self._served)

    # -------------------------------------------------------------------- faults
    def fault(self, fault: Fault | None = None, path: str | None = None, **kwargs: Any) -> None:
        """Queue a fault for the next matching request (FIFO).

        Args:
            fault: The fault; built from ``kwargs`` when omitted.
            path: Path prefix to match (overrides ``fault.path``).
            **kwargs: :class:`Fault` fields, when ``fault`` is omitted.
        """
        f = fault if fault is not None else Fault(**kwargs)
        if path is not None:
            f = replace(f, path=path)
        with self._lock:
            self._faults.append(_QueuedFault(f, max(f.count, 1)))

    def random_faults(
        self,
        rate: float = 0.3,
        kinds: Sequence[str] = ("429", "503", "timeout"),
        seed: int | None = 0,
        retry_after: float = 0.01,
        timeout_delay: float = 2.0,
        chunks: int = 1,
    ) -> None:
        """Enable random faults on chat requests whose body was not seen before.

        A chat request whose body (hash of canonical JSON) is new gets a fault
        with probability ``rate``; a repeated body always succeeds, so a client
        that retries eventually gets through.

        Args:
            rate: Probability of a fault for a new body (0 disables).
            kinds: Fault kinds drawn uniformly from ``RANDOM_FAULT_KINDS``:
                HTTP statuses ``429``/``500``/``502``/``503``/``529``,
                ``timeout`` (sleep ``timeout_delay`` then drop the connection),
                ``cut`` / ``error_event`` (after ``chunks`` chunks) and
                ``malformed`` (200 with invalid JSON).
            seed: Seed of the private RNG.
            retry_after: Seconds sent as ``retry-after`` / ``retry-after-ms``
                on status faults.
            timeout_delay: Sleep before dropping a ``timeout`` request.
            chunks: Chunks streamed before ``cut``/``error_event``.

        Raises:
            ValueError: For an unknown kind.
        """
        bad = [k for k in kinds if k not in RANDOM_FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds: {bad}")
        with self._lock:
            self._random = (
                _RandomFaults(
                    rate, tuple(kinds), random.Random(seed), retry_after, timeout_delay, chunks
                )
                if rate > 0
                else None
            )

    @property
    def injected_faults(self) -> int:
        """Number of faults applied so far (scripted and random)."""
        with self._lock:
            return len(self._fault_log)

    @property
    def fault_log(self) -> list[tuple[str, str]]:
        """``(path, kind)`` of every applied fault."""
        with self._lock:
            return list(self._fault_log)

    def pending_faults(self) -> int:
        """Number of queued fault applications not yet used."""
        with self._lock:
            return sum(q.remaining for q in self._faults)

    def _take_fault(self, path: str, raw: bytes, body: Any, is_chat: bool) -> Fault | None:
        with self._lock:
            for index, queued in enumerate(self._faults):
                if queued.fault.path is None or path.startswith(queued.fault.path):
                    queued.remaining -= 1
                    if queued.remaining <= 0:
                        del self._faults[index]
                    self._fault_log.append((path, queued.fault.kind))
                    return queued.fault
            if not is_chat or self._random is None:
                return None
            key = body_key(raw, body)
            if key in self._seen:
                return None
            self._seen.add(key)
            rnd = self._random
            if rnd.rng.random() >= rnd.rate:
                return None
            kind = rnd.rng.choice(rnd.kinds)
            self._fault_log.append((path, kind))
            return self._random_fault(kind, rnd, path, body)

    @staticmethod
    def _random_fault(kind: str, rnd: _RandomFaults, path: str, body: Any) -> Fault:
        if kind == "timeout":
            return Fault(delay=rnd.timeout_delay, drop=True)
        if kind == "cut":
            return Fault(cut_after_chunks=rnd.chunks)
        if kind == "error_event":
            return Fault(error_event_after_chunks=rnd.chunks)
        if kind == "malformed":
            return malformed_fault(path, body)
        headers = {
            "retry-after": f"{rnd.retry_after:g}",
            "retry-after-ms": f"{rnd.retry_after * 1000:g}",
        }
        return Fault(status=int(kind), headers=headers)

    # ---------------------------------------------------------------------- auth
    def require_key(self, key: str | None, protocol: Protocol | None = None) -> None:
        """Require an API key (``None`` disables the check).

        OpenAI and Ollama expect ``Authorization: Bearer <key>``; Anthropic
        expects ``x-api-key: <key>`` (``Authorization: Bearer`` also accepted).

        Args:
            key: Expected key, or ``None`` to accept anything.
            protocol: Limit to one protocol; all protocols when omitted.
        """
        with self._lock:
            targets: tuple[Protocol, ...] = (protocol,) if protocol else tuple(self._keys)
            for p in targets:
                self._keys[p] = key

    def _key_ok(self, protocol: Protocol, headers: Mapping[str, str]) -> bool:
        with self._lock:
            expected = self._keys[protocol]
        if expected is None:
            return True
        bearer = headers.get("authorization", "")
        if bearer == f"Bearer {expected}":
            return True
        return protocol == "anthropic" and headers.get("x-api-key") == expected
