"""Use-cases and policies (retry, deadline, fallback, usage), wired through ports only.

* :class:`ChatText`, :class:`ChatJSON`, :class:`StreamChat`: the chat use-cases.
* :class:`GenerateMedia`: media generation (one request or a bounded batch).
* :class:`ExecuteDescriptor`: a descriptor sub-agent run (ask, gates, media, assets).
* :class:`ModelCaller`: what they share (routing, params, retries, fallbacks, events).
* :class:`UsageLedger`: a usage sink with running totals per run, model and provider.
* :class:`SyncRunner`: runs coroutines from sync code on long-lived loops (no thread hop).
"""

from inference_core.application.calls import ModelCaller, build_messages, call_params
from inference_core.application.chat import ChatJSON, ChatText, StreamChat
from inference_core.application.descriptors import (
    DescriptorProgress,
    ExecuteDescriptor,
    GateEvaluator,
    RuleMaterializer,
)
from inference_core.application.ledger import LedgerSnapshot, LedgerTotals, UsageLedger
from inference_core.application.media import GenerateMedia, MediaProgress
from inference_core.application.observability import (
    AsyncioSleeper,
    AttemptRecorder,
    EventLog,
    NullEventLog,
    SystemClock,
    priced,
)
from inference_core.application.policy import CallContext, RetryRunner, falls_back, is_retryable
from inference_core.application.results import (
    CallInfo,
    ChatResult,
    FailedAttempt,
    JSONResult,
    MediaResult,
)
from inference_core.application.sync import SyncRunner

__all__ = [
    "AsyncioSleeper",
    "AttemptRecorder",
    "CallContext",
    "CallInfo",
    "ChatJSON",
    "ChatResult",
    "ChatText",
    "DescriptorProgress",
    "EventLog",
    "ExecuteDescriptor",
    "FailedAttempt",
    "GateEvaluator",
    "GenerateMedia",
    "JSONResult",
    "LedgerSnapshot",
    "LedgerTotals",
    "MediaProgress",
    "MediaResult",
    "ModelCaller",
    "NullEventLog",
    "RetryRunner",
    "RuleMaterializer",
    "StreamChat",
    "SyncRunner",
    "SystemClock",
    "UsageLedger",
    "build_messages",
    "call_params",
    "falls_back",
    "is_retryable",
    "priced",
]
