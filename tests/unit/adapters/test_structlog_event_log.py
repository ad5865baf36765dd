"""The structlog event log never imports structlog itself (a fifth of a cold start)."""

from __future__ import annotations

import subprocess
import sys

_PROGRAM = """
import logging, sys
from inference_core.adapters.telemetry.events import StructlogEventLog
log = StructlogEventLog()
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
log.info("inference.call", outcome="ok", api_key="sk-abcdefghijklmnopqrstuvwx")
assert "structlog" not in sys.modules, "the event log imported structlog"
"""


def test_events_go_to_logging_without_importing_structlog() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "inference.call outcome=ok" in done.stdout
    assert "sk-abcdefghijklmnopqrstuvwx" not in done.stdout  # redacted on this path too


def test_a_configured_structlog_receives_the_events() -> None:
    import structlog
    from structlog.testing import capture_logs

    from inference_core.adapters.telemetry.events import StructlogEventLog

    with capture_logs() as events:
        assert structlog.is_configured()
        StructlogEventLog().info("inference.call", outcome="ok")
    assert [(e["event"], e["outcome"]) for e in events] == [("inference.call", "ok")]
