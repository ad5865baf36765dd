"""The fault matrix: one fault per call, through bootstrap and the one retry owner, per protocol.

Shared by ``test_fault_matrix.py`` (asserts each expected outcome) and
``scripts/reliability_report.py`` (measures and publishes the table in
``docs/reliability.md``). A case injects ONE fault into the first request; the
outcome is what the caller saw plus how many requests reached the server.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference_core import bootstrap
from inference_core.domain.config import RetryPolicy, TimeoutPolicy
from inference_core.domain.errors import InferenceError, StreamInterrupted
from tests.servers import FakeServer, Fault

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "ollama": "ollama/llama3"}
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}
KEYS = {"OPENAI_API_KEY": "sk-matrix-openai-000000", "ANTHROPIC_API_KEY": "sk-matrix-ant-000000"}
REPLY = "alpha beta gamma delta epsilon"


@dataclass(frozen=True)
class Case:
    """One fault and what the caller must see.

    Attributes:
        name: Row label.
        fault: Builds the fault for a chat path (``None``: built per case below).
        expected: ``ok`` or the error class name the caller gets.
        requests: Requests the server must see (1 = not retried, 2 = one retry).
        stream: Run as a stream instead of a whole answer.
        protocols: Limit to these protocols (some faults are protocol-specific).
    """

    name: str
    fault: Any
    expected: str
    requests: int
    stream: bool = False
    protocols: tuple[str, ...] = ("openai", "anthropic", "ollama")
    behaviour: str = ""


def _status(code: int, **headers: str) -> Any:
    return lambda path: Fault(status=code, path=path, headers=dict(headers))


def _http_date(seconds: float) -> str:
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


CASES = [
    Case("408 request timeout", _status(408), "ok", 2, behaviour="retried once"),
    Case("409 conflict", _status(409), "ok", 2, behaviour="retried once"),
    Case("429, Retry-After seconds", _status(429, **{"retry-after": "0"}), "ok", 2,
         behaviour="waits as told, retried"),
    Case("429, retry-after-ms", _status(429, **{"retry-after-ms": "20"}), "ok", 2,
         behaviour="waits as told, retried"),
    Case("429, Retry-After HTTP date", lambda p: Fault(
        status=429, path=p, headers={"retry-after": _http_date(0.2)}), "ok", 2,
         behaviour="waits until the date, retried"),
    Case("500", _status(500), "ok", 2, behaviour="retried once"),
    Case("502", _status(502), "ok", 2, behaviour="retried once"),
    Case("503", _status(503), "ok", 2, behaviour="retried once"),
    Case("529 overloaded", _status(529), "ok", 2, behaviour="retried once"),
    Case("400 bad request", _status(400), "InvalidRequestError", 1, behaviour="final, not retried"),
    Case("401", _status(401), "AuthenticationError", 1, behaviour="final, not retried"),
    Case("404", _status(404), "ModelNotFoundError", 1, behaviour="final, not retried"),
    Case("connection dropped", lambda p: Fault(drop=True, path=p), "ok", 2,
         behaviour="retried once"),
    Case("stall before the body (> read timeout)", lambda p: Fault(delay=3.0, path=p), "ok", 2,
         behaviour="read timeout, retried"),
    Case("slow drip body (> deadline)", lambda p: Fault(drip_seconds=4.0, path=p),
         "DeadlineExceeded", 1, protocols=("openai", "anthropic", "ollama"),
         behaviour="cut at the deadline, final"),
    Case("body cut midway", lambda p: Fault(cut_after_chunks=1, path=p), "ok", 2,
         behaviour="retried once"),
    Case("stream cut before any text", lambda p: Fault(cut_after_chunks=0, path=p), "ok", 2,
         stream=True, behaviour="retried once"),
    Case("stream cut after text", lambda p: Fault(cut_after_chunks=2, path=p),
         "StreamInterrupted", 1, stream=True, behaviour="text kept, never replayed"),
    Case("error event mid-stream", lambda p: Fault(error_event_after_chunks=2, path=p),
         "StreamInterrupted", 1, stream=True, behaviour="text kept, never replayed"),
    Case("malformed JSON body (HTTP 200)", lambda p: Fault(raw_body=b'{"choices": [', path=p),
         "InvalidResponse", 1, behaviour="final: a 200 was served (and billed), not repeated"),
]  # fmt: skip


@dataclass
class Outcome:
    """What one case produced."""

    seen: str
    requests: int
    detail: str = ""
    partial: str = field(default="")


def config_file(server: FakeServer, folder: Path) -> Path:
    """A runtime config routing every protocol to the fake server."""
    path = folder / "inference_runtime.yaml"
    path.write_text(
        f"""
routing:
  provider_base_url:
    openai: "{server.base_url}/v1"
    anthropic: "{server.base_url}"
    ollama: "{server.base_url}"
timeouts:
  connect: 2
  read: 1.5
""",
        encoding="utf-8",
    )
    return path


async def run_case(server: FakeServer, folder: Path, protocol: str, case: Case) -> Outcome:
    """Inject the case's fault into the first request and make one call."""
    server.reset()
    server.reply(REPLY)
    server.reply(REPLY)
    server.fault(case.fault(PATHS[protocol]))
    inference = bootstrap(
        config_path=config_file(server, folder),
        environ=dict(KEYS),
        retry=RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05, deadline=2.5),
    )
    assert inference.config.timeouts == TimeoutPolicy(connect=2, read=1.5)
    model = MODELS[protocol]
    try:
        if case.stream:
            text = ""
            async for chunk in inference.stream_chat(user="hi", model=model):
                text += chunk.text
        else:
            text = (await inference.chat_text(user="hi", model=model, max_tokens=20)).text
        seen, detail, partial = "ok", text, ""
    except StreamInterrupted as exc:
        seen, detail, partial = "StreamInterrupted", str(exc), exc.partial_text
    except InferenceError as exc:
        seen, detail, partial = type(exc).__name__, str(exc), ""
    finally:
        await inference.aclose()
    return Outcome(seen, len(server.requests_for(PATHS[protocol])), detail, partial)
