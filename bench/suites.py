"""The registry of benchmarked clients ("suites") and the rows they produce.

A suite runs in one fresh child process: it imports ``imports`` (timed, for the import and
RSS columns), builds its client and measures each of its ``kinds``. Adding a client means
adding one :class:`Suite` here and one class in :mod:`bench.clients` or :mod:`bench.ours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KIND_LABELS", "REF_KIND", "SUITES", "SYNC_KINDS", "Kind", "Suite", "suite_by_key"]

Kind = Literal["call", "adapter", "stream", "json", "compat", "sync", "compat_sync"]

#: Kinds measured outside the event loop, with a synchronous client.
SYNC_KINDS: tuple[Kind, ...] = ("sync", "compat_sync")

KIND_LABELS: dict[Kind, str] = {
    "call": "call",
    "adapter": "ChatModel.complete only",
    "stream": "stream 20 chunks",
    "json": "50 KB JSON + validation",
    "compat": "LLMClient.acall",
    "sync": "sync call",
    "compat_sync": "LLMClient.call (sync)",
}

#: The kind of raw-SDK call each kind is compared with in the ratio columns.
REF_KIND: dict[Kind, Kind] = {"adapter": "call", "compat": "call", "compat_sync": "sync"}


@dataclass(frozen=True)
class Suite:
    """One client under test.

    Attributes:
        key: Short id (``openai-sdk``); rows are ``<key>.<kind>``.
        label: Human name in the table.
        group: ``baseline`` (raw libraries), ``ours`` or ``input`` (bench_input.py rows).
        factory: ``module:Class`` of its :class:`~bench.clients.BenchClient`.
        imports: Modules imported (and timed) before anything else in the child.
        kinds: What is measured.
        sdk_ref: Suites whose same-kind row is "the raw SDK" for the ratio column; the
            first one that measured that kind is used.
        names: Per-kind row names (our use-case names), else ``label · kind``.
    """

    key: str
    label: str
    group: Literal["baseline", "ours", "input"]
    factory: str
    imports: tuple[str, ...]
    kinds: tuple[Kind, ...] = ()
    sdk_ref: tuple[str, ...] = ()
    names: tuple[tuple[Kind, str], ...] = ()

    def row_label(self, kind: Kind) -> str:
        """The table label of this suite's ``kind`` row."""
        named = dict(self.names)
        if kind in named:
            return f"{named[kind]} · {self.label}"
        return f"{self.label} · {KIND_LABELS[kind]}"


_OURS_OPENAI = (
    "inference_core",
    "inference_core.composition",
    "inference_core.adapters.openai",
    "openai",
)
_OURS_WIRE = (
    "inference_core",
    "inference_core.composition",
    "inference_core.adapters.openai_http",
    "aiohttp",
    "orjson",
)
_OURS_ANTHROPIC = (
    "inference_core",
    "inference_core.composition",
    "inference_core.adapters.anthropic",
    "anthropic",
)
_OURS_ANTHROPIC_WIRE = (
    "inference_core",
    "inference_core.composition",
    "inference_core.adapters.anthropic_http",
    "aiohttp",
    "orjson",
)
_OURS_LITELLM = (
    "inference_core",
    "inference_core.composition",
    "inference_core.adapters.litellm",
    "litellm",
)

_USE_CASES: tuple[tuple[Kind, str], ...] = (
    ("call", "ChatText"),
    ("adapter", "ChatModel.complete (adapter only)"),
    ("stream", "StreamChat 20 chunks"),
    ("json", "ChatJSON 50 KB"),
    ("compat", "LLMClient.acall"),
    ("sync", "ChatText via Inference.run_sync"),
    ("compat_sync", "LLMClient.call (sync)"),
)
_ALL_OURS: tuple[Kind, ...] = ("call", "adapter", "stream", "json", "compat", "sync", "compat_sync")
_NO_JSON: tuple[Kind, ...] = ("call", "adapter", "stream", "compat", "sync", "compat_sync")

