"""The per-call shortcuts change no number: empty usage sums, request ids, unheard info events."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import CapturingLogger

from inference_core.adapters.telemetry import StructlogEventLog
from inference_core.application.calls import new_request_id
from inference_core.application.observability import AttemptRecorder, NullEventLog
from inference_core.domain.catalog import ModelCapabilities
from inference_core.domain.chat import Usage
from inference_core.domain.routing import Route
from inference_core.ports.routing import ResolvedModel
from tests.unit.application.support import ListSink, fake

_counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))
_usages = st.builds(
    Usage,
    input_tokens=_counts,
    output_tokens=_counts,
    cached_tokens=_counts,
    cache_write_tokens=_counts,
    reasoning_tokens=_counts,
    cost_usd=st.one_of(st.none(), st.floats(min_value=0, max_value=10, allow_nan=False)),
    estimated=st.booleans(),
)


@given(_usages)
def test_adding_an_empty_usage_is_the_identity_either_way(usage: Usage) -> None:
    assert Usage().is_empty
    assert usage.is_empty == (usage == Usage())
    assert Usage() + usage == usage
    assert usage + Usage() == usage


def test_request_ids_are_fresh_uuid4_hex() -> None:
    ids = {new_request_id() for _ in range(2000)}

    assert len(ids) == 2000
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


_FORKED_IDS = """
import os
from inference_core.application.calls import new_request_id
read, write = os.pipe()
if os.fork() == 0:
    os.write(write, new_request_id().encode())
    os._exit(0)
os.wait()
print(os.read(read, 64).decode(), new_request_id())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_draws_other_request_ids_than_its_parent() -> None:
    # In a fresh interpreter: forking the (threaded) test process itself is unsafe.
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_IDS], capture_output=True, text=True, check=True
    )
    child, parent = done.stdout.split()
    assert len(child) == len(parent) == 32 and child != parent


class _Recording:
    """An EventLog without ``wants_info``: it must get every event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, /, **fields: Any) -> None:
        self.events.append(("info", event, fields))

    def warning(self, event: str, /, **fields: Any) -> None:
        self.events.append(("warning", event, fields))


class _Deaf(_Recording):
    """A level-aware log that says nobody listens to info events."""

    def wants_info(self) -> bool:
        return False


def _resolved() -> ResolvedModel:
    route = Route(
        requested="m",
        model="m",
        api_model="m",
        provider="p",
        client="c",
        key_env=None,
        base_url_env="P_BASE_URL",
        rule="test",
    )
    return ResolvedModel(route=route, chat_model=fake(), capabilities=ModelCapabilities())


def _record(recorder: AttemptRecorder, error: BaseException | None = None) -> None:
    recorder.record(
        request_id="r1",
        resolved=_resolved(),
        operation="chat",
        attempt=1,
        latency_s=0.25,
        usage=Usage(input_tokens=3, output_tokens=4),
        error=error,
    )


def test_an_unheard_info_event_is_not_built_but_sinks_and_warnings_still_get_everything() -> None:
    sink, log = ListSink(), _Deaf()
    recorder = AttemptRecorder([sink], log)

    _record(recorder)
    _record(recorder, error=RuntimeError("boom"))

    assert [e.outcome for e in sink.events] == ["ok", "error"]
    assert [(level, name) for level, name, _ in log.events] == [("warning", "inference.call")]
    assert log.events[0][2]["error.message"] == "boom"


def test_a_log_that_cannot_tell_gets_every_event_with_its_fields() -> None:
    sink, log = ListSink(), _Recording()
    recorder = AttemptRecorder([sink], log)

    _record(recorder)

    assert log.events == [("info", "inference.call", sink.events[0].log_fields())]


def test_a_structlog_logger_answering_any_name_still_gets_every_event() -> None:
    captured = CapturingLogger()
    log = structlog.wrap_logger(captured, wrapper_class=structlog.BoundLogger, processors=[])
    sink = ListSink()

    _record(AttemptRecorder([sink], log))

    assert [call.method_name for call in captured.calls] == ["info"]  # no bogus "wants_info"
    fields = sink.events[0].log_fields()
    assert captured.calls[0].kwargs == {"event": "inference.call", **fields}


def test_the_shipped_logs_say_when_info_events_are_heard(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert NullEventLog().wants_info() is False
    events = StructlogEventLog()
    with caplog.at_level(logging.WARNING, logger="inference_core"):
        assert events.wants_info() is False
    with caplog.at_level(logging.INFO, logger="inference_core"):
        assert events.wants_info() is True
        events.info("inference.call", request_id="r1")
    assert [r.getMessage() for r in caplog.records] == ["inference.call request_id=r1"]
