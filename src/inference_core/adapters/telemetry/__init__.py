"""Telemetry adapter: structlog events and secret redaction.

Nothing here imports structlog: events use it once the application has (see events.py).
"""

from inference_core.adapters.telemetry.events import StructlogEventLog
from inference_core.adapters.telemetry.redaction import MASK, SecretRedactor

__all__ = ["MASK", "SecretRedactor", "StructlogEventLog"]