_CALL_STREAM: tuple[Kind, ...] = ("call", "stream")
_CALL_STREAM_SYNC: tuple[Kind, ...] = ("call", "stream", "sync")
_EVERY_SDK_KIND: tuple[Kind, ...] = ("call", "stream", "json", "sync")


def _baseline(
    key: str, label: str, factory: str, imports: tuple[str, ...], kinds: tuple[Kind, ...], ref: str
) -> Suite:
    return Suite(key, label, "baseline", f"bench.clients:{factory}", imports, kinds, (ref,))


def _ours(
    key: str, label: str, factory: str, imports: tuple[str, ...], refs: tuple[str, ...]
) -> Suite:
    kinds = _NO_JSON if "anthropic" in key else _ALL_OURS
    return Suite(key, label, "ours", f"bench.ours:{factory}", imports, kinds, refs, _USE_CASES)


SUITES: tuple[Suite, ...] = (
    _baseline("raw", "raw asyncio HTTP/1.1 (floor)", "RawClient", (), _CALL_STREAM, "openai-sdk"),
    _baseline("aiohttp", "aiohttp", "AiohttpClient", ("aiohttp",), _CALL_STREAM, "openai-sdk"),
    _baseline("httpx", "httpx", "HttpxClient", ("httpx",), _CALL_STREAM_SYNC, "openai-sdk"),
    _baseline(
        "openai-sdk",
        "openai SDK (default httpx)",
        "OpenAISDKClient",
        ("openai",),
        _EVERY_SDK_KIND,
        "openai-sdk",
    ),
    _baseline(
        "openai-sdk-aiohttp",
        "openai SDK on aiohttp",
        "OpenAISDKAiohttpClient",
        ("openai", "httpx_aiohttp"),
        ("call", "stream", "json"),
        "openai-sdk",
    ),
    _baseline(
        "anthropic-sdk",
        "anthropic SDK (default)",
        "AnthropicSDKClient",
        ("anthropic",),
        _CALL_STREAM_SYNC,
        "anthropic-sdk",
    ),
    _baseline(
        "anthropic-sdk-aiohttp",
        "anthropic SDK on aiohttp",
        "AnthropicSDKAiohttpClient",
        ("anthropic", "httpx_aiohttp"),
        _CALL_STREAM,
        "anthropic-sdk",
    ),
    _baseline(
        "litellm", "LiteLLM acompletion", "LiteLLMClient", ("litellm",), _EVERY_SDK_KIND, "litellm"
    ),
    # Our adapters use the SDKs' aiohttp transport: compare with the SDK on that transport
    # (the default transport for the sync kind, which the aiohttp client does not have).
    _ours(
        "ours-openai",
        "openai path",
        "OursOpenAI",
        _OURS_OPENAI,
        ("openai-sdk-aiohttp", "openai-sdk"),
    ),
    # The wire path has no SDK: its ratio column compares with the default openai SDK.
    _ours(
        "ours-openai-http",
        "openai_http wire path",
        "OursOpenAIHTTP",
        _OURS_WIRE,
        ("openai-sdk",),
    ),
    _ours(
        "ours-anthropic",
        "anthropic path",
        "OursAnthropic",
        _OURS_ANTHROPIC,
        ("anthropic-sdk-aiohttp", "anthropic-sdk"),
    ),
    _ours(
        "ours-anthropic-http",
        "anthropic_http wire path",
        "OursAnthropicHTTP",
        _OURS_ANTHROPIC_WIRE,
        ("anthropic-sdk",),
    ),
    _ours("ours-litellm", "litellm path", "OursLiteLLM", _OURS_LITELLM, ("litellm",)),
    Suite("input", "bench_input.py", "input", "bench.bench_input:run", ("bench.bench_input",)),
)


def suite_by_key(key: str) -> Suite:
    """The suite named ``key``.

    Raises:
        KeyError: No such suite.
    """
    for suite in SUITES:
        if suite.key == key:
            return suite
    raise KeyError(f"no suite {key!r}; known: {', '.join(s.key for s in SUITES)}")
