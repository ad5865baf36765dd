"""Telemetry adapter: structlog events and secret redaction.

Nothing here imports structlog until the first event is emitted.
"""

from inference_core.adapters.telemetry.events import StructlogEventLog
from inference_core.adapters.telemetry.redaction import MASK, SecretRedactor

__all__ = ["MASK", "SecretRedactor", "StructlogEventLog"]
